//! What the server allows: the binary whitelist with argument rules, the
//! environment filter, and the client address list.

use std::ffi::OsStr;
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use regex_lite::Regex;
use thiserror::Error;

use crate::config::{AllowRule, ConfigError, EnvConfig};

/// Why a request was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Denied {
    #[error("empty command")]
    Empty,
    #[error("command not found: {0}")]
    NotFound(String),
    /// The requested name, and (for the server's log only) its real path:
    /// telling the client would let it map the HOST's files.
    #[error("command not allowed by the server whitelist: {0}")]
    NotWhitelisted(String, String),
    #[error("arguments not allowed for {0}: {1}")]
    BadArgs(String, String),
}

impl Denied {
    /// Exit status the client reports (shell conventions).
    pub fn exit_code(&self) -> u8 {
        match self {
            Denied::NotFound(_) | Denied::Empty => 127,
            _ => 126,
        }
    }
}

struct Rule {
    real: PathBuf,
    /// Base names argv[0] may have: the rule's `names`, or else only the
    /// base name of its configured path (a multi-call binary such as kmod
    /// or busybox is reachable under many names that resolve to one file).
    names: Vec<String>,
    args: ArgPolicy,
    min_args: Option<usize>,
    max_args: Option<usize>,
    env: Vec<String>,
    /// Directories the command may run in (real paths); empty = any.
    cwd: Vec<PathBuf>,
    /// TLS client identities that may use the rule; None = every client.
    clients: Option<Vec<String>>,
}

/// How a rule constrains argv[1..].
enum ArgPolicy {
    /// No argument rule: anything.
    Any,
    /// Argument i must match pattern i.
    Positional(Vec<Regex>),
    /// Options (arguments starting with `-`, up to an allowed `--`) must
    /// match one option pattern, the rest one operand pattern. Options are
    /// checked wherever they appear: GNU getopt takes them after operands too.
    Grammar {
        options: Vec<Regex>,
        operands: Vec<Regex>,
        max_operands: Option<usize>,
    },
}

fn compile_patterns(list: &[String]) -> Result<Vec<Regex>, ConfigError> {
    list.iter()
        .map(|p| {
            Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| ConfigError::Invalid(format!("bad argument regex {p:?}: {e}")))
        })
        .collect()
}

impl ArgPolicy {
    fn new(r: &AllowRule) -> Result<ArgPolicy, ConfigError> {
        let path = r.path.display();
        if r.args.is_some() {
            return Err(ConfigError::Invalid(format!(
                "rule {path}: `args` is no longer supported (its patterns matched at any \
                 position); use `positional` or `options`/`operands` (docs/rexec.md)"
            )));
        }
        let grammar = r.options.is_some() || r.operands.is_some();
        match (&r.positional, grammar) {
            (Some(_), true) => Err(ConfigError::Invalid(format!(
                "rule {path}: use either `positional` or `options`/`operands`, not both"
            ))),
            (Some(p), false) => Ok(ArgPolicy::Positional(compile_patterns(p)?)),
            (None, true) => Ok(ArgPolicy::Grammar {
                options: compile_patterns(r.options.as_deref().unwrap_or_default())?,
                operands: compile_patterns(r.operands.as_deref().unwrap_or_default())?,
                max_operands: r.max_operands,
            }),
            (None, false) => {
                if r.max_operands.is_some() {
                    return Err(ConfigError::Invalid(format!(
                        "rule {path}: max_operands needs `operands`"
                    )));
                }
                Ok(ArgPolicy::Any)
            }
        }
    }
}

/// A request the whitelist accepts: what to execute, under which rule.
pub struct Permit<'a> {
    /// The real path to execute.
    pub exe: PathBuf,
    rule: &'a Rule,
}

impl Permit<'_> {
    /// Environment variables the rule lets through besides the global ones.
    pub fn env(&self) -> &[String] {
        &self.rule.env
    }

    /// The directory to run in: `requested` if the rule allows it, else the
    /// rule's first directory.
    pub fn cwd(&self, requested: &Path) -> PathBuf {
        let Some(first) = self.rule.cwd.first() else {
            return requested.to_path_buf();
        };
        match std::fs::canonicalize(requested) {
            Ok(real) if self.rule.cwd.contains(&real) => real,
            _ => first.clone(),
        }
    }
}

/// The compiled whitelist.
pub struct Whitelist {
    rules: Vec<Rule>,
}

impl Whitelist {
    /// Compile the rules. Each path is resolved now, once: it must exist,
    /// and it and every directory above it must be root's alone (whoever can
    /// replace a whitelisted binary runs code as the server's user).
    pub fn new(rules: &[AllowRule]) -> Result<Whitelist, ConfigError> {
        let mut out = Vec::new();
        for r in rules {
            if !r.path.is_absolute() {
                return Err(ConfigError::Invalid(format!(
                    "whitelist path {} must be absolute",
                    r.path.display()
                )));
            }
            let args = ArgPolicy::new(r)?;
            let mut cwd = Vec::new();
            for d in r.cwd.iter().flatten() {
                let real = std::fs::canonicalize(d)
                    .ok()
                    .filter(|p| d.is_absolute() && p.is_dir())
                    .ok_or_else(|| {
                        ConfigError::Invalid(format!(
                            "rule {}: cwd {} is not an absolute path to a directory",
                            r.path.display(),
                            d.display()
                        ))
                    })?;
                cwd.push(real);
            }
            if r.cwd.as_ref().is_some_and(|c| c.is_empty()) {
                return Err(ConfigError::Invalid(format!(
                    "rule {}: cwd must list at least one directory",
                    r.path.display()
                )));
            }
            let real = std::fs::canonicalize(&r.path)
                .ok()
                .filter(|p| is_executable_file(p))
                .ok_or_else(|| {
                    ConfigError::Invalid(format!(
                        "whitelist path {} does not exist or is not an executable file",
                        r.path.display()
                    ))
                })?;
            crate::config::check_path_chain(&real, None)?;
            let names = match &r.names {
                Some(n) => n.clone(),
                None => r
                    .path
                    .file_name()
                    .map(|n| vec![n.to_string_lossy().into_owned()])
                    .unwrap_or_default(),
            };
            out.push(Rule {
                real,
                names,
                args,
                min_args: r.min_args,
                max_args: r.max_args,
                env: r.env.clone(),
                cwd,
                clients: r.clients.clone(),
            });
        }
        Ok(Whitelist { rules: out })
    }

    /// Resolve argv[0] on this machine and check the request.
    pub fn check(
        &self,
        argv: &[Vec<u8>],
        cwd: &Path,
        search_path: &str,
        client: Option<&str>,
    ) -> Result<Permit<'_>, Denied> {
        let prog = argv.first().ok_or(Denied::Empty)?;
        if prog.is_empty() {
            return Err(Denied::Empty);
        }
        let shown = escape_for_log(prog);
        let found =
            resolve(prog, cwd, search_path).ok_or_else(|| Denied::NotFound(shown.clone()))?;
        let real = std::fs::canonicalize(&found).map_err(|_| Denied::NotFound(shown.clone()))?;
        let base = Path::new(OsStr::from_bytes(prog))
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut arg_error = None;
        for r in &self.rules {
            if r.real != real {
                continue;
            }
            if !r.names.contains(&base) {
                continue;
            }
            if let Some(clients) = &r.clients {
                if !client.is_some_and(|c| clients.iter().any(|n| n.eq_ignore_ascii_case(c))) {
                    continue;
                }
            }
            match r.check_args(&argv[1..]) {
                Ok(()) => return Ok(Permit { exe: real, rule: r }),
                Err(e) => arg_error = Some(e),
            }
        }
        if let Some(e) = arg_error {
            return Err(Denied::BadArgs(shown, e));
        }
        Err(Denied::NotWhitelisted(shown, real.display().to_string()))
    }
}

impl Rule {
    fn check_args(&self, args: &[Vec<u8>]) -> Result<(), String> {
        if let Some(max) = self.max_args {
            if args.len() > max {
                return Err(format!("{} arguments, at most {max} allowed", args.len()));
            }
        }
        if let Some(min) = self.min_args {
            if args.len() < min {
                return Err(format!("{} arguments, at least {min} needed", args.len()));
            }
        }
        if let ArgPolicy::Any = self.args {
            return Ok(());
        }
        let args: Vec<&str> = args
            .iter()
            .map(|a| std::str::from_utf8(a))
            .collect::<Result<_, _>>()
            .map_err(|_| "argument is not valid UTF-8".to_string())?;
        match &self.args {
            ArgPolicy::Any => Ok(()),
            ArgPolicy::Positional(patterns) => {
                if args.len() > patterns.len() {
                    return Err(format!(
                        "{} arguments, at most {} allowed",
                        args.len(),
                        patterns.len()
                    ));
                }
                if self.min_args.is_none() && args.len() < patterns.len() {
                    return Err(format!(
                        "{} arguments, {} needed",
                        args.len(),
                        patterns.len()
                    ));
                }
                match args
                    .iter()
                    .zip(patterns)
                    .position(|(a, re)| !re.is_match(a))
                {
                    Some(i) => Err(format!(
                        "argument {} ({:?}) is not allowed at that position",
                        i + 1,
                        args[i]
                    )),
                    None => Ok(()),
                }
            }
            ArgPolicy::Grammar {
                options,
                operands,
                max_operands,
            } => {
                let mut options_ended = false;
                let mut operand_count = 0;
                for a in args {
                    // "-" alone conventionally means stdin: an operand.
                    if !options_ended && a.starts_with('-') && a != "-" {
                        if !options.iter().any(|re| re.is_match(a)) {
                            return Err(format!("option {a:?} is not allowed"));
                        }
                        options_ended = a == "--";
                        continue;
                    }
                    operand_count += 1;
                    if max_operands.is_some_and(|m| operand_count > m) {
                        return Err(format!(
                            "more than {} operands",
                            max_operands.unwrap_or_default()
                        ));
                    }
                    if !operands.iter().any(|re| re.is_match(a)) {
                        return Err(format!("operand {a:?} is not allowed"));
                    }
                }
                Ok(())
            }
        }
    }
}

fn is_executable_file(p: &Path) -> bool {
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Find the program: a name with a slash is taken as a path (relative to
/// `cwd`), a bare name is looked up in `search_path`.
pub fn resolve(prog: &[u8], cwd: &Path, search_path: &str) -> Option<PathBuf> {
    let p = Path::new(OsStr::from_bytes(prog));
    if prog.contains(&b'/') {
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        };
        return is_executable_file(&full).then_some(full);
    }
    search_path
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(p))
        .find(|c| is_executable_file(c))
}

fn pattern_match(pat: &str, name: &[u8]) -> bool {
    match pat.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix.as_bytes()),
        None => name == pat.as_bytes(),
    }
}

/// Variables every command may receive from the client: terminal and
/// locale settings. Their values are checked (`safe_value`), because glibc
/// and ncurses take a value with a slash as a file to load.
pub const SAFE_ENV: &[&str] = &["TERM", "LANG", "LANGUAGE", "LC_*", "TZ", "COLUMNS", "LINES"];

/// A value of a `SAFE_ENV` variable that names no file: short, printable,
/// no slash (TZ may name a zone such as `Europe/Berlin`, but no absolute
/// path and no `..`).
fn safe_value(name: &[u8], value: &[u8]) -> bool {
    if value.len() > 256 || !value.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return false;
    }
    if name == b"TZ" {
        let zone = value.strip_prefix(b":").unwrap_or(value);
        return !zone.starts_with(b"/") && !value.windows(2).any(|w| w == b"..");
    }
    !value.contains(&b'/')
}

/// The environment a command gets, and the names of the client's variables
/// that were refused (for the log).
pub struct FilteredEnv {
    pub vars: Vec<(Vec<u8>, Vec<u8>)>,
    pub refused: Vec<Vec<u8>>,
}

/// Apply the environment policy: the client's variables pass only if they
/// are in the safe set (with a safe value), in `[env] allow` or in the
/// rule's `env`, and not in `[env] deny`; PATH is the server's
/// `search_path`; `[env] set` comes last.
pub fn filter_env(
    cfg: &EnvConfig,
    rule_env: &[String],
    search_path: &str,
    env: &[(Vec<u8>, Vec<u8>)],
) -> FilteredEnv {
    let mut vars = Vec::new();
    let mut refused = Vec::new();
    for (k, v) in env {
        let well_formed = !k.is_empty() && !k.contains(&b'=') && !k.contains(&0);
        let safe = SAFE_ENV.iter().any(|p| pattern_match(p, k)) && safe_value(k, v);
        let allowed = safe
            || cfg.allow.iter().any(|p| pattern_match(p, k))
            || rule_env.iter().any(|p| pattern_match(p, k));
        let denied = cfg.deny.iter().any(|p| pattern_match(p, k));
        if well_formed && allowed && !denied && k.as_slice() != b"PATH" {
            vars.push((k.clone(), v.clone()));
        } else {
            refused.push(k.clone());
        }
    }
    vars.push((b"PATH".to_vec(), search_path.as_bytes().to_vec()));
    for (k, v) in &cfg.set {
        vars.retain(|(ek, _)| ek.as_slice() != k.as_bytes());
        vars.push((k.clone().into_bytes(), v.clone().into_bytes()));
    }
    FilteredEnv { vars, refused }
}

/// Bytes for a log line: printable ASCII as is, everything else escaped, so
/// that a client cannot forge log lines or send terminal controls.
pub fn escape_for_log(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

/// A list of allowed client networks.
#[derive(Debug, Clone, Default)]
pub struct AddrAcl {
    nets: Vec<(IpAddr, u8)>,
    any: bool,
}

impl AddrAcl {
    /// Parse entries like `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`, or `*`
    /// (any address).
    pub fn new(entries: &[String]) -> Result<AddrAcl, ConfigError> {
        let mut nets = Vec::new();
        let mut any = false;
        for e in entries {
            if e == "*" {
                any = true;
                continue;
            }
            let bad = || ConfigError::Invalid(format!("bad allowed_clients entry {e:?}"));
            let (ip, len) = match e.split_once('/') {
                Some((ip, len)) => (ip, Some(len.parse::<u8>().map_err(|_| bad())?)),
                None => (e.as_str(), None),
            };
            let ip: IpAddr = ip.parse().map_err(|_| bad())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len = len.unwrap_or(max);
            if len > max {
                return Err(bad());
            }
            nets.push((ip, len));
        }
        Ok(AddrAcl { nets, any })
    }

    /// True if `ip` is in the list (an empty list admits nobody).
    pub fn allows(&self, ip: IpAddr) -> bool {
        if self.any {
            return true;
        }
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.nets.iter().any(|&(net, len)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl() {
        let acl = AddrAcl::new(&["10.0.0.0/8".into(), "::1".into(), "192.168.1.5".into()]).unwrap();
        assert!(acl.allows("10.1.2.3".parse().unwrap()));
        assert!(!acl.allows("11.1.2.3".parse().unwrap()));
        assert!(acl.allows("::1".parse().unwrap()));
        assert!(acl.allows("::ffff:10.0.0.1".parse().unwrap()));
        assert!(acl.allows("192.168.1.5".parse().unwrap()));
        assert!(!acl.allows("192.168.1.6".parse().unwrap()));
        assert!(!AddrAcl::default().allows("1.1.1.1".parse().unwrap()));
        assert!(AddrAcl::new(&["*".into()])
            .unwrap()
            .allows("1.1.1.1".parse().unwrap()));
        assert!(AddrAcl::new(&["1.2.3.4/33".into()]).is_err());
    }

    #[test]
    fn env_filter_is_an_allow_list() {
        let mut cfg = EnvConfig::default();
        cfg.set.insert("FORCED".into(), "1".into());
        cfg.allow = vec!["KEEP_*".into()];
        let env = vec![
            (b"KEEP_A".to_vec(), b"1".to_vec()),
            (
                b"MODPROBE_OPTIONS".to_vec(),
                b"-C /proc/self/environ".to_vec(),
            ),
            (b"LD_PRELOAD".to_vec(), b"x".to_vec()),
            (b"PATH".to_vec(), b"/tmp/evil".to_vec()),
            (b"LANG".to_vec(), b"C.UTF-8".to_vec()),
            (b"LC_ALL".to_vec(), b"/tmp/locale".to_vec()),
            (b"TZ".to_vec(), b"Europe/Berlin".to_vec()),
            (b"FORCED".to_vec(), b"0".to_vec()),
            (b"RULE_VAR".to_vec(), b"r".to_vec()),
        ];
        let out = filter_env(&cfg, &["RULE_VAR".into()], "/usr/bin:/bin", &env);
        assert_eq!(
            out.vars,
            vec![
                (b"KEEP_A".to_vec(), b"1".to_vec()),
                (b"LANG".to_vec(), b"C.UTF-8".to_vec()),
                (b"TZ".to_vec(), b"Europe/Berlin".to_vec()),
                (b"RULE_VAR".to_vec(), b"r".to_vec()),
                (b"PATH".to_vec(), b"/usr/bin:/bin".to_vec()),
                (b"FORCED".to_vec(), b"1".to_vec()),
            ]
        );
        assert_eq!(
            out.refused,
            vec![
                b"MODPROBE_OPTIONS".to_vec(),
                b"LD_PRELOAD".to_vec(),
                b"PATH".to_vec(),
                b"LC_ALL".to_vec(),
                b"FORCED".to_vec(),
            ]
        );
        assert_eq!(escape_for_log(b"a\n\x1b[31m"), "a\\n\\x1b[31m".to_string());
    }

    fn rule(path: &str) -> AllowRule {
        AllowRule {
            path: path.into(),
            names: None,
            args: None,
            positional: None,
            options: None,
            operands: None,
            max_operands: None,
            min_args: None,
            max_args: None,
            env: vec![],
            cwd: None,
            clients: None,
        }
    }

    fn argv(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn whitelist_args() {
        let wl = Whitelist::new(&[AllowRule {
            options: Some(vec!["-n".into()]),
            operands: Some(vec!["[a-z]+".into()]),
            max_args: Some(2),
            ..rule("/bin/echo")
        }])
        .unwrap();
        let sp = "/usr/bin:/bin";
        let cwd = Path::new("/");
        assert!(wl.check(&argv(&["echo", "abc"]), cwd, sp, None).is_ok());
        assert!(wl
            .check(&argv(&["echo", "-n", "abc"]), cwd, sp, None)
            .is_ok());
        for bad in [
            &["echo", "ABC"][..],
            &["echo", "a", "b", "c"],
            &["echo", "-e", "x"],
            &["echo", "x", "-e"],
        ] {
            assert!(
                matches!(
                    wl.check(&argv(bad), cwd, sp, None),
                    Err(Denied::BadArgs(..))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            wl.check(&argv(&["cat"]), cwd, sp, None),
            Err(Denied::NotWhitelisted(..))
        ));
        assert!(matches!(
            wl.check(&argv(&["no-such-binary-xyz"]), cwd, sp, None),
            Err(Denied::NotFound(..))
        ));
    }

    #[test]
    fn positional_and_grammar_rules() {
        let kill = Rule {
            real: "/bin/kill".into(),
            names: vec!["kill".into()],
            args: ArgPolicy::new(&AllowRule {
                positional: Some(vec!["-(TERM|KILL)".into(), "[1-9][0-9]+".into()]),
                ..rule("/bin/kill")
            })
            .unwrap(),
            min_args: None,
            max_args: None,
            env: vec![],
            cwd: vec![],
            clients: None,
        };
        assert!(kill.check_args(&argv(&["-TERM", "1234"])).is_ok());
        assert!(kill.check_args(&argv(&["-KILL", "-1"])).is_err());
        assert!(kill.check_args(&argv(&["1234", "-TERM"])).is_err());
        assert!(kill.check_args(&argv(&["-TERM"])).is_err());
        assert!(kill.check_args(&argv(&["-TERM", "12", "13"])).is_err());
        let grammar = ArgPolicy::new(&AllowRule {
            options: Some(vec!["-r".into(), "--".into()]),
            operands: Some(vec!["[a-z-]+".into()]),
            max_operands: Some(1),
            ..rule("/sbin/modprobe")
        })
        .unwrap();
        let modprobe = Rule {
            args: grammar,
            ..kill
        };
        assert!(modprobe.check_args(&argv(&["-r", "x"])).is_ok());
        assert!(modprobe.check_args(&argv(&["--", "-x"])).is_ok());
        assert!(modprobe.check_args(&argv(&["--force", "x"])).is_err());
        assert!(modprobe.check_args(&argv(&["x", "--force"])).is_err());
        assert!(modprobe.check_args(&argv(&["x", "y"])).is_err());
        // The old anywhere-matching form is refused with an explanation.
        let err = Whitelist::new(&[AllowRule {
            args: Some(toml::Value::Array(vec![])),
            ..rule("/bin/echo")
        }])
        .err()
        .unwrap();
        assert!(err.to_string().contains("positional"), "{err}");
    }
}
