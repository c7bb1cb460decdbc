// SPDX-License-Identifier: GPL-2.0
//! The file operations, one request at a time on a worker thread.
//!
//! `Attach` finds the export holding the requested directory (`exports`)
//! and walks to it component by component from the export's root; every
//! other node is reached from a node by single-component lookups that
//! never follow symlinks (`kbase::vfs::Path::child`) and cross mounts only
//! on `crossmnt` exports, so nothing outside the exports can be named. A
//! node used by a request must still be beneath its export's root (else
//! `ESTALE`, also for removed exports). Each operation runs with the
//! request's credentials (`kbase::cred::CredGuard`: fsuid, fsgid, groups;
//! uid 0 with the file-system capabilities only, or squashed to 65534 with
//! `qtfs_root_squash`), and creations with the request's umask. Modifying
//! operations on a `ro` export are `EROFS`. `PollRegister` and
//! `PollCancel` are served by `poll`; `RemoteMount`, `RemoteUmount` and
//! `RemoteKill` are `EOPNOTSUPP`.
#![forbid(unsafe_code)]

use crate::exports::Export;
use crate::kbase::cred::CredGuard;
use crate::kbase::param::root_squash;
use crate::kbase::vfs::{Attr, File, Path, PrivateFs, SetAttr};
use crate::proto::{
    PollEvents, PollRegisterReply,
    attr::{S_IFBLK, S_IFCHR, S_IFIFO, S_IFREG, S_IFSOCK, UTIME_NOW, UTIME_OMIT},
    AttrReply, CreateReply, Data, DirEntriesBuilder, DirEntry, EmptyReply, EntryReply, Errno,
    FileMode, FileType, GetXattrReply, IncomingRequest, IoSize, ListXattrReply, LlseekReply, Name,
    NewEntryReply, NodeFlags, OpenFlags, OpenReply, Path as WirePath, ReadFileReply, ReadReply,
    ReaddirReply, ReadlinkReply, RemoveReply, RenameReply, Reply, Request, SetAttrMask, StatFs,
    StatfsReply, TimeUpdate, Timestamp, WireAttr, WriteReply, XattrListSize, XattrNames, XattrSize,
    XattrValue, MAX_PATH_LEN,
};
use crate::session::Shared;
use crate::tables::{HandleRef, NodeRef};
use kernel::alloc::{KVVec, KVec};
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::prelude::*;
use kernel::sync::Arc;

/// The uid and gid squashed root runs as.
pub(crate) const NOBODY: u32 = 65534;

/// `ECANCELED`.
pub(crate) const ECANCELED: Errno = match Errno::new(125) {
    Some(e) => e,
    None => Errno::EINTR,
};

/// What one request works with: the session, and the worker's own
/// scratch buffer and private fs_struct (for the umask).
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) scratch: &'a mut KVVec<u8>,
    pub(crate) fs: Option<&'a PrivateFs>,
}

/// The errno a client sees for a kernel error: the kernel-internal ones
/// (512 and above) never leave the server — an interrupted wait
/// (`ERESTARTSYS`, `ERESTARTNOINTR`, `ERESTARTNOHAND`,
/// `ERESTART_RESTARTBLOCK`) is `EINTR`, `ENOTSUPP` is `EOPNOTSUPP`, any
/// other `EIO`.
pub(crate) fn errno(e: kernel::error::Error) -> Errno {
    match -e.to_errno() {
        512..=516 => Errno::EINTR,
        524 => Errno::EOPNOTSUPP,
        n if n >= 512 => Errno::EIO,
        _ => Errno::from_kernel(e.to_errno()).unwrap_or(Errno::EIO),
    }
}

/// `s_magic` of the HOST's pseudo file systems, whose files' sizes say
/// nothing about their contents (include/uapi/linux/magic.h).
const PSEUDO_MAGICS: &[u64] = &[
    0x9fa0,      // PROC_SUPER_MAGIC
    0x6265_6572, // SYSFS_MAGIC
    0x0027_e0eb, // CGROUP_SUPER_MAGIC
    0x6367_7270, // CGROUP2_SUPER_MAGIC
    0x6462_6720, // DEBUGFS_MAGIC
    0x7472_6163, // TRACEFS_MAGIC
    0x7363_6673, // SECURITYFS_MAGIC
    0xcafe_4a11, // BPF_FS_MAGIC
    0x6265_6570, // CONFIGFS_MAGIC
    0x6165_676c, // PSTOREFS_MAGIC
    0xde5e_81e4, // EFIVARFS_MAGIC
    0xf97c_ff8c, // SELINUX_MAGIC
    0x4341_5d53, // SMACK_MAGIC
    0x6573_5543, // FUSE_CTL_SUPER_MAGIC
    0x4249_4e4d, // BINFMTFS_MAGIC
    0x6e73_6673, // NSFS_MAGIC
    0x0765_5821, // RDTGROUP_SUPER_MAGIC
];

/// Whether `magic` is a pseudo file system's.
pub(crate) fn is_pseudo(magic: u64) -> bool {
    PSEUDO_MAGICS.contains(&magic)
}

fn wire_attr(a: &Attr, export: &Export) -> Result<WireAttr, Errno> {
    let mut flags = NodeFlags::default();
    if is_pseudo(a.magic) {
        flags = flags.union(NodeFlags::PSEUDO);
    }
    if a.mounted != 0 && !export.crossmnt {
        flags = flags.union(NodeFlags::MOUNTPOINT);
    }
    if export.ro {
        flags = flags.union(NodeFlags::READ_ONLY);
    }
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
        generation: a.generation,
        change: a.change,
        flags,
    })
}

fn attr_of(p: &Path, export: &Export) -> Result<WireAttr, Errno> {
    wire_attr(&p.getattr().map_err(errno)?, export)
}

/// Open flags passed to the HOST's open as they are (their values are the
/// kernel's on every asm-generic architecture, x86-64 included).
const OPEN_PASSED: u32 = OpenFlags::O_WRONLY.bits()
    | OpenFlags::O_RDWR.bits()
    | OpenFlags::O_TRUNC.bits()
    | OpenFlags::O_APPEND.bits()
    | OpenFlags::O_NONBLOCK.bits()
    | OpenFlags::O_DSYNC.bits()
    | OpenFlags::O_DIRECT.bits()
    | OpenFlags::O_LARGEFILE.bits()
    | OpenFlags::O_DIRECTORY.bits()
    | OpenFlags::O_NOFOLLOW.bits()
    | OpenFlags::O_NOATIME.bits()
    | OpenFlags::__O_SYNC.bits();

/// The HOST open flags for `f`: `O_PATH` and `O_TMPFILE` are not
/// supported; `O_CREAT`, `O_EXCL` (see `Create`), `O_NOCTTY`, `FASYNC` and
/// `O_CLOEXEC` mean nothing for a server-side file and are dropped.
fn host_open_flags(f: OpenFlags) -> Result<u32, Errno> {
    if f.contains(OpenFlags::O_PATH) || f.contains(OpenFlags::__O_TMPFILE) {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(f.bits() & OPEN_PASSED)
}

fn writes(f: OpenFlags) -> bool {
    f.access_mode() != 0 || f.contains(OpenFlags::O_TRUNC)
}

fn time_arg(t: TimeUpdate) -> (i64, u32) {
    match t {
        TimeUpdate::Omit => (0, UTIME_OMIT),
        TimeUpdate::Now => (0, UTIME_NOW),
        TimeUpdate::Set(t) => (t.sec, t.nsec),
    }
}

/// One of a session's FIFO opens that may wait (counted while it does).
struct BlockingOpen<'a>(&'a AtomicUsize);

impl<'a> BlockingOpen<'a> {
    /// `EBUSY` when `MAX_BLOCKING_OPENS` of this direction already wait:
    /// the rest of the session's workers stay free for other requests.
    fn enter(count: &'a AtomicUsize) -> Result<Self, Errno> {
        let max = crate::proto::MAX_BLOCKING_OPENS as usize;
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1))
            .map_err(|_| Errno::EBUSY)?;
        Ok(BlockingOpen(count))
    }
}

impl Drop for BlockingOpen<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Ctx<'_> {
    /// Node `id`, checked to be still within a live export.
    fn node(&self, id: u64) -> Result<Arc<NodeRef>, Errno> {
        let n = self.shared.tables.lock().node(id)?;
        n.check()?;
        Ok(n)
    }

    /// A node that a modifying request acts on: `EROFS` on a `ro` export.
    fn node_rw(&self, id: u64) -> Result<Arc<NodeRef>, Errno> {
        let n = self.node(id)?;
        if n.export.ro {
            return Err(Errno::EROFS);
        }
        Ok(n)
    }

    fn handle(&self, id: u64) -> Result<Arc<HandleRef>, Errno> {
        let h = self.shared.tables.lock().handle(id)?;
        h.node.check()?;
        Ok(h)
    }

    /// Adds a reference to `path`'s node (one per HOST inode) in
    /// `export` and describes it.
    fn entry(&self, path: Path, export: &Arc<Export>) -> Result<(u64, WireAttr), Errno> {
        let a = path.getattr().map_err(errno)?;
        let attr = wire_attr(&a, export)?;
        let node = self
            .shared
            .tables
            .lock()
            .add_ref((a.dev, a.ino), path, export)?;
        Ok((node, attr))
    }

    /// Runs `f` with the request's umask on this worker's own fs_struct.
    fn with_umask<R>(&self, umask: u32, f: impl FnOnce() -> R) -> R {
        match self.fs {
            Some(fs) => fs.with_umask(umask, f),
            None => f(),
        }
    }

    fn new_entry(&self, path: Path, dir: &NodeRef) -> Result<NewEntryReply, Errno> {
        let (node, attr) = self.entry(path, &dir.export)?;
        let parent = attr_of(&dir.path, &dir.export)?;
        Ok(NewEntryReply { node, attr, parent })
    }
}

/// The credentials a request runs with: the caller's, with uid and gid 0
/// (also among the groups) mapped to [`NOBODY`] under `qtfs_root_squash`.
fn creds_of(req: &IncomingRequest<'_>) -> Result<CredGuard, Errno> {
    let squash = root_squash();
    let map = |id: u32| if squash && id == 0 { NOBODY } else { id };
    let mut groups = [0u32; crate::kbase::cred::MAX_GROUPS];
    let mut n = 0;
    for (slot, g) in groups.iter_mut().zip(req.creds.groups.iter()) {
        *slot = map(g);
        n += 1;
    }
    CredGuard::new(map(req.creds.fsuid), map(req.creds.fsgid), &groups[..n]).map_err(errno)
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
    match req.request {
        Request::Ping(_) => return send(&Reply::Ping(EmptyReply {})),
        // Answered by the session's reader; one that reaches a worker
        // (it cannot) is answered the same way.
        Request::Cancel(_) => return send(&Reply::Cancel(EmptyReply {})),
        _ => {}
    }
    let _creds = creds_of(req)?;
    match req.request {
        Request::Attach(a) => {
            let list = ctx.shared.cfg.exports.current();
            if list.is_empty() {
                return Err(Errno::EACCES);
            }
            let (export, rest) = list.find(a.export.as_bytes()).ok_or(Errno::ENOENT)?;
            let mut path = export.root.try_clone().map_err(errno)?;
            for c in rest.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
                if c == b"." || c == b".." {
                    return Err(Errno::EINVAL);
                }
                path = path.child(c, export.crossmnt).map_err(errno)?;
            }
            let (node, attr) = ctx.entry(path, &export)?;
            if attr.mode.file_type_bits() != crate::proto::attr::S_IFDIR {
                let _ = ctx.shared.tables.lock().forget(node, 1);
                return Err(Errno::ENOTDIR);
            }
            send(&Reply::Attach(EntryReply { node, attr }))
        }
        Request::Forget(f) => {
            ctx.shared.tables.lock().forget(f.node, f.count)?;
            send(&Reply::Forget(EmptyReply {}))
        }
        Request::Lookup(l) => {
            let dir = ctx.node(l.parent)?;
            let child = dir
                .path
                .child(l.name.as_bytes(), dir.export.crossmnt)
                .map_err(errno)?;
            let (node, attr) = ctx.entry(child, &dir.export)?;
            send(&Reply::Lookup(EntryReply { node, attr }))
        }
        Request::Getattr(g) => {
            let n = ctx.node(g.node)?;
            refuse_stale(&n.path)?;
            let attr = attr_of(&n.path, &n.export)?;
            send(&Reply::Getattr(AttrReply { attr }))
        }
        Request::Setattr(s) => {
            let n = ctx.node_rw(s.node)?;
            if s.mask.contains(SetAttrMask::SIZE) {
                if s.handle != 0 {
                    let h = ctx.handle(s.handle)?;
                    h.file.truncate(s.size).map_err(errno)?;
                } else {
                    n.path.truncate(s.size).map_err(errno)?;
                }
            }
            let mut a = SetAttr::default();
            if s.mask.contains(SetAttrMask::MODE) {
                a.mode = Some(s.mode.bits());
            }
            if s.mask.contains(SetAttrMask::UID) {
                a.uid = Some(s.uid);
            }
            if s.mask.contains(SetAttrMask::GID) {
                a.gid = Some(s.gid);
            }
            if s.atime != TimeUpdate::Omit || s.mtime != TimeUpdate::Omit {
                a.times = Some((time_arg(s.atime), time_arg(s.mtime)));
            }
            if a.mode.is_some() || a.uid.is_some() || a.gid.is_some() || a.times.is_some() {
                n.path.setattr(&a).map_err(errno)?;
            }
            let attr = attr_of(&n.path, &n.export)?;
            send(&Reply::Setattr(AttrReply { attr }))
        }
        Request::Open(o) => {
            let n = ctx.node(o.node)?;
            if n.export.ro && writes(o.flags) {
                return Err(Errno::EROFS);
            }
            let flags = host_open_flags(o.flags)?;
            refuse_stale(&n.path)?;
            // A FIFO open waits here for the other side, as locally (a
            // `Cancel` interrupts it); afterwards its reads and writes
            // never hold a worker: they answer `EAGAIN` and the client
            // waits for a poll event (docs/proc.md, "FIFOs").
            // (`O_RDWR` never waits.)
            let mode = o.flags.access_mode();
            let waits = n.path.is_fifo() && !o.flags.contains(OpenFlags::O_NONBLOCK) && mode < 2;
            let _waiting = if waits {
                Some(BlockingOpen::enter(&ctx.shared.blocking_opens[mode as usize])?)
            } else {
                None
            };
            let file = n.path.open(flags).map_err(errno)?;
            if file.is_fifo() {
                file.set_nonblocking();
            }
            let attr = attr_of(&n.path, &n.export)?;
            let handle = ctx.shared.tables.lock().add_handle(file, n)?;
            send(&Reply::Open(OpenReply { handle, attr }))
        }
        Request::Create(c) => {
            let dir = ctx.node_rw(c.parent)?;
            if c.flags.contains(OpenFlags::O_DIRECTORY) {
                return Err(Errno::EINVAL);
            }
            let mut flags = host_open_flags(c.flags)?;
            if c.flags.contains(OpenFlags::O_EXCL) {
                flags |= OpenFlags::O_EXCL.bits();
            }
            let file: File = ctx
                .with_umask(c.umask.bits(), || {
                    dir.path.create(c.name.as_bytes(), flags, c.mode.bits())
                })
                .map_err(errno)?;
            let path = file.path().map_err(errno)?;
            let (node, attr) = ctx.entry(path, &dir.export)?;
            let parent = attr_of(&dir.path, &dir.export)?;
            let nref = ctx.shared.tables.lock().node(node)?;
            let handle = ctx.shared.tables.lock().add_handle(file, nref);
            let handle = match handle {
                Ok(h) => h,
                Err(e) => {
                    let _ = ctx.shared.tables.lock().forget(node, 1);
                    return Err(e);
                }
            };
            send(&Reply::Create(CreateReply {
                node,
                handle,
                attr,
                parent,
            }))
        }
        Request::Read(r) => {
            let h = ctx.handle(r.handle)?;
            if h.file.is_dir() {
                return Err(Errno::EISDIR);
            }
            // IoSize bounds `size` by MAX_IO_SIZE; the worker sized the
            // scratch for it.
            let size = r.size.get() as usize;
            let buf = ctx.scratch.get_mut(..size).ok_or(Errno::ENOMEM)?;
            let n = h.file.read_at(r.offset, buf).map_err(errno)?;
            let data = Data::new(buf.get(..n).unwrap_or(&[])).ok_or(Errno::EIO)?;
            send(&Reply::Read(ReadReply { data }))
        }
        Request::Write(w) => {
            let h = ctx.handle(w.handle)?;
            if h.node.export.ro {
                return Err(Errno::EROFS);
            }
            let n = h
                .file
                .write_at(w.offset, w.data.as_bytes())
                .map_err(errno)?;
            let written = IoSize::new(n as u32).ok_or(Errno::EIO)?;
            let attr = attr_of(&h.node.path, &h.node.export)?;
            send(&Reply::Write(WriteReply { written, attr }))
        }
        Request::Fallocate(f) => {
            let h = ctx.handle(f.handle)?;
            if h.node.export.ro {
                return Err(Errno::EROFS);
            }
            h.file
                .fallocate(f.mode.bits(), f.offset, f.len)
                .map_err(errno)?;
            let attr = attr_of(&h.node.path, &h.node.export)?;
            send(&Reply::Fallocate(AttrReply { attr }))
        }
        Request::Fsync(f) => {
            let h = ctx.handle(f.handle)?;
            h.file.fsync(f.datasync).map_err(errno)?;
            send(&Reply::Fsync(EmptyReply {}))
        }
        Request::Release(r) => {
            let mut gone = KVec::new();
            let h = {
                let mut t = ctx.shared.tables.lock();
                t.polls.release_handle(r.handle, &mut gone);
                t.release(r.handle)?
            };
            // The file is put here, outside the table lock (or by the last
            // request still using it), after its poll watches.
            drop(gone);
            drop(h);
            send(&Reply::Release(EmptyReply {}))
        }
        Request::PollRegister(p) => {
            let h = ctx.handle(p.handle)?;
            let sender = ctx.shared.sender.clone();
            let (ready, reg) = crate::poll::register(p.poll_id, p.events, p.handle, h, sender)?;
            if let Some(reg) = reg {
                let mut gone = KVec::new();
                let r = ctx.shared.tables.lock().polls.add(reg, &mut gone);
                drop(gone);
                r?;
            }
            let revents = PollEvents::from_bits(ready & PollEvents::KNOWN).unwrap_or(PollEvents::POLLERR);
            send(&Reply::PollRegister(PollRegisterReply { revents }))
        }
        Request::PollCancel(p) => {
            let reg = ctx.shared.tables.lock().polls.cancel(p.poll_id);
            drop(reg);
            send(&Reply::PollCancel(EmptyReply {}))
        }
        Request::Readdir(r) => {
            let h = ctx.handle(r.handle)?;
            if !h.file.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            let max = r.max_bytes.get() as usize;
            let buf = ctx.scratch.get_mut(..max).ok_or(Errno::ENOMEM)?;
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
            let end = {
                let _pos = h.pos.lock();
                h.file.read_dir(r.cookie, &mut sink).map_err(errno)?
            };
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
        Request::Mkdir(m) => {
            let dir = ctx.node_rw(m.parent)?;
            let p = ctx
                .with_umask(m.umask.bits(), || {
                    dir.path.mkdir(m.name.as_bytes(), m.mode.bits())
                })
                .map_err(errno)?;
            let r = ctx.new_entry(p, &dir)?;
            send(&Reply::Mkdir(r))
        }
        Request::Mknod(m) => {
            let dir = ctx.node_rw(m.parent)?;
            let kind = m.mode.file_type_bits();
            if !matches!(kind, S_IFREG | S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK) {
                return Err(Errno::EINVAL);
            }
            let (major, minor) = if kind == S_IFCHR || kind == S_IFBLK {
                (m.rdev_major, m.rdev_minor)
            } else {
                (0, 0)
            };
            let p = ctx
                .with_umask(m.umask.bits(), || {
                    dir.path
                        .mknod(m.name.as_bytes(), m.mode.bits(), major, minor)
                })
                .map_err(errno)?;
            let r = ctx.new_entry(p, &dir)?;
            send(&Reply::Mknod(r))
        }
        Request::Symlink(s) => {
            let dir = ctx.node_rw(s.parent)?;
            let p = dir
                .path
                .symlink(s.name.as_bytes(), s.target.as_bytes())
                .map_err(errno)?;
            let r = ctx.new_entry(p, &dir)?;
            send(&Reply::Symlink(r))
        }
        Request::Link(l) => {
            let old = ctx.node(l.node)?;
            let dir = ctx.node_rw(l.new_parent)?;
            let p = dir
                .path
                .link_from(&old.path, l.new_name.as_bytes())
                .map_err(errno)?;
            let r = ctx.new_entry(p, &dir)?;
            send(&Reply::Link(r))
        }
        Request::Unlink(u) => {
            let dir = ctx.node_rw(u.parent)?;
            dir.path.remove(u.name.as_bytes(), false).map_err(errno)?;
            let parent = attr_of(&dir.path, &dir.export)?;
            send(&Reply::Unlink(RemoveReply { parent }))
        }
        Request::Rmdir(r) => {
            let dir = ctx.node_rw(r.parent)?;
            dir.path.remove(r.name.as_bytes(), true).map_err(errno)?;
            let parent = attr_of(&dir.path, &dir.export)?;
            send(&Reply::Rmdir(RemoveReply { parent }))
        }
        Request::Rename(r) => {
            let old = ctx.node_rw(r.old_parent)?;
            let new = ctx.node_rw(r.new_parent)?;
            let flags = r.flags;
            if flags.contains(crate::proto::RenameFlags::RENAME_EXCHANGE)
                && flags.contains(crate::proto::RenameFlags::RENAME_WHITEOUT)
            {
                return Err(Errno::EINVAL);
            }
            old.path
                .rename(
                    r.old_name.as_bytes(),
                    &new.path,
                    r.new_name.as_bytes(),
                    flags.bits(),
                )
                .map_err(errno)?;
            let old_parent = attr_of(&old.path, &old.export)?;
            let new_parent = attr_of(&new.path, &new.export)?;
            send(&Reply::Rename(RenameReply {
                old_parent,
                new_parent,
            }))
        }
        Request::Readlink(r) => {
            let n = ctx.node(r.node)?;
            let max = MAX_PATH_LEN as usize;
            let buf = ctx.scratch.get_mut(..max).ok_or(Errno::ENOMEM)?;
            let len = n.path.readlink(buf).map_err(errno)?;
            let target = WirePath::new(buf.get(..len).unwrap_or(&[])).ok_or(Errno::EIO)?;
            send(&Reply::Readlink(ReadlinkReply { target }))
        }
        Request::Statfs(s) => {
            let st = ctx.node(s.node)?.path.statfs().map_err(errno)?;
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
        Request::GetXattr(g) => {
            let n = ctx.node(g.node)?;
            let want = g.size.get() as usize;
            let buf = ctx.scratch.get_mut(..want).ok_or(Errno::ENOMEM)?;
            let len = n.path.getxattr(g.name.as_bytes(), buf).map_err(errno)?;
            let size = XattrSize::new(len as u32).ok_or(Errno::E2BIG)?;
            let value = if want == 0 {
                &[][..]
            } else {
                buf.get(..len).unwrap_or(&[])
            };
            let value = XattrValue::new(value).ok_or(Errno::EIO)?;
            send(&Reply::GetXattr(GetXattrReply { size, value }))
        }
        Request::ListXattr(l) => {
            let n = ctx.node(l.node)?;
            let want = l.size.get() as usize;
            let buf = ctx.scratch.get_mut(..want).ok_or(Errno::ENOMEM)?;
            let len = n.path.listxattr(buf).map_err(errno)?;
            let size = XattrListSize::new(len as u32).ok_or(Errno::E2BIG)?;
            let names = if want == 0 {
                &[][..]
            } else {
                buf.get(..len).unwrap_or(&[])
            };
            let names = XattrNames::new(names).ok_or(Errno::EIO)?;
            send(&Reply::ListXattr(ListXattrReply { size, names }))
        }
        Request::SetXattr(s) => {
            let n = ctx.node_rw(s.node)?;
            n.path
                .setxattr(s.name.as_bytes(), s.value.as_bytes(), s.flags.bits())
                .map_err(errno)?;
            send(&Reply::SetXattr(EmptyReply {}))
        }
        Request::RemoveXattr(r) => {
            let n = ctx.node_rw(r.node)?;
            n.path.removexattr(r.name.as_bytes()).map_err(errno)?;
            send(&Reply::RemoveXattr(EmptyReply {}))
        }
        Request::Llseek(l) => {
            let h = ctx.handle(l.handle)?;
            let offset = {
                let _pos = h.pos.lock();
                h.file.llseek(l.offset, l.whence as u8).map_err(errno)?
            };
            send(&Reply::Llseek(LlseekReply { offset }))
        }
        Request::ReadFile(r) => {
            let n = ctx.node(r.node)?;
            let max = r.max_size.get() as usize;
            // One byte more than asked tells whether the file ended.
            let buf = ctx.scratch.get_mut(..max + 1).ok_or(Errno::ENOMEM)?;
            refuse_stale(&n.path)?;
            let file = n.path.open(OpenFlags::O_NONBLOCK.bits()).map_err(errno)?;
            if file.is_dir() {
                return Err(Errno::EISDIR);
            }
            let mut got = 0;
            while got <= max {
                let rest = buf.get_mut(got..).unwrap_or(&mut []);
                let k = file.read_at(got as u64, rest).map_err(errno)?;
                if k == 0 {
                    break;
                }
                got += k;
            }
            drop(file);
            let eof = got <= max;
            let data = Data::new(buf.get(..got.min(max)).unwrap_or(&[])).ok_or(Errno::EIO)?;
            send(&Reply::ReadFile(ReadFileReply { data, eof }))
        }
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// `ESTALE` for a node whose name went away (a process that exited, a
/// removed cgroup): the client then walks the path again, as the HOST's
/// own open would have, instead of reading a dead file.
fn refuse_stale(path: &crate::kbase::vfs::Path) -> Result<(), Errno> {
    if path.is_stale() {
        return Err(Errno::ESTALE);
    }
    Ok(())
}

/// Scratch bytes request `req` needs (read data, entries, link targets,
/// xattr values).
pub(crate) fn scratch_need(req: &Request<'_>) -> usize {
    match req {
        Request::Read(r) => r.size.get() as usize,
        Request::Readdir(r) => r.max_bytes.get() as usize,
        Request::Readlink(_) => MAX_PATH_LEN as usize,
        Request::GetXattr(g) => g.size.get() as usize,
        Request::ListXattr(l) => l.size.get() as usize,
        Request::ReadFile(r) => r.max_size.get() as usize + 1,
        _ => 0,
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
