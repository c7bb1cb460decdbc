// SPDX-License-Identifier: GPL-2.0
//! Open files: open and release, reads (through the page cache, or
//! straight from the server for pseudo files, `O_DIRECT` and
//! `cache=none`), writes (written through to the server at once, then the
//! cached pages of the range dropped), flush at close and fsync.
//!
//! Why write-through rather than a write-back cache for `write(2)`: the
//! server then sees every write as the caller made it (whole, at its
//! offset, with its credentials, as cgroup and sysfs files need), an
//! error comes back to the `write` that caused it, and nothing is lost if
//! the DPU dies. Pages dirtied through a shared mmap are written back by
//! `writepages` with the credentials of a writable open of the file.
#![forbid(unsafe_code)]

use crate::fs::Qtfs;
use crate::kbase::vfsc::{File, Inode, Io, Kind, Readahead};
use crate::node::{apply, apply_own, refresh, OpenState};
use crate::kbase::vfsc::Created;
use crate::node::inode_for;
use crate::proto::{
    CreateRequest, Permissions, ReadFileRequest,
    Data, FallocFlags, FallocateRequest, FsyncRequest, IoSize, OpenFlags, OpenRequest, ReadRequest, ReleaseRequest, Reply,
    Request, WriteRequest, MAX_IO_SIZE,
};
use crate::transport::Creds;
use crate::vfs_super::SuperInfo;
use crate::poll::PollSlot;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::alloc::KVVec;
use kernel::error::code::{EBADF, EEXIST, EINVAL, EIO};
use kernel::prelude::*;
use core::pin::Pin;
use kernel::new_mutex;
use kernel::sync::{Arc, Mutex};

/// Per open file.
pub(crate) struct Open {
    /// The server's open file; its handle is [`NO_HANDLE`] for a pseudo
    /// file read whole at open.
    pub(crate) state: Arc<OpenState>,
    /// A read-only pseudo file's bytes from offset 0, as one `ReadFile`
    /// gave them at open (the per-open snapshot a local `seq_file` reader
    /// gets).
    snapshot: Option<Pin<KBox<Mutex<Snapshot>>>>,
    /// A pseudo file's poll state (other files are always ready).
    poll: Option<Arc<PollSlot>>,
    /// The handle a snapshot open got for `poll` (0: none yet). From
    /// then on its reads go through it, so that the HOST sees them on
    /// the open file it polls (kernfs re-arms its event on read).
    poll_handle: AtomicU64,
}

struct Snapshot {
    data: KVVec<u8>,
    /// The file ended within `data` (otherwise reads past it go to the
    /// server through the handle).
    complete: bool,
    /// A read used it: the next read from offset 0 reads the file anew,
    /// as `seq_file` does (a monitor that keeps /proc/stat open and reads
    /// it again from the start sees new figures).
    read: bool,
}

/// The handle of an open file that has none on the server (the server
/// never hands out 0).
pub(crate) const NO_HANDLE: u64 = 0;

/// Most bytes of a pseudo file that `ReadFile` brings at open: every
/// /proc, /sys and cgroup file the management plane reads in one go is
/// far smaller; a larger one reads the rest through a handle.
const SNAPSHOT_MAX: u32 = 128 << 10;

/// The open flags the server is told: access mode and the ones that
/// change what the HOST's file does. `O_CREAT`, `O_EXCL` and `O_TRUNC` were
/// already handled by `->create` and `->setattr`.
const PASSED_FLAGS: u32 = 0o3 | 0o2000 | 0o4000 | 0o10000 | 0o4000000 | 0o200000 | 0o1000000;

fn info(i: &Inode<Qtfs>) -> &SuperInfo {
    i.sb().info()
}

pub(crate) fn open(inode: &Inode<Qtfs>, file: &File<Qtfs>) -> Result<KBox<Open>> {
    let creds = Creds::current();
    let mut bits = file.flags() & PASSED_FLAGS;
    if inode.kind() == Kind::Dir {
        bits = 0o200000;
    }
    let flags = OpenFlags::from_bits(bits).ok_or(EINVAL)?;
    if reads_whole_at_open(inode, file.flags()) {
        return open_snapshot(inode, creds, flags);
    }
    let open = open_handle(inode, creds, flags)?;
    // Close-to-open: pages cached before the HOST changed the file go.
    if inode.kind() == Kind::Regular && inode.data().pages_stale.swap(false, Ordering::AcqRel) {
        inode.write_and_wait(0, i64::MAX)?;
        let _ = inode.invalidate_pages(0, i64::MAX);
    }
    Ok(open)
}

/// A pseudo file opened only for reading (without `O_DIRECT`) is read
/// whole at open: open, read to the end and close cost one round trip.
fn reads_whole_at_open(inode: &Inode<Qtfs>, open_flags: u32) -> bool {
    inode.kind() == Kind::Regular
        && inode.data().is_pseudo()
        && open_flags & (0o3 | 0o40000) == 0
        && info(inode).conn.allows(crate::proto::Opcode::ReadFile)
}

/// Reads a pseudo file whole (`ReadFile`): its bytes from offset 0, and
/// whether the file ended within them.
fn fetch_whole(inode: &Inode<Qtfs>, creds: &Creds) -> Result<(KVVec<u8>, bool)> {
    let max_size = IoSize::new(SNAPSHOT_MAX).ok_or(EINVAL)?;
    info(inode).conn.call(
        creds,
        &Request::ReadFile(ReadFileRequest {
            node: inode.data().id(),
            max_size,
        }),
        |r| match r {
            Reply::ReadFile(f) => {
                let bytes = f.data.as_bytes();
                let mut v = KVVec::with_capacity(bytes.len(), GFP_KERNEL)?;
                v.extend_from_slice(bytes, GFP_KERNEL)?;
                Ok((v, f.eof))
            }
            _ => Err(EIO),
        },
    )
}

/// Opens a pseudo file by reading it whole; one larger than
/// [`SNAPSHOT_MAX`] also gets a handle for the rest.
fn open_snapshot(inode: &Inode<Qtfs>, creds: Creds, flags: OpenFlags) -> Result<KBox<Open>> {
    let (data, complete) = match fetch_whole(inode, &creds) {
        Ok(v) => v,
        // The open itself failed: a plain open would fail the same way.
        Err(e) if open_errors().contains(&e) => return Err(e),
        // Reading failed (EIO, EAGAIN, EINVAL...): as on the HOST the open
        // succeeds, and the reads get the errors.
        Err(_) => return open_handle(inode, creds, flags),
    };
    let snapshot = KBox::pin_init(
        new_mutex!(Snapshot {
            data,
            complete,
            read: false,
        }),
        GFP_KERNEL,
    )?;
    let mut open = if complete {
        KBox::new(
            Open {
                state: Arc::new(
                    OpenState {
                        handle: NO_HANDLE,
                        creds,
                        writable: false,
                    },
                    GFP_KERNEL,
                )?,
                snapshot: None,
                poll: Some(PollSlot::new()?),
                poll_handle: AtomicU64::new(NO_HANDLE),
            },
            GFP_KERNEL,
        )?
    } else {
        open_handle(inode, creds, flags)?
    };
    open.snapshot = Some(snapshot);
    Ok(open)
}

/// Errors of `ReadFile` that come from opening, not reading, the file.
fn open_errors() -> [kernel::error::Error; 7] {
    use kernel::error::code::{EACCES, EISDIR, ENODEV, ENOENT, ENXIO, EPERM};
    [EACCES, EPERM, ENOENT, ENXIO, EISDIR, ENODEV, crate::kbase::errno::estale()]
}

/// Opens a handle on the server.
fn open_handle(inode: &Inode<Qtfs>, creds: Creds, flags: OpenFlags) -> Result<KBox<Open>> {
    let (handle, attr) = info(inode).conn.call(
        &creds,
        &Request::Open(OpenRequest {
            node: inode.data().id(),
            flags,
        }),
        |r| match r {
            Reply::Open(o) => Ok((o.handle, o.attr)),
            _ => Err(EIO),
        },
    )?;
    apply(inode, &attr);
    new_open(inode, handle, creds, flags.access_mode() != 0)
}

/// The open state of a new handle: registered for write-back if writable.
fn new_open(inode: &Inode<Qtfs>, handle: u64, creds: Creds, writable: bool) -> Result<KBox<Open>> {
    let state = match Arc::new(
        OpenState {
            handle,
            creds,
            writable,
        },
        GFP_KERNEL,
    ) {
        Ok(s) => s,
        Err(e) => {
            release_handle(inode, handle);
            return Err(e.into());
        }
    };
    if writable && inode.kind() == Kind::Regular {
        if let Err(e) = inode.data().add_writable(state.clone()) {
            release_handle(inode, handle);
            return Err(e);
        }
    }
    let poll = if inode.kind() == Kind::Regular && inode.data().is_pseudo() {
        match PollSlot::new() {
            Ok(p) => Some(p),
            Err(e) => {
                release_handle(inode, handle);
                return Err(e);
            }
        }
    } else {
        None
    };
    Ok(KBox::new(
        Open {
            state,
            snapshot: None,
            poll,
            poll_handle: AtomicU64::new(NO_HANDLE),
        },
        GFP_KERNEL,
    )?)
}

/// `open(O_CREAT)` of a name not known to exist: `Create` makes and opens
/// it in one round trip, always with `O_EXCL` on the wire, so that the
/// server never opens an existing file without the permission checks of
/// a plain open. A file that appeared meanwhile is `EEXIST` if the caller
/// asked for `O_EXCL`, else it goes the ordinary open path.
pub(crate) fn create_open(
    dir: &Inode<Qtfs>,
    d: &crate::kbase::vfsc::Dentry<Qtfs>,
    flags: u32,
    mode: u32,
) -> Result<Created<Qtfs>> {
    let creds = Creds::current();
    let wire = OpenFlags::from_bits((flags & PASSED_FLAGS & !0o200000) | 0o100 | 0o200).ok_or(EINVAL)?;
    let req = Request::Create(CreateRequest {
        parent: dir.data().id(),
        name: crate::vfs_inode::name_of(d)?,
        flags: wire,
        mode: Permissions::new(mode & 0o7777).ok_or(EINVAL)?,
        umask: Permissions::new(creds.umask & 0o7777).ok_or(EINVAL)?,
    });
    let r = info(dir).conn.call(&creds, &req, |r| match r {
        Reply::Create(c) => Ok((c.node, c.handle, c.attr, c.parent)),
        _ => Err(EIO),
    });
    let (node, handle, attr, parent) = match r {
        Ok(v) => v,
        Err(e) if e == EEXIST && flags & 0o200 == 0 => {
            return match crate::vfs_inode::remote_lookup(dir, d.name())? {
                Some((node, a)) => Ok(Created::Exists(inode_for(dir.sb(), node, &a)?)),
                None => Err(EEXIST),
            };
        }
        Err(e) => return Err(e),
    };
    apply(dir, &parent);
    let inode = match inode_for(dir.sb(), node, &attr) {
        Ok(i) => i,
        Err(e) => {
            release_handle(dir, handle);
            return Err(e);
        }
    };
    let open = new_open(&inode, handle, creds, wire.access_mode() != 0)?;
    Ok(Created::Opened(inode, open))
}

fn release_handle(inode: &Inode<Qtfs>, handle: u64) {
    if handle == NO_HANDLE {
        return;
    }
    info(inode)
        .conn
        .send_oneway(&Request::Release(ReleaseRequest { handle }));
}

pub(crate) fn release(inode: &Inode<Qtfs>, open: KBox<Open>) {
    if let Some(slot) = open.poll.as_ref() {
        crate::poll::release(info(inode), slot);
    }
    release_handle(inode, open.poll_handle.load(Ordering::Acquire));
    if open.state.writable && inode.kind() == Kind::Regular {
        // Mapped pages dirtied through this open go back with its handle.
        let _ = inode.write_and_wait(0, i64::MAX);
        // Write-back goes on with another writable open, if any.
        inode.data().remove_writable(&open.state);
    }
    release_handle(inode, open.state.handle);
}

/// `close(2)`: write back what a shared mapping dirtied and report any
/// write-back error of this open file.
pub(crate) fn flush(file: &File<Qtfs>) -> Result {
    let inode = file.inode();
    if inode.kind() != Kind::Regular || !file.open().is_some_and(|o| o.state.writable) {
        return Ok(());
    }
    inode.write_and_wait(0, i64::MAX)?;
    file.check_wb_err()
}

pub(crate) fn fsync(file: &File<Qtfs>, start: i64, end: i64, datasync: bool) -> Result {
    let inode = file.inode();
    let open = file.open().ok_or(EBADF)?;
    if open.state.handle == NO_HANDLE {
        // As fsync of a local /proc or /sys file: they have none.
        return Err(EINVAL);
    }
    if inode.kind() == Kind::Regular {
        inode.write_and_wait(start, end)?;
    }
    info(inode).conn.call(
        &open.state.creds,
        &Request::Fsync(FsyncRequest {
            handle: open.state.handle,
            datasync,
        }),
        |r| match r {
            Reply::Fsync(_) => Ok(()),
            _ => Err(EIO),
        },
    )?;
    file.check_wb_err()
}

/// Reads up to `buf.len()` bytes at `pos` with `handle`; how many came.
pub(crate) fn read_at(
    info: &SuperInfo,
    creds: &Creds,
    handle: u64,
    pos: i64,
    buf: &mut [u8],
) -> Result<usize> {
    let want = buf.len().min(MAX_IO_SIZE as usize);
    let size = IoSize::new(want as u32).ok_or(EINVAL)?;
    let offset = u64::try_from(pos).map_err(|_| EINVAL)?;
    info.conn.call(
        creds,
        &Request::Read(ReadRequest {
            handle,
            offset,
            size,
        }),
        |r| match r {
            Reply::Read(d) => {
                let data = d.data.as_bytes();
                let n = data.len().min(want);
                buf[..n].copy_from_slice(&data[..n]);
                Ok(n)
            }
            _ => Err(EIO),
        },
    )
}

fn uncached(inode: &Inode<Qtfs>, io: &Io<'_, Qtfs>) -> bool {
    io.direct() || inode.data().is_pseudo() || !info(inode).opts.page_cache
}

/// Whether this open file's reads use the page cache (see `uncached`).
pub(crate) fn uses_page_cache(file: &File<Qtfs>) -> bool {
    let inode = file.inode();
    file.flags() & 0o40000 == 0 && !inode.data().is_pseudo() && info(inode).opts.page_cache
}

pub(crate) fn read_iter(io: &mut Io<'_, Qtfs>) -> Result<usize> {
    let file = io.file();
    let inode = file.inode();
    let open = file.open().ok_or(EBADF)?;
    if !uncached(inode, io) {
        // The size bounds what the page cache returns: keep it current.
        refresh(inode, false)?;
        return io.read_cached();
    }
    let mut total = 0usize;
    let poll_handle = open.poll_handle.load(Ordering::Acquire);
    let handle = if poll_handle != NO_HANDLE { poll_handle } else { open.state.handle };
    if let Some(lock) = open.snapshot.as_ref().filter(|_| poll_handle == NO_HANDLE) {
        let pos = usize::try_from(io.pos()).map_err(|_| EINVAL)?;
        let mut snap = lock.lock();
        if pos == 0 && snap.read {
            let (data, complete) = fetch_whole(inode, &open.state.creds)?;
            // Past the snapshot the handle reads; without one, no more.
            snap.complete = complete || open.state.handle == NO_HANDLE;
            snap.data = data;
        }
        snap.read = true;
        if let Some(rest) = snap.data.get(pos..) {
            total = io.copy_out(rest);
            io.set_pos((pos + total) as i64);
        }
        if snap.complete || io.remaining() == 0 || total < snap.data.len().saturating_sub(pos) {
            return Ok(total);
        }
    }
    let mut buf = KVVec::from_elem(0u8, io.remaining().min(MAX_IO_SIZE as usize), GFP_KERNEL)?;
    while io.remaining() > 0 {
        let chunk = io.remaining().min(buf.len());
        let pos = io.pos();
        let n = match read_at(info(inode), &Creds::current(), handle, pos, &mut buf[..chunk]) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        if n == 0 {
            break;
        }
        let copied = io.copy_out(&buf[..n]);
        io.set_pos(pos + copied as i64);
        total += copied;
        if copied < n || n < chunk {
            break;
        }
    }
    Ok(total)
}

pub(crate) fn write_iter(io: &mut Io<'_, Qtfs>) -> Result<usize> {
    let file = io.file();
    let inode = file.inode();
    let open = file.open().ok_or(EBADF)?;
    if io.remaining() == 0 {
        return Ok(0);
    }
    // Writes of one file are serialised as on a local file system (the
    // size and the page cache must not move under a write).
    let _locked = inode.lock();
    let start = io.pos();
    let cached = inode.kind() == Kind::Regular && !uncached(inode, io);
    if cached {
        // Dirty mapped pages of this range must not be written over the
        // new data later (an O_APPEND write's range is the HOST's end of
        // file, not known yet: all of them).
        let to = if io.append() { i64::MAX } else { start.saturating_add(io.remaining() as i64) };
        inode.write_and_wait(if io.append() { 0 } else { start }, to)?;
    }
    let creds = Creds::current();
    let mut buf = KVVec::from_elem(0u8, io.remaining().min(MAX_IO_SIZE as usize), GFP_KERNEL)?;
    let mut total = 0usize;
    // The range the HOST wrote (with O_APPEND not where `start` says: at
    // its end of file, which a truncate may have moved below this open
    // file's position).
    let (mut first, mut end) = (i64::MAX, i64::MIN);
    while io.remaining() > 0 {
        let chunk = io.remaining().min(buf.len());
        let got = io.copy_in(&mut buf[..chunk]);
        if got == 0 {
            break;
        }
        let pos = io.pos();
        let data = Data::new(&buf[..got]).ok_or(EINVAL)?;
        let req = Request::Write(WriteRequest {
            handle: open.state.handle,
            offset: u64::try_from(pos).map_err(|_| EINVAL)?,
            data,
        });
        let r = info(inode).conn.call(&creds, &req, |r| match r {
            Reply::Write(w) => Ok((w.written.get() as usize, w.attr)),
            _ => Err(EIO),
        });
        let (written, attr) = match r {
            Ok(v) => v,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        let written = written.min(got);
        // With O_APPEND the HOST wrote at its end of file.
        let at = if io.append() { attr.size as i64 - written as i64 } else { pos };
        apply_own(inode, &attr);
        io.set_pos(at + written as i64);
        first = first.min(at);
        end = end.max(at + written as i64);
        total += written;
        if written < got {
            break;
        }
    }
    if cached && total > 0 {
        let _ = inode.invalidate_pages(first, end);
    }
    Ok(total)
}

/// Fills one folio from the server (page cache reads and mmap faults).
pub(crate) fn read_folio(
    inode: &Inode<Qtfs>,
    file: Option<&File<Qtfs>>,
    folio: crate::kbase::vfsc::ReadFolio,
) -> Result {
    let info = info(inode);
    let state = match file.and_then(|f| f.open()) {
        Some(o) => o.state.clone(),
        None => inode.data().writeback_open().ok_or(EBADF)?,
    };
    let mut buf = KVVec::from_elem(0u8, folio.size(), GFP_KERNEL)?;
    let mut got = 0;
    while got < buf.len() {
        let n = read_at(info, &state.creds, state.handle, folio.pos() + got as i64, &mut buf[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    folio.done(&buf[..got]);
    Ok(())
}

/// Reads a readahead window with as few requests as possible (up to
/// `MAX_IO_SIZE` each) and fills its folios from them. A failed request
/// leaves the rest of the window for `read_folio` to retry one by one.
pub(crate) fn readahead(inode: &Inode<Qtfs>, file: Option<&File<Qtfs>>, ra: &mut Readahead<'_>) {
    let info = info(inode);
    let state = match file.and_then(|f| f.open()) {
        Some(o) => o.state.clone(),
        None => match inode.data().writeback_open() {
            Some(s) => s,
            None => return,
        },
    };
    while ra.len() > 0 {
        let start = ra.pos();
        let want = ra.len().min(MAX_IO_SIZE as usize);
        let Ok(mut buf) = KVVec::from_elem(0u8, want, GFP_KERNEL) else {
            return;
        };
        let Ok(got) = read_at(info, &state.creds, state.handle, start, &mut buf) else {
            return;
        };
        // Hand out the folios this chunk covers (a short read: the rest of
        // each folio is zero, as past the end of file).
        let mut done = 0usize;
        while done < want {
            let Some(folio) = ra.next_folio() else { return };
            let size = folio.size();
            let off = (folio.pos() - start) as usize;
            let data = buf.get(off..got.max(off)).unwrap_or(&[]);
            folio.done(&data[..data.len().min(size)]);
            done = off + size;
        }
        if got < want {
            return;
        }
    }
}

/// Writes back one folio's bytes dirtied through a shared mapping.
pub(crate) fn write_folio(inode: &Inode<Qtfs>, data: &[u8], pos: i64) -> Result {
    let state = inode.data().writeback_open().ok_or(EBADF)?;
    let req = Request::Write(WriteRequest {
        handle: state.handle,
        offset: u64::try_from(pos).map_err(|_| EINVAL)?,
        data: Data::new(data).ok_or(EINVAL)?,
    });
    let attr = info(inode).conn.call(&state.creds, &req, |r| match r {
        Reply::Write(w) if w.written.get() as usize == data.len() => Ok(w.attr),
        Reply::Write(_) => Err(EIO),
        _ => Err(EIO),
    })?;
    apply_own(inode, &attr);
    Ok(())
}

/// `fallocate(2)`: the HOST's file system does it (or says `EOPNOTSUPP`).
pub(crate) fn fallocate(file: &File<Qtfs>, mode: u32, offset: i64, len: i64) -> Result {
    let inode = file.inode();
    let open = file.open().ok_or(EBADF)?;
    let mode = FallocFlags::from_bits(mode).ok_or(crate::kbase::errno::eopnotsupp())?;
    let _locked = inode.lock();
    let end = offset.saturating_add(len);
    // Cached writes in the range go first; its cached pages go after.
    inode.write_and_wait(offset, end)?;
    let req = Request::Fallocate(FallocateRequest {
        handle: open.state.handle,
        mode,
        offset: u64::try_from(offset).map_err(|_| EINVAL)?,
        len: u64::try_from(len).map_err(|_| EINVAL)?,
    });
    let attr = info(inode).conn.call(&open.state.creds, &req, |r| match r {
        Reply::Fallocate(a) => Ok(a.attr),
        _ => Err(EIO),
    })?;
    let shifts = mode.contains(FallocFlags::FALLOC_FL_COLLAPSE_RANGE)
        || mode.contains(FallocFlags::FALLOC_FL_INSERT_RANGE);
    let _ = inode.invalidate_pages(offset, if shifts { i64::MAX } else { end });
    apply_own(inode, &attr);
    Ok(())
}

/// `->poll`: a pseudo file asks the HOST (`poll`); any other file is
/// always ready, as a local regular file is.
pub(crate) fn poll(file: &File<Qtfs>, table: &mut crate::kbase::vfsc::PollTable<'_>) -> u32 {
    /// `DEFAULT_POLLMASK`: `EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM`.
    const ALWAYS_READY: u32 = 0x0001 | 0x0004 | 0x0040 | 0x0100;
    let inode = file.inode();
    let Some(open) = file.open() else {
        return crate::poll::POLL_FAILED;
    };
    let Some(slot) = open.poll.as_ref() else {
        return ALWAYS_READY;
    };
    let handle = match poll_handle(inode, open) {
        Ok(h) => h,
        Err(_) => return crate::poll::POLL_FAILED,
    };
    crate::poll::poll(info(inode), slot, handle, &open.state.creds, table)
}

/// The server handle `->poll` uses: the open's own, or for a snapshot
/// open one made now (once).
fn poll_handle(inode: &Inode<Qtfs>, open: &Open) -> Result<u64> {
    if open.state.handle != NO_HANDLE {
        return Ok(open.state.handle);
    }
    let h = open.poll_handle.load(Ordering::Acquire);
    if h != NO_HANDLE {
        return Ok(h);
    }
    let (handle, attr) = info(inode).conn.call(
        &open.state.creds,
        &Request::Open(OpenRequest {
            node: inode.data().id(),
            flags: OpenFlags::from_bits(0).ok_or(EINVAL)?,
        }),
        |r| match r {
            Reply::Open(o) => Ok((o.handle, o.attr)),
            _ => Err(EIO),
        },
    )?;
    apply(inode, &attr);
    if open.snapshot.as_ref().is_some_and(|l| l.lock().read) {
        // The caller read the file already (from the snapshot): read it
        // once through the new handle too, so that the HOST's open file
        // has seen that read (kernfs reports a change since the open
        // file's last read at once, as it would locally).
        if let Ok(mut buf) = KVVec::from_elem(0u8, 4096, GFP_KERNEL) {
            let _ = read_at(info(inode), &open.state.creds, handle, 0, &mut buf);
        }
    }
    match open
        .poll_handle
        .compare_exchange(NO_HANDLE, handle, Ordering::AcqRel, Ordering::Acquire)
    {
        Ok(_) => Ok(handle),
        Err(theirs) => {
            // Another poller of this open file was first.
            release_handle(inode, handle);
            Ok(theirs)
        }
    }
}
