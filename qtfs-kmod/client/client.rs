// SPDX-License-Identifier: GPL-2.0
//! The module-wide state: where the server is, the key, and the one
//! authenticated connection all mounts share: made at load (or by the
//! first mount), and made again when it died (reconnect).
//!
//! Reconnecting, so that a server that is gone is never hammered and a
//! request to it fails fast:
//!
//! - a live connection is used as it is;
//! - a connection that just died is replaced by the first request that
//!   finds it so: it connects and authenticates at once (at most
//!   [`ATTEMPT_BOUND_MS`]); requests meanwhile wait for that attempt,
//!   killably and at most as long (a restarting server is back quickly);
//! - once an attempt failed, requests no longer connect: they fail at once
//!   with `EIO`, and a kernel thread (`qtfs_reconnect`) retries with
//!   exponential backoff, [`FIRST_BACKOFF_MS`] after the failure, doubling
//!   up to [`MAX_BACKOFF_MS`], until it connects (then it ends) or the
//!   module unloads (which stops it);
//! - a mount always makes an attempt (or joins one under way): it is an
//!   administrator's deliberate retry.
//!
//! Each connection is a new server session with a new generation number
//! ([`Conn::generation`]); what the mounts held in the old one (node ids,
//! open handles) is re-established lazily in the new one (`node::id`,
//! `vfs_file`'s durable handles).
#![forbid(unsafe_code)]

use crate::kbase::completion::{Completion, WaitEnd};
use crate::kbase::config::{SockAddr, AUTH_KEY_LEN};
use crate::kbase::errno::etimedout;
use crate::kbase::log::{qerr, qinfo, qwarn};
use crate::kbase::nofs::NoFs;
use crate::kbase::sys::{monotonic_ns, GlobalGuard, ModuleGlobal};
use crate::transport::{Conn, CONNECT_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS};
use kernel::error::code::{EACCES, EINTR, EIO, ENODEV, ENOMEM};
use crate::kbase::kthread::{Kthread, StopToken};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex, SpinLock};
use kernel::{new_mutex, new_spinlock};

/// The wait before the second attempt after a loss (the first is at once).
pub(crate) const FIRST_BACKOFF_MS: u32 = 100;
/// The longest wait between two attempts.
pub(crate) const MAX_BACKOFF_MS: u32 = 5000;
/// The reconnect thread's longest sleep before it looks again.
const RECONNECT_POLL_MS: u32 = 1000;
/// The longest a connect attempt takes: the TCP connect and two handshake
/// replies (a little more for the waiters, so the attempt ends first).
pub(crate) const ATTEMPT_BOUND_MS: u32 = CONNECT_TIMEOUT_MS + 2 * HANDSHAKE_TIMEOUT_MS + 1000;

/// One connect attempt, which requests may wait for.
#[pin_data]
struct Attempt {
    #[pin]
    done: Completion,
    #[pin]
    result: SpinLock<Option<core::result::Result<Arc<Conn>, Error>>>,
}

/// The connection and its reconnect state.
struct Link {
    conn: Option<Arc<Conn>>,
    /// The attempt under way, if any.
    attempt: Option<Arc<Attempt>>,
    /// The generation of the last attempt (0: none yet).
    generation: u64,
    /// Connections made after the first.
    reconnects: u64,
    /// Attempts that failed since the last success.
    failures: u64,
    /// When the next attempt is allowed (monotonic ns).
    next_try_ns: u64,
    /// The wait after the next failure.
    backoff_ms: u32,
    /// A connection was made once (a later one is a reconnect).
    ever_connected: bool,
    /// The last failed attempt's errno (0: none).
    last_error: i32,
}

#[pin_data]
pub(crate) struct Client {
    server: SockAddr,
    key: Option<[u8; AUTH_KEY_LEN]>,
    #[pin]
    link: SpinLock<Link>,
    /// The reconnect thread, once started (reaped when started again or
    /// at unload).
    #[pin]
    reconnector: Mutex<Option<Kthread>>,
    /// The reconnect thread is running (it clears this when it ends).
    reconnecting: AtomicBool,
}

/// The module's [`Client`], set between init and exit.
static CLIENT: ModuleGlobal<Client> = ModuleGlobal::new();

/// Owns the [`Client`] for the module's lifetime.
pub(crate) struct Registration(GlobalGuard<Client>);

impl Registration {
    pub(crate) fn new(server: SockAddr, key: Option<[u8; AUTH_KEY_LEN]>) -> Result<Registration> {
        let c = KBox::pin_init(
            pin_init!(Client {
                server,
                key,
                link <- new_spinlock!(Link {
                    conn: None,
                    attempt: None,
                    generation: 0,
                    reconnects: 0,
                    failures: 0,
                    next_try_ns: 0,
                    backoff_ms: FIRST_BACKOFF_MS,
                    ever_connected: false,
                    last_error: 0,
                }),
                reconnector <- new_mutex!(None),
                reconnecting: AtomicBool::new(false),
            }),
            GFP_KERNEL,
        )?;
        let reg = Registration(CLIENT.set(c));
        reg.connect_at_load();
        Ok(reg)
    }

    /// With a key, connects and authenticates at once, so that a load
    /// says whether the server is there (a failure is only logged: the
    /// first mount tries again).
    fn connect_at_load(&self) {
        let Some(c) = self.0.value() else { return };
        if c.key.is_none() {
            return;
        }
        if let Err(e) = mount_connection() {
            qwarn!(
                "cannot connect to {}: error {}; staying loaded without a connection",
                c.server,
                e.to_errno()
            );
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // No mount holds the connection any more: the module is unloading.
        if let Some(c) = self.0.value() {
            // First the reconnect thread (it uses the client).
            let t = c.reconnector.lock().take();
            drop(t);
            let conn = c.link.lock().conn.take();
            drop(conn);
        }
    }
}

fn with_client<R>(f: impl FnOnce(&Client) -> Result<R>) -> Result<R> {
    f(CLIENT.get().ok_or(ENODEV)?)
}

/// The shared connection for a request: the live one, or a new one (see
/// the module's documentation for when a request connects, waits or
/// fails at once with `EIO`).
pub(crate) fn connection() -> Result<Arc<Conn>> {
    with_client(|c| c.connection(false)).map_err(as_request_error)
}

/// What a request reports when it has no connection: `ETIMEDOUT` when the
/// connect attempt timed out, `EINTR` when it was killed, `ENOMEM` as
/// such, and `EIO` (connection lost) for everything else (a refused
/// connect, a failed handshake): an operation on a file has no
/// `ECONNREFUSED`.
fn as_request_error(e: Error) -> Error {
    if e == etimedout() || e == ENOMEM || crate::kbase::net::is_interrupted(e) {
        e
    } else {
        EIO
    }
}

/// The shared connection for a mount: as [`connection`], but never
/// refused by the backoff.
pub(crate) fn mount_connection() -> Result<Arc<Conn>> {
    with_client(|c| c.connection(true))
}

/// The live connection of session `generation`, without connecting: what
/// one-way bookkeeping (`Forget`, `Release`) of that session's ids uses.
/// `None` when that session is over (its ids died with it).
pub(crate) fn session(generation: u64) -> Option<Arc<Conn>> {
    let c = CLIENT.get()?;
    let l = c.link.lock();
    l.conn
        .as_ref()
        .filter(|conn| conn.generation() == generation && !conn.is_dead())
        .cloned()
}

/// The live connection, without connecting (`EIO` if there is none).
pub(crate) fn live() -> Result<Arc<Conn>> {
    with_client(|c| c.live().ok_or(EIO))
}

/// What a caller of [`Client::connection`] does.
enum Step {
    Use(Arc<Conn>),
    Wait(Arc<Attempt>),
    Connect((Arc<Attempt>, u64)),
    FailFast,
}

/// The reconnect thread: attempts with backoff until connected, or until
/// the module unloads (which stops it, interrupting its sleep or connect).
fn reconnect_loop(stop: &StopToken) {
    let _nofs = NoFs::enter();
    let Some(c) = CLIENT.get() else { return };
    while !stop.should_stop() {
        match c.reconnect_turn() {
            Some(ms) => stop.sleep_ms(ms),
            None => break,
        }
    }
    c.reconnecting.store(false, Ordering::Release);
}

impl Attempt {
    fn new() -> Result<Arc<Attempt>> {
        Arc::pin_init(
            pin_init!(Attempt {
                done <- Completion::new(),
                result <- new_spinlock!(None),
            }),
            GFP_KERNEL,
        )
    }
}

impl Link {
    /// Makes `a` the attempt under way, with a new generation.
    fn reserve(&mut self, a: Arc<Attempt>) -> (Arc<Attempt>, u64) {
        self.generation += 1;
        self.attempt = Some(a.clone());
        (a, self.generation)
    }
}

impl Client {
    fn connection(&self, force: bool) -> Result<Arc<Conn>> {
        let Some(key) = self.key.as_ref() else {
            qerr!("mount refused: no qtfs_auth_key given to qtfs.ko");
            return Err(EACCES);
        };
        if let Some(conn) = self.live() {
            return Ok(conn);
        }
        // As in the transport: reclaim must not re-enter qtfs from here
        // (write-back of a qtfs page may be what asks for a connection).
        let _nofs = NoFs::enter();
        let fresh = Attempt::new()?;
        let step = {
            let mut l = self.link.lock();
            match (&l.conn, &l.attempt) {
                (Some(conn), _) if !conn.is_dead() => Step::Use(conn.clone()),
                // Just lost (the server may be restarting): wait for the
                // attempt under way, or make one at once.
                (_, Some(a)) if force || l.failures == 0 => Step::Wait(a.clone()),
                (_, None) if force || l.failures == 0 => Step::Connect(l.reserve(fresh)),
                // Attempts failed: the reconnect thread retries with
                // backoff; requests fail at once.
                _ => Step::FailFast,
            }
        };
        match step {
            Step::Use(conn) => Ok(conn),
            Step::Wait(a) => match a.done.wait_killable(ATTEMPT_BOUND_MS) {
                WaitEnd::Done => a.result.lock().clone().unwrap_or(Err(EIO)),
                WaitEnd::TimedOut => Err(etimedout()),
                WaitEnd::Killed => Err(EINTR),
            },
            Step::Connect((a, generation)) => {
                let r = self.attempt(key, &a, generation);
                // A mount's (or the load's) failure leaves nothing mounted
                // to reconnect for: only requests start the thread.
                if r.is_err() && !force {
                    self.start_reconnector();
                }
                r
            }
            Step::FailFast => {
                self.start_reconnector();
                Err(EIO)
            }
        }
    }

    /// Runs a reserved attempt and publishes its outcome.
    fn attempt(&self, key: &[u8], a: &Attempt, generation: u64) -> Result<Arc<Conn>> {
        let r = Conn::connect(self.server, key, generation);
        let old = self.finish_attempt(&r);
        *a.result.lock() = Some(r.clone());
        a.done.complete_all();
        // The dead connection goes outside the lock (its drop stops its
        // receive thread).
        drop(old);
        r
    }

    /// Makes sure the reconnect thread runs (it ends once connected).
    fn start_reconnector(&self) {
        let mut slot = self.reconnector.lock();
        if self.reconnecting.load(Ordering::Acquire) {
            return;
        }
        // A previous thread has finished (or is finishing): reap it.
        drop(slot.take());
        self.reconnecting.store(true, Ordering::Release);
        match Kthread::spawn(c_str!("qtfs_reconnect"), |stop| {
            reconnect_loop(stop);
            0
        }) {
            Ok(t) => *slot = Some(t),
            Err(e) => {
                self.reconnecting.store(false, Ordering::Release);
                qwarn!("cannot start the reconnect thread: error {}", e.to_errno());
            }
        }
    }

    /// One turn of the reconnect thread: how long to sleep, or `None`
    /// when connected (or when there is nothing to do).
    fn reconnect_turn(&self) -> Option<u32> {
        let key = self.key.as_ref()?;
        let fresh = Attempt::new().ok()?;
        let (a, generation) = {
            let mut l = self.link.lock();
            if l.conn.as_ref().is_some_and(|c| !c.is_dead()) {
                return None;
            }
            if l.attempt.is_some() {
                // A mount's attempt: see how it ends.
                return Some(RECONNECT_POLL_MS);
            }
            let now = monotonic_ns();
            if now < l.next_try_ns {
                let ms = (l.next_try_ns - now) / 1_000_000;
                return Some((ms as u32).clamp(1, RECONNECT_POLL_MS));
            }
            l.reserve(fresh)
        };
        match self.attempt(key, &a, generation) {
            Ok(_) => None,
            Err(_) => Some(1),
        }
    }

    /// The connection if it is alive.
    fn live(&self) -> Option<Arc<Conn>> {
        let l = self.link.lock();
        l.conn.as_ref().filter(|c| !c.is_dead()).cloned()
    }

    /// Takes an attempt's outcome into the link; the connection it
    /// replaces is returned, to be dropped outside the lock.
    fn finish_attempt(&self, r: &Result<Arc<Conn>>) -> Option<Arc<Conn>> {
        let mut l = self.link.lock();
        l.attempt = None;
        match r {
            Ok(conn) => {
                if l.ever_connected {
                    l.reconnects += 1;
                    qinfo!(
                        "reconnected to {} (session {}, after {} failed attempts)",
                        self.server,
                        conn.generation(),
                        l.failures
                    );
                }
                l.ever_connected = true;
                l.failures = 0;
                l.last_error = 0;
                l.backoff_ms = FIRST_BACKOFF_MS;
                l.next_try_ns = 0;
                l.conn.replace(conn.clone())
            }
            Err(e) => {
                if l.failures == 0 {
                    qwarn!("cannot connect to {}: error {}; retrying with backoff", self.server, e.to_errno());
                }
                l.failures += 1;
                l.last_error = e.to_errno();
                l.next_try_ns = monotonic_ns() + u64::from(l.backoff_ms) * 1_000_000;
                l.backoff_ms = (l.backoff_ms * 2).min(MAX_BACKOFF_MS);
                None
            }
        }
    }
}

/// The text of `/proc/fs/qtfs/status` (format: `docs/status.md`).
pub(crate) struct Status;

impl crate::kbase::status::StatusSource for Status {
    fn write_status(out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        writeln!(out, "qtfs-status 1")?;
        writeln!(out, "module client")?;
        writeln!(out, "log_level {}", crate::kbase::log::level().name())?;
        if let Some(c) = CLIENT.get() {
            writeln!(out, "server {}", c.server)?;
            // Copied out: nothing is formatted under the spinlock.
            let (state, generation, reconnects, failures, retry_ms, last_error) = {
                let l = c.link.lock();
                let state = match (&l.conn, &l.attempt) {
                    (Some(conn), _) if !conn.is_dead() => "connected",
                    (_, Some(_)) => "reconnecting",
                    _ if c.reconnecting.load(Ordering::Acquire) => "reconnecting",
                    (None, None) if !l.ever_connected && l.failures == 0 => "none",
                    _ => "dead",
                };
                let session = l.conn.as_ref().map_or(0, |c| c.generation());
                let retry_ns = l.next_try_ns.saturating_sub(monotonic_ns());
                (state, session, l.reconnects, l.failures, retry_ns / 1_000_000, l.last_error)
            };
            writeln!(out, "connection {}", state)?;
            writeln!(out, "session {}", generation)?;
            writeln!(out, "reconnects {}", reconnects)?;
            writeln!(out, "connect_failures {}", failures)?;
            writeln!(out, "retry_in_ms {}", retry_ms)?;
            writeln!(out, "last_connect_error {}", -last_error)?;
        }
        crate::transport::STATS.render(out, |op| {
            crate::proto::Opcode::from_u16(op).map_or("unknown", |o| o.name())
        })
    }
}
