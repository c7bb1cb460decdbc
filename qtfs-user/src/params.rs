//! The module parameters shared by `qtfs.ko` and `qtfs_server.ko`, typed so
//! that a bad value is refused here with a clear message before the kernel
//! sees it (the kernel checks them again; see docs/kernel-modules.md).

use std::fmt;
use std::net::Ipv4Addr;
use std::num::NonZeroU16;
use std::str::FromStr;

use crate::exports::ExportList;
use crate::keyfile::AuthKey;

/// Port both modules use when none is given.
pub const DEFAULT_PORT: u16 = 12345;

/// `qtfs_log_level`: how much the modules write to the kernel log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[clap(rename_all = "UPPER")]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    None,
    Error,
    Warn,
    Info,
    Debug,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            LogLevel::None => "NONE",
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
        };
        f.write_str(name)
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <LogLevel as clap::ValueEnum>::from_str(s, true).map_err(|_| {
            format!("invalid log level '{s}': expected NONE, ERROR, WARN, INFO or DEBUG")
        })
    }
}

/// The parameters given to a module at load time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleParams {
    pub server_ip: Ipv4Addr,
    pub server_port: NonZeroU16,
    pub log_level: Option<LogLevel>,
    /// `qtfs_auth_key`, both modules.
    pub auth_key: Option<AuthKey>,
    /// `qtfs_exports`, the server only.
    pub exports: Option<ExportList>,
    /// `qtfs_root_squash=1`, the server only.
    pub root_squash: bool,
}

impl ModuleParams {
    /// The parameter string handed to `finit_module`, as insmod would build
    /// it. It holds the key: never print it (see [`Self::to_display_args`]).
    pub fn to_kernel_args(&self) -> String {
        self.args(self.auth_key.as_ref().map(AuthKey::hex))
    }

    /// The same string with the key replaced by `(hidden)`, for messages.
    pub fn to_display_args(&self) -> String {
        self.args(self.auth_key.as_ref().map(|_| "(hidden)"))
    }

    fn args(&self, key: Option<&str>) -> String {
        let mut args = format!(
            "qtfs_server_ip={} qtfs_server_port={}",
            self.server_ip, self.server_port
        );
        if let Some(level) = self.log_level {
            args.push_str(&format!(" qtfs_log_level={level}"));
        }
        if let Some(exports) = &self.exports {
            args.push_str(&format!(" qtfs_exports={exports}"));
        }
        if self.root_squash {
            args.push_str(" qtfs_root_squash=1");
        }
        if let Some(key) = key {
            args.push_str(&format!(" qtfs_auth_key={key}"));
        }
        args
    }

    /// The names of the parameters [`Self::to_kernel_args`] sets.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = vec!["qtfs_server_ip", "qtfs_server_port"];
        let optional = [
            (self.log_level.is_some(), "qtfs_log_level"),
            (self.exports.is_some(), "qtfs_exports"),
            (self.root_squash, "qtfs_root_squash"),
            (self.auth_key.is_some(), "qtfs_auth_key"),
        ];
        names.extend(optional.iter().filter(|(set, _)| *set).map(|(_, n)| *n));
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_args_name_every_given_parameter() {
        let mut params = ModuleParams {
            server_ip: Ipv4Addr::new(10, 10, 0, 1),
            server_port: NonZeroU16::new(12345).unwrap(),
            log_level: Some(LogLevel::Debug),
            auth_key: None,
            exports: None,
            root_squash: false,
        };
        assert_eq!(
            params.to_kernel_args(),
            "qtfs_server_ip=10.10.0.1 qtfs_server_port=12345 qtfs_log_level=DEBUG"
        );
        assert_eq!(params.to_display_args(), params.to_kernel_args());
        assert_eq!(
            params.names(),
            ["qtfs_server_ip", "qtfs_server_port", "qtfs_log_level"]
        );
        let hex = "ab".repeat(32);
        params.log_level = None;
        params.auth_key = Some(AuthKey::parse(&hex).unwrap());
        params.exports = Some(ExportList::parse("/srv/a,/srv/b:ro:crossmnt").unwrap());
        params.root_squash = true;
        assert_eq!(
            params.to_kernel_args(),
            format!(
                "qtfs_server_ip=10.10.0.1 qtfs_server_port=12345 \
                 qtfs_exports=/srv/a,/srv/b:ro:crossmnt qtfs_root_squash=1 qtfs_auth_key={hex}"
            )
        );
        let shown = params.to_display_args();
        assert!(shown.ends_with(" qtfs_auth_key=(hidden)"), "{shown}");
        assert!(!shown.contains(&hex), "{shown}");
        assert_eq!(
            params.names(),
            [
                "qtfs_server_ip",
                "qtfs_server_port",
                "qtfs_exports",
                "qtfs_root_squash",
                "qtfs_auth_key"
            ]
        );
    }

    #[test]
    fn log_level_is_case_insensitive_and_rejects_unknown_names() {
        assert_eq!("warn".parse::<LogLevel>().unwrap(), LogLevel::Warn);
        assert_eq!("INFO".parse::<LogLevel>().unwrap(), LogLevel::Info);
        let err = "LOUD".parse::<LogLevel>().unwrap_err();
        assert!(err.contains("LOUD"), "{err}");
    }
}
