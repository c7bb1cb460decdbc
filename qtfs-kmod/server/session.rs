// SPDX-License-Identifier: GPL-2.0
//! One thread per accepted connection, and the bounded table of them.
//!
//! A session runs the handshake (`handshake`, bounded in time), then serves
//! requests (`dispatch`) until the peer closes, a protocol error, or the
//! server stops. Without a configured key every connection is refused.
#![forbid(unsafe_code)]

use crate::kbase::kthread::{Kthread, StopToken};
use crate::frame_io::{End, FrameIo};
use crate::kbase::log::{qinfo, qwarn, qwarn_rl};
use crate::kbase::net::TcpStream;
use crate::ops::Ctx;
use crate::proto::MAX_IO_SIZE;
use crate::tables::{Handles, Nodes};
use kernel::alloc::KVVec;
use kernel::error::code::ENOMEM;
use crate::ServerConfig;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;

/// Most connections served at once; more are closed right after accept.
pub(crate) const MAX_SESSIONS: usize = 16;
/// Longest single wait in `recv`; bounds how late a stop request is seen.
const RECV_WAIT_MS: u32 = 1000;
/// Longest single wait for buffer space in `send` (a peer that does not
/// read its replies ends its session after this).
const SEND_WAIT_MS: u32 = 10_000;
/// `/proc/<pid>/comm` of a session thread.
const THREAD_NAME: &CStr = c_str!("qtfs_srv_conn");

struct Conn {
    stream: TcpStream,
    done: AtomicBool,
}

/// A connection and the thread serving it. Dropping it stops the thread
/// (interrupting its wait) and then closes the connection.
pub(crate) struct Session {
    thread: Option<Kthread>,
    conn: Arc<Conn>,
}

impl Session {
    fn start(stream: TcpStream, cfg: Arc<ServerConfig>) -> Result<Self> {
        stream.set_recv_timeout(RECV_WAIT_MS);
        stream.set_send_timeout(SEND_WAIT_MS);
        let conn = Arc::new(
            Conn {
                stream,
                done: AtomicBool::new(false),
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
fn serve(conn: &Conn, cfg: &ServerConfig, stop: &StopToken) -> i32 {
    let peer = conn.stream.peer_addr();
    let why = run(conn, cfg, stop);
    match why {
        End::HandshakeFailed(_)
        | End::HandshakeTimeout
        | End::BodyTimeout
        | End::BadHeader(_)
        | End::NotARequest => {
            qwarn_rl!("connection from {} dropped ({})", peer, why)
        }
        End::Io(_) => qwarn!("connection from {} closed ({})", peer, why),
        _ => qinfo!("connection from {} closed ({})", peer, why),
    }
    conn.done.store(true, Ordering::Release);
    0
}

fn run(conn: &Conn, cfg: &ServerConfig, stop: &StopToken) -> End {
    let Some(key) = cfg.auth_key.as_ref() else {
        qwarn_rl!("no qtfs_auth_key set: refusing {}", conn.stream.peer_addr());
        return End::HandshakeFailed("no key configured");
    };
    let mut io = match FrameIo::for_handshake() {
        Ok(io) => io,
        Err(e) => return End::Io(e.to_errno()),
    };
    let negotiated = match crate::handshake::run(&mut io, &conn.stream, stop, key) {
        Ok(n) => n,
        Err(e) => return e,
    };
    qinfo!(
        "{}: authenticated (protocol version {})",
        conn.stream.peer_addr(),
        negotiated.version
    );
    if let Err(e) = io.grow() {
        return End::Io(e.to_errno());
    }
    let scratch = match KVVec::from_elem(0u8, MAX_IO_SIZE as usize, GFP_KERNEL) {
        Ok(v) => v,
        Err(_) => return End::Io(ENOMEM.to_errno()),
    };
    let mut ctx = Ctx {
        export: cfg.export.as_deref(),
        nodes: Nodes::new(),
        handles: Handles::new(),
        scratch,
    };
    crate::dispatch::serve(&mut io, &conn.stream, stop, negotiated, &mut ctx)
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
    }

    /// Serves `stream` in a new session, or closes it when the table is
    /// full or the thread cannot start.
    pub(crate) fn add(&mut self, stream: TcpStream) {
        self.reap();
        let peer = stream.peer_addr();
        let Some(slot) = self.slots.iter_mut().find(|s| s.is_none()) else {
            qwarn!("too many connections ({}), closing {}", MAX_SESSIONS, peer);
            return;
        };
        match Session::start(stream, self.cfg.clone()) {
            Ok(s) => *slot = Some(s),
            Err(e) => qwarn!("cannot serve {}: error {}", peer, e.to_errno()),
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
        open
    }
}
