// SPDX-License-Identifier: GPL-2.0
//! The connection to the server: handshake, then many requests in flight
//! from many tasks at once, matched to their replies by request id.
//!
//! A caller encodes its request, registers a [`Call`] under a fresh id,
//! sends the frame (sends are serialised by a mutex; each is bounded by the
//! socket's send timeout) and waits, killably and at most
//! [`REQUEST_TIMEOUT_MS`], for the receive thread to hand it the reply.
//! A caller that stops waiting (killed, timed out) takes its call out of
//! the table and tells the server with a `Cancel`. When the connection
//! fails, every waiting call gets `EIO` at once and the connection is
//! marked dead; `client::connection` makes the next one (reconnect with
//! backoff). A connection is one server session: the node and handle ids
//! it gave are valid on it alone, so each [`Conn`] carries the session's
//! [`Conn::generation`], which the ids are tagged with (`node`,
//! `vfs_file`).
//!
//! A dead peer is noticed without traffic from it: TCP keepalive probes an
//! idle connection and `TCP_USER_TIMEOUT` aborts one whose data (or
//! probes) stay unacknowledged (see [`USER_TIMEOUT_MS`]); both end the
//! receive thread's wait with an error, which fails the connection.
//!
//! All socket work and allocations here run under `memalloc_nofs_save`:
//! page reclaim must never re-enter qtfs while a reply is awaited.
#![forbid(unsafe_code)]

use crate::kbase::completion::{Completion, WaitEnd};
use crate::poll::PollSlot;
use crate::kbase::config::SockAddr;
use crate::kbase::kthread::{Kthread, StopToken};
use crate::kbase::log::{qdebug, qinfo, qwarn};
use crate::kbase::net::{is_interrupted, is_timeout, TcpStream};
use crate::kbase::nofs::NoFs;
use crate::kbase::sys::random_bytes;
use crate::proto::{
    decode_event, decode_reply, encode_handshake, Event, encode_request, split_frame, CancelRequest, Capabilities,
    ClientHandshake, Credentials, Errno, FrameFlags, FrameHeader, Groups, Negotiated, Reply,
    Request, HEADER_LEN, MAX_FRAME_SIZE,
};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::alloc::KVVec;
use kernel::c_str;
use crate::kbase::errno::{eproto, etimedout};
use kernel::error::code::{EINTR, EIO, ENOMEM, ERESTARTSYS};
use kernel::new_mutex;
use kernel::new_condvar;
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNodeReservation};
use kernel::sync::{Arc, CondVar, CondVarTimeoutResult, Mutex, SpinLock};
use kernel::time::msecs_to_jiffies;

/// What this client uses when the server offers it: xattr operations, the
/// whole-file read of pseudo files and poll events.
const CLIENT_CAPABILITIES: Capabilities = Capabilities::XATTR
    .union(Capabilities::WHOLE_FILE_READ)
    .union(Capabilities::POLL_EVENTS);

/// Longest wait for the TCP connection to be set up.
pub(crate) const CONNECT_TIMEOUT_MS: u32 = 5000;
/// Longest wait for each handshake reply.
pub(crate) const HANDSHAKE_TIMEOUT_MS: u32 = 10_000;
/// Longest wait for a reply (except a FIFO open's: see
/// [`Conn::call_interruptible`]).
pub(crate) const REQUEST_TIMEOUT_MS: u32 = 60_000;
/// Longest wait for the server's answer to the `Cancel` of an
/// interrupted FIFO open (the server interrupts its worker at once).
const CANCEL_GRACE_MS: u32 = 5000;
/// Longest single wait for buffer space when sending (in practice
/// [`USER_TIMEOUT_MS`] ends it first on a dead link).
const SEND_TIMEOUT_MS: u32 = 30_000;
/// TCP keepalive on an idle connection: the first probe after this many
/// seconds without traffic...
const KEEPALIVE_IDLE_S: u16 = 5;
/// ...then one every this many seconds...
const KEEPALIVE_INTERVAL_S: u16 = 2;
/// ...and at most this many unanswered probes.
const KEEPALIVE_PROBES: u8 = 3;
/// `TCP_USER_TIMEOUT`: data or keepalive probes unacknowledged this long
/// abort the connection. So a silently dropped link is declared dead at
/// most this long after a request was sent into it, and an idle one after
/// about `KEEPALIVE_IDLE_S` + this.
pub(crate) const USER_TIMEOUT_MS: u32 = 10_000;
/// A reply body longer than this spans TCP segments.
const ONE_SEGMENT: usize = 1024;
/// How often the receive thread checks for a stop request.
const RECV_WAIT_MS: u32 = 1000;

/// Every request this module sent, by opcode (the status file shows them).
pub(crate) static STATS: crate::kbase::stats::OpStats = crate::kbase::stats::OpStats::new();

/// The caller of an operation, as the server must see it.
pub(crate) type Creds = crate::kbase::cred::Ids;

impl Creds {
    /// The current task's.
    pub(crate) fn current() -> Creds {
        crate::kbase::cred::current_ids()
    }

    /// Root (for `Forget` and other bookkeeping).
    pub(crate) const ROOT: Creds = Creds {
        fsuid: 0,
        fsgid: 0,
        groups: [0; crate::kbase::cred::MAX_GROUPS],
        ngroups: 0,
        umask: 0o022,
    };

    fn wire(&self) -> Credentials<'_> {
        Credentials {
            uid: self.fsuid,
            gid: self.fsgid,
            fsuid: self.fsuid,
            fsgid: self.fsgid,
            groups: Groups::from_ids(self.groups.get(..self.ngroups).unwrap_or(&[])),
        }
    }
}

/// A kernel error from a protocol errno. Values of 512 and above are the
/// kernel's own (`ERESTARTSYS`, `EIOCBQUEUED`, ...): a server never sends
/// them (docs/protocol.md), and passed on they would make the VFS restart
/// a call or wait for an I/O that never completes, so they are `EIO`.
pub(crate) fn err(e: Errno) -> Error {
    if e.get() >= KERNEL_INTERNAL_ERRNO {
        return EIO;
    }
    Error::from_errno(e.to_kernel())
}

/// The first errno that only the kernel uses (`ERESTARTSYS`).
const KERNEL_INTERNAL_ERRNO: u32 = 512;

struct CallState {
    /// The reply frame's header and body, once received.
    header: Option<FrameHeader>,
    body: KVVec<u8>,
    /// Set when the connection died before the reply came.
    failed: bool,
}

/// One request waiting for its reply.
#[pin_data]
struct Call {
    #[pin]
    done: Completion,
    #[pin]
    state: SpinLock<CallState>,
}

/// How a caller waits for its reply.
enum Wait<'a> {
    /// Killably, at most [`REQUEST_TIMEOUT_MS`].
    Bounded,
    /// Until the reply or a signal (then set to true).
    UntilSignal(&'a mut bool),
}

/// What the receive thread and the callers share.
#[pin_data]
struct Shared {
    stream: TcpStream,
    #[pin]
    send: Mutex<()>,
    #[pin]
    calls: SpinLock<RBTree<u64, Arc<Call>>>,
    next_id: AtomicU64,
    dead: AtomicBool,
    negotiated: Negotiated,
    /// Open files waiting for a `PollEvent`, by poll id.
    #[pin]
    polls: SpinLock<RBTree<u64, Arc<PollSlot>>>,
    next_poll_id: AtomicU64,
    /// FIFO opens waiting on the server, for reading and for writing, at
    /// most `MAX_BLOCKING_OPENS` each (more would be `EBUSY`: they wait
    /// here instead).
    #[pin]
    blocking_opens: SpinLock<[usize; 2]>,
    #[pin]
    blocking_room: CondVar,
}

impl Shared {
    /// Ends every waiting call with `EIO`.
    fn fail_all(&self) {
        self.dead.store(true, Ordering::Release);
        loop {
            let call = {
                let mut calls = self.calls.lock();
                let Some(key) = calls.keys().next().copied() else {
                    break;
                };
                calls.remove(&key)
            };
            if let Some(c) = call {
                c.state.lock().failed = true;
                c.done.complete_all();
            }
        }
        // Pollers must not wait for events that cannot come.
        loop {
            let slot = {
                let mut polls = self.polls.lock();
                let Some(key) = polls.keys().next().copied() else {
                    break;
                };
                polls.remove(&key).map(|s| (key, s))
            };
            if let Some((id, s)) = slot {
                s.on_event(id, crate::poll::POLL_FAILED);
            }
        }
    }
}

/// One of the FIFO opens that may wait on the server ([`Conn::blocking_open_slot`]).
pub(crate) struct BlockingOpenSlot<'a>(&'a Shared, usize);

impl Drop for BlockingOpenSlot<'_> {
    fn drop(&mut self) {
        self.0.blocking_opens.lock()[self.1] -= 1;
        // Waiters of both directions share the queue.
        self.0.blocking_room.notify_all();
    }
}

/// An authenticated connection to the server; dropping the last reference
/// stops its receive thread and closes it.
pub(crate) struct Conn {
    shared: Arc<Shared>,
    receiver: Option<Kthread>,
    server: SockAddr,
    generation: u64,
}

impl Conn {
    /// Connects to `server` and authenticates with `key`; `generation`
    /// names the session (unique per module lifetime, never 0).
    pub(crate) fn connect(server: SockAddr, key: &[u8], generation: u64) -> Result<Arc<Conn>> {
        let _nofs = NoFs::enter();
        let stream = TcpStream::connect(server, CONNECT_TIMEOUT_MS)?;
        stream.set_nofs();
        stream.set_keepalive(
            i32::from(KEEPALIVE_IDLE_S),
            i32::from(KEEPALIVE_INTERVAL_S),
            i32::from(KEEPALIVE_PROBES),
        )?;
        stream.set_user_timeout(USER_TIMEOUT_MS)?;
        stream.set_recv_timeout(HANDSHAKE_TIMEOUT_MS);
        stream.set_send_timeout(SEND_TIMEOUT_MS);
        let negotiated = handshake(&stream, key).inspect_err(|e| {
            qwarn!("{}: handshake failed: error {}", server, e.to_errno());
        })?;
        stream.set_recv_timeout(RECV_WAIT_MS);
        qinfo!(
            "connected to {} from {} (protocol version {}, session {})",
            server,
            stream.local_addr(),
            negotiated.version,
            generation
        );
        let shared = Arc::pin_init(
            pin_init!(Shared {
                stream,
                send <- new_mutex!(()),
                calls <- new_spinlock!(RBTree::new()),
                next_id: AtomicU64::new(16),
                dead: AtomicBool::new(false),
                negotiated,
                polls <- new_spinlock!(RBTree::new()),
                next_poll_id: AtomicU64::new(1),
                blocking_opens <- new_spinlock!([0, 0]),
                blocking_room <- new_condvar!(),
            }),
            GFP_KERNEL,
        )?;
        let rx = shared.clone();
        let receiver = Kthread::spawn(c_str!("qtfs_rx"), move |stop| {
            let _nofs = NoFs::enter();
            receive_loop(&rx, stop);
            0
        })?;
        Ok(Arc::new(
            Conn {
                shared,
                receiver: Some(receiver),
                server,
                generation,
            },
            GFP_KERNEL,
        )?)
    }

    /// Whether the connection failed (a new one is needed).
    pub(crate) fn is_dead(&self) -> bool {
        self.shared.dead.load(Ordering::Acquire)
    }

    /// The session this connection is: ids the server gave on it are
    /// valid on it alone.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// A fresh poll id (never 0).
    pub(crate) fn new_poll_id(&self) -> u64 {
        self.shared.next_poll_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Routes the `PollEvent` of `id` to `slot` (until it comes, or
    /// [`Conn::remove_poll`]).
    pub(crate) fn add_poll(&self, id: u64, slot: Arc<PollSlot>) -> Result {
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?.into_node(id, slot);
        self.shared.polls.lock().insert(node);
        if self.is_dead() {
            self.remove_poll(id);
            return Err(EIO);
        }
        Ok(())
    }

    pub(crate) fn remove_poll(&self, id: u64) {
        drop(self.shared.polls.lock().remove(&id));
    }

    /// Whether both sides negotiated `op`.
    pub(crate) fn allows(&self, op: crate::proto::Opcode) -> bool {
        self.shared.negotiated.allows(op)
    }

    /// The server it talks to.
    pub(crate) fn server(&self) -> SockAddr {
        self.server
    }

    /// Sends `req` as `creds` and hands the successful reply to `f`; a
    /// failed request is its errno.
    pub(crate) fn call<R>(
        &self,
        creds: &Creds,
        req: &Request<'_>,
        f: impl FnOnce(&Reply<'_>) -> Result<R>,
    ) -> Result<R> {
        let started = crate::kbase::sys::monotonic_ns();
        let r = self.round_trip(creds, req, f);
        let ok = r.is_ok();
        STATS.record(req.opcode().to_u16(), crate::kbase::sys::monotonic_ns() - started, ok);
        r
    }

    /// A place among the FIFO opens for writing (`write`) or reading
    /// that may wait on the server (at most `MAX_BLOCKING_OPENS` each),
    /// waited for interruptibly, as the open itself would wait.
    pub(crate) fn blocking_open_slot(&self, write: bool) -> Result<BlockingOpenSlot<'_>> {
        let sh = &*self.shared;
        let dir = usize::from(write);
        let mut n = sh.blocking_opens.lock();
        while n[dir] >= crate::proto::MAX_BLOCKING_OPENS as usize {
            if sh.dead.load(Ordering::Acquire) {
                return Err(EIO);
            }
            let r = sh
                .blocking_room
                .wait_interruptible_timeout(&mut n, msecs_to_jiffies(RECV_WAIT_MS));
            if matches!(r, CondVarTimeoutResult::Signal { .. }) {
                return Err(ERESTARTSYS);
            }
        }
        n[dir] += 1;
        Ok(BlockingOpenSlot(sh, dir))
    }

    /// As [`Conn::call`], for a request that waits on the HOST for as
    /// long as it would locally (a FIFO open waiting for the other side):
    /// no time limit while the connection lives, and any signal ends the
    /// wait. The server is then sent a `Cancel` and its answer awaited
    /// (killably, at most [`CANCEL_GRACE_MS`]); if the request succeeded
    /// after all, `undo` gets the result to give back what it made. The
    /// caller gets `ERESTARTSYS` (the system call restarts or fails with
    /// `EINTR`, as after a local interrupted open).
    pub(crate) fn call_interruptible<R>(
        &self,
        creds: &Creds,
        req: &Request<'_>,
        f: impl FnOnce(&Reply<'_>) -> Result<R>,
        undo: impl FnOnce(R),
    ) -> Result<R> {
        let started = crate::kbase::sys::monotonic_ns();
        let mut interrupted = false;
        let r = self.round_trip_waiting(creds, req, f, Wait::UntilSignal(&mut interrupted));
        STATS.record(req.opcode().to_u16(), crate::kbase::sys::monotonic_ns() - started, r.is_ok());
        if interrupted {
            if let Ok(v) = r {
                undo(v);
            }
            return Err(ERESTARTSYS);
        }
        r
    }

    fn round_trip<R>(
        &self,
        creds: &Creds,
        req: &Request<'_>,
        f: impl FnOnce(&Reply<'_>) -> Result<R>,
    ) -> Result<R> {
        self.round_trip_waiting(creds, req, f, Wait::Bounded)
    }

    fn round_trip_waiting<R>(
        &self,
        creds: &Creds,
        req: &Request<'_>,
        f: impl FnOnce(&Reply<'_>) -> Result<R>,
        wait: Wait<'_>,
    ) -> Result<R> {
        let _nofs = NoFs::enter();
        let sh = &*self.shared;
        if sh.dead.load(Ordering::Acquire) {
            return Err(EIO);
        }
        let id = sh.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = encode(id, creds, req)?;
        let call = Arc::pin_init(
            pin_init!(Call {
                done <- Completion::new(),
                state <- new_spinlock!(CallState {
                    header: None,
                    body: KVVec::new(),
                    failed: false,
                }),
            }),
            GFP_KERNEL,
        )?;
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?.into_node(id, call.clone());
        sh.calls.lock().insert(node);
        if let Err(e) = self.send(frame.bytes()) {
            sh.calls.lock().remove(&id);
            return Err(e);
        }
        drop(frame);
        match wait {
            Wait::Bounded => match call.done.wait_killable(REQUEST_TIMEOUT_MS) {
                WaitEnd::Done => {}
                end => {
                    let still_waiting = sh.calls.lock().remove(&id).is_some();
                    if still_waiting {
                        self.cancel(id);
                        return Err(if end == WaitEnd::Killed { EINTR } else { etimedout() });
                    }
                    // The reply raced with the timeout: use it.
                }
            },
            Wait::UntilSignal(interrupted) => loop {
                // A dead connection completes every call (`fail_all`).
                match call.done.wait_interruptible(RECV_WAIT_MS) {
                    WaitEnd::Done => break,
                    WaitEnd::TimedOut => continue,
                    WaitEnd::Killed => {
                        *interrupted = true;
                        self.cancel(id);
                        if call.done.wait_killable(CANCEL_GRACE_MS) != WaitEnd::Done
                            && sh.calls.lock().remove(&id).is_some()
                        {
                            // No answer: whatever it made on the server
                            // stays there until the session ends.
                            return Err(ERESTARTSYS);
                        }
                        break;
                    }
                }
            },
        }
        let (header, body) = {
            let mut st = call.state.lock();
            if st.failed {
                return Err(EIO);
            }
            (st.header.take(), core::mem::replace(&mut st.body, KVVec::new()))
        };
        let header = header.ok_or(EIO)?;
        let reply = decode_reply(&header, &body).map_err(|_| eproto())?;
        if reply.opcode != req.opcode().to_u16() {
            return Err(eproto());
        }
        match reply.result {
            Ok(r) => f(&r),
            Err(e) => Err(err(e)),
        }
    }

    /// Sends `req` without waiting for the reply (which the receive thread
    /// drops): for `Forget`, `Release` and `Cancel`.
    pub(crate) fn send_oneway(&self, req: &Request<'_>) {
        let _nofs = NoFs::enter();
        let sh = &*self.shared;
        if sh.dead.load(Ordering::Acquire) {
            return;
        }
        let id = sh.next_id.fetch_add(1, Ordering::Relaxed);
        STATS.record_oneway(req.opcode().to_u16());
        if let Ok(frame) = encode(id, &Creds::ROOT, req) {
            let _ = self.send(frame.bytes());
        }
    }

    fn cancel(&self, target: u64) {
        if self.shared.negotiated.allows(crate::proto::Opcode::Cancel) {
            self.send_oneway(&Request::Cancel(CancelRequest { target }));
        }
    }

    fn send(&self, frame: &[u8]) -> Result {
        let sh = &*self.shared;
        let r = {
            let _guard = sh.send.lock();
            sh.stream.send_all(frame)
        };
        if let Err(e) = r {
            qwarn!("{}: send failed: error {}", self.server, e.to_errno());
            sh.fail_all();
            return Err(EIO);
        }
        Ok(())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.shared.dead.store(true, Ordering::Release);
        if let Some(t) = self.receiver.take() {
            t.stop();
        }
        self.shared.fail_all();
        qinfo!("disconnected from {} (session {})", self.server, self.generation);
    }
}

/// Encodes a request frame into a buffer of its size.
fn encode(id: u64, creds: &Creds, req: &Request<'_>) -> Result<Frame> {
    // A write carries its data; everything else fits in 8 KiB (a path of
    // 4096 bytes and two names at most).
    let extra = match req {
        Request::Write(w) => w.data.as_bytes().len(),
        Request::SetXattr(s) => s.value.as_bytes().len(),
        _ => 0,
    };
    let cap = (8 << 10) + extra;
    let mut buf = KVVec::from_elem(0u8, cap, GFP_KERNEL).map_err(|_| ENOMEM)?;
    let n = encode_request(&mut buf, id, &creds.wire(), req).map_err(|_| kernel::error::code::EINVAL)?;
    Ok(Frame { buf, len: n })
}

/// An encoded request frame.
struct Frame {
    buf: KVVec<u8>,
    len: usize,
}

impl Frame {
    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

/// The client side of the handshake, synchronous, before the receive
/// thread starts.
fn handshake(stream: &TcpStream, key: &[u8]) -> Result<Negotiated> {
    let mut nonce = [0u8; 32];
    random_bytes(&mut nonce);
    let mut hs = ClientHandshake::new(CLIENT_CAPABILITIES, nonce);
    let mut buf = [0u8; 256];
    let n = encode_handshake(&mut buf, 1, &hs.hello()).map_err(|_| eproto())?;
    stream.send_all(&buf[..n])?;
    let len = read_small_frame(stream, &mut buf)?;
    let (h, body) = split_frame(&buf[..len]).map_err(|_| eproto())?;
    let auth = hs.on_server_hello(key, &h, body).map_err(err)?;
    let n = encode_handshake(&mut buf, 2, &auth).map_err(|_| eproto())?;
    stream.send_all(&buf[..n])?;
    let len = read_small_frame(stream, &mut buf)?;
    let (h, body) = split_frame(&buf[..len]).map_err(|_| eproto())?;
    hs.on_auth_reply(&h, body).map_err(err)
}

/// Reads one handshake frame (at most `buf.len()` bytes).
fn read_small_frame(stream: &TcpStream, buf: &mut [u8]) -> Result<usize> {
    read_exact(stream, &mut buf[..HEADER_LEN], None)?;
    let h = FrameHeader::decode(&buf[..HEADER_LEN]).map_err(|_| eproto())?;
    let total = h.total_len as usize;
    if total > buf.len() {
        return Err(eproto());
    }
    read_exact(stream, &mut buf[HEADER_LEN..total], None)?;
    Ok(total)
}

/// Fills `buf`; a timeout is an error unless `stop` is given (then only a
/// stop request or the peer end it).
fn read_exact(stream: &TcpStream, buf: &mut [u8], stop: Option<&StopToken>) -> Result {
    let mut got = 0;
    while got < buf.len() {
        if stop.is_some_and(|s| s.should_stop()) {
            return Err(EINTR);
        }
        match stream.recv(&mut buf[got..]) {
            Ok(0) => return Err(EIO),
            Ok(n) => got += n,
            Err(e) if stop.is_some() && (is_timeout(e) || is_interrupted(e)) => {}
            Err(e) if is_timeout(e) => return Err(etimedout()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The receive thread: reads frames and completes their calls.
fn receive_loop(sh: &Shared, stop: &StopToken) {
    let why = loop {
        let mut head = [0u8; HEADER_LEN];
        if let Err(e) = read_exact(&sh.stream, &mut head, Some(stop)) {
            break e;
        }
        let header = match FrameHeader::decode(&head) {
            Ok(h) => h,
            Err(_) => break eproto(),
        };
        let len = header.body_len();
        if len > MAX_FRAME_SIZE as usize {
            break eproto();
        }
        if len > ONE_SEGMENT {
            // The server's Nagle holds the reply's last segment until we
            // acknowledge the first ones: do so now (`TcpStream::ack_now`).
            sh.stream.ack_now();
        }
        let mut body = match KVVec::from_elem(0u8, len, GFP_KERNEL) {
            Ok(b) => b,
            Err(_) => break ENOMEM,
        };
        if let Err(e) = read_exact(&sh.stream, &mut body, Some(stop)) {
            break e;
        }
        if header.flags == FrameFlags::EVENT {
            match decode_event(&header, &body) {
                Ok(Event::Poll(ev)) => {
                    let slot = sh.polls.lock().remove(&ev.poll_id);
                    if let Some(s) = slot {
                        s.on_event(ev.poll_id, ev.revents.bits());
                    }
                }
                // A malformed or unknown event is dropped, not fatal.
                Err(_) => qdebug!("ignoring a malformed event frame"),
            }
            continue;
        }
        if header.flags != FrameFlags::REPLY {
            qdebug!("ignoring a frame with flags {:#x}", header.flags.bits());
            continue;
        }
        let call = sh.calls.lock().remove(&header.request_id);
        match call {
            Some(c) => {
                {
                    let mut st = c.state.lock();
                    st.header = Some(header);
                    st.body = body;
                }
                c.done.complete_all();
            }
            // A one-way request's reply, or one whose caller gave up.
            None => {}
        }
    };
    if why != EINTR {
        qwarn!("connection lost: error {}", why.to_errno());
    }
    sh.fail_all();
}
