// SPDX-License-Identifier: GPL-2.0
//! FIFOs of the HOST, opened, read and written through the server, so
//! that a DPU process and a HOST process talk through one pipe (containerd
//! hands container stdio over FIFOs).
//!
//! - `open` waits on the HOST for the other side, as a local FIFO open
//!   does (no time limit while the connection lives; any signal ends it,
//!   see [`crate::transport::Conn::call_interruptible`]); `O_NONBLOCK`
//!   opens answer at once (`ENXIO` for a writer without a reader).
//! - The server's open file is then non-blocking, so a read of an empty
//!   pipe or a write to a full one never holds a server worker: it answers
//!   `EAGAIN`, and a blocking caller here waits for the HOST's poll event
//!   (`PollRegister`, one per direction) and tries again. A pipe's
//!   guarantees carry over: a write of up to `PIPE_BUF` bytes is one
//!   server write, which the HOST's pipe makes whole or refuses.
//! - A write with no reader left is `EPIPE` with `SIGPIPE`, as locally.
//! - `close` waits for the HOST's release (one round trip), so that the
//!   other end sees EOF or `EPIPE` as soon as `close(2)` has returned.
//! - `poll` and `epoll` ask the HOST (`crate::poll`).
#![forbid(unsafe_code)]

use crate::fs::Qtfs;
use crate::kbase::vfsc::{File, Inode, Io};
use crate::node::{apply, id_as, SessionId, NO_HANDLE};
use crate::poll::{wait_for, PollSlot};
use crate::proto::{
    Data, OpenFlags, OpenRequest, PollEvents, ReleaseRequest, Reply, Request, WriteRequest, MAX_IO_SIZE,
};
use crate::transport::Creds;
use crate::vfs_file::{handle_in, new_open, read_at, release_in, Open, PASSED_FLAGS};
use kernel::alloc::KVVec;
use kernel::error::code::{EAGAIN, EBADF, EFAULT, EINVAL, EIO, EPIPE};
use kernel::prelude::*;
use kernel::sync::Arc;

/// What a blocked reader waits for: data, or the last writer gone (EOF).
const READABLE: PollEvents = PollEvents::POLLIN
    .union(PollEvents::POLLRDNORM)
    .union(PollEvents::POLLHUP)
    .union(PollEvents::POLLERR);
/// What a blocked writer waits for: room, or the last reader gone (EPIPE).
const WRITABLE: PollEvents = PollEvents::POLLOUT
    .union(PollEvents::POLLWRNORM)
    .union(PollEvents::POLLHUP)
    .union(PollEvents::POLLERR);

/// The wait slots of an open FIFO, one per direction (an `O_RDWR` open
/// may have a reader and a writer blocked at once).
pub(crate) struct FifoWaits {
    readable: Arc<PollSlot>,
    writable: Arc<PollSlot>,
}

impl FifoWaits {
    pub(crate) fn new() -> Result<FifoWaits> {
        Ok(FifoWaits {
            readable: PollSlot::new()?,
            writable: PollSlot::new()?,
        })
    }

    /// Their registrations, forgotten when the file is released (the
    /// release of the handle ends them on the server).
    pub(crate) fn release(&self) {
        crate::poll::release(&self.readable);
        crate::poll::release(&self.writable);
    }
}

pub(crate) fn open(inode: &Inode<Qtfs>, file: &File<Qtfs>) -> Result<KBox<Open>> {
    let conn = inode.sb().info().conn()?;
    let creds = Creds::current();
    let flags = OpenFlags::from_bits(file.flags() & PASSED_FLAGS).ok_or(EINVAL)?;
    let req = Request::Open(OpenRequest {
        node: id_as(inode, &conn, &creds)?,
        flags,
    });
    let decode = |r: &Reply<'_>| match r {
        Reply::Open(o) => Ok((o.handle, o.attr)),
        _ => Err(EIO),
    };
    let (handle, attr) = if flags.contains(OpenFlags::O_NONBLOCK) || flags.access_mode() == 2 {
        // These never wait on the HOST.
        conn.call(&creds, &req, decode)?
    } else {
        let _slot = conn.blocking_open_slot(flags.access_mode() == 1)?;
        conn.call_interruptible(&creds, &req, decode, |(h, _)| release_in(&conn, h))?
    };
    apply(inode, &attr);
    file.set_stream();
    new_open(inode, &conn, handle, creds, flags)
}

/// Closes the handle on the HOST and waits for it (a FIFO's close is seen
/// by the other end at once); a failure is only a closed handle anyway,
/// and a dead session's handles died with it.
pub(crate) fn release_now(h: SessionId) {
    if h.id == NO_HANDLE {
        return;
    }
    if let Some(conn) = crate::client::session(h.generation) {
        let _ = conn.call(
            &Creds::ROOT,
            &Request::Release(ReleaseRequest { handle: h.id }),
            |r| match r {
                Reply::Release(_) => Ok(()),
                _ => Err(EIO),
            },
        );
    }
}

fn waits(open: &Open) -> Result<&FifoWaits> {
    open.fifo.as_ref().ok_or(EBADF)
}

/// `read(2)`: what the HOST's pipe has (at most `MAX_IO_SIZE`), waiting
/// for data unless non-blocking; 0 once every writer has gone.
pub(crate) fn read(io: &mut Io<'_, Qtfs>) -> Result<usize> {
    let file = io.file();
    let inode = file.inode();
    let open = file.open().ok_or(EBADF)?;
    let waits = waits(open)?;
    if io.remaining() == 0 {
        return Ok(0);
    }
    let conn = inode.sb().info().conn()?;
    let handle = handle_in(inode, &open.state, &conn)?;
    let creds = Creds::current();
    let mut buf = KVVec::from_elem(0u8, io.remaining().min(MAX_IO_SIZE as usize), GFP_KERNEL)?;
    loop {
        match read_at(&conn, &creds, handle, 0, &mut buf) {
            Ok(n) => {
                // The bytes left the HOST's pipe: a fault copying them out
                // loses them (a local pipe would keep them).
                let copied = io.copy_out(&buf[..n]);
                return if copied == 0 && n > 0 { Err(EFAULT) } else { Ok(copied) };
            }
            Err(e) if e == EAGAIN && !io.nowait() => {
                wait_for(&conn, &waits.readable, handle, &creds, READABLE)?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// `write(2)`: all of it, waiting for room unless non-blocking (then
/// what fits, or `EAGAIN`); a signal after some was written ends it with
/// that count, as locally.
pub(crate) fn write(io: &mut Io<'_, Qtfs>) -> Result<usize> {
    let file = io.file();
    let inode = file.inode();
    let open = file.open().ok_or(EBADF)?;
    let waits = waits(open)?;
    let conn = inode.sb().info().conn()?;
    let handle = handle_in(inode, &open.state, &conn)?;
    let creds = Creds::current();
    let mut buf = KVVec::from_elem(0u8, io.remaining().min(MAX_IO_SIZE as usize), GFP_KERNEL)?;
    // Bytes taken from the caller but not yet in the HOST's pipe.
    let (mut pending, mut taken) = (0usize, 0usize);
    let mut total = 0usize;
    loop {
        if pending == 0 {
            if io.remaining() == 0 {
                return Ok(total);
            }
            let chunk = io.remaining().min(buf.len());
            taken = io.copy_in(&mut buf[..chunk]);
            if taken == 0 {
                return if total > 0 { Ok(total) } else { Err(EFAULT) };
            }
            pending = taken;
        }
        let data = Data::new(&buf[taken - pending..taken]).ok_or(EINVAL)?;
        let req = Request::Write(WriteRequest {
            handle,
            offset: 0,
            data,
        });
        let r = conn.call(&creds, &req, |r| match r {
            Reply::Write(w) => Ok(w.written.get() as usize),
            _ => Err(EIO),
        });
        let stop = match r {
            Ok(n) => {
                let n = n.min(pending);
                pending -= n;
                total += n;
                if pending == 0 {
                    continue;
                }
                // The pipe took part of it: wait for room for the rest.
                None
            }
            Err(e) if e == EAGAIN => None,
            Err(e) => {
                if e == EPIPE {
                    crate::kbase::sys::raise_sigpipe();
                }
                Some(e)
            }
        };
        let stop = stop.or_else(|| {
            if io.nowait() {
                return Some(EAGAIN);
            }
            wait_for(&conn, &waits.writable, handle, &creds, WRITABLE).err()
        });
        if let Some(e) = stop {
            // Bytes copied in but never written go back to the caller's
            // count: the position of a FIFO means nothing, the count does.
            return if total > 0 { Ok(total) } else { Err(e) };
        }
    }
}
