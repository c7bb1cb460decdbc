// SPDX-License-Identifier: GPL-2.0
//! The connection to the server opened at load.
//!
//! A placeholder for the connection pool of the remote VFS: one connection,
//! opened once, held until unload. A server that cannot be reached does not
//! fail the load (mounts will connect when they exist); it is logged.
#![forbid(unsafe_code)]

use crate::kbase::config::SockAddr;
use crate::kbase::log::{qinfo, qwarn};
use crate::kbase::net::TcpStream;

/// Longest wait for the TCP handshake (the wait is interruptible).
pub(crate) const CONNECT_TIMEOUT_MS: u32 = 5000;

/// Connects to `server`; `None` (and a warning) when it cannot.
pub(crate) fn connect_at_load(server: SockAddr) -> Option<TcpStream> {
    match TcpStream::connect(server, CONNECT_TIMEOUT_MS) {
        Ok(s) => {
            qinfo!("connected to {} from {}", server, s.local_addr());
            Some(s)
        }
        Err(e) => {
            qwarn!(
                "cannot connect to {}: error {}; staying loaded without a connection",
                server,
                e.to_errno()
            );
            None
        }
    }
}
