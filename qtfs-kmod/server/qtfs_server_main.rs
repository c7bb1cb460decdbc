// SPDX-License-Identifier: GPL-2.0
//! qtfs_server.ko: the HOST side of qtfs.
//!
//! At load it validates its parameters (`kbase::param`), binds
//! `qtfs_server_ip:qtfs_server_port` and starts the accept thread
//! (`listener`); each accepted connection gets a session thread
//! (`session`) that, until the protocol exists, only waits for the peer to
//! close. Unloading stops every thread and releases every socket, listening
//! or connected, before `rmmod` returns.

use kernel::prelude::*;

#[path = "../kbase/mod.rs"]
mod kbase;
mod listener;
mod session;

use kbase::config::Role;
use kbase::log::qinfo;

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
        kbase::log::set_level(cfg.log_level);
        let listener = listener::Listener::start(cfg.server)?;
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
