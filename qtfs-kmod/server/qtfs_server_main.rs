// SPDX-License-Identifier: GPL-2.0
//! qtfs_server.ko: the HOST side of qtfs.
//!
//! At load it validates its parameters (`kbase::param`), applies the
//! export list (`exports`, also on every later write of `qtfs_exports`),
//! binds `qtfs_server_ip:qtfs_server_port` and starts the accept thread
//! (`listener`); each accepted connection gets a session thread
//! (`session`) that runs the protocol handshake (`handshake`) and then
//! reads requests for its pool of worker threads (`dispatch`, `ops`,
//! `tables`). Unloading stops every thread and releases every socket,
//! listening or connected, before `rmmod` returns.

use kernel::prelude::*;

mod dispatch;
mod exports;
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
mod poll;
mod session;
mod status;
mod tables;

use kbase::config::Role;
use kbase::log::{qinfo, qwarn};
use kernel::sync::Arc;

/// The server-only configuration every session reads.
pub(crate) struct ServerConfig {
    /// The pre-shared key (`qtfs_auth_key`); without it connections are refused.
    pub(crate) auth_key: Option<[u8; kbase::config::AUTH_KEY_LEN]>,
    /// The exports (`qtfs_exports`).
    pub(crate) exports: Arc<exports::Exports>,
}

module! {
    type: QtfsServer,
    name: "qtfs_server",
    author: "qtfs-rs",
    description: "qtfs server: serves the HOST's files to qtfs clients",
    license: "GPL",
}

struct QtfsServer {
    // Dropped in this order: the status file, the listener (every session
    // and worker stopped), then the parameter handler, then the exports.
    status: Option<kbase::status::StatusFile>,
    _status_info: kbase::sys::GlobalGuard<status::StatusInfo>,
    listener: Option<listener::Listener>,
    hook: Option<kbase::param::ExportsHook>,
    exports: Arc<exports::Exports>,
    /// Released last, once no worker or poll watch uses it.
    vfs: Option<kbase::vfs::ServerVfs>,
}

impl kernel::Module for QtfsServer {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let cfg = kbase::param::load(Role::Server)?;
        let auth_key = kbase::param::load_key()?;
        kbase::log::set_level(cfg.log_level);
        let exports = exports::Exports::new()?;
        let hook = kbase::param::ExportsHook::attach(exports.clone())?;
        let server_cfg = Arc::new(
            ServerConfig {
                auth_key,
                exports: exports.clone(),
            },
            GFP_KERNEL,
        )?;
        let vfs = kbase::vfs::ServerVfs::init()?;
        let listener = listener::Listener::start(cfg.server, server_cfg)?;
        let status_info = status::INFO.set(KBox::pin(status::StatusInfo { listen: cfg.server }, GFP_KERNEL)?);
        let status = kbase::status::StatusFile::create::<status::Status>(kernel::c_str!("fs/qtfs_server"))?;
        if auth_key.is_none() {
            qwarn!("no qtfs_auth_key set: every connection will be refused");
        }
        qinfo!("loaded (log level {})", cfg.log_level.name());
        Ok(QtfsServer {
            status: Some(status),
            _status_info: status_info,
            listener: Some(listener),
            hook: Some(hook),
            exports,
            vfs: Some(vfs),
        })
    }
}

impl Drop for QtfsServer {
    fn drop(&mut self) {
        qinfo!("unloading");
        drop(self.status.take());
        drop(self.listener.take());
        drop(self.hook.take());
        self.exports.remove_all();
        drop(self.vfs.take());
    }
}
