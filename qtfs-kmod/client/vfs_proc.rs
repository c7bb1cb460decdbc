// SPDX-License-Identifier: GPL-2.0
//! A mount of the HOST's /proc with the caller's own entries from the
//! DPU's procfs (`-o proc`; the rules are data, parsed in `splice`).
//!
//! A name at the mount's root that a rule takes for the calling process
//! (`self`, `thread-self`, the caller's own pid...) becomes a symlink
//! made here, with no node on the server, whose target is computed for
//! each caller (as procfs's own `self` is). Its dentry stays valid only
//! while the same rule applies to whoever walks it, and a HOST entry's
//! dentry is dropped for a caller that a rule takes: so the HOST's pid
//! 412 is visible to every DPU process except the DPU's own pid 412,
//! which sees itself.
#![forbid(unsafe_code)]

use crate::fs::Qtfs;
use crate::kbase::cred::current_pids;
use crate::kbase::vfsc::{Dentry, Inode, InodeRef, Lookup};
use crate::node::{attr, key_of, Node};
use crate::proto::{FileMode, NodeFlags};
use crate::vfs_super::SuperInfo;
use kernel::alloc::KVec;
use kernel::error::code::EINVAL;
use kernel::prelude::*;

/// Inode numbers and device of the spliced symlinks: outside what the
/// server's attributes use (its `dev` is a HOST device number).
const SPLICED_DEV: u64 = u64::MAX;
const SPLICED_INO: u64 = 1 << 62;

fn info(i: &Inode<Qtfs>) -> &SuperInfo {
    i.sb().info()
}

/// The rule that takes `name` in `dir` for the calling task, if any.
pub(crate) fn rule_at(dir: &Inode<Qtfs>, name: &[u8]) -> Option<usize> {
    let info = info(dir);
    let splice = &info.opts.splice;
    if !splice.enabled || dir.key() != info.root_key() || dir.data().spliced.is_some() {
        return None;
    }
    let (tgid, _) = current_pids();
    splice.rule_for(name, tgid)
}

/// The symlink of rule `rule` (one inode per rule and mount, shared by
/// every name the rule takes).
pub(crate) fn spliced_inode(dir: &Inode<Qtfs>, rule: usize) -> Result<InodeRef<Qtfs>> {
    let mut a = *info(dir).root_attr();
    a.ino = SPLICED_INO + rule as u64;
    a.dev = SPLICED_DEV;
    a.mode = FileMode::new(0o120777).ok_or(EINVAL)?;
    a.nlink = 1;
    a.size = 0;
    a.blocks = 0;
    a.generation = 0;
    a.change = 0;
    a.flags = NodeFlags::PSEUDO;
    match dir.sb().get_inode(key_of(&a), Node::spliced(rule, a))? {
        Lookup::Cached(i) => Ok(i),
        Lookup::New(new) => Ok(new.finish(&attr(&a), 0, true)),
    }
}

/// The target of a spliced symlink for the calling task.
pub(crate) fn target(inode: &Inode<Qtfs>, rule: usize) -> Result<KVec<u8>> {
    let (tgid, tid) = current_pids();
    let t = info(inode)
        .opts
        .splice
        .target(rule, tgid, tid)
        .ok_or_else(crate::kbase::errno::enametoolong)?;
    let mut v = KVec::with_capacity(t.as_bytes().len(), GFP_KERNEL)?;
    v.extend_from_slice(t.as_bytes(), GFP_KERNEL)?;
    Ok(v)
}

/// Whether a cached name at the root still means, for the calling task,
/// what it did: `None` when no rule is involved (the usual checks apply).
pub(crate) fn still_valid(dir: &Inode<Qtfs>, d: &Dentry<Qtfs>) -> Option<bool> {
    let now = rule_at(dir, d.name());
    match (d.inode().and_then(|i| i.data().spliced), now) {
        (Some(had), now) => Some(now == Some(had)),
        // A HOST entry (or a negative one) that this caller must not see.
        (None, Some(_)) => Some(false),
        (None, None) => None,
    }
}
