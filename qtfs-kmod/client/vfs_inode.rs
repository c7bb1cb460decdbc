// SPDX-License-Identifier: GPL-2.0
//! Inode operations: names in directories (lookup, create, mkdir, mknod,
//! symlink, link, unlink, rmdir, rename), attributes (getattr, setattr)
//! and symlink targets. Every request runs as the calling task.
#![forbid(unsafe_code)]

use crate::fs::Qtfs;
use crate::kbase::vfsc::ops::{attr_bits, SetAttr};
use crate::kbase::vfsc::{Dentry, Inode, InodeRef, Kind};
use crate::node::{apply, apply_own, expire, id, inode_for, refresh};
use crate::proto::{
    FileMode, LinkRequest, LookupRequest, MkdirRequest, MknodRequest, Name, Path, Permissions,
    ReadlinkRequest, RenameFlags, RenameRequest, Reply, Request, RmdirRequest, SetAttrMask,
    SetattrRequest, SymlinkRequest, TimeUpdate, Timestamp, UnlinkRequest, WireAttr,
};
use crate::transport::{Conn, Creds};
use crate::vfs_super::SuperInfo;
use kernel::alloc::KVec;
use crate::kbase::errno::enametoolong;
use kernel::error::code::{EEXIST, EINVAL, EIO, ENOENT};
use kernel::prelude::*;

/// `AT_STATX_FORCE_SYNC` and `AT_STATX_DONT_SYNC`.
const AT_STATX_FORCE_SYNC: u32 = 0x2000;
const AT_STATX_DONT_SYNC: u32 = 0x4000;

fn info(i: &Inode<Qtfs>) -> &SuperInfo {
    i.sb().info()
}

pub(crate) fn name_of(d: &Dentry<Qtfs>) -> Result<Name<'_>> {
    Name::new(d.name()).ok_or_else(enametoolong)
}

fn perms(mode: u32) -> Result<Permissions> {
    Permissions::new(mode & 0o7777).ok_or(EINVAL)
}

/// What a name resolves to on the server: `None` if it does not exist.
pub(crate) fn remote_lookup(dir: &Inode<Qtfs>, conn: &Conn, name: &[u8]) -> Result<Option<(u64, WireAttr)>> {
    let name = Name::new(name).ok_or_else(enametoolong)?;
    let r = conn.call(
        &Creds::current(),
        &Request::Lookup(LookupRequest {
            parent: id(dir, conn)?,
            name,
        }),
        |r| match r {
            Reply::Lookup(e) => Ok((e.node, e.attr)),
            _ => Err(EIO),
        },
    );
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e == ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn lookup(dir: &Inode<Qtfs>, d: &Dentry<Qtfs>) -> Result<Option<InodeRef<Qtfs>>> {
    if dir.data().spliced.is_some() {
        return Ok(Some(crate::vfs_proc::in_own_dir(dir, d.name())?));
    }
    if let Some(rule) = crate::vfs_proc::rule_at(dir, d.name()) {
        return Ok(Some(crate::vfs_proc::spliced_inode(dir, rule)?));
    }
    let conn = info(dir).conn()?;
    match remote_lookup(dir, &conn, d.name())? {
        None => Ok(None),
        Some((node, a)) => Ok(Some(inode_for(dir.sb(), &conn, node, &a)?)),
    }
}

/// A new entry's inode, with its directory's new attributes taken.
fn new_entry(dir: &Inode<Qtfs>, conn: &Conn, node: u64, a: &WireAttr, parent: &WireAttr) -> Result<InodeRef<Qtfs>> {
    apply(dir, parent);
    inode_for(dir.sb(), conn, node, a)
}

fn entry_reply(r: &Reply<'_>) -> Result<(u64, WireAttr, WireAttr)> {
    match r {
        Reply::Mkdir(e) | Reply::Mknod(e) | Reply::Symlink(e) | Reply::Link(e) => {
            Ok((e.node, e.attr, e.parent))
        }
        _ => Err(EIO),
    }
}

fn mknod_request(dir: &Inode<Qtfs>, d: &Dentry<Qtfs>, mode: u32, major: u32, minor: u32) -> Result<InodeRef<Qtfs>> {
    let creds = Creds::current();
    let mode = FileMode::new(mode).ok_or(EINVAL)?;
    let conn = info(dir).conn()?;
    let (node, a, p) = conn.call(
        &creds,
        &Request::Mknod(MknodRequest {
            parent: id(dir, &conn)?,
            name: name_of(d)?,
            mode,
            umask: perms(creds.umask)?,
            rdev_major: major,
            rdev_minor: minor,
        }),
        entry_reply,
    )?;
    new_entry(dir, &conn, node, &a, &p)
}

/// `creat(2)` and `open(O_CREAT)`: a regular file made with `Mknod` (no
/// open handle needed: `->open` follows). Without `excl`, a file that
/// appeared on the HOST meanwhile is simply used.
pub(crate) fn create(dir: &Inode<Qtfs>, d: &Dentry<Qtfs>, mode: u32, excl: bool) -> Result<InodeRef<Qtfs>> {
    match mknod_request(dir, d, (mode & 0o7777) | 0o100000, 0, 0) {
        Err(e) if e == EEXIST && !excl => {
            let conn = info(dir).conn()?;
            match remote_lookup(dir, &conn, d.name())? {
                Some((node, a)) => inode_for(dir.sb(), &conn, node, &a),
                None => Err(EEXIST),
            }
        }
        r => r,
    }
}

pub(crate) fn mknod(dir: &Inode<Qtfs>, d: &Dentry<Qtfs>, mode: u32, major: u32, minor: u32) -> Result<InodeRef<Qtfs>> {
    mknod_request(dir, d, mode, major, minor)
}

pub(crate) fn mkdir(dir: &Inode<Qtfs>, d: &Dentry<Qtfs>, mode: u32) -> Result<InodeRef<Qtfs>> {
    let creds = Creds::current();
    let conn = info(dir).conn()?;
    let (node, a, p) = conn.call(
        &creds,
        &Request::Mkdir(MkdirRequest {
            parent: id(dir, &conn)?,
            name: name_of(d)?,
            mode: perms(mode)?,
            umask: perms(creds.umask)?,
        }),
        entry_reply,
    )?;
    new_entry(dir, &conn, node, &a, &p)
}

pub(crate) fn symlink(dir: &Inode<Qtfs>, d: &Dentry<Qtfs>, target: &[u8]) -> Result<InodeRef<Qtfs>> {
    let target = Path::new(target).ok_or_else(enametoolong)?;
    let conn = info(dir).conn()?;
    let (node, a, p) = conn.call(
        &Creds::current(),
        &Request::Symlink(SymlinkRequest {
            parent: id(dir, &conn)?,
            name: name_of(d)?,
            target,
        }),
        entry_reply,
    )?;
    new_entry(dir, &conn, node, &a, &p)
}

pub(crate) fn link(old: &Dentry<Qtfs>, dir: &Inode<Qtfs>, d: &Dentry<Qtfs>) -> Result<InodeRef<Qtfs>> {
    let src = old.inode().ok_or(ENOENT)?;
    let conn = info(dir).conn()?;
    let (node, a, p) = conn.call(
        &Creds::current(),
        &Request::Link(LinkRequest {
            node: id(src, &conn)?,
            new_parent: id(dir, &conn)?,
            new_name: name_of(d)?,
        }),
        entry_reply,
    )?;
    new_entry(dir, &conn, node, &a, &p)
}

fn removed(dir: &Inode<Qtfs>, d: &Dentry<Qtfs>, r: &Reply<'_>) -> Result {
    match r {
        Reply::Unlink(x) | Reply::Rmdir(x) => {
            apply(dir, &x.parent);
            if let Some(victim) = d.inode() {
                victim.drop_nlink();
                if victim.kind() == Kind::Dir {
                    victim.drop_nlink();
                }
                expire(victim);
            }
            Ok(())
        }
        _ => Err(EIO),
    }
}

pub(crate) fn unlink(dir: &Inode<Qtfs>, d: &Dentry<Qtfs>) -> Result {
    let conn = info(dir).conn()?;
    let r = Request::Unlink(UnlinkRequest {
        parent: id(dir, &conn)?,
        name: name_of(d)?,
    });
    conn.call(&Creds::current(), &r, |r| removed(dir, d, r))
}

pub(crate) fn rmdir(dir: &Inode<Qtfs>, d: &Dentry<Qtfs>) -> Result {
    let conn = info(dir).conn()?;
    let r = Request::Rmdir(RmdirRequest {
        parent: id(dir, &conn)?,
        name: name_of(d)?,
    });
    conn.call(&Creds::current(), &r, |r| removed(dir, d, r))
}

pub(crate) fn rename(
    old_dir: &Inode<Qtfs>,
    old: &Dentry<Qtfs>,
    new_dir: &Inode<Qtfs>,
    new: &Dentry<Qtfs>,
    flags: u32,
) -> Result {
    let flags = RenameFlags::from_bits(flags).ok_or(EINVAL)?;
    let exchange = flags.contains(RenameFlags::RENAME_EXCHANGE);
    let conn = info(old_dir).conn()?;
    let r = Request::Rename(RenameRequest {
        old_parent: id(old_dir, &conn)?,
        old_name: name_of(old)?,
        new_parent: id(new_dir, &conn)?,
        new_name: name_of(new)?,
        flags,
    });
    conn.call(&Creds::current(), &r, |r| match r {
        Reply::Rename(x) => {
            apply(old_dir, &x.old_parent);
            apply(new_dir, &x.new_parent);
            if let Some(moved) = old.inode() {
                expire(moved);
            }
            if let Some(target) = new.inode() {
                if !exchange {
                    target.drop_nlink();
                    if target.kind() == Kind::Dir {
                        target.drop_nlink();
                    }
                }
                expire(target);
            }
            Ok(())
        }
        _ => Err(EIO),
    })
}

fn time_update(valid: u32, set_bit: u32, now_bit: u32, t: (i64, u32)) -> Result<TimeUpdate> {
    if valid & now_bit == 0 {
        return Ok(TimeUpdate::Omit);
    }
    if valid & set_bit == 0 {
        return Ok(TimeUpdate::Now);
    }
    if t.1 >= 1_000_000_000 {
        return Err(EINVAL);
    }
    Ok(TimeUpdate::Set(Timestamp { sec: t.0, nsec: t.1 }))
}

pub(crate) fn setattr(d: &Dentry<Qtfs>, a: &SetAttr) -> Result {
    let inode = d.inode().ok_or(ENOENT)?;
    if inode.data().spliced.is_some() {
        // As chmod of procfs's own `self`.
        return Err(kernel::error::code::EPERM);
    }
    let mut mask = SetAttrMask::default();
    let v = a.valid;
    for (bit, m) in [
        (attr_bits::MODE, SetAttrMask::MODE),
        (attr_bits::UID, SetAttrMask::UID),
        (attr_bits::GID, SetAttrMask::GID),
        (attr_bits::SIZE, SetAttrMask::SIZE),
    ] {
        if v & bit != 0 {
            mask = mask.union(m);
        }
    }
    let atime = time_update(v, attr_bits::ATIME_SET, attr_bits::ATIME, a.atime)?;
    let mtime = time_update(v, attr_bits::MTIME_SET, attr_bits::MTIME, a.mtime)?;
    let truncating = v & attr_bits::SIZE != 0 && inode.kind() == Kind::Regular;
    if truncating {
        // Cached writes below the new size must reach the server first.
        inode.write_and_wait(0, i64::MAX)?;
    }
    let conn = info(inode).conn()?;
    let handle = match a.open_file::<Qtfs>().and_then(|f| f.open()) {
        Some(o) => crate::vfs_file::handle_in(inode, &o.state, &conn)?,
        None => crate::node::NO_HANDLE,
    };
    let req = Request::Setattr(SetattrRequest {
        node: id(inode, &conn)?,
        handle,
        mask,
        mode: perms(a.mode)?,
        uid: a.uid,
        gid: a.gid,
        size: u64::try_from(a.size).map_err(|_| EINVAL)?,
        atime,
        mtime,
    });
    let attr = conn.call(&Creds::current(), &req, |r| match r {
        Reply::Setattr(x) => Ok(x.attr),
        _ => Err(EIO),
    })?;
    if truncating {
        inode.truncate_pagecache(i64::try_from(attr.size).map_err(|_| EIO)?);
    }
    apply_own(inode, &attr);
    Ok(())
}

pub(crate) fn getattr(inode: &Inode<Qtfs>, _mask: u32, flags: u32) -> Result {
    if flags & AT_STATX_DONT_SYNC != 0 || inode.data().spliced.is_some() {
        return Ok(());
    }
    refresh(inode, flags & AT_STATX_FORCE_SYNC != 0)
}

pub(crate) fn get_link(inode: &Inode<Qtfs>, d: &Dentry<Qtfs>) -> Result<KVec<u8>> {
    if let Some(rule) = inode.data().spliced {
        return crate::vfs_proc::target(inode, rule, d);
    }
    let conn = info(inode).conn()?;
    conn.call(
        &Creds::current(),
        &Request::Readlink(ReadlinkRequest {
            node: id(inode, &conn)?,
        }),
        |r| match r {
            Reply::Readlink(l) => {
                let t = l.target.as_bytes();
                let mut v = KVec::with_capacity(t.len(), GFP_KERNEL)?;
                v.extend_from_slice(t, GFP_KERNEL)?;
                Ok(v)
            }
            _ => Err(EIO),
        },
    )
}
