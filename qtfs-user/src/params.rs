//! The module parameters shared by `qtfs.ko` and `qtfs_server.ko`, typed so
//! that a bad value is refused here with a clear message before the kernel
//! sees it (the kernel checks them again; see docs/kernel-modules.md).

use std::fmt;
use std::net::Ipv4Addr;
use std::num::NonZeroU16;
use std::str::FromStr;

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
}

impl ModuleParams {
    /// The parameter string handed to `finit_module`, as insmod would build it.
    pub fn to_kernel_args(&self) -> String {
        let mut args = format!(
            "qtfs_server_ip={} qtfs_server_port={}",
            self.server_ip, self.server_port
        );
        if let Some(level) = self.log_level {
            args.push_str(&format!(" qtfs_log_level={level}"));
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_args_name_every_given_parameter() {
        let params = ModuleParams {
            server_ip: Ipv4Addr::new(10, 10, 0, 1),
            server_port: NonZeroU16::new(12345).unwrap(),
            log_level: Some(LogLevel::Debug),
        };
        assert_eq!(
            params.to_kernel_args(),
            "qtfs_server_ip=10.10.0.1 qtfs_server_port=12345 qtfs_log_level=DEBUG"
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
