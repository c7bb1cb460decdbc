// SPDX-License-Identifier: GPL-2.0
//! qtfs.ko: the DPU side of qtfs.
//!
//! At load it validates its parameters (`kbase::param`), keeps the server
//! address and key (`client`) and registers the file system type `qtfs`
//! (`fs`). The first mount connects and authenticates (`transport`); all
//! mounts share that connection. The VFS side is laid out like Linux's
//! fs/9p: `vfs_super`, `vfs_inode`, `vfs_dentry`, `vfs_dir`, `vfs_file`,
//! over `node` (per-inode state) and `transport`.

use kernel::prelude::*;

mod client;
mod fs;
#[path = "../kbase/mod.rs"]
mod kbase;
mod node;
mod options;
mod poll;
#[forbid(unsafe_code)]
#[allow(unused_attributes, unused_imports, dead_code, unreachable_pub)]
#[path = "../proto/src/lib.rs"]
mod proto;
mod transport;
mod vfs_dentry;
mod vfs_dir;
mod vfs_fifo;
mod vfs_file;
mod vfs_inode;
mod vfs_proc;
mod vfs_super;
mod vfs_xattr;

use kbase::config::Role;
use kbase::fs::{FsType, Registration};
use kbase::log::{qinfo, qwarn};
use kernel::c_str;

module! {
    type: QtfsModule,
    name: "qtfs",
    author: "qtfs-rs",
    description: "qtfs client: the HOST's files on the DPU",
    license: "GPL",
}

kbase::vfsc::mount::remote_fs_entry_points!(crate::fs::Qtfs);

static QTFS_FS_TYPE: FsType = FsType::with_context(
    c_str!("qtfs"),
    kbase::vfsc::mount::qtfs_shim_init_fs_context,
    kbase::vfsc::mount::qtfs_shim_kill_sb,
);

struct QtfsModule {
    // Dropped in this order: the status file, the type (no new mounts;
    // none exist, or the module could not be unloading), then the client
    // state.
    _status: kbase::status::StatusFile,
    _fs: Registration,
    _client: client::Registration,
}

impl kernel::Module for QtfsModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let cfg = kbase::param::load(Role::Client)?;
        kbase::log::set_level(cfg.log_level);
        let key = kbase::param::load_key()?;
        if key.is_none() {
            qwarn!("no qtfs_auth_key set: mounts will be refused");
        }
        let client = client::Registration::new(cfg.server, key)?;
        let fs = Registration::register(&QTFS_FS_TYPE, module)?;
        let status = kbase::status::StatusFile::create::<client::Status>(c_str!("fs/qtfs"))?;
        qinfo!(
            "loaded (server {}, log level {})",
            cfg.server,
            cfg.log_level.name()
        );
        Ok(QtfsModule {
            _status: status,
            _fs: fs,
            _client: client,
        })
    }
}

impl Drop for QtfsModule {
    fn drop(&mut self) {
        qinfo!("unloading");
    }
}
