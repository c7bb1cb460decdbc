//! Server and client configuration files (TOML) and their safety checks.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

/// Default location of the server configuration (which holds the whitelist).
pub const DEFAULT_SERVER_CONFIG: &str = "/etc/rexec/rexec_server.toml";
/// Default location of the optional client configuration.
pub const DEFAULT_CLIENT_CONFIG: &str = "/etc/rexec/rexec.toml";
/// Default directory of the client's pid map.
pub const DEFAULT_PIDMAP_DIR: &str = "/run/rexec";

/// Configuration errors: each one stops the server from starting.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("refusing to use {0}: {1}")]
    Unsafe(PathBuf, String),
    #[error("invalid config {0}: {1}")]
    Parse(PathBuf, String),
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The server configuration file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address; `CMD_NET_ADDR` or `--listen` take precedence.
    pub listen: Option<String>,
    /// Client IPs / CIDR ranges that may connect over TCP; required for a
    /// TCP listener (`["*"]` admits any address).
    #[serde(default)]
    pub allowed_clients: Vec<String>,
    /// Serve plain TCP (no encryption, no client authentication) when there
    /// is no `[tls]`: must be said explicitly.
    #[serde(default)]
    pub insecure_plaintext: bool,
    /// If non-empty, only these uids may connect over a unix socket.
    #[serde(default)]
    pub allowed_uids: Vec<u32>,
    /// Permission bits of a unix socket the server creates (default 0o600).
    #[serde(default = "default_socket_mode")]
    pub unix_socket_mode: u32,
    /// PATH used to resolve a bare command name on the server.
    #[serde(default = "default_search_path")]
    pub search_path: String,
    /// Directory used when the client's cwd does not exist here; empty = fail.
    #[serde(default = "default_fallback_cwd")]
    pub fallback_cwd: String,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub session: SessionConfig,
    #[serde(default)]
    pub env: EnvConfig,
    pub tls: Option<TlsServerConfig>,
    /// Run commands as this uid/gid (default: the server's own).
    pub run_as_uid: Option<u32>,
    pub run_as_gid: Option<u32>,
    /// The whitelist: one entry per allowed binary.
    #[serde(default)]
    pub allow: Vec<AllowRule>,
}

fn default_socket_mode() -> u32 {
    0o600
}
fn default_search_path() -> String {
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()
}
fn default_fallback_cwd() -> String {
    "/".to_string()
}

/// Resource limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Concurrent sessions; further clients get a "server busy" error.
    pub max_sessions: usize,
    /// Concurrent sessions from one client address (0 = no per-client limit).
    pub max_sessions_per_client: usize,
    /// Connections accepted that have not sent their request yet (TLS
    /// handshake included); more are closed at once.
    pub max_unauthenticated: usize,
    /// The same, per client address (0 = no per-client limit).
    pub max_unauthenticated_per_client: usize,
    /// Concurrent TLS handshakes; more wait (within handshake_timeout_ms).
    pub max_tls_handshakes: usize,
    /// Largest protocol frame accepted.
    pub max_frame: usize,
    /// Total bytes of argv.
    pub max_argv_bytes: usize,
    /// Total bytes of the environment.
    pub max_env_bytes: usize,
    /// setrlimit values applied to each remote process (unset = inherited).
    pub rlimit_nofile: Option<u64>,
    pub rlimit_nproc: Option<u64>,
    pub rlimit_cpu_secs: Option<u64>,
    pub rlimit_as_bytes: Option<u64>,
    pub rlimit_core_bytes: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_sessions: 512,
            // One address cannot take every session.
            max_sessions_per_client: 256,
            // A client's request follows its connect within a millisecond,
            // so these only fill up in a flood; one address gets a quarter.
            max_unauthenticated: 256,
            max_unauthenticated_per_client: 64,
            max_tls_handshakes: 8,
            max_frame: crate::protocol::DEFAULT_MAX_FRAME,
            max_argv_bytes: 2 << 20,
            max_env_bytes: 2 << 20,
            rlimit_nofile: None,
            rlimit_nproc: None,
            rlimit_cpu_secs: None,
            rlimit_as_bytes: None,
            rlimit_core_bytes: None,
        }
    }
}

/// Session timing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Time a client has to send its request.
    pub handshake_timeout_ms: u64,
    /// A session whose client sends nothing (not even a heartbeat) this long is killed.
    pub heartbeat_timeout_ms: u64,
    /// After the process exits, how long its stdout/stderr may stay open
    /// without data (held by leftover processes) before they are abandoned.
    pub drain_timeout_ms: u64,
    /// Kill what is left of the process group/session after the process exits.
    pub kill_leftovers: bool,
    /// Put each session in a cgroup v2 of its own where the HOST allows it
    /// (so that killing reaches processes that left the session).
    pub cgroups: bool,
    /// On SIGTERM/SIGINT, how long running sessions may continue before being killed.
    pub shutdown_timeout_ms: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            handshake_timeout_ms: 10_000,
            heartbeat_timeout_ms: 5_000,
            drain_timeout_ms: 1_000,
            kill_leftovers: true,
            cgroups: true,
            shutdown_timeout_ms: 10_000,
        }
    }
}

/// Environment policy: an allow list. A command gets only the safe set
/// (`policy::SAFE_ENV`, values checked), the names listed here or in its
/// `[[allow]]` rule's `env`, `PATH` = `search_path`, and `set`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EnvConfig {
    /// Further variables every command may receive (`NAME` or `PREFIX*`).
    pub allow: Vec<String>,
    /// Variables refused even if allowed above (`NAME` or `PREFIX*`).
    pub deny: Vec<String>,
    /// Variables forced to a value (after the filter; may override PATH).
    pub set: BTreeMap<String, String>,
}

/// Server TLS: mutual TLS, the client must present a certificate signed by `client_ca`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
    /// Client identities admitted: names matched against the client
    /// certificate's subjectAltName DNS/IP entries (its subject CN if it has
    /// none). Required; `["*"]` admits any certificate `client_ca` signed.
    #[serde(default)]
    pub clients: Vec<String>,
}

/// One whitelist entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowRule {
    /// The binary; compared by real path (symlinks resolved).
    pub path: PathBuf,
    /// The base names argv[0] may have (needed for multi-call binaries such
    /// as busybox); default: only the base name of `path`.
    pub names: Option<Vec<String>>,
    /// Replaced by `positional` and `options`/`operands`; kept only to
    /// explain that (its patterns matched anywhere, which let `kill -9 -1` in).
    pub args: Option<toml::Value>,
    /// Per-position patterns: argument i must fully match pattern i; at most
    /// as many arguments as patterns (fewer only down to `min_args`).
    pub positional: Option<Vec<String>>,
    /// Option grammar: every argument that starts with `-` (before a `--`
    /// that is itself allowed here) must fully match one of these...
    pub options: Option<Vec<String>>,
    /// ...and every other argument one of these (none allowed if unset).
    pub operands: Option<Vec<String>>,
    /// With `operands`: at most this many.
    pub max_operands: Option<usize>,
    /// If set, at least this many arguments.
    pub min_args: Option<usize>,
    /// If set, at most this many arguments.
    pub max_args: Option<usize>,
    /// Further environment variables this command may receive (`NAME` or `PREFIX*`).
    #[serde(default)]
    pub env: Vec<String>,
    /// If set, only TLS clients with one of these identities (`tls.clients`
    /// names) may use this rule; plain TCP and unix clients never can.
    pub clients: Option<Vec<String>>,
    /// If set, the command runs in the client's directory only if it is one
    /// of these, otherwise in the first (so `cwd = ["/"]` always runs in /).
    pub cwd: Option<Vec<PathBuf>>,
}

/// Who may change a file or directory besides root and `trusted_uid`: a
/// reason if someone else may (owner, group- or world-writable). A sticky
/// directory (such as /tmp) may be writable by all: there, only an entry's
/// owner can replace it.
fn writable_by_others(
    md: &std::fs::Metadata,
    trusted_uid: Option<u32>,
    is_dir: bool,
) -> Option<String> {
    let mode = md.mode();
    let sticky = is_dir && mode & 0o1000 != 0;
    if md.uid() != 0 && Some(md.uid()) != trusted_uid {
        return Some(format!("it is owned by uid {}", md.uid()));
    }
    if mode & 0o022 != 0 && !sticky {
        let who = if mode & 0o002 != 0 { "world" } else { "group" };
        return Some(format!("it is {who}-writable (mode {:o})", mode & 0o7777));
    }
    None
}

/// Check that a regular file and every directory above it can be changed
/// only by root or `trusted_uid`: otherwise whoever can change them can
/// change what the server does.
pub fn check_path_chain(path: &Path, trusted_uid: Option<u32>) -> Result<(), ConfigError> {
    let unsafe_path = |p: &Path, why: String| {
        ConfigError::Unsafe(
            path.into(),
            match p == path {
                true => why,
                false => format!("its directory {}: {why}", p.display()),
            },
        )
    };
    let md = std::fs::metadata(path).map_err(|e| ConfigError::Read(path.into(), e))?;
    if !md.is_file() {
        return Err(ConfigError::Unsafe(
            path.into(),
            "not a regular file".into(),
        ));
    }
    // The directories of the path as written (a symlink in them could be
    // swapped) and of the file it resolves to.
    let absolute = std::path::absolute(path).map_err(|e| ConfigError::Read(path.into(), e))?;
    let real = std::fs::canonicalize(path).map_err(|e| ConfigError::Read(path.into(), e))?;
    if let Some(why) = writable_by_others(&md, trusted_uid, false) {
        return Err(unsafe_path(path, why));
    }
    for start in [&absolute, &real] {
        for dir in start.ancestors().skip(1) {
            let dm = std::fs::metadata(dir).map_err(|e| ConfigError::Read(dir.into(), e))?;
            if let Some(why) = writable_by_others(&dm, trusted_uid, true) {
                return Err(unsafe_path(dir, why));
            }
        }
    }
    Ok(())
}

/// Check that a file that grants privileges (the config, TLS key and CA)
/// can be changed only by root or the server's own user.
pub fn check_file_safety(path: &Path) -> Result<(), ConfigError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    check_path_chain(path, Some(euid))
}

impl ServerConfig {
    /// Load, check permissions, parse and validate the server config.
    pub fn load(path: &Path) -> Result<ServerConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
        check_file_safety(path)?;
        let cfg: ServerConfig =
            toml::from_str(&text).map_err(|e| ConfigError::Parse(path.into(), e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Semantic checks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.allow.is_empty() {
            return Err(ConfigError::Invalid(
                "the whitelist is empty: add at least one [[allow]] entry".into(),
            ));
        }
        if self.limits.max_sessions == 0 {
            return Err(ConfigError::Invalid(
                "limits.max_sessions must be > 0".into(),
            ));
        }
        if self.limits.max_unauthenticated == 0 || self.limits.max_tls_handshakes == 0 {
            return Err(ConfigError::Invalid(
                "limits.max_unauthenticated and limits.max_tls_handshakes must be > 0".into(),
            ));
        }
        if self.session.heartbeat_timeout_ms < 1500 {
            return Err(ConfigError::Invalid(
                "session.heartbeat_timeout_ms must be >= 1500 (clients ping every second)".into(),
            ));
        }
        if let Some(t) = &self.tls {
            if t.clients.is_empty() {
                return Err(ConfigError::Invalid(
                    "[tls] needs clients, the names (subjectAltName or CN) of the client \
                     certificates admitted ([\"*\"] = any certificate client_ca signed)"
                        .into(),
                ));
            }
        } else if let Some(r) = self.allow.iter().find(|r| r.clients.is_some()) {
            return Err(ConfigError::Invalid(format!(
                "rule {} names clients, which only [tls] identifies",
                r.path.display()
            )));
        }
        if self.limits.max_frame < 1024 {
            return Err(ConfigError::Invalid(
                "limits.max_frame must be >= 1024".into(),
            ));
        }
        Ok(())
    }
}

/// The optional client configuration file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Default server address (CMD_NET_ADDR and --addr take precedence).
    pub addr: Option<String>,
    /// Pid map directory.
    pub pidmap_dir: Option<PathBuf>,
    pub tls: Option<TlsClientConfig>,
}

/// Client TLS material.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TlsClientConfig {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Name to verify in the server certificate (default: the host of the address).
    pub server_name: Option<String>,
}

impl ClientConfig {
    /// Load a client config; a missing file at the default location is not an error.
    pub fn load(path: &Path, must_exist: bool) -> Result<ClientConfig, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                toml::from_str(&text).map_err(|e| ConfigError::Parse(path.into(), e.to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                Ok(ClientConfig::default())
            }
            Err(e) => Err(ConfigError::Read(path.into(), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_example() {
        let text = include_str!("../examples/rexec_server.toml");
        let cfg: ServerConfig = toml::from_str(text).unwrap();
        cfg.validate().unwrap();
        assert!(!cfg.allow.is_empty());
    }

    #[test]
    fn parse_client_example() {
        let text = include_str!("../examples/rexec.toml");
        let cfg: ClientConfig = toml::from_str(text).unwrap();
        assert_eq!(cfg.pidmap_dir, Some(PathBuf::from("/run/rexec")));
    }

    #[test]
    fn empty_whitelist_invalid() {
        let cfg: ServerConfig = toml::from_str("").unwrap();
        assert!(cfg.validate().is_err());
    }
}
