// SPDX-License-Identifier: GPL-2.0
//! One thread per accepted connection, and the bounded table of them.
//!
//! Until the protocol lands a session only reads (and drops) what the peer
//! sends, until the peer closes or the server stops.
#![forbid(unsafe_code)]

use crate::kbase::kthread::{Kthread, StopToken};
use crate::kbase::log::{qdebug, qinfo, qwarn};
use crate::kbase::net::{is_interrupted, is_timeout, TcpStream};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;

/// Most connections served at once; more are closed right after accept.
pub(crate) const MAX_SESSIONS: usize = 16;
/// Longest single wait in `recv`; bounds how late a stop request is seen.
const RECV_WAIT_MS: u32 = 1000;
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
    fn start(stream: TcpStream) -> Result<Self> {
        stream.set_recv_timeout(RECV_WAIT_MS);
        let conn = Arc::new(
            Conn {
                stream,
                done: AtomicBool::new(false),
            },
            GFP_KERNEL,
        )?;
        let thread_conn = conn.clone();
        let thread = Kthread::spawn(THREAD_NAME, move |stop| serve(&thread_conn, stop))?;
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

/// A session thread: reads until the peer closes, an error, or a stop.
fn serve(conn: &Conn, stop: &StopToken) -> i32 {
    let peer = conn.stream.peer_addr();
    let mut buf = [0u8; 256];
    let why = loop {
        if stop.should_stop() {
            break "server stopping";
        }
        match conn.stream.recv(&mut buf) {
            Ok(0) => break "closed by peer",
            Ok(n) => qdebug!("{}: ignoring {} bytes (no protocol yet)", peer, n),
            Err(e) if is_timeout(e) || is_interrupted(e) => {}
            Err(e) => {
                qwarn!("connection from {}: receive error {}", peer, e.to_errno());
                break "receive error";
            }
        }
    };
    qinfo!("connection from {} closed ({})", peer, why);
    conn.done.store(true, Ordering::Release);
    0
}

/// The sessions of the accept thread, at most [`MAX_SESSIONS`].
pub(crate) struct Sessions {
    slots: [Option<Session>; MAX_SESSIONS],
}

impl Sessions {
    /// No sessions.
    pub(crate) fn new() -> Self {
        Sessions {
            slots: [const { None }; MAX_SESSIONS],
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
        match Session::start(stream) {
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
