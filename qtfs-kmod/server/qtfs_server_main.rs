// SPDX-License-Identifier: GPL-2.0
//! qtfs_server.ko: the HOST side of qtfs.
//!
//! At load it validates its parameters (`kbase::param`), binds
//! `qtfs_server_ip:qtfs_server_port` and starts the accept thread
//! (`listener`); each accepted connection gets a session thread
//! (`session`) that runs the protocol handshake (`handshake`) and then
//! serves requests (`frame_io`, `dispatch`, `ops`, `tables`). Unloading stops every thread and releases every socket, listening
//! or connected, before `rmmod` returns.

use kernel::prelude::*;

mod dispatch;
mod frame_io;
mod handshake;
#[path = "../kbase/mod.rs"]
mod kbase;
mod listener;
mod ops;
#[forbid(unsafe_code)]
#[allow(unused_attributes, unused_imports, dead_code, unreachable_pub)]
#[path = "../proto/src/lib.rs"]
mod proto;
mod session;
mod tables;

use kbase::config::Role;
use kbase::log::{qinfo, qwarn};
use kernel::alloc::KVec;
use kernel::sync::Arc;

/// The server-only configuration every session reads.
pub(crate) struct ServerConfig {
    /// The pre-shared key (`qtfs_auth_key`); without it connections are refused.
    pub(crate) auth_key: Option<[u8; kbase::config::AUTH_KEY_LEN]>,
    /// The export directory (`qtfs_export`), NUL-terminated.
    pub(crate) export: Option<KVec<u8>>,
}

module! {
    type: QtfsServer,
    name: "qtfs_server",
    author: "qtfs-rs",
    description: "qtfs server: serves the HOST's files to qtfs clients",
    license: "GPL",
}

struct QtfsServer {
    _listener: listener::Listener,
}

impl kernel::Module for QtfsServer {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let cfg = kbase::param::load(Role::Server)?;
        let extra = kbase::param::load_server()?;
        kbase::log::set_level(cfg.log_level);
        let no_key = extra.auth_key.is_none();
        let server_cfg = Arc::new(
            ServerConfig {
                auth_key: extra.auth_key,
                export: extra.export,
            },
            GFP_KERNEL,
        )?;
        let listener = listener::Listener::start(cfg.server, server_cfg)?;
        if no_key {
            qwarn!("no qtfs_auth_key set: every connection will be refused");
        }
        qinfo!("loaded (log level {})", cfg.log_level.name());
        Ok(QtfsServer {
            _listener: listener,
        })
    }
}

impl Drop for QtfsServer {
    fn drop(&mut self) {
        qinfo!("unloading");
    }
}
