// SPDX-License-Identifier: GPL-2.0
//! The listening socket and its accept thread.
#![forbid(unsafe_code)]

use crate::kbase::config::SockAddr;
use crate::kbase::kthread::{Kthread, StopToken};
use crate::kbase::log::{qerr, qinfo, qwarn};
use crate::kbase::net::{is_interrupted, is_timeout, TcpListener};
use crate::session::Sessions;
use crate::ServerConfig;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;

/// Pending connections the kernel queues for us.
const BACKLOG: i32 = 16;
/// Longest single wait in `accept`; the thread checks for a stop request at
/// least this often (`kthread_stop` also interrupts the wait at once).
const ACCEPT_WAIT_MS: u32 = 1000;
/// Pause after an unexpected accept error, so that it cannot spin.
const ERROR_PAUSE_MS: u32 = 100;
/// `/proc/<pid>/comm` of the accept thread.
const THREAD_NAME: &CStr = c_str!("qtfs_srv_accept");

/// The listening socket and the thread accepting on it; dropping it stops
/// the thread (which closes every session) and then frees the port.
pub(crate) struct Listener {
    // Stopped in `drop` before `sock` is released.
    thread: Option<Kthread>,
    sock: Arc<TcpListener>,
}

impl Listener {
    /// Binds `addr`, listens and starts the accept thread.
    pub(crate) fn start(addr: SockAddr, cfg: Arc<ServerConfig>) -> Result<Self> {
        let sock = TcpListener::bind(addr, BACKLOG, ACCEPT_WAIT_MS).inspect_err(|e| {
            qerr!("cannot listen on {}: error {}", addr, e.to_errno());
        })?;
        let sock = Arc::new(sock, GFP_KERNEL)?;
        let thread_sock = sock.clone();
        let thread = Kthread::spawn(THREAD_NAME, move |stop| {
            accept_loop(&thread_sock, cfg, stop)
        })?;
        qinfo!("listening on {}", addr);
        Ok(Listener {
            thread: Some(thread),
            sock,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            thread.stop();
        }
        // The thread's reference to the socket is gone with the thread, so
        // dropping `self.sock` right after this releases the port.
        qinfo!("stopped listening on {}", self.sock.local_addr());
    }
}

/// The accept thread: accepts until asked to stop, hands each connection to
/// a session, and closes every session before returning.
fn accept_loop(sock: &TcpListener, cfg: Arc<ServerConfig>, stop: &StopToken) -> i32 {
    let mut sessions = Sessions::new(cfg);
    while !stop.should_stop() {
        match sock.accept() {
            Ok(stream) => {
                qinfo!(
                    "accepted connection from {} on {}",
                    stream.peer_addr(),
                    stream.local_addr()
                );
                sessions.add(stream);
            }
            Err(e) if is_timeout(e) || is_interrupted(e) => sessions.reap(),
            Err(e) => {
                qwarn!("accept on {}: error {}", sock.local_addr(), e.to_errno());
                stop.sleep_ms(ERROR_PAUSE_MS);
            }
        }
    }
    let open = sessions.close_all();
    qinfo!("accept thread stopping, closed {} open connection(s)", open);
    0
}
