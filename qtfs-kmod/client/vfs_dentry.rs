// SPDX-License-Identifier: GPL-2.0
//! Dentry revalidation: a cached name (positive or negative) is trusted
//! for `actimeo`, except when a path is opened, created in or renamed
//! onto (close-to-open: the server is asked again), and after that asking
//! the server whether it still names the same file.
#![forbid(unsafe_code)]

use crate::fs::Qtfs;
use crate::kbase::vfsc::{fresh, Dentry};
use crate::node::{apply, forget, key_of};
use crate::vfs_inode::remote_lookup;
use crate::vfs_super::SuperInfo;
use kernel::prelude::*;

/// `LOOKUP_REVAL`, `LOOKUP_OPEN`, `LOOKUP_CREATE`, `LOOKUP_EXCL`,
/// `LOOKUP_RENAME_TARGET` of `include/linux/namei.h`.
const ASK_AGAIN: u32 = LOOKUP_REVAL | 0x0100 | NAME_MATTERS;
/// `LOOKUP_REVAL`: the VFS walks again after an `ESTALE`.
const LOOKUP_REVAL: u32 = 0x0020;
/// `LOOKUP_CREATE`, `LOOKUP_EXCL`, `LOOKUP_RENAME_TARGET`: whether the
/// name exists decides what the operation does.
const NAME_MATTERS: u32 = 0x0200 | 0x0400 | 0x0800;

/// Whether a cached name of a pseudo file or directory (the HOST's
/// procfs, sysfs, cgroup trees) is trusted without asking, past
/// `actimeo`: such a name stands for its file until the file dies (a
/// process exits, a cgroup is removed), and every use of a dead one on the
/// server (`Open`, `ReadFile`, `Getattr`) answers `ESTALE`, on which the
/// VFS walks the path again with `LOOKUP_REVAL`, which asks. So a warm
/// open, read and close of `/proc/<pid>/stat` is one round trip however
/// long ago the name was looked up. Creations and renames onto a name
/// still ask (whether it exists decides what they do).
fn trusted_pseudo(d: &Dentry<Qtfs>, flags: u32) -> bool {
    flags & (LOOKUP_REVAL | NAME_MATTERS) == 0 && d.inode().is_some_and(|i| i.data().is_pseudo())
}

pub(crate) fn revalidate(d: &Dentry<Qtfs>, flags: u32) -> Result<bool> {
    let Some(parent) = d.parent() else {
        return Ok(false);
    };
    let Some(dir) = parent.inode() else {
        return Ok(false);
    };
    let info: &SuperInfo = dir.sb().info();
    match crate::vfs_proc::still_valid(dir, d) {
        Some(false) => return Ok(false),
        // A spliced symlink has nothing on the server to check.
        Some(true) => return Ok(true),
        None => {}
    }
    if trusted_pseudo(d, flags) {
        return Ok(true);
    }
    if flags & ASK_AGAIN == 0 && fresh(d.checked_at(), info.opts.actimeo_ms) {
        return Ok(true);
    }
    let conn = info.conn()?;
    let found = remote_lookup(dir, &conn, d.name())?;
    let valid = match (d.inode(), found) {
        (None, None) => true,
        (None, Some((node, _))) => {
            forget(&conn, node, 1);
            false
        }
        (Some(_), None) => false,
        (Some(inode), Some((node, a))) => {
            // The same HOST file: its reference is taken (in a new
            // session, as the inode's node id there).
            let same = key_of(&a) == inode.key();
            let taken = same && inode.data().take_ref(conn.generation(), node).is_none();
            if taken {
                apply(inode, &a);
            } else {
                forget(&conn, node, 1);
            }
            taken
        }
    };
    if valid {
        d.mark_checked();
    }
    Ok(valid)
}
