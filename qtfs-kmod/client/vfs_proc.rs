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
//!
//! With rules for names inside the caller's own directory
//! (`self/mountinfo:...`), that directory is made here too ([`OWN_DIR`]):
//! a name with a rule is that rule's symlink, any other name a symlink to
//! the DPU's `<localproc>/<pid>/<name>` ([`IN_OWN_DIR`]; for the DPU's
//! magic links, `exe`, `cwd` and `root`, the path they lead to, so that
//! `readlink` gives what it gives locally), and its listing is the DPU's
//! directory's, every entry a symlink.
#![forbid(unsafe_code)]

use crate::fs::Qtfs;
use crate::kbase::cred::current_pids;
use crate::kbase::vfsc::{local_link_target, Dentry, Inode, InodeRef, LocalDir, Lookup};
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

/// `Node::spliced` of the caller's own directory, made here.
pub(crate) const OWN_DIR: usize = crate::options::splice::MAX_RULES;
/// `Node::spliced` of a name in it that no rule takes.
pub(crate) const IN_OWN_DIR: usize = OWN_DIR + 1;
/// `DT_LNK`: what every entry of the made directory is.
const DT_LNK: u8 = 10;

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
    let rule = splice.rule_for(name, tgid)?;
    Some(if splice.makes_caller_dir(rule) { OWN_DIR } else { rule })
}

/// A name in the caller's own directory made here: its rule's symlink,
/// or the one to the DPU's entry of that name.
pub(crate) fn in_own_dir(dir: &Inode<Qtfs>, name: &[u8]) -> Result<InodeRef<Qtfs>> {
    let which = info(dir).opts.splice.rule_in_caller_dir(name).unwrap_or(IN_OWN_DIR);
    spliced_inode(dir, which)
}

/// Opens the caller's own directory made here: the DPU's
/// `<localproc>/<pid>`, for its listing.
pub(crate) fn open_own_dir(inode: &Inode<Qtfs>) -> Result<LocalDir> {
    let (tgid, _) = current_pids();
    let path = info(inode).opts.splice.in_local_dir(tgid, b".").ok_or_else(crate::kbase::errno::enametoolong)?;
    LocalDir::open(path.as_bytes())
}

/// Lists the made directory: the DPU's entries, each as a symlink.
pub(crate) fn list_own_dir(dir: &LocalDir, ctx: &mut crate::kbase::vfsc::DirContext<'_>) -> Result {
    dir.relay(ctx, DT_LNK)
}


/// The symlink of rule `rule` (one inode per rule and mount, shared by
/// every name the rule takes).
pub(crate) fn spliced_inode(dir: &Inode<Qtfs>, rule: usize) -> Result<InodeRef<Qtfs>> {
    let mut a = *info(dir).root_attr();
    a.ino = SPLICED_INO + rule as u64;
    a.dev = SPLICED_DEV;
    let is_dir = rule == OWN_DIR;
    a.mode = FileMode::new(if is_dir { 0o40555 } else { 0o120777 }).ok_or(EINVAL)?;
    a.nlink = if is_dir { 2 } else { 1 };
    a.size = 0;
    a.blocks = 0;
    a.generation = 0;
    a.change = 0;
    a.flags = NodeFlags::PSEUDO;
    match dir.sb().get_inode(key_of(&a), Node::spliced(rule, a))? {
        Lookup::Cached(i) => Ok(i),
        Lookup::New(new) if is_dir => Ok(new.finish_made_dir(&attr(&a))),
        Lookup::New(new) => Ok(new.finish(&attr(&a), 0, true)),
    }
}

/// The target of a spliced symlink for the calling task (`d`: the name
/// it was reached by).
pub(crate) fn target(inode: &Inode<Qtfs>, rule: usize, d: &Dentry<Qtfs>) -> Result<KVec<u8>> {
    let (tgid, tid) = current_pids();
    let splice = &info(inode).opts.splice;
    if rule == IN_OWN_DIR {
        let path = splice.in_local_dir(tgid, d.name()).ok_or_else(crate::kbase::errno::enametoolong)?;
        if let Some(t) = local_link_target(path.as_bytes())? {
            return Ok(t);
        }
        let mut v = KVec::with_capacity(path.as_bytes().len(), GFP_KERNEL)?;
        v.extend_from_slice(path.as_bytes(), GFP_KERNEL)?;
        return Ok(v);
    }
    let t = splice.target(rule, tgid, tid).ok_or_else(crate::kbase::errno::enametoolong)?;
    let mut v = KVec::with_capacity(t.as_bytes().len(), GFP_KERNEL)?;
    v.extend_from_slice(t.as_bytes(), GFP_KERNEL)?;
    Ok(v)
}

/// Whether a cached name at the root still means, for the calling task,
/// what it did: `None` when no rule is involved (the usual checks apply).
pub(crate) fn still_valid(dir: &Inode<Qtfs>, d: &Dentry<Qtfs>) -> Option<bool> {
    if dir.data().spliced.is_some() {
        // Names in the made directory mean the same for whoever reaches
        // it (only its owner does: its own dentry is checked per caller).
        return Some(true);
    }
    let now = rule_at(dir, d.name());
    match (d.inode().and_then(|i| i.data().spliced), now) {
        (Some(had), now) => Some(now == Some(had)),
        // A HOST entry (or a negative one) that this caller must not see.
        (None, Some(_)) => Some(false),
        (None, None) => None,
    }
}
