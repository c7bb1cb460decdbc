// SPDX-License-Identifier: GPL-2.0
//! A worker thread: take a queued request, perform it, send its answer;
//! repeat until the connection ends.
//!
//! Every request gets exactly one answer: an unknown opcode, or one whose
//! capability was not negotiated, or a handshake opcode, `EOPNOTSUPP`; a
//! body that does not decode, the errno of its `DecodeError` (`EINVAL`,
//! `ENAMETOOLONG`, `EPROTO`); the request is then not performed. A frame
//! that is not a request ends the session in the reader (`session`).
//!
//! Each worker has its own buffers: the reply (at least [`SMALL`] bytes,
//! grown to what a request can answer, at most `MAX_FRAME_SIZE`) and the
//! scratch for read data, directory entries and xattrs; buffers grown
//! beyond [`KEEP`] are freed after the request. Each worker also has its
//! own `fs_struct` (`unshare_fs_struct`), whose umask is set to the
//! request's around creations.
#![forbid(unsafe_code)]

use crate::kbase::kthread::StopToken;
use crate::kbase::log::qwarn;
use crate::kbase::vfs::PrivateFs;
use crate::ops::{self, Ctx, ECANCELED};
use crate::proto::{
    decode_request, encode_error_reply, encode_reply, Errno, FrameHeader, MAX_FRAME_SIZE,
};
use crate::session::Shared;
use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::sync::Arc;

/// Every request answered, by opcode (the status file shows them).
pub(crate) static STATS: crate::kbase::stats::OpStats = crate::kbase::stats::OpStats::new();

/// Reply buffer every worker keeps (every reply without data fits).
const SMALL: usize = 4096;
/// Largest buffer kept between requests.
const KEEP: usize = 256 << 10;
/// Reply bytes beyond the data (header and fixed fields).
const REPLY_OVERHEAD: usize = 1024;

/// Makes `buf` at least `n` bytes (zero-filled, reallocated).
fn ensure(buf: &mut KVVec<u8>, n: usize) -> Result<(), Errno> {
    if buf.len() < n {
        *buf = KVVec::new();
        *buf = KVVec::from_elem(0u8, n, GFP_KERNEL).map_err(|_| Errno::ENOMEM)?;
    }
    Ok(())
}

fn trim(buf: &mut KVVec<u8>, keep: usize) {
    if buf.len() > KEEP {
        *buf = KVVec::new();
        let _ = ensure(buf, keep);
    }
}

/// The worker thread's main function; `slot` is its index in the
/// session's table of workers.
pub(crate) fn worker(shared: &Arc<Shared>, stop: &StopToken, slot: usize) -> i32 {
    shared.register(slot, stop.interrupter());
    let fs = match PrivateFs::unshare() {
        Ok(fs) => Some(fs),
        Err(e) => {
            // Creations then use the default umask (022) of init's fs.
            qwarn!("worker: unshare_fs_struct failed: error {}", e.to_errno());
            None
        }
    };
    let mut tx = KVVec::new();
    let mut scratch = KVVec::new();
    if ensure(&mut tx, SMALL).is_err() {
        return -(kernel::bindings::ENOMEM as i32);
    }
    loop {
        let Some(job) = shared.next_job(stop, slot) else {
            return 0;
        };
        let len = job.body.len();
        let started = crate::kbase::sys::monotonic_ns();
        let (mut n, err) = answer(
            shared,
            &job.header,
            &job.body,
            &mut tx,
            &mut scratch,
            fs.as_ref(),
        );
        // No Cancel can signal this thread after `done_running`; a signal
        // one sent before is flushed here, before the reply is sent (a send
        // that has to wait with a signal pending would fail).
        STATS.record(
            job.header.opcode,
            crate::kbase::sys::monotonic_ns() - started,
            err.is_none(),
        );
        let cancelled = shared.done_running(slot);
        stop.clear_interrupt();
        if cancelled && err == Some(Errno::EINTR) {
            n = encode_error_reply(
                &mut tx[..],
                job.header.opcode,
                job.header.request_id,
                ECANCELED,
            )
            .unwrap_or(0);
        }
        drop(job);
        if let Some(frame) = tx.get(..n) {
            if n > 0 {
                shared.send(frame);
            }
        }
        trim(&mut tx, SMALL);
        trim(&mut scratch, 0);
        shared.finished_job(len);
    }
}

/// Performs one request and encodes its answer into `tx`; returns the
/// frame's length (0 only if even the error reply cannot be encoded,
/// which a 20-byte frame in a 4 KiB buffer cannot) and the errno if the
/// answer is an error.
fn answer(
    shared: &Shared,
    header: &FrameHeader,
    body: &[u8],
    tx: &mut KVVec<u8>,
    scratch: &mut KVVec<u8>,
    fs: Option<&PrivateFs>,
) -> (usize, Option<Errno>) {
    let errno = match header.opcode() {
        None => Errno::EOPNOTSUPP,
        Some(op) if !shared.negotiated.allows(op) => Errno::EOPNOTSUPP,
        Some(_) => match decode_request(header, body) {
            Err(e) => e.errno(),
            Ok(req) => {
                let need = ops::scratch_need(&req.request);
                let sized = ensure(scratch, need).and_then(|()| {
                    ensure(tx, (need + REPLY_OVERHEAD).min(MAX_FRAME_SIZE as usize))
                });
                match sized {
                    Err(e) => e,
                    Ok(()) => {
                        let mut ctx = Ctx {
                            shared,
                            scratch,
                            fs,
                        };
                        let out = &mut tx[..];
                        // The reply may borrow the scratch buffer (read
                        // data, link targets), hence the closure.
                        match ops::perform(&mut ctx, &req, |reply| {
                            encode_reply(&mut *out, header.request_id, reply)
                                .map_err(|_| Errno::EIO)
                        }) {
                            Ok(len) => return (len, None),
                            Err(e) => e,
                        }
                    }
                }
            }
        },
    };
    let n = encode_error_reply(&mut tx[..], header.opcode, header.request_id, errno).unwrap_or(0);
    (n, Some(errno))
}
