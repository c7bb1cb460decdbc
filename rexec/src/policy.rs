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
    #[error("command not allowed by the server whitelist: {0} (real path {1})")]
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
    configured: PathBuf,
    names: Option<Vec<String>>,
    args: Option<Vec<Regex>>,
    max_args: Option<usize>,
}

/// The compiled whitelist.
pub struct Whitelist {
    rules: Vec<Rule>,
}

impl Whitelist {
    /// Compile the rules; entries are canonicalized now (a missing binary is
    /// kept by its configured path and resolved again at request time).
    pub fn new(rules: &[AllowRule]) -> Result<Whitelist, ConfigError> {
        let mut out = Vec::new();
        for r in rules {
            if !r.path.is_absolute() {
                return Err(ConfigError::Invalid(format!(
                    "whitelist path {} must be absolute",
                    r.path.display()
                )));
            }
            let args = match &r.args {
                None => None,
                Some(list) => {
                    let mut v = Vec::new();
                    for p in list {
                        let re = Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                            ConfigError::Invalid(format!("bad argument regex {p:?}: {e}"))
                        })?;
                        v.push(re);
                    }
                    Some(v)
                }
            };
            let real = std::fs::canonicalize(&r.path).unwrap_or_else(|_| r.path.clone());
            out.push(Rule {
                real,
                configured: r.path.clone(),
                names: r.names.clone(),
                args,
                max_args: r.max_args,
            });
        }
        Ok(Whitelist { rules: out })
    }

    /// Whitelisted binaries that anyone could replace (world-writable file, or
    /// world-writable directory without the sticky bit).
    pub fn unsafe_entries(&self) -> Vec<PathBuf> {
        use std::os::unix::fs::MetadataExt;
        let writable = |p: &Path, dir: bool| {
            std::fs::metadata(p)
                .map(|m| m.mode() & 0o002 != 0 && !(dir && m.mode() & 0o1000 != 0))
                .unwrap_or(false)
        };
        self.rules
            .iter()
            .filter(|r| {
                writable(&r.real, false) || r.real.parent().is_some_and(|d| writable(d, true))
            })
            .map(|r| r.real.clone())
            .collect()
    }

    /// Resolve argv[0] on this machine and check the request.
    /// Returns the real path to execute.
    pub fn check(
        &self,
        argv: &[Vec<u8>],
        cwd: &Path,
        search_path: &str,
    ) -> Result<PathBuf, Denied> {
        let prog = argv.first().ok_or(Denied::Empty)?;
        if prog.is_empty() {
            return Err(Denied::Empty);
        }
        let shown = String::from_utf8_lossy(prog).into_owned();
        let found =
            resolve(prog, cwd, search_path).ok_or_else(|| Denied::NotFound(shown.clone()))?;
        let real = std::fs::canonicalize(&found).map_err(|_| Denied::NotFound(shown.clone()))?;
        let base = Path::new(OsStr::from_bytes(prog))
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut arg_error = None;
        for r in &self.rules {
            let rule_real = if r.real.exists() {
                r.real.clone()
            } else {
                match std::fs::canonicalize(&r.configured) {
                    Ok(p) => p,
                    Err(_) => continue,
                }
            };
            if rule_real != real {
                continue;
            }
            if let Some(names) = &r.names {
                if !names.contains(&base) {
                    continue;
                }
            }
            match r.check_args(&argv[1..]) {
                Ok(()) => return Ok(real),
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
        if let Some(res) = &self.args {
            for a in args {
                let s = std::str::from_utf8(a)
                    .map_err(|_| "argument is not valid UTF-8".to_string())?;
                if !res.iter().any(|re| re.is_match(s)) {
                    return Err(format!("argument {s:?} matches no allowed pattern"));
                }
            }
        }
        Ok(())
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

/// Apply the environment policy.
pub fn filter_env(cfg: &EnvConfig, env: &[(Vec<u8>, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = env
        .iter()
        .filter(|(k, _)| !k.is_empty() && !k.contains(&b'=') && !k.contains(&0))
        .filter(|(k, _)| !cfg.deny.iter().any(|p| pattern_match(p, k)))
        .filter(|(k, _)| cfg.allow.is_empty() || cfg.allow.iter().any(|p| pattern_match(p, k)))
        .cloned()
        .collect();
    for (k, v) in &cfg.set {
        out.retain(|(ek, _)| ek.as_slice() != k.as_bytes());
        out.push((k.clone().into_bytes(), v.clone().into_bytes()));
    }
    out
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
    fn env_filter() {
        let mut cfg = EnvConfig::default();
        cfg.set.insert("FORCED".into(), "1".into());
        let env = vec![
            (b"A".to_vec(), b"1".to_vec()),
            (b"LD_PRELOAD".to_vec(), b"x".to_vec()),
            (b"FORCED".to_vec(), b"0".to_vec()),
        ];
        let out = filter_env(&cfg, &env);
        assert_eq!(
            out,
            vec![
                (b"A".to_vec(), b"1".to_vec()),
                (b"FORCED".to_vec(), b"1".to_vec())
            ]
        );
        cfg.allow = vec!["B*".into()];
        assert_eq!(
            filter_env(&cfg, &env),
            vec![(b"FORCED".to_vec(), b"1".to_vec())]
        );
    }

    #[test]
    fn whitelist_args() {
        let wl = Whitelist::new(&[AllowRule {
            path: "/bin/echo".into(),
            names: None,
            args: Some(vec!["-n".into(), "[a-z]+".into()]),
            max_args: Some(2),
        }])
        .unwrap();
        let sp = "/usr/bin:/bin";
        let cwd = Path::new("/");
        assert!(wl
            .check(&[b"echo".to_vec(), b"abc".to_vec()], cwd, sp)
            .is_ok());
        assert!(matches!(
            wl.check(&[b"echo".to_vec(), b"ABC".to_vec()], cwd, sp),
            Err(Denied::BadArgs(..))
        ));
        assert!(matches!(
            wl.check(
                &[
                    b"echo".to_vec(),
                    b"a".to_vec(),
                    b"b".to_vec(),
                    b"c".to_vec()
                ],
                cwd,
                sp
            ),
            Err(Denied::BadArgs(..))
        ));
        assert!(matches!(
            wl.check(&[b"cat".to_vec()], cwd, sp),
            Err(Denied::NotWhitelisted(..))
        ));
        assert!(matches!(
            wl.check(&[b"no-such-binary-xyz".to_vec()], cwd, sp),
            Err(Denied::NotFound(..))
        ));
    }
}
