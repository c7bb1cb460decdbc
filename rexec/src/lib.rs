//! rexec: run a command on another machine as if it ran locally.
//!
//! The `rexec` client sends argv, environment and working directory to a
//! `rexec_server`, streams stdin/stdout/stderr, forwards signals and returns
//! the exit status. See docs/rexec.md for the protocol and security model.

pub mod addr;
pub mod cgroup;
pub mod client;
pub mod config;
pub mod pidmap;
pub mod policy;
pub mod process;
pub mod protocol;
pub mod server;
pub mod session;
pub mod signals;
pub mod tls;
