// SPDX-License-Identifier: GPL-2.0
//! The `qtfs` file system type. Mounting is not implemented yet: every
//! attempt fails with `EOPNOTSUPP` (and a log line), without side effects.
#![forbid(unsafe_code)]

use crate::kbase::fs::{eopnotsupp, FileSystem, FsType, Registration};
use crate::kbase::log::qwarn;
use core::convert::Infallible;
use kernel::c_str;
use kernel::prelude::*;

struct Qtfs;

impl FileSystem for Qtfs {
    fn init_fs_context() -> Result<Infallible> {
        qwarn!("mount: not implemented yet");
        Err(eopnotsupp())
    }
}

static QTFS_FS_TYPE: FsType = FsType::new::<Qtfs>(c_str!("qtfs"));

/// Registers `qtfs` (see `/proc/filesystems`) until the result is dropped.
pub(crate) fn register(module: &'static ThisModule) -> Result<Registration> {
    Registration::register(&QTFS_FS_TYPE, module)
}
