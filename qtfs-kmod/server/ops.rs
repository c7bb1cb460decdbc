// SPDX-License-Identifier: GPL-2.0
//! The file operations a session performs (the read-only subset).
//!
//! `Attach` resolves the configured export (`qtfs_export`) and returns its
//! root node; every other node is reached from it by single-component
//! lookups that never follow symlinks (`kbase::vfs::Path::child`), so
//! nothing outside the export can be named. Each operation runs with the
//! request's credentials (`kbase::cred::CredGuard`: fsuid, fsgid, groups;
//! no capability unless the caller is root — root squash comes later).
//! Writes are refused with `EROFS`; the remaining opcodes are answered
//! `EOPNOTSUPP`.
#![forbid(unsafe_code)]

use crate::kbase::cred::CredGuard;
use crate::kbase::vfs::{Attr, Path};
use crate::proto::{
    AttrReply, Data, DirEntriesBuilder, DirEntry, EmptyReply, EntryReply, Errno, FileMode,
    FileType, IncomingRequest, Name, OpenFlags, OpenReply, Path as WirePath, ReadReply,
    ReaddirReply, ReadlinkReply, Reply, Request, StatFs, StatfsReply, Timestamp, WireAttr,
    MAX_PATH_LEN,
};
use crate::tables::{Handles, Nodes};
use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::str::CStr;

/// What a session's operations work on.
pub(crate) struct Ctx<'a> {
    /// `qtfs_export` (NUL-terminated), when configured.
    pub(crate) export: Option<&'a [u8]>,
    pub(crate) nodes: Nodes,
    pub(crate) handles: Handles,
    /// Read data, link targets and directory entries (MAX_IO_SIZE bytes).
    pub(crate) scratch: KVVec<u8>,
}

fn errno(e: kernel::error::Error) -> Errno {
    Errno::from_kernel(e.to_errno()).unwrap_or(Errno::EIO)
}

/// `/a/b/` and `/a/b` name the same export.
fn trim_slashes(p: &[u8]) -> &[u8] {
    let mut p = p;
    while p.len() > 1 && p.last() == Some(&b'/') {
        p = &p[..p.len() - 1];
    }
    p
}

fn wire_attr(a: &Attr) -> Result<WireAttr, Errno> {
    Ok(WireAttr {
        ino: a.ino,
        dev: a.dev,
        mode: FileMode::new(a.mode).ok_or(Errno::EIO)?,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev_major: a.rdev_major,
        rdev_minor: a.rdev_minor,
        size: a.size,
        blocks: a.blocks,
        blksize: a.blksize,
        atime: Timestamp {
            sec: a.atime_sec,
            nsec: a.atime_nsec,
        },
        mtime: Timestamp {
            sec: a.mtime_sec,
            nsec: a.mtime_nsec,
        },
        ctime: Timestamp {
            sec: a.ctime_sec,
            nsec: a.ctime_nsec,
        },
        generation: 0,
        change: 0,
        flags: crate::proto::NodeFlags::default(),
    })
}

fn attr_of(p: &Path) -> Result<WireAttr, Errno> {
    wire_attr(&p.getattr().map_err(errno)?)
}

impl Ctx<'_> {
    /// Adds a reference to `path`'s node and describes it.
    fn entry(&mut self, path: Path) -> Result<EntryReply, Errno> {
        let attr = attr_of(&path)?;
        let node = self.nodes.add_ref(path)?;
        Ok(EntryReply { node, attr })
    }
}

/// Performs `req` and hands its reply to `send` (which encodes it and
/// returns the frame length); an `Err` is answered as an error reply.
pub(crate) fn perform<F>(
    ctx: &mut Ctx<'_>,
    req: &IncomingRequest<'_>,
    send: F,
) -> Result<usize, Errno>
where
    F: FnOnce(&Reply<'_>) -> Result<usize, Errno>,
{
    if let Request::Ping(_) = req.request {
        return send(&Reply::Ping(EmptyReply {}));
    }
    let mut groups = [0u32; crate::kbase::cred::MAX_GROUPS];
    let mut n = 0;
    for (slot, g) in groups.iter_mut().zip(req.creds.groups.iter()) {
        *slot = g;
        n += 1;
    }
    let _creds = CredGuard::new(req.creds.fsuid, req.creds.fsgid, &groups[..n]).map_err(errno)?;
    match req.request {
        Request::Attach(a) => {
            let Some(export) = ctx.export else {
                return Err(Errno::EACCES);
            };
            let configured = export.strip_suffix(&[0]).unwrap_or(export);
            if trim_slashes(a.export.as_bytes()) != trim_slashes(configured) {
                return Err(Errno::ENOENT);
            }
            let name = CStr::from_bytes_with_nul(export).map_err(|_| Errno::EINVAL)?;
            let root = Path::dir(name).map_err(errno)?;
            let e = ctx.entry(root)?;
            send(&Reply::Attach(e))
        }
        Request::Forget(f) => {
            ctx.nodes.forget(f.node, f.count)?;
            send(&Reply::Forget(EmptyReply {}))
        }
        Request::Lookup(l) => {
            let child = ctx
                .nodes
                .path(l.parent)?
                .child(l.name.as_bytes())
                .map_err(errno)?;
            let e = ctx.entry(child)?;
            send(&Reply::Lookup(e))
        }
        Request::Getattr(g) => {
            let attr = attr_of(ctx.nodes.path(g.node)?)?;
            send(&Reply::Getattr(AttrReply { attr }))
        }
        Request::Open(o) => {
            let path = ctx.nodes.path(o.node)?;
            let f = o.flags;
            if f.access_mode() != 0
                || f.contains(OpenFlags::O_CREAT)
                || f.contains(OpenFlags::O_TRUNC)
                || f.contains(OpenFlags::O_APPEND)
            {
                return Err(Errno::EROFS);
            }
            let file = path.open_read().map_err(errno)?;
            if f.contains(OpenFlags::O_DIRECTORY) && !file.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            let attr = attr_of(path)?;
            let handle = ctx.handles.add(file)?;
            send(&Reply::Open(OpenReply { handle, attr }))
        }
        Request::Read(r) => {
            let file = ctx.handles.file(r.handle)?;
            if file.is_dir() {
                return Err(Errno::EISDIR);
            }
            // IoSize bounds `size` by MAX_IO_SIZE, the scratch's length.
            let size = r.size.get() as usize;
            let buf = ctx.scratch.get_mut(..size).ok_or(Errno::EINVAL)?;
            let n = file.read_at(r.offset, buf).map_err(errno)?;
            let data = Data::new(buf.get(..n).unwrap_or(&[])).ok_or(Errno::EIO)?;
            send(&Reply::Read(ReadReply { data }))
        }
        Request::Release(r) => {
            ctx.handles.release(r.handle)?;
            send(&Reply::Release(EmptyReply {}))
        }
        Request::Readdir(r) => {
            let file = ctx.handles.file(r.handle)?;
            if !file.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            let max = r.max_bytes.get() as usize;
            let buf = ctx.scratch.get_mut(..max).ok_or(Errno::EINVAL)?;
            let mut builder = DirEntriesBuilder::new(buf);
            // An entry is only known to be complete once the next one's
            // position (its cookie) is known: hold it back one step.
            let mut held: Option<([u8; 256], usize, u64, u8)> = None;
            let mut full = false;
            let mut sink = |name: &[u8], d_type: u8, ino: u64, pos: i64| -> bool {
                if let Some((nb, nl, hino, ht)) = held.take() {
                    let Some(hname) = nb.get(..nl).and_then(Name::new) else {
                        // Unrepresentable name: skip it.
                        return keep(&mut held, name, d_type, ino);
                    };
                    let e = DirEntry {
                        ino: hino,
                        cookie: pos as u64,
                        file_type: FileType::from_u8(ht).unwrap_or(FileType::Unknown),
                        name: hname,
                    };
                    if builder.push(&e).is_err() {
                        full = true;
                        return false;
                    }
                }
                keep(&mut held, name, d_type, ino)
            };
            let end = file.read_dir(r.cookie, &mut sink).map_err(errno)?;
            let mut eof = !full;
            if !full {
                if let Some((nb, nl, hino, ht)) = held.take() {
                    if let Some(hname) = nb.get(..nl).and_then(Name::new) {
                        let e = DirEntry {
                            ino: hino,
                            cookie: end as u64,
                            file_type: FileType::from_u8(ht).unwrap_or(FileType::Unknown),
                            name: hname,
                        };
                        if builder.push(&e).is_err() {
                            eof = false;
                        }
                    }
                }
            }
            let entries = builder.finish();
            if entries.is_empty() && !eof {
                // Not even one entry fits in max_bytes.
                return Err(Errno::EINVAL);
            }
            send(&Reply::Readdir(ReaddirReply { entries, eof }))
        }
        Request::Readlink(r) => {
            let path = ctx.nodes.path(r.node)?;
            let max = MAX_PATH_LEN as usize;
            let buf = ctx.scratch.get_mut(..max).ok_or(Errno::EIO)?;
            let n = path.readlink(buf).map_err(errno)?;
            let target = WirePath::new(buf.get(..n).unwrap_or(&[])).ok_or(Errno::EIO)?;
            send(&Reply::Readlink(ReadlinkReply { target }))
        }
        Request::Statfs(s) => {
            let st = ctx.nodes.path(s.node)?.statfs().map_err(errno)?;
            let stat = StatFs {
                blocks: st.blocks,
                bfree: st.bfree,
                bavail: st.bavail,
                files: st.files,
                ffree: st.ffree,
                fsid: st.fsid,
                flags: st.flags,
                bsize: st.bsize,
                frsize: st.frsize,
                namelen: st.namelen,
                fs_type: st.fs_type,
            };
            send(&Reply::Statfs(StatfsReply { stat }))
        }
        Request::Setattr(_)
        | Request::Create(_)
        | Request::Write(_)
        | Request::Mkdir(_)
        | Request::Rmdir(_)
        | Request::Unlink(_)
        | Request::Rename(_)
        | Request::Link(_)
        | Request::Symlink(_)
        | Request::Mknod(_) => Err(Errno::EROFS),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// Holds the entry `name` back until the next position is known; `.` and
/// `..` are not sent. Always continues the listing.
fn keep(held: &mut Option<([u8; 256], usize, u64, u8)>, name: &[u8], d_type: u8, ino: u64) -> bool {
    if name == b"." || name == b".." || name.len() > 255 {
        return true;
    }
    let mut nb = [0u8; 256];
    nb[..name.len()].copy_from_slice(name);
    *held = Some((nb, name.len(), ino, d_type));
    true
}
