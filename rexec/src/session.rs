//! One server session: read the request, check it, run the process, pump
//! its stdio, forward signals, report the exit status, and kill the process
//! tree when the client goes away.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, timeout, Instant};
use tracing::{debug, info, warn};

use crate::cgroup::{SessionCgroup, SessionCgroups};
use crate::config::ServerConfig;
use crate::policy::{escape_for_log, filter_env, Whitelist};
use crate::process::{grow_pipe, kill_group, kill_tree, spawn, SpawnSpec, SESSION_ENV};
use crate::protocol::{
    fill_data_header, frame_writer, DataKind, ExecRequest, ExitStatus, Frame, FrameReader,
    ProtocolError, CHUNK, HEADER_LEN, STDIN_WINDOW,
};
use crate::signals::is_forwardable;

/// Shared server state a session needs.
pub struct SessionCtx {
    pub cfg: ServerConfig,
    pub whitelist: Whitelist,
    /// Where session cgroups go; None = kill by process group and /proc scan.
    pub cgroups: Option<SessionCgroups>,
    /// Becomes true when the server wants every session killed (shutdown deadline).
    pub kill_all: watch::Receiver<bool>,
}

/// Session numbers, for the REXEC_SESSION marker.
static SESSION_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

enum StdinMsg {
    Data(Vec<u8>),
    Eof,
}

type Incoming = Result<Frame, ProtocolError>;

/// Serve one connection to the end. Never panics on bad input; logs instead.
/// Serve one connection whose request has arrived, to the end. `client` is
/// the TLS client identity (`tls.clients`), if any. Never panics on bad
/// input; logs instead.
pub async fn run_session<R, W>(
    reader: FrameReader<R>,
    wr: W,
    peer: String,
    client: Option<String>,
    req: ExecRequest,
    ctx: Arc<SessionCtx>,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (out_tx, out_rx) = mpsc::channel::<Vec<u8>>(16);
    let writer = tokio::spawn(frame_writer(wr, out_rx));
    let (in_tx, in_rx) = mpsc::channel::<Incoming>(64);
    let reader = tokio::spawn(reader_task(reader, in_tx));
    let mut s = Session {
        peer,
        client,
        marker: String::new(),
        cgroup: None,
        ctx: ctx.clone(),
        out: out_tx,
        inc: in_rx,
    };
    let finished_cleanly = s.run_request(req).await;
    let Session {
        out,
        mut inc,
        cgroup,
        ..
    } = s;
    if let Some(cg) = cgroup {
        // Off the session's path: waits until killed processes are gone.
        let ctx = ctx.clone();
        tokio::task::spawn_blocking(move || {
            if let (Err(cg), Some(cgroups)) = (cg.remove(), &ctx.cgroups) {
                cgroups.remove_when_empty(cg);
            }
        });
    }
    drop(out);
    if finished_cleanly {
        // Let the writer deliver the tail of the output and the exit status,
        // as long as the client is still there.
        let hb = Duration::from_millis(ctx.cfg.session.heartbeat_timeout_ms);
        let mut kill_rx = ctx.kill_all.clone();
        let mut writer = writer;
        tokio::select! {
            _ = &mut writer => {
                // Everything is sent (and our side shut down). Keep reading
                // until the client closes: closing a socket with unread input
                // sends a reset, which can destroy output the client has not
                // read yet.
                let _ = timeout(hb, watch_client(&mut inc, hb)).await;
            }
            _ = watch_client(&mut inc, hb) => writer.abort(),
            _ = killed(&mut kill_rx) => writer.abort(),
        }
    } else {
        // Give the error frame a moment to leave, then drop the connection
        // even if the peer is not reading (after draining its input briefly,
        // for the same reason as above).
        let abort = writer.abort_handle();
        if timeout(Duration::from_secs(2), writer).await.is_err() {
            abort.abort();
        }
        let hb = Duration::from_secs(1);
        let _ = timeout(hb, watch_client(&mut inc, hb)).await;
    }
    reader.abort();
}

/// Resolves when the server orders every session killed.
async fn killed(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|k| *k).await.is_err() {
        // The server is gone: never resolve.
        std::future::pending::<()>().await;
    }
}

/// Wait until the client disconnects, errs, or stops sending heartbeats.
async fn watch_client(inc: &mut mpsc::Receiver<Incoming>, hb: Duration) {
    let mut suspended = false;
    loop {
        let next = if suspended {
            inc.recv().await
        } else {
            match timeout(hb, inc.recv()).await {
                Ok(n) => n,
                Err(_) => return,
            }
        };
        match next {
            Some(Ok(Frame::Suspend)) => suspended = true,
            Some(Ok(Frame::Signal(n))) if n as i32 == libc::SIGCONT => suspended = false,
            Some(Ok(_)) => {}
            _ => return,
        }
    }
}

async fn reader_task<R: AsyncRead + Unpin>(mut r: FrameReader<R>, tx: mpsc::Sender<Incoming>) {
    loop {
        let item = match r.next().await {
            Ok(Some(f)) => Ok(f),
            Ok(None) => Err(ProtocolError::Io(std::io::ErrorKind::UnexpectedEof.into())),
            Err(e) => Err(e),
        };
        let stop = item.is_err();
        if tx.send(item).await.is_err() || stop {
            return;
        }
    }
}

struct Session {
    peer: String,
    client: Option<String>,
    marker: String,
    /// The session's cgroup, once its process is known to be in it.
    cgroup: Option<SessionCgroup>,
    ctx: Arc<SessionCtx>,
    out: mpsc::Sender<Vec<u8>>,
    inc: mpsc::Receiver<Incoming>,
}

impl Session {
    async fn send(&self, f: Frame) {
        let _ = self.out.send(f.encode()).await;
    }

    async fn fail(&self, code: u8, message: String) {
        warn!(peer = %self.peer, "refused: {message}");
        self.send(Frame::Error { code, message }).await;
    }

    /// Returns true if the process ran to its end and the exit status was queued.
    async fn run_request(&mut self, req: ExecRequest) -> bool {
        let ctx = self.ctx.clone();
        let cfg = &ctx.cfg;
        let argv_bytes: usize = req.argv.iter().map(|a| a.len() + 1).sum();
        let env_bytes: usize = req.env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        if argv_bytes > cfg.limits.max_argv_bytes {
            self.fail(255, format!("argument list too long ({argv_bytes} bytes)"))
                .await;
            return false;
        }
        if env_bytes > cfg.limits.max_env_bytes {
            self.fail(255, format!("environment too large ({env_bytes} bytes)"))
                .await;
            return false;
        }
        if req.argv.iter().any(|a| a.contains(&0)) {
            self.fail(255, "argument contains a NUL byte".into()).await;
            return false;
        }
        let cwd = match self.choose_cwd(&req.cwd) {
            Ok(c) => c,
            Err(m) => {
                self.fail(255, m).await;
                return false;
            }
        };
        let permit = match ctx.whitelist.check(
            &req.argv,
            &cwd,
            &cfg.search_path,
            self.client.as_deref(),
        ) {
            Ok(p) => p,
            Err(d) => {
                if let crate::policy::Denied::NotWhitelisted(_, real) = &d {
                    info!(peer = %self.peer, real = %escape_for_log(real.as_bytes()), "real path of the refused command");
                }
                self.fail(d.exit_code(), d.to_string()).await;
                return false;
            }
        };
        let exe = permit.exe.clone();
        let cwd = permit.cwd(&cwd);
        let filtered = filter_env(&cfg.env, permit.env(), &cfg.search_path, &req.env);
        if !filtered.refused.is_empty() {
            let names: Vec<String> = filtered.refused.iter().map(|n| escape_for_log(n)).collect();
            // Info, not warn: clients send their whole environment, so
            // most requests have some.
            info!(
                peer = %self.peer,
                argv0 = %escape_for_log(&req.argv[0]),
                "environment variables not passed (not allowed): {}",
                names.join(" ")
            );
        }
        let mut env = filtered.vars;
        let marker = format!(
            "{}.{}",
            std::process::id(),
            SESSION_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        env.retain(|(k, _)| k.as_slice() != SESSION_ENV.as_bytes());
        env.push((SESSION_ENV.as_bytes().to_vec(), marker.clone().into_bytes()));
        self.marker = marker;
        let cgroup = match &ctx.cgroups {
            Some(cgroups) => match cgroups.create() {
                Ok(cg) => Some(cg),
                Err(e) => {
                    warn!(peer = %self.peer, "no cgroup for this session ({e}); kill-on-disconnect falls back to the /proc scan");
                    None
                }
            },
            None => None,
        };
        let spec = SpawnSpec {
            exe: &exe,
            argv: &req.argv,
            env: &env,
            cwd: &cwd,
            limits: &cfg.limits,
            uid: cfg.run_as_uid,
            gid: cfg.run_as_gid,
            cgroup_dir: cgroup.as_ref().map(|c| c.dir_fd()),
        };
        let mut child = match spawn(&spec) {
            Ok(c) => c,
            Err(e) => {
                if let Some(cg) = cgroup {
                    cg.discard();
                }
                let code = if e.kind() == std::io::ErrorKind::NotFound {
                    127
                } else {
                    126
                };
                warn!(peer = %self.peer, exe = %exe.display(), "cannot execute: {e}");
                let shown = escape_for_log(&req.argv[0]);
                self.fail(code, format!("cannot execute {shown}: {e}"))
                    .await;
                return false;
            }
        };
        let pid = child.pid;
        self.cgroup = match cgroup {
            Some(cg) if child.in_cgroup => Some(cg),
            Some(cg) => {
                warn!(peer = %self.peer, pid, "this kernel cannot start a process inside a cgroup (clone3 CLONE_INTO_CGROUP); using the /proc scan");
                cg.discard();
                None
            }
            None => None,
        };
        info!(peer = %self.peer, pid, exe = %exe.display(), argv = ?lossy_argv(&req.argv), "started");
        self.send(Frame::Started {
            pid,
            stdin_window: STDIN_WINDOW,
        })
        .await;

        {
            use std::os::fd::AsRawFd;
            let fds = [
                child.stdout.as_ref().map(|s| s.as_raw_fd()),
                child.stderr.as_ref().map(|s| s.as_raw_fd()),
                child.stdin.as_ref().map(|s| s.as_raw_fd()),
            ];
            for fd in fds.into_iter().flatten() {
                grow_pipe(fd, 2 * CHUNK);
            }
        }
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let stdin = child.stdin.take();
        let out_pump = stdout.map(|s| {
            let st = Arc::new(PumpState::default());
            let h = tokio::spawn(pump(s, DataKind::Stdout, self.out.clone(), st.clone()));
            (h, st)
        });
        let err_pump = stderr.map(|s| {
            let st = Arc::new(PumpState::default());
            let h = tokio::spawn(pump(s, DataKind::Stderr, self.out.clone(), st.clone()));
            (h, st)
        });
        let inflight = Arc::new(AtomicUsize::new(0));
        let (stdin_tx, stdin_rx) = mpsc::unbounded_channel();
        if let Some(si) = stdin {
            tokio::spawn(stdin_pump(si, stdin_rx, self.out.clone(), inflight.clone()));
        }
        let mut stdin_tx = Some(stdin_tx);

        let hb = Duration::from_millis(cfg.session.heartbeat_timeout_ms);
        let mut deadline = Instant::now() + hb;
        let mut suspended = false;
        let mut kill_rx = ctx.kill_all.clone();
        let mut ping = tokio::time::interval(Duration::from_secs(1));
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        let status = loop {
            tokio::select! {
                st = child.wait() => break st,
                msg = self.inc.recv() => {
                    // Any frame re-arms the watchdog. While the client is
                    // suspended, only its SIGCONT (sent once it runs again)
                    // does: other frames were already under way when it stopped.
                    if !suspended || matches!(msg, Some(Ok(Frame::Signal(n))) if n as i32 == libc::SIGCONT) {
                        suspended = false;
                        deadline = Instant::now() + hb;
                    }
                    match msg {
                        Some(Ok(Frame::Stdin(d))) => {
                            let now = inflight.fetch_add(d.len(), Ordering::SeqCst) + d.len();
                            if now > STDIN_WINDOW as usize {
                                self.abort(pid, "protocol error: stdin window exceeded").await;
                                return false;
                            }
                            match &stdin_tx {
                                Some(tx) => { let _ = tx.send(StdinMsg::Data(d)); }
                                None => {
                                    self.abort(pid, "protocol error: stdin data after end of file").await;
                                    return false;
                                }
                            }
                        }
                        Some(Ok(Frame::StdinEof)) => {
                            if let Some(tx) = stdin_tx.take() {
                                let _ = tx.send(StdinMsg::Eof);
                            }
                        }
                        Some(Ok(Frame::Signal(n))) => {
                            if is_forwardable(n as i32) {
                                debug!(peer = %self.peer, pid, sig = n, "forwarding signal");
                                deliver(pid, n as i32);
                            } else {
                                warn!(peer = %self.peer, pid, sig = n, "ignoring request for a signal that is not forwarded");
                            }
                        }
                        Some(Ok(Frame::Ping)) => {}
                        Some(Ok(Frame::Suspend)) => {
                            // The client stops itself (job control): it cannot
                            // ping until continued. TCP keepalive still watches
                            // the connection; its next frame re-arms the timer.
                            debug!(peer = %self.peer, pid, "client suspended");
                            suspended = true;
                            deadline = Instant::now() + Duration::from_secs(365 * 24 * 3600);
                        }
                        Some(Ok(other)) => {
                            let m = format!("protocol error: unexpected {} frame", kind(&other));
                            self.abort(pid, &m).await;
                            return false;
                        }
                        Some(Err(ProtocolError::Io(e))) => {
                            let how = self.kill_everything(pid);
                            info!(peer = %self.peer, pid, "connection lost ({e}); killed the process tree ({how})");
                            return false;
                        }
                        Some(Err(e)) => {
                            self.abort(pid, &format!("protocol error: {e}")).await;
                            return false;
                        }
                        None => {
                            self.kill_everything(pid);
                            return false;
                        }
                    }
                }
                _ = ping.tick() => {
                    // Tells an idle client the server is alive. Skipped when
                    // output is queued (the client then has data coming) and
                    // while the client is suspended (so that TCP keepalive,
                    // which needs an idle connection, watches the link).
                    if !suspended {
                        let _ = self.out.try_send(Frame::Ping.encode());
                    }
                }
                _ = sleep_until(deadline) => {
                    let how = self.kill_everything(pid);
                    warn!(peer = %self.peer, pid, "no heartbeat for {hb:?}; killed the process tree ({how})");
                    return false;
                }
                _ = killed(&mut kill_rx) => {
                    self.kill_everything(pid);
                    self.fail(255, "server shutting down; command killed".into()).await;
                    return false;
                }
            }
        };
        let status = match status {
            Ok(s) => s,
            Err(e) => {
                self.kill_everything(pid);
                self.fail(255, format!("waiting for the process failed: {e}"))
                    .await;
                return false;
            }
        };
        if cfg.session.kill_leftovers {
            // Leftover descendants may hold the output pipes open: kill them
            // before draining, so the exit status is not held back.
            kill_group(pid);
            match self.cgroup.as_ref().map(|cg| cg.kill()) {
                Some(Ok(())) => {}
                _ => {
                    let marker = self.marker.clone();
                    let _ = tokio::task::spawn_blocking(move || kill_tree(pid, &marker)).await;
                }
            }
        }
        // Deliver what the process wrote before it ended: wait for end of
        // file on its pipes. The drain timeout only counts time a pump waits
        // for the pipe (a leftover process holding it open), never time it
        // waits for a slow client (backpressure).
        // Idleness before the exit does not count: a pump that waited while
        // the process slept may not have been scheduled yet to read its last
        // output.
        let drain = Duration::from_millis(cfg.session.drain_timeout_ms);
        let exited_at = std::time::Instant::now();
        for (mut handle, st) in [out_pump, err_pump].into_iter().flatten() {
            loop {
                tokio::select! {
                    _ = &mut handle => break,
                    _ = tokio::time::sleep(Duration::from_millis(20)) => {
                        let idle = st.idle_for().map(|d| d.min(exited_at.elapsed()));
                        if idle.is_some_and(|d| d > drain) {
                            handle.abort();
                            break;
                        }
                    }
                }
            }
        }
        use std::os::unix::process::ExitStatusExt;
        let st = match (status.code(), status.signal()) {
            (Some(c), _) => ExitStatus::Code(c as u8),
            (None, Some(s)) => ExitStatus::Signal(s as u8),
            _ => ExitStatus::Code(255),
        };
        info!(peer = %self.peer, pid, status = ?st, "finished");
        self.send(Frame::Exit(st)).await;
        true
    }

    /// Kill everything the command started: its cgroup where it has one,
    /// else its process group and what the /proc scan finds. Says how.
    fn kill_everything(&self, pid: u32) -> String {
        kill_group(pid);
        let scan = |why: String| {
            let n = kill_tree(pid, &self.marker);
            format!("{why}group + {n} found in /proc")
        };
        match &self.cgroup {
            Some(cg) => match cg.kill() {
                Ok(()) => "its cgroup".to_string(),
                Err(e) => scan(format!("cgroup.kill failed: {e}; ")),
            },
            None => scan(String::new()),
        }
    }

    async fn abort(&self, pid: u32, msg: &str) {
        self.kill_everything(pid);
        self.fail(255, msg.to_string()).await;
    }

    fn choose_cwd(&self, req: &[u8]) -> Result<PathBuf, String> {
        use std::os::unix::ffi::OsStrExt;
        let cfg = &self.ctx.cfg;
        if !req.is_empty() {
            let p = Path::new(std::ffi::OsStr::from_bytes(req));
            if p.is_absolute() && p.is_dir() {
                return Ok(p.to_path_buf());
            }
        }
        if cfg.fallback_cwd.is_empty() {
            return Err(format!(
                "working directory {} does not exist on the server",
                escape_for_log(req)
            ));
        }
        if !req.is_empty() {
            debug!(peer = %self.peer, "cwd {} missing, using {}", escape_for_log(req), cfg.fallback_cwd);
        }
        Ok(PathBuf::from(&cfg.fallback_cwd))
    }
}

/// Deliver a client's signal. Job control acts on the whole process group,
/// as a terminal does; SIGTSTP becomes SIGSTOP because the group is
/// orphaned (it leads its own session), where the kernel discards SIGTSTP.
fn deliver(pid: u32, sig: i32) {
    let group = -(pid as i32);
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        match sig {
            libc::SIGTSTP => libc::kill(group, libc::SIGSTOP),
            libc::SIGCONT => libc::kill(group, libc::SIGCONT),
            _ => libc::kill(pid as i32, sig),
        };
    }
}

/// A frame's type name, for messages.
pub(crate) fn kind(f: &Frame) -> &'static str {
    match f {
        Frame::Exec(_) => "Exec",
        Frame::Stdin(_) => "Stdin",
        Frame::StdinEof => "StdinEof",
        Frame::Signal(_) => "Signal",
        Frame::Ping => "Ping",
        Frame::Suspend => "Suspend",
        Frame::Started { .. } => "Started",
        Frame::Stdout(_) => "Stdout",
        Frame::Stderr(_) => "Stderr",
        Frame::Exit(_) => "Exit",
        Frame::Error { .. } => "Error",
        Frame::StdinAck(_) => "StdinAck",
    }
}

fn lossy_argv(argv: &[Vec<u8>]) -> Vec<String> {
    argv.iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Copy a child output pipe into data frames. Backpressure: `send` waits
/// while the socket writer is behind, so the pipe fills and the child blocks.
/// What an output pump is doing: since when it has been waiting for its
/// pipe (None while it is handing data on).
#[derive(Default)]
struct PumpState {
    reading_since: std::sync::Mutex<Option<std::time::Instant>>,
}

impl PumpState {
    fn set(&self, v: Option<std::time::Instant>) {
        *self.reading_since.lock().unwrap_or_else(|e| e.into_inner()) = v;
    }
    /// How long the pump has been waiting for data from the pipe.
    fn idle_for(&self) -> Option<Duration> {
        self.reading_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|t| t.elapsed())
    }
}

async fn pump<R: AsyncRead + Unpin>(
    mut r: R,
    kind: DataKind,
    tx: mpsc::Sender<Vec<u8>>,
    st: Arc<PumpState>,
) {
    loop {
        let mut buf = vec![0u8; HEADER_LEN + CHUNK];
        st.set(Some(std::time::Instant::now()));
        let n = match r.read(&mut buf[HEADER_LEN..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        st.set(None);
        buf.truncate(HEADER_LEN + n);
        fill_data_header(&mut buf, kind);
        if tx.send(buf).await.is_err() {
            return;
        }
    }
}

/// Write client stdin data to the child and return credit with `StdinAck`.
async fn stdin_pump<W: AsyncWrite + Unpin>(
    mut w: W,
    mut rx: mpsc::UnboundedReceiver<StdinMsg>,
    tx: mpsc::Sender<Vec<u8>>,
    inflight: Arc<AtomicUsize>,
) {
    let mut broken = false;
    while let Some(m) = rx.recv().await {
        match m {
            StdinMsg::Data(d) => {
                if !broken && w.write_all(&d).await.is_err() {
                    // The child closed its stdin: discard further input.
                    broken = true;
                }
                inflight.fetch_sub(d.len(), Ordering::SeqCst);
                if tx
                    .send(Frame::StdinAck(d.len() as u32).encode())
                    .await
                    .is_err()
                {
                    return;
                }
            }
            StdinMsg::Eof => return,
        }
    }
}
