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
use core::sync::atomic::Ordering;
use kernel::prelude::*;

/// `LOOKUP_REVAL`, `LOOKUP_OPEN`, `LOOKUP_CREATE`, `LOOKUP_EXCL`,
/// `LOOKUP_RENAME_TARGET` of `include/linux/namei.h`.
const ASK_AGAIN: u32 = 0x0020 | 0x0100 | 0x0200 | 0x0400 | 0x0800;
/// `LOOKUP_OPEN`.
const LOOKUP_OPEN: u32 = 0x0100;

/// Which lookups ask the server again even within `actimeo`. A plain open
/// of a pseudo file does not: its open (`ReadFile`, `Open`) fails with
/// `ESTALE` if the HOST's name died meanwhile, and the VFS then walks the
/// path again with `LOOKUP_REVAL`; so a whole-file read of /proc or /sys
/// costs one round trip, not two.
fn ask_again(d: &Dentry<Qtfs>) -> u32 {
    match d.inode() {
        Some(i) if i.data().is_pseudo() && i.kind() != crate::kbase::vfsc::Kind::Dir => {
            ASK_AGAIN & !LOOKUP_OPEN
        }
        _ => ASK_AGAIN,
    }
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
    if flags & ask_again(d) == 0 && fresh(d.checked_at(), info.opts.actimeo_ms) {
        return Ok(true);
    }
    let found = remote_lookup(dir, d.name())?;
    let valid = match (d.inode(), found) {
        (None, None) => true,
        (None, Some((node, _))) => {
            forget(info, node, 1);
            false
        }
        (Some(_), None) => false,
        (Some(inode), Some((node, a))) => {
            let same = key_of(&a) == inode.key();
            let n = inode.data();
            if same && n.id() == node {
                n.nlookup.fetch_add(1, Ordering::AcqRel);
                apply(inode, &a);
            } else {
                forget(info, node, 1);
            }
            same && n.id() == node
        }
    };
    if valid {
        d.mark_checked();
    }
    Ok(valid)
}
