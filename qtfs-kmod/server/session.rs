// SPDX-License-Identifier: GPL-2.0
//! One reader thread per accepted connection, its pool of workers, and the
//! bounded table of connections.
//!
//! The session thread (`qtfs_srv_conn`) runs the handshake (`handshake`,
//! bounded in time), then reads requests and queues them for its workers
//! (`qtfs_srv_work`, [`MIN_WORKERS`] at first, one more whenever a request
//! is queued while fewer workers are idle than requests queued, at most
//! [`MAX_WORKERS`]). At most
//! [`MAX_IN_FLIGHT`] requests (and [`MAX_IN_FLIGHT_BYTES`] of request
//! bodies) are queued or running per connection; at the limit the reader
//! stops reading until a worker finishes one. Each worker decodes and
//! performs its request (`dispatch`, `ops`) with its own buffers and sends
//! the reply under the connection's send lock, so replies go out in any
//! order. `Cancel` is answered by the reader: a request still queued is
//! dropped and answered `ECANCELED`; a running one is interrupted (its
//! worker gets `SIGINT`, which ends an interruptible wait such as a FIFO
//! open or read; it is then answered `ECANCELED`), and an operation that
//! does not wait interruptibly just finishes with its normal reply. When the connection ends (peer, protocol error,
//! send error or unload) the reader stops every worker before it exits.
//! Without a configured key every connection is refused.
#![forbid(unsafe_code)]

use crate::frame_io::{read_body, read_header, End, FrameIo};
use crate::kbase::config::Ipv4;
use crate::kbase::kthread::{Interrupter, Kthread, StopToken};
use crate::kbase::log::{qinfo, qwarn, qwarn_rl};
use crate::kbase::net::TcpStream;
use crate::kbase::sys::monotonic_ms;
use crate::ops::ECANCELED;
use crate::proto::{
    decode_request, encode_error_reply, encode_reply, EmptyReply, FrameFlags, FrameHeader,
    Negotiated, Opcode, Reply, Request,
};
use crate::tables::Tables;
use crate::ServerConfig;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, AtomicUsize, Ordering};
use kernel::alloc::{KVVec, KVec};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::{Arc, CondVar, Mutex};
use kernel::time::msecs_to_jiffies;

/// Most connections served at once (handshaking or authenticated).
pub(crate) const MAX_SESSIONS: usize = 16;
/// Most connections in the handshake at once: the other slots are
/// reserved for authenticated sessions, and a new connection beyond this
/// evicts the oldest one still in its handshake.
pub(crate) const MAX_HANDSHAKES: usize = 8;
/// Most connections in the handshake from one IPv4 address; a new one
/// beyond this evicts that address's oldest one still in its handshake.
pub(crate) const MAX_HANDSHAKES_PER_ADDR: usize = 4;
/// TCP keepalive of a connection: the first probe after this many idle
/// seconds, then one every [`KEEPALIVE_INTERVAL_S`]; after
/// [`KEEPALIVE_PROBES`] unanswered the connection ends (a dead peer frees
/// its slot within 30 + 3 × 10 = 60 s of silence).
const KEEPALIVE_IDLE_S: i32 = 30;
const KEEPALIVE_INTERVAL_S: i32 = 10;
const KEEPALIVE_PROBES: i32 = 3;
/// `TCP_USER_TIMEOUT`: sent data (or a zero-window probe) unacknowledged
/// this long ends the connection.
const USER_TIMEOUT_MS: u32 = 60_000;
/// Workers a connection starts with.
pub(crate) const MIN_WORKERS: usize = 4;
/// Most workers of one connection.
pub(crate) const MAX_WORKERS: usize = 32;
/// Most requests queued or running per connection.
pub(crate) const MAX_IN_FLIGHT: usize = 64;
/// Most bytes of request bodies held per connection (one request is
/// always admitted when none is held, whatever its size).
pub(crate) const MAX_IN_FLIGHT_BYTES: usize = 8 << 20;
/// Longest single wait in `recv` and in the queue waits; bounds how late a
/// stop request is seen.
const RECV_WAIT_MS: u32 = 1000;
/// Longest single wait for buffer space in `send` (a peer that does not
/// read its replies ends its session after this).
const SEND_WAIT_MS: u32 = 10_000;
/// Longest time one reply (or event) may take to send in all: a peer
/// that drains a byte at a time loses its session after this, and the
/// worker is free again. Other workers wait for the send lock meanwhile
/// (uninterruptibly, `mutex_lock`), so this stays below the hung-task
/// threshold of the test kernel (20 s).
pub(crate) const SEND_DEADLINE_MS: u64 = 15_000;
/// `/proc/<pid>/comm` of a session thread.
const THREAD_NAME: &CStr = c_str!("qtfs_srv_conn");
/// `/proc/<pid>/comm` of a worker thread.
const WORKER_NAME: &CStr = c_str!("qtfs_srv_work");

pub(crate) struct Conn {
    pub(crate) stream: TcpStream,
    done: AtomicBool,
    /// [`HANDSHAKING`], [`AUTHENTICATED`] or [`EVICTED`]; the session
    /// thread and the accept thread race for the change away from
    /// `HANDSHAKING` (whoever wins decides).
    phase: AtomicU8,
    /// When it was accepted (monotonic ms), to find the oldest handshake.
    accepted_ms: u64,
}

const HANDSHAKING: u8 = 0;
const AUTHENTICATED: u8 = 1;
const EVICTED: u8 = 2;

impl Conn {
    /// The handshake succeeded: the connection is a session now, unless
    /// the accept thread evicted it first (then `false`).
    fn authenticate(&self) -> bool {
        self.phase
            .compare_exchange(
                HANDSHAKING,
                AUTHENTICATED,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Claims a connection still in its handshake for eviction; `false`
    /// if it authenticated first.
    fn evict(&self) -> bool {
        self.phase
            .compare_exchange(HANDSHAKING, EVICTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn is_handshaking(&self) -> bool {
        self.phase.load(Ordering::Acquire) == HANDSHAKING
    }
}

/// A request read by the session thread, waiting for a worker.
pub(crate) struct Job {
    pub(crate) header: FrameHeader,
    pub(crate) body: KVVec<u8>,
}

/// What a worker is doing, for `Cancel`.
struct Running {
    /// The request it performs, or 0.
    id: u64,
    /// A `Cancel` interrupted it.
    cancelled: bool,
    /// How to interrupt it (set when the worker starts).
    task: Option<Interrupter>,
}

/// The queue of a connection: a ring of [`MAX_IN_FLIGHT`] slots.
struct State {
    /// Per worker slot (index given at spawn), at most [`MAX_WORKERS`].
    running: KVec<Running>,
    ring: KVec<Option<Job>>,
    head: usize,
    queued: usize,
    /// Requests queued or running.
    in_flight: usize,
    /// Bytes of their bodies.
    bytes: usize,
    /// Workers waiting for a request.
    idle: usize,
    /// The connection is ending: workers exit.
    stopping: bool,
}

impl State {
    fn push(&mut self, job: Job) -> Result<(), Job> {
        if self.queued >= MAX_IN_FLIGHT {
            return Err(job);
        }
        let i = (self.head + self.queued) % MAX_IN_FLIGHT;
        match self.ring.get_mut(i) {
            Some(slot) => {
                *slot = Some(job);
                self.queued += 1;
                Ok(())
            }
            None => Err(job),
        }
    }

    fn pop(&mut self) -> Option<Job> {
        if self.queued == 0 {
            return None;
        }
        let job = self.ring.get_mut(self.head).and_then(Option::take);
        self.head = (self.head + 1) % MAX_IN_FLIGHT;
        self.queued -= 1;
        job
    }

    /// Removes the queued request `id`, if there is one.
    fn take(&mut self, id: u64) -> Option<Job> {
        for k in 0..self.queued {
            let i = (self.head + k) % MAX_IN_FLIGHT;
            if self
                .ring
                .get(i)
                .and_then(Option::as_ref)
                .is_some_and(|j| j.header.request_id == id)
            {
                let job = self.ring.get_mut(i).and_then(Option::take);
                // Close the gap: move the later ones one slot forward.
                for m in k..self.queued - 1 {
                    let a = (self.head + m) % MAX_IN_FLIGHT;
                    let b = (self.head + m + 1) % MAX_IN_FLIGHT;
                    let next = self.ring.get_mut(b).and_then(Option::take);
                    if let Some(slot) = self.ring.get_mut(a) {
                        *slot = next;
                    }
                }
                self.queued -= 1;
                return job;
            }
        }
        None
    }
}

/// What the session thread and its workers share.
#[pin_data]
pub(crate) struct Shared {
    pub(crate) conn: Arc<Conn>,
    pub(crate) cfg: Arc<ServerConfig>,
    pub(crate) negotiated: Negotiated,
    /// Nodes and handles; held only to look up or change an entry.
    #[pin]
    pub(crate) tables: Mutex<Tables>,
    #[pin]
    state: Mutex<State>,
    /// Signalled when a request is queued or the connection ends.
    #[pin]
    work: CondVar,
    /// Signalled when a request is finished.
    #[pin]
    room: CondVar,
    /// Sends replies (and poll events).
    pub(crate) sender: Arc<Sender>,
    /// FIFO opens waiting for the other side, for reading and for
    /// writing, at most `MAX_BLOCKING_OPENS` each (each holds a worker).
    pub(crate) blocking_opens: [AtomicUsize; 2],
}

/// The sending half of a connection: replies of the workers and events of
/// poll watches (which hold it, not the whole session).
#[pin_data]
pub(crate) struct Sender {
    conn: Arc<Conn>,
    /// Held while a frame is sent, so that frames do not interleave.
    #[pin]
    lock: Mutex<()>,
    /// A failed send's errno (the connection is then dropped), or 0.
    pub(crate) broken: AtomicI32,
}

impl Sender {
    /// Sends one encoded frame under the send lock; a failure marks the
    /// connection broken (the reader then ends it).
    pub(crate) fn send(&self, frame: &[u8]) {
        let _g = self.lock.lock();
        if self.broken.load(Ordering::Acquire) != 0 {
            return;
        }
        if let Err(e) = self
            .conn
            .stream
            .send_all_within(frame, SEND_DEADLINE_MS, SEND_WAIT_MS)
        {
            self.broken.store(e.to_errno(), Ordering::Release);
        }
    }
}

impl Shared {
    /// Sends one encoded frame (see [`Sender::send`]).
    pub(crate) fn send(&self, frame: &[u8]) {
        self.sender.send(frame);
    }

    /// Worker `slot` can be interrupted through `task`.
    pub(crate) fn register(&self, slot: usize, task: Interrupter) {
        if let Some(r) = self.state.lock().running.get_mut(slot) {
            r.task = Some(task);
        }
    }

    /// The next queued request for worker `slot`, waiting for one (in
    /// bounded, interruptible waits); `None` once the connection ends or
    /// the thread is asked to stop.
    pub(crate) fn next_job(&self, stop: &StopToken, slot: usize) -> Option<Job> {
        let mut st = self.state.lock();
        loop {
            if st.stopping || stop.should_stop() {
                return None;
            }
            if let Some(job) = st.pop() {
                if let Some(r) = st.running.get_mut(slot) {
                    r.id = job.header.request_id;
                    r.cancelled = false;
                }
                return Some(job);
            }
            st.idle += 1;
            let _ = self
                .work
                .wait_interruptible_timeout(&mut st, msecs_to_jiffies(RECV_WAIT_MS));
            st.idle -= 1;
        }
    }

    /// Worker `slot` has performed its request: no `Cancel` can interrupt
    /// it any more. Whether one did.
    pub(crate) fn done_running(&self, slot: usize) -> bool {
        let mut st = self.state.lock();
        match st.running.get_mut(slot) {
            Some(r) => {
                r.id = 0;
                core::mem::replace(&mut r.cancelled, false)
            }
            None => false,
        }
    }

    /// A request (of `len` body bytes) is done.
    pub(crate) fn finished_job(&self, len: usize) {
        let mut st = self.state.lock();
        st.in_flight = st.in_flight.saturating_sub(1);
        st.bytes = st.bytes.saturating_sub(len);
        drop(st);
        self.room.notify_one();
    }
}

/// A connection and the thread serving it. Dropping it stops the thread
/// (interrupting its wait; the thread stops its workers) and then closes
/// the connection.
pub(crate) struct Session {
    thread: Option<Kthread>,
    conn: Arc<Conn>,
}

impl Session {
    fn start(stream: TcpStream, cfg: Arc<ServerConfig>) -> Result<Self> {
        stream.set_recv_timeout(RECV_WAIT_MS);
        stream.set_send_timeout(SEND_WAIT_MS);
        // The values are in the kernel's ranges; a failure would only
        // leave a dead peer's slot to the send bounds, so it is logged.
        if let Err(e) = stream
            .set_keepalive(KEEPALIVE_IDLE_S, KEEPALIVE_INTERVAL_S, KEEPALIVE_PROBES)
            .and_then(|()| stream.set_user_timeout(USER_TIMEOUT_MS))
        {
            qwarn!(
                "{}: cannot set keepalive: error {}",
                stream.peer_addr(),
                e.to_errno()
            );
        }
        let conn = Arc::new(
            Conn {
                stream,
                done: AtomicBool::new(false),
                phase: AtomicU8::new(HANDSHAKING),
                accepted_ms: monotonic_ms(),
            },
            GFP_KERNEL,
        )?;
        let thread_conn = conn.clone();
        let thread = Kthread::spawn(THREAD_NAME, move |stop| serve(&thread_conn, &cfg, stop))?;
        Ok(Session {
            thread: Some(thread),
            conn,
        })
    }

    /// Whether the thread has finished (the peer closed, or an error).
    fn is_finished(&self) -> bool {
        self.conn.done.load(Ordering::Acquire)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            thread.stop();
        }
        // `self.conn` is the last reference now: the socket is released next.
    }
}

/// A session thread: handshake, then requests, until the end.
fn serve(conn: &Arc<Conn>, cfg: &Arc<ServerConfig>, stop: &StopToken) -> i32 {
    let peer = conn.stream.peer_addr();
    let why = run(conn, cfg, stop);
    // An eviction stops the thread: say why it really ended.
    let why = if conn.phase.load(Ordering::Acquire) == EVICTED {
        End::Evicted
    } else {
        why
    };
    match why {
        End::HandshakeFailed(_)
        | End::HandshakeTimeout
        | End::BodyTimeout
        | End::BadHeader(_)
        | End::Evicted
        | End::NotARequest => {
            qwarn_rl!("connection from {} dropped ({})", peer, why)
        }
        End::Io(_) => qwarn!("connection from {} closed ({})", peer, why),
        _ => qinfo!("connection from {} closed ({})", peer, why),
    }
    conn.done.store(true, Ordering::Release);
    0
}

fn run(conn: &Arc<Conn>, cfg: &Arc<ServerConfig>, stop: &StopToken) -> End {
    let Some(key) = cfg.auth_key.as_ref() else {
        qwarn_rl!("no qtfs_auth_key set: refusing {}", conn.stream.peer_addr());
        return End::HandshakeFailed("no key configured");
    };
    let negotiated = {
        let mut io = match FrameIo::for_handshake() {
            Ok(io) => io,
            Err(e) => return End::Io(e.to_errno()),
        };
        match crate::handshake::run(&mut io, &conn.stream, stop, key) {
            Ok(n) => n,
            Err(e) => return e,
        }
    };
    if !conn.authenticate() {
        return End::Evicted;
    }
    qinfo!(
        "{}: authenticated (protocol version {})",
        conn.stream.peer_addr(),
        negotiated.version
    );
    let shared = match new_shared(conn, cfg, negotiated) {
        Ok(s) => s,
        Err(e) => return End::Io(e.to_errno()),
    };
    let mut workers = match KVec::with_capacity(MAX_WORKERS, GFP_KERNEL) {
        Ok(w) => w,
        Err(_) => return End::Io(ENOMEM.to_errno()),
    };
    for _ in 0..MIN_WORKERS {
        if let Err(e) = spawn_worker(&shared, &mut workers) {
            return End::Io(e.to_errno());
        }
    }
    let end = read_requests(&shared, &mut workers, stop);
    {
        let mut st = shared.state.lock();
        st.stopping = true;
        while st.pop().is_some() {}
    }
    shared.work.notify_all();
    // Stops each worker (kthread_stop interrupts an interruptible wait in
    // a VFS call, e.g. a FIFO open) and waits for it to exit.
    drop(workers);
    end
}

fn new_shared(
    conn: &Arc<Conn>,
    cfg: &Arc<ServerConfig>,
    negotiated: Negotiated,
) -> Result<Arc<Shared>> {
    let mut ring = KVec::with_capacity(MAX_IN_FLIGHT, GFP_KERNEL)?;
    for _ in 0..MAX_IN_FLIGHT {
        ring.push(None, GFP_KERNEL)?;
    }
    let mut running = KVec::with_capacity(MAX_WORKERS, GFP_KERNEL)?;
    for _ in 0..MAX_WORKERS {
        running.push(
            Running {
                id: 0,
                cancelled: false,
                task: None,
            },
            GFP_KERNEL,
        )?;
    }
    let state = State {
        running,
        ring,
        head: 0,
        queued: 0,
        in_flight: 0,
        bytes: 0,
        idle: 0,
        stopping: false,
    };
    let sender = Arc::pin_init(
        pin_init!(Sender {
            conn: conn.clone(),
            lock <- kernel::new_mutex!((), "qtfs_server::send"),
            broken: AtomicI32::new(0),
        }),
        GFP_KERNEL,
    )?;
    Arc::pin_init(
        pin_init!(Shared {
            conn: conn.clone(),
            cfg: cfg.clone(),
            negotiated,
            tables <- kernel::new_mutex!(Tables::new(), "qtfs_server::tables"),
            state <- kernel::new_mutex!(state, "qtfs_server::queue"),
            work <- kernel::new_condvar!("qtfs_server::work"),
            room <- kernel::new_condvar!("qtfs_server::room"),
            sender,
            blocking_opens: [AtomicUsize::new(0), AtomicUsize::new(0)],
        }),
        GFP_KERNEL,
    )
}

fn spawn_worker(shared: &Arc<Shared>, workers: &mut KVec<Kthread>) -> Result {
    if workers.len() >= MAX_WORKERS {
        return Ok(());
    }
    let s = shared.clone();
    let slot = workers.len();
    let t = Kthread::spawn(WORKER_NAME, move |stop| {
        crate::dispatch::worker(&s, stop, slot)
    })?;
    // Capacity for MAX_WORKERS was reserved up front.
    workers.push(t, GFP_KERNEL)?;
    Ok(())
}

/// Reads requests and queues them until the connection ends.
fn read_requests(shared: &Arc<Shared>, workers: &mut KVec<Kthread>, stop: &StopToken) -> End {
    let stream = &shared.conn.stream;
    loop {
        let header = match read_header(stream, stop, &shared.sender.broken) {
            Ok(h) => h,
            Err(e) => return e,
        };
        if header.flags != FrameFlags::REQUEST {
            return End::NotARequest;
        }
        let len = header.body_len();
        // Wait for room: at most MAX_IN_FLIGHT requests and
        // MAX_IN_FLIGHT_BYTES of bodies (one request always fits).
        {
            let mut st = shared.state.lock();
            while st.in_flight >= MAX_IN_FLIGHT
                || (st.bytes > 0 && st.bytes.saturating_add(len) > MAX_IN_FLIGHT_BYTES)
            {
                if stop.should_stop() {
                    return End::Stopping;
                }
                let e = shared.sender.broken.load(Ordering::Acquire);
                if e != 0 {
                    return End::Io(e);
                }
                let _ = shared
                    .room
                    .wait_interruptible_timeout(&mut st, msecs_to_jiffies(RECV_WAIT_MS));
            }
            st.in_flight += 1;
            st.bytes += len;
        }
        let mut body = match KVVec::from_elem(0u8, len, GFP_KERNEL) {
            Ok(b) => b,
            Err(_) => return End::Io(ENOMEM.to_errno()),
        };
        if let Err(e) = read_body(stream, stop, &shared.sender.broken, &mut body) {
            return e;
        }
        if header.opcode() == Some(Opcode::Cancel) {
            cancel(shared, &header, &body);
            shared.finished_job(len);
            continue;
        }
        let job = Job { header, body };
        let short = {
            let mut st = shared.state.lock();
            if st.push(job).is_err() {
                // Not reachable: in_flight bounds the queue.
                return End::Io(ENOMEM.to_errno());
            }
            // More queued than idle workers to take them (an idle worker
            // woken for an earlier request still counts as idle): with
            // the others busy, possibly blocked for long (a FIFO open),
            // this request would wait for one of them.
            st.queued > st.idle
        };
        shared.work.notify_one();
        if short {
            if let Err(e) = spawn_worker(shared, workers) {
                qwarn!("cannot start a worker: error {}", e.to_errno());
            }
        }
    }
}

/// Answers a `Cancel`: its target, if still queued, is dropped and
/// answered `ECANCELED` (before the empty reply to the `Cancel` itself).
fn cancel(shared: &Shared, header: &FrameHeader, body: &[u8]) {
    let mut buf = [0u8; 64];
    let req = match decode_request(header, body) {
        Ok(r) => r,
        Err(e) => {
            if let Ok(n) = encode_error_reply(&mut buf, header.opcode, header.request_id, e.errno())
            {
                shared.send(&buf[..n]);
            }
            return;
        }
    };
    if let Request::Cancel(c) = req.request {
        let job = {
            let mut st = shared.state.lock();
            let job = st.take(c.target);
            if job.is_none() && c.target != 0 {
                // Running: interrupt its worker (under the lock, so the
                // worker cannot have moved on to another request).
                for r in st.running.iter_mut() {
                    if r.id == c.target {
                        r.cancelled = true;
                        if let Some(t) = r.task.as_ref() {
                            t.interrupt();
                        }
                    }
                }
            }
            job
        };
        if let Some(job) = job {
            let len = job.body.len();
            if let Ok(n) = encode_error_reply(
                &mut buf,
                job.header.opcode,
                job.header.request_id,
                ECANCELED,
            ) {
                shared.send(&buf[..n]);
            }
            drop(job);
            shared.finished_job(len);
        }
    }
    if let Ok(n) = encode_reply(&mut buf, header.request_id, &Reply::Cancel(EmptyReply {})) {
        shared.send(&buf[..n]);
    }
}

/// The sessions of the accept thread, at most [`MAX_SESSIONS`].
pub(crate) struct Sessions {
    slots: [Option<Session>; MAX_SESSIONS],
    cfg: Arc<ServerConfig>,
}

impl Sessions {
    /// No sessions.
    pub(crate) fn new(cfg: Arc<ServerConfig>) -> Self {
        Sessions {
            slots: [const { None }; MAX_SESSIONS],
            cfg,
        }
    }

    /// Drops the sessions whose thread has finished.
    pub(crate) fn reap(&mut self) {
        for slot in self.slots.iter_mut() {
            if slot.as_ref().is_some_and(Session::is_finished) {
                *slot = None;
            }
        }
        self.publish_count();
    }

    /// Tells the status file how many sessions are open.
    fn publish_count(&self) {
        let open = self.slots.iter().filter(|s| s.is_some()).count();
        crate::status::SESSIONS.store(open, core::sync::atomic::Ordering::Relaxed);
    }

    /// Serves `stream` in a new session. Room is made first by evicting
    /// the oldest connection still in its handshake: of the same address
    /// if it has [`MAX_HANDSHAKES_PER_ADDR`], else of any if there are
    /// [`MAX_HANDSHAKES`] or the table is full. When every slot holds an
    /// authenticated session (or the thread cannot start) `stream` is
    /// closed.
    pub(crate) fn add(&mut self, stream: TcpStream) {
        self.reap();
        let peer = stream.peer_addr();
        if self.handshakes(Some(peer.ip)) >= MAX_HANDSHAKES_PER_ADDR {
            self.evict_oldest_handshake(Some(peer.ip));
        }
        let full = self.slots.iter().all(Option::is_some);
        if full || self.handshakes(None) >= MAX_HANDSHAKES {
            self.evict_oldest_handshake(None);
        }
        let Some(slot) = self.slots.iter_mut().find(|s| s.is_none()) else {
            qwarn_rl!("{} authenticated sessions, closing {}", MAX_SESSIONS, peer);
            return;
        };
        match Session::start(stream, self.cfg.clone()) {
            Ok(s) => *slot = Some(s),
            Err(e) => qwarn!("cannot serve {}: error {}", peer, e.to_errno()),
        }
        self.publish_count();
    }

    /// Connections still in their handshake, from `ip` or from anywhere.
    fn handshakes(&self, ip: Option<Ipv4>) -> usize {
        self.slots
            .iter()
            .flatten()
            .filter(|s| s.conn.is_handshaking() && !s.is_finished())
            .filter(|s| ip.is_none_or(|ip| s.conn.stream.peer_addr().ip == ip))
            .count()
    }

    /// Closes the connection (from `ip`, or any) that has been in its
    /// handshake longest, unless it authenticates in the meantime.
    fn evict_oldest_handshake(&mut self, ip: Option<Ipv4>) {
        let oldest = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
            .filter(|(_, s)| s.conn.is_handshaking() && !s.is_finished())
            .filter(|(_, s)| ip.is_none_or(|ip| s.conn.stream.peer_addr().ip == ip))
            .min_by_key(|(_, s)| s.conn.accepted_ms)
            .map(|(i, _)| i);
        let Some(i) = oldest else { return };
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        if slot.as_ref().is_some_and(|s| s.conn.evict()) {
            // Dropping it stops its thread (which logs the eviction) and
            // closes the connection.
            *slot = None;
        }
    }

    /// Stops and closes every session; returns how many were still open.
    pub(crate) fn close_all(&mut self) -> usize {
        let mut open = 0;
        for slot in self.slots.iter_mut() {
            if let Some(s) = slot.take() {
                if !s.is_finished() {
                    open += 1;
                }
            }
        }
        self.publish_count();
        open
    }
}
