// SPDX-License-Identifier: GPL-2.0
//! qtfs.ko: the DPU side of qtfs.
//!
//! At load it validates its parameters (`kbase::param`), registers the file
//! system type `qtfs` (`fs_type`; mounting is refused until the remote VFS
//! lands) and opens one TCP connection to the server (`conn`), kept until
//! unload. Unloading closes the connection and unregisters the type.

use kernel::prelude::*;

mod conn;
mod fs_type;
#[path = "../kbase/mod.rs"]
mod kbase;

use kbase::config::Role;
use kbase::fs::Registration;
use kbase::log::qinfo;
use kbase::net::TcpStream;

module! {
    type: Qtfs,
    name: "qtfs",
    author: "qtfs-rs",
    description: "qtfs client: the HOST's files on the DPU",
    license: "GPL",
}

struct Qtfs {
    // Fields drop in this order: the connection, then the registration.
    _conn: Option<TcpStream>,
    _fs: Registration,
}

impl kernel::Module for Qtfs {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let cfg = kbase::param::load(Role::Client)?;
        kbase::log::set_level(cfg.log_level);
        let fs = fs_type::register(module)?;
        let conn = conn::connect_at_load(cfg.server);
        qinfo!(
            "loaded (server {}, log level {})",
            cfg.server,
            cfg.log_level.name()
        );
        Ok(Qtfs {
            _conn: conn,
            _fs: fs,
        })
    }
}

impl Drop for Qtfs {
    fn drop(&mut self) {
        qinfo!("unloading");
    }
}
