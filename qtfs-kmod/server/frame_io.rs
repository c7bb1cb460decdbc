// SPDX-License-Identifier: GPL-2.0
//! Reading and writing whole frames on a session's stream.
//!
//! The handshake's buffers are small ([`HANDSHAKE_FRAME_MAX`]); after it,
//! the session reads each header ([`read_header`]) and then the body into
//! a buffer of exactly its length ([`read_body`]), bounded by
//! `MAX_FRAME_SIZE` and by the session's in-flight limits. A frame is
//! read header first: the header is decoded (which checks `total_len`
//! against 20..=MAX_FRAME_SIZE, the flags, status and request id) before
//! any body byte is read, and exactly `total_len - 20` body bytes follow.
#![forbid(unsafe_code)]

use crate::kbase::kthread::StopToken;
use crate::kbase::log::qdebug;
use crate::kbase::net::{is_interrupted, is_timeout, TcpStream};
use crate::kbase::sys::monotonic_ms;
use crate::proto::{DecodeError, FrameHeader, HEADER_LEN};
use core::sync::atomic::{AtomicI32, Ordering};
use kernel::alloc::KVVec;
use kernel::prelude::*;

/// The largest frame accepted before authentication (the handshake's
/// frames are at most 20 + 78 bytes).
pub(crate) const HANDSHAKE_FRAME_MAX: usize = 256;

/// Longest time between a frame's header and the end of its body.
pub(crate) const BODY_TIMEOUT_MS: u64 = 30_000;

/// Why a session ends.
#[derive(Clone, Copy, Debug)]
pub(crate) enum End {
    /// The peer closed the stream between frames.
    ClosedByPeer,
    /// The peer closed the stream in the middle of a frame.
    Truncated,
    /// `kthread_stop()`: the server is unloading.
    Stopping,
    /// The handshake did not finish in time.
    HandshakeTimeout,
    /// A frame's body did not arrive in time after its header.
    BodyTimeout,
    /// A header that breaks the framing rules (the stream cannot be trusted).
    BadHeader(DecodeError),
    /// The peer failed the handshake (with what the log should say).
    HandshakeFailed(&'static str),
    /// A frame that is not a request after the handshake.
    NotARequest,
    /// Closed in its handshake to make room for a new connection.
    Evicted,
    /// A receive or send error (negative errno).
    Io(i32),
}

impl core::fmt::Display for End {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            End::ClosedByPeer => write!(f, "closed by peer"),
            End::Truncated => write!(f, "closed by peer in the middle of a frame"),
            End::Stopping => write!(f, "server stopping"),
            End::HandshakeTimeout => write!(f, "handshake timed out"),
            End::BodyTimeout => write!(f, "frame body not received in time"),
            End::BadHeader(e) => write!(f, "bad frame header: {}", e),
            End::HandshakeFailed(why) => write!(f, "handshake failed: {}", why),
            End::NotARequest => write!(f, "protocol error: a frame that is not a request"),
            End::Evicted => write!(f, "evicted in its handshake to make room"),
            End::Io(e) => write!(f, "i/o error {}", e),
        }
    }
}

/// The per-session receive and transmit buffers.
pub(crate) struct FrameIo {
    rx: KVVec<u8>,
    tx: KVVec<u8>,
}

impl FrameIo {
    /// Buffers of [`HANDSHAKE_FRAME_MAX`] bytes: enough for every
    /// handshake frame, so an unauthenticated peer costs the server almost
    /// nothing (a longer frame is refused as `FrameTooLarge`).
    pub(crate) fn for_handshake() -> Result<Self> {
        Ok(FrameIo {
            rx: KVVec::from_elem(0u8, HANDSHAKE_FRAME_MAX, GFP_KERNEL)?,
            tx: KVVec::from_elem(0u8, HANDSHAKE_FRAME_MAX, GFP_KERNEL)?,
        })
    }

    /// Reads one frame; returns its (decoded, valid) header. The body is
    /// then [`Self::split`]`(&header).0`. `deadline` (monotonic ms) bounds
    /// the whole read, else only a stop request or the peer end it.
    pub(crate) fn read_frame(
        &mut self,
        stream: &TcpStream,
        stop: &StopToken,
        deadline: Option<u64>,
    ) -> core::result::Result<FrameHeader, End> {
        let mut head = [0u8; HEADER_LEN];
        read_exact(stream, stop, None, deadline, &mut head, true)?;
        let header = FrameHeader::decode(&head).map_err(End::BadHeader)?;
        let body_len = header.body_len();
        let body = self
            .rx
            .get_mut(..body_len)
            .ok_or(End::BadHeader(DecodeError::FrameTooLarge))?;
        // Once a header is in, its body must follow within BODY_TIMEOUT_MS
        // (a peer cannot park a session in the middle of a frame).
        let body_deadline = monotonic_ms().saturating_add(BODY_TIMEOUT_MS);
        let body_deadline = Some(deadline.map_or(body_deadline, |d| d.min(body_deadline)));
        read_exact(stream, stop, None, body_deadline, body, false).map_err(|e| {
            match (e, deadline) {
                (End::HandshakeTimeout, None) => End::BodyTimeout,
                (e, _) => e,
            }
        })?;
        Ok(header)
    }

    /// The body of the frame last read (by its header), and the whole
    /// transmit buffer to encode the answer into.
    pub(crate) fn split(&mut self, header: &FrameHeader) -> (&[u8], &mut [u8]) {
        let body = self.rx.get(..header.body_len()).unwrap_or(&[]);
        (body, &mut self.tx[..])
    }

    /// The transmit buffer.
    pub(crate) fn tx(&mut self) -> &mut [u8] {
        &mut self.tx[..]
    }

    /// Sends the first `len` bytes of the transmit buffer.
    pub(crate) fn send(&self, stream: &TcpStream, len: usize) -> core::result::Result<(), End> {
        let frame = self.tx.get(..len).unwrap_or(&[]);
        stream.send_all(frame).map_err(|e| End::Io(e.to_errno()))
    }
}

/// Reads the next frame's header (after the handshake), waiting as long
/// as the peer is silent; `broken` (a send error of a worker, negative
/// errno, or 0) ends the wait.
pub(crate) fn read_header(
    stream: &TcpStream,
    stop: &StopToken,
    broken: &AtomicI32,
) -> core::result::Result<FrameHeader, End> {
    let mut head = [0u8; HEADER_LEN];
    read_exact(stream, stop, Some(broken), None, &mut head, true)?;
    FrameHeader::decode(&head).map_err(End::BadHeader)
}

/// A body longer than this spans TCP segments (see `TcpStream::ack_now`).
const ONE_SEGMENT: usize = 1024;

/// Reads a frame's body into `buf` (exactly its length), within
/// [`BODY_TIMEOUT_MS`].
pub(crate) fn read_body(
    stream: &TcpStream,
    stop: &StopToken,
    broken: &AtomicI32,
    buf: &mut [u8],
) -> core::result::Result<(), End> {
    let deadline = monotonic_ms().saturating_add(BODY_TIMEOUT_MS);
    if buf.len() > ONE_SEGMENT {
        stream.ack_now();
    }
    read_exact(stream, stop, Some(broken), Some(deadline), buf, false).map_err(|e| match e {
        End::HandshakeTimeout => End::BodyTimeout,
        e => e,
    })
}

/// Fills `buf` from the stream. `at_boundary`: a clean end of stream before
/// the first byte is [`End::ClosedByPeer`], otherwise [`End::Truncated`].
fn read_exact(
    stream: &TcpStream,
    stop: &StopToken,
    broken: Option<&AtomicI32>,
    deadline: Option<u64>,
    buf: &mut [u8],
    at_boundary: bool,
) -> core::result::Result<(), End> {
    let mut got = 0;
    while got < buf.len() {
        if stop.should_stop() {
            return Err(End::Stopping);
        }
        if let Some(e) = broken
            .map(|b| b.load(Ordering::Acquire))
            .filter(|&e| e != 0)
        {
            return Err(End::Io(e));
        }
        if deadline.is_some_and(|d| monotonic_ms() >= d) {
            return Err(End::HandshakeTimeout);
        }
        let rest = buf.get_mut(got..).unwrap_or(&mut []);
        match stream.recv(rest) {
            Ok(0) if at_boundary && got == 0 => return Err(End::ClosedByPeer),
            Ok(0) => return Err(End::Truncated),
            Ok(n) => {
                qdebug!("{}: {} bytes received", stream.peer_addr(), n);
                got += n;
            }
            Err(e) if is_timeout(e) || is_interrupted(e) => {}
            Err(e) => return Err(End::Io(e.to_errno())),
        }
    }
    Ok(())
}
