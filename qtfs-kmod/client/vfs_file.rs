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
use crate::kbase::errno::estale;
use crate::kbase::vfsc::Created;
use crate::node::{apply, apply_own, id, id_as, inode_for, key_of, note_lost_writes, refresh, HandleSlot, OpenState, SessionId};
pub(crate) use crate::node::NO_HANDLE;
use crate::proto::{
    CreateRequest, Permissions, ReadFileRequest,
    Data, FallocFlags, FallocateRequest, FsyncRequest, IoSize, OpenFlags, OpenRequest, ReadRequest, ReleaseRequest, Reply,
    Request, WriteRequest, MAX_IO_SIZE,
};
use crate::transport::{Conn, Creds};
use crate::vfs_super::SuperInfo;
use crate::poll::PollSlot;
use core::sync::atomic::Ordering;
use kernel::alloc::KVVec;
use kernel::error::code::{EBADF, EEXIST, EINVAL, EIO, ENOENT};
use kernel::prelude::*;
use core::pin::Pin;
use kernel::new_mutex;
use kernel::sync::{Arc, Mutex};

// Durable handles. A handle is valid in the session that gave it only.
// After a reconnect, the first use of an open file in the new session
// opens the same HOST file again (`reopen`): its node found again by
// `node::id_as` (same `dev`, `ino`, `generation`, else `ESTALE`), then an
// `Open` with the flags and credentials of the original open (never
// `O_CREAT`, `O_EXCL` or `O_TRUNC`). Writes acknowledged in the old
// session and not yet made durable by an `fsync` there are reported as an
// `EIO` write-back error by the next `fsync` or `close`
// (`node::note_lost_writes`).

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
    /// The handle a snapshot open got for `poll` ([`NO_HANDLE`]: none
    /// yet, or only of an older session). From then on its reads go
    /// through it, so that the HOST sees them on the open file it polls
    /// (kernfs re-arms its event on read).
    poll_handle: Pin<KBox<HandleSlot>>,
    /// A FIFO's blocked readers and writers wait here.
    pub(crate) fifo: Option<crate::vfs_fifo::FifoWaits>,
    /// The directory a made directory lists (`vfs_proc`).
    pub(crate) local_dir: Option<crate::kbase::vfsc::LocalDir>,
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

/// Most bytes of a pseudo file that `ReadFile` brings at open: every
/// /proc, /sys and cgroup file the management plane reads in one go is
/// far smaller; a larger one reads the rest through a handle.
const SNAPSHOT_MAX: u32 = 128 << 10;

/// The open flags the server is told: access mode and the ones that
/// change what the HOST's file does. `O_CREAT`, `O_EXCL` and `O_TRUNC` were
/// already handled by `->create` and `->setattr`.
pub(crate) const PASSED_FLAGS: u32 = 0o3 | 0o2000 | 0o4000 | 0o10000 | 0o4000000 | 0o200000 | 0o1000000;

fn info(i: &Inode<Qtfs>) -> &SuperInfo {
    i.sb().info()
}

/// The open file's server handle in `conn`'s session ([`NO_HANDLE`] if it
/// has none): the one it holds, or after a reconnect a new one
/// (durable handles, see above).
pub(crate) fn handle_in(inode: &Inode<Qtfs>, state: &OpenState, conn: &Conn) -> Result<u64> {
    let h = state.handle.get();
    if h.id == NO_HANDLE || h.generation == conn.generation() {
        return Ok(h.id);
    }
    if inode.kind() == Kind::Fifo {
        // The HOST's end of the pipe closed with the old session (its
        // peer saw EOF or EPIPE): opening it again would be another pipe
        // conversation, not this one.
        return Err(EIO);
    }
    reopen(inode, state, conn)
}

/// Opens the file of `state` again in `conn`'s session.
fn reopen(inode: &Inode<Qtfs>, state: &OpenState, conn: &Conn) -> Result<u64> {
    note_lost_writes(inode);
    let node = id_as(inode, conn, &state.creds)?;
    let r = conn.call(
        &state.creds,
        &Request::Open(OpenRequest {
            node,
            flags: state.flags,
        }),
        |r| match r {
            Reply::Open(o) => Ok((o.handle, o.attr)),
            _ => Err(EIO),
        },
    );
    let (handle, attr) = match r {
        Ok(v) => v,
        Err(e) if e == ENOENT => return Err(estale()),
        Err(e) => return Err(e),
    };
    if key_of(&attr) != inode.key() {
        release_in(conn, handle);
        return Err(estale());
    }
    apply(inode, &attr);
    let (h, ours) = state.handle.install(conn.generation(), handle);
    if !ours {
        // Another user of this open file re-opened it first.
        release_in(conn, handle);
    }
    Ok(h)
}

/// Gives back a handle of `conn`'s session (no reply awaited).
pub(crate) fn release_in(conn: &Conn, handle: u64) {
    if handle != NO_HANDLE {
        conn.send_oneway(&Request::Release(ReleaseRequest { handle }));
    }
}

/// Gives back a handle if its session still lives (a dead session's
/// handles died with it).
fn release_held(h: SessionId) {
    if h.id == NO_HANDLE {
        return;
    }
    if let Some(conn) = crate::client::session(h.generation) {
        release_in(&conn, h.id);
    }
}

/// The open flags a re-open sends: the original's, without those that
/// create or truncate.
fn reopen_flags(bits: u32) -> Result<OpenFlags> {
    OpenFlags::from_bits(bits & PASSED_FLAGS).ok_or(EINVAL)
}

pub(crate) fn open(inode: &Inode<Qtfs>, file: &File<Qtfs>) -> Result<KBox<Open>> {
    if inode.kind() == Kind::Fifo {
        return crate::vfs_fifo::open(inode, file);
    }
    let creds = Creds::current();
    if inode.data().spliced.is_some() {
        // The caller's own directory made here: nothing on the server.
        let local_dir = Some(crate::vfs_proc::open_own_dir(inode)?);
        let flags = OpenFlags::from_bits(0o200000).ok_or(EINVAL)?;
        return Ok(KBox::new(
            Open {
                state: OpenState::new(0, NO_HANDLE, creds, flags)?,
                snapshot: None,
                poll: None,
                poll_handle: KBox::pin_init(HandleSlot::new(0, NO_HANDLE), GFP_KERNEL)?,
                fifo: None,
                local_dir,
            },
            GFP_KERNEL,
        )?);
    }
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
        && crate::client::live().is_ok_and(|c| c.allows(crate::proto::Opcode::ReadFile))
}

/// Reads a pseudo file whole (`ReadFile`): its bytes from offset 0, and
/// whether the file ended within them.
fn fetch_whole(inode: &Inode<Qtfs>, creds: &Creds) -> Result<(KVVec<u8>, bool)> {
    let max_size = IoSize::new(SNAPSHOT_MAX).ok_or(EINVAL)?;
    let conn = info(inode).conn()?;
    conn.call(
        creds,
        &Request::ReadFile(ReadFileRequest {
            node: id_as(inode, &conn, creds)?,
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
                state: OpenState::new(0, NO_HANDLE, creds, flags)?,
                snapshot: None,
                poll: Some(PollSlot::new()?),
                poll_handle: KBox::pin_init(HandleSlot::new(0, NO_HANDLE), GFP_KERNEL)?,
                fifo: None,
                local_dir: None,
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
    let conn = info(inode).conn()?;
    let (handle, attr) = conn.call(
        &creds,
        &Request::Open(OpenRequest {
            node: id_as(inode, &conn, &creds)?,
            flags,
        }),
        |r| match r {
            Reply::Open(o) => Ok((o.handle, o.attr)),
            _ => Err(EIO),
        },
    )?;
    apply(inode, &attr);
    new_open(inode, &conn, handle, creds, flags)
}

/// The open state of a new handle of `conn`'s session, opened with
/// `flags`: registered for write-back if writable.
pub(crate) fn new_open(inode: &Inode<Qtfs>, conn: &Conn, handle: u64, creds: Creds, flags: OpenFlags) -> Result<KBox<Open>> {
    let open = build_open(inode, conn, handle, creds, flags).and_then(|open| {
        // Registered last (release takes it out again).
        if open.state.writable && inode.kind() == Kind::Regular {
            inode.data().add_writable(open.state.clone())?;
        }
        Ok(open)
    });
    if open.is_err() {
        release_in(conn, handle);
    }
    open
}

/// The allocations of [`new_open`].
fn build_open(inode: &Inode<Qtfs>, conn: &Conn, handle: u64, creds: Creds, flags: OpenFlags) -> Result<KBox<Open>> {
    let state = OpenState::new(conn.generation(), handle, creds, flags)?;
    let fifo = inode.kind() == Kind::Fifo;
    let poll = if fifo || (inode.kind() == Kind::Regular && inode.data().is_pseudo()) {
        Some(PollSlot::new()?)
    } else {
        None
    };
    let fifo = if fifo { Some(crate::vfs_fifo::FifoWaits::new()?) } else { None };
    Ok(KBox::new(
        Open {
            state,
            snapshot: None,
            poll,
            poll_handle: KBox::pin_init(HandleSlot::new(0, NO_HANDLE), GFP_KERNEL)?,
            fifo,
            local_dir: None,
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
    let conn = info(dir).conn()?;
    let req = Request::Create(CreateRequest {
        parent: id(dir, &conn)?,
        name: crate::vfs_inode::name_of(d)?,
        flags: wire,
        mode: Permissions::new(mode & 0o7777).ok_or(EINVAL)?,
        umask: Permissions::new(creds.umask & 0o7777).ok_or(EINVAL)?,
    });
    let r = conn.call(&creds, &req, |r| match r {
        Reply::Create(c) => Ok((c.node, c.handle, c.attr, c.parent)),
        _ => Err(EIO),
    });
    let (node, handle, attr, parent) = match r {
        Ok(v) => v,
        Err(e) if e == EEXIST && flags & 0o200 == 0 => {
            return match crate::vfs_inode::remote_lookup(dir, &conn, d.name())? {
                Some((node, a)) => Ok(Created::Exists(inode_for(dir.sb(), &conn, node, &a)?)),
                None => Err(EEXIST),
            };
        }
        Err(e) => return Err(e),
    };
    apply(dir, &parent);
    let inode = match inode_for(dir.sb(), &conn, node, &attr) {
        Ok(i) => i,
        Err(e) => {
            release_in(&conn, handle);
            return Err(e);
        }
    };
    // A durable re-open must neither create nor truncate.
    let open = new_open(&inode, &conn, handle, creds, reopen_flags(wire.bits() & !(0o100 | 0o200 | 0o1000))?)?;
    Ok(Created::Opened(inode, open))
}

pub(crate) fn release(inode: &Inode<Qtfs>, open: KBox<Open>) {
    if let Some(slot) = open.poll.as_ref() {
        crate::poll::release(slot);
    }
    if let Some(waits) = open.fifo.as_ref() {
        waits.release();
    }
    release_held(open.poll_handle.get());
    if open.state.writable && inode.kind() == Kind::Regular {
        // Mapped pages dirtied through this open go back with its handle.
        let _ = inode.write_and_wait(0, i64::MAX);
        // Write-back goes on with another writable open, if any.
        inode.data().remove_writable(&open.state);
    }
    if inode.kind() == Kind::Fifo {
        // The other end must see this close before close(2) returns (EOF
        // for its reader, EPIPE for its writer), as with a local pipe.
        crate::vfs_fifo::release_now(open.state.handle.get());
    } else {
        release_held(open.state.handle.get());
    }
}

/// `close(2)`: write back what a shared mapping dirtied and report any
/// write-back error of this open file.
pub(crate) fn flush(file: &File<Qtfs>) -> Result {
    let inode = file.inode();
    if inode.kind() != Kind::Regular || !file.open().is_some_and(|o| o.state.writable) {
        return Ok(());
    }
    // Every error is taken, then one returned: each is reported once (the
    // write-back's flag by the first, errseq by the second).
    let written = inode.write_and_wait(0, i64::MAX);
    note_lost_writes(inode);
    let recorded = file.check_wb_err();
    written.and(recorded)
}

pub(crate) fn fsync(file: &File<Qtfs>, start: i64, end: i64, datasync: bool) -> Result {
    let inode = file.inode();
    let open = file.open().ok_or(EBADF)?;
    if open.state.handle.get().id == NO_HANDLE {
        // As fsync of a local /proc or /sys file: they have none.
        return Err(EINVAL);
    }
    // As `file_write_and_wait_range`: write back, then always take this
    // file's errseq (so that an error is reported once, not again by the
    // next fsync), and return the first error.
    let written = if inode.kind() == Kind::Regular {
        inode.write_and_wait(start, end)
    } else {
        Ok(())
    };
    note_lost_writes(inode);
    let synced = remote_fsync(inode, open, datasync);
    let recorded = file.check_wb_err();
    written.and(synced).and(recorded)
}

/// `Fsync` of the open file on the server.
fn remote_fsync(inode: &Inode<Qtfs>, open: &Open, datasync: bool) -> Result {
    let conn = info(inode).conn()?;
    let handle = handle_in(inode, &open.state, &conn)?;
    conn.call(
        &open.state.creds,
        &Request::Fsync(FsyncRequest { handle, datasync }),
        |r| match r {
            Reply::Fsync(_) => Ok(()),
            _ => Err(EIO),
        },
    )?;
    // What this session acknowledged is durable now.
    let _ = inode.data().unsynced.compare_exchange(
        conn.generation(),
        0,
        Ordering::AcqRel,
        Ordering::Acquire,
    );
    Ok(())
}

/// Reads up to `buf.len()` bytes at `pos` with `handle`; how many came.
pub(crate) fn read_at(
    conn: &Conn,
    creds: &Creds,
    handle: u64,
    pos: i64,
    buf: &mut [u8],
) -> Result<usize> {
    let want = buf.len().min(MAX_IO_SIZE as usize);
    let size = IoSize::new(want as u32).ok_or(EINVAL)?;
    let offset = u64::try_from(pos).map_err(|_| EINVAL)?;
    conn.call(
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
    if inode.kind() == Kind::Fifo {
        return crate::vfs_fifo::read(io);
    }
    let open = file.open().ok_or(EBADF)?;
    if !uncached(inode, io) {
        // A write of this file in progress has sent its data but not yet
        // dropped the cached pages it overwrote, or has grown the size
        // over a cached page that still ends in zeros: wait for it (as
        // NFS reads do), so a read sees the file before or after a write,
        // never a mix. Writes hold the lock exclusively.
        let _no_write = inode.lock_shared();
        // The size bounds what the page cache returns: keep it current.
        refresh(inode, false)?;
        return io.read_cached();
    }
    let mut total = 0usize;
    // A poll handle of an older session is none.
    let ph = open.poll_handle.get();
    let poll_handle = match crate::client::live() {
        Ok(c) if c.generation() == ph.generation => ph.id,
        _ => NO_HANDLE,
    };
    if let Some(lock) = open.snapshot.as_ref().filter(|_| poll_handle == NO_HANDLE) {
        let pos = usize::try_from(io.pos()).map_err(|_| EINVAL)?;
        let mut snap = lock.lock();
        if pos == 0 && snap.read {
            let (data, complete) = fetch_whole(inode, &open.state.creds)?;
            // Past the snapshot the handle reads; without one, no more.
            snap.complete = complete || open.state.handle.get().id == NO_HANDLE;
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
    let conn = info(inode).conn()?;
    let handle = if poll_handle != NO_HANDLE && ph.generation == conn.generation() {
        poll_handle
    } else {
        handle_in(inode, &open.state, &conn)?
    };
    let mut buf = KVVec::from_elem(0u8, io.remaining().min(MAX_IO_SIZE as usize), GFP_KERNEL)?;
    while io.remaining() > 0 {
        let chunk = io.remaining().min(buf.len());
        let pos = io.pos();
        let n = match read_at(&conn, &Creds::current(), handle, pos, &mut buf[..chunk]) {
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
    if inode.kind() == Kind::Fifo {
        return crate::vfs_fifo::write(io);
    }
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
    let conn = info(inode).conn()?;
    let handle = handle_in(inode, &open.state, &conn)?;
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
            handle,
            offset: u64::try_from(pos).map_err(|_| EINVAL)?,
            data,
        });
        let r = conn.call(&creds, &req, |r| match r {
            Reply::Write(w) => Ok((w.written.get() as usize, w.attr)),
            _ => Err(EIO),
        });
        let (written, attr) = match r {
            Ok(v) => v,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        inode.data().unsynced.store(conn.generation(), Ordering::Release);
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
    let state = match file.and_then(|f| f.open()) {
        Some(o) => o.state.clone(),
        None => inode.data().writeback_open().ok_or(EBADF)?,
    };
    let conn = info(inode).conn()?;
    let handle = handle_in(inode, &state, &conn)?;
    let mut buf = KVVec::from_elem(0u8, folio.size(), GFP_KERNEL)?;
    let mut got = 0;
    while got < buf.len() {
        let n = read_at(&conn, &state.creds, handle, folio.pos() + got as i64, &mut buf[got..])?;
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
    let state = match file.and_then(|f| f.open()) {
        Some(o) => o.state.clone(),
        None => match inode.data().writeback_open() {
            Some(s) => s,
            None => return,
        },
    };
    let Ok(conn) = info(inode).conn() else { return };
    let Ok(handle) = handle_in(inode, &state, &conn) else { return };
    while ra.len() > 0 {
        let start = ra.pos();
        let want = ra.len().min(MAX_IO_SIZE as usize);
        let Ok(mut buf) = KVVec::from_elem(0u8, want, GFP_KERNEL) else {
            return;
        };
        let Ok(got) = read_at(&conn, &state.creds, handle, start, &mut buf) else {
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
    let conn = info(inode).conn()?;
    let req = Request::Write(WriteRequest {
        handle: handle_in(inode, &state, &conn)?,
        offset: u64::try_from(pos).map_err(|_| EINVAL)?,
        data: Data::new(data).ok_or(EINVAL)?,
    });
    let attr = conn.call(&state.creds, &req, |r| match r {
        Reply::Write(w) if w.written.get() as usize == data.len() => Ok(w.attr),
        Reply::Write(_) => Err(EIO),
        _ => Err(EIO),
    })?;
    inode.data().unsynced.store(conn.generation(), Ordering::Release);
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
    let conn = info(inode).conn()?;
    let req = Request::Fallocate(FallocateRequest {
        handle: handle_in(inode, &open.state, &conn)?,
        mode,
        offset: u64::try_from(offset).map_err(|_| EINVAL)?,
        len: u64::try_from(len).map_err(|_| EINVAL)?,
    });
    let attr = conn.call(&open.state.creds, &req, |r| match r {
        Reply::Fallocate(a) => Ok(a.attr),
        _ => Err(EIO),
    })?;
    inode.data().unsynced.store(conn.generation(), Ordering::Release);
    let shifts = mode.contains(FallocFlags::FALLOC_FL_COLLAPSE_RANGE)
        || mode.contains(FallocFlags::FALLOC_FL_INSERT_RANGE);
    let _ = inode.invalidate_pages(offset, if shifts { i64::MAX } else { end });
    apply_own(inode, &attr);
    Ok(())
}

/// `->poll`: a pseudo file or a FIFO asks the HOST (`poll`); any other
/// file is always ready, as a local regular file is.
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
    let Ok(conn) = info(inode).conn() else {
        return crate::poll::POLL_FAILED;
    };
    let handle = match poll_handle(inode, open, &conn) {
        Ok(h) => h,
        Err(_) => return crate::poll::POLL_FAILED,
    };
    crate::poll::poll(&conn, slot, handle, &open.state.creds, table)
}

/// The server handle `->poll` uses, in `conn`'s session: the open's own,
/// or for a snapshot open one made now (once per session).
fn poll_handle(inode: &Inode<Qtfs>, open: &Open, conn: &Conn) -> Result<u64> {
    let own = handle_in(inode, &open.state, conn)?;
    if own != NO_HANDLE {
        return Ok(own);
    }
    let h = open.poll_handle.get();
    if h.id != NO_HANDLE && h.generation == conn.generation() {
        return Ok(h.id);
    }
    let (handle, attr) = conn.call(
        &open.state.creds,
        &Request::Open(OpenRequest {
            node: id_as(inode, conn, &open.state.creds)?,
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
            let _ = read_at(conn, &open.state.creds, handle, 0, &mut buf);
        }
    }
    let (h, ours) = open.poll_handle.install(conn.generation(), handle);
    if !ours {
        // Another poller of this open file was first.
        release_in(conn, handle);
    }
    Ok(h)
}
