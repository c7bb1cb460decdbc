//! The rexec server: listen, admit clients, run sessions, shut down gracefully.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, error, info, warn};

use crate::addr::{tune_tcp, Addr, ENV_ADDR};
use crate::cgroup::SessionCgroups;
use crate::config::{Limits, ServerConfig, DEFAULT_SERVER_CONFIG};
use crate::policy::{escape_for_log, AddrAcl, Whitelist};
use crate::protocol::{Frame, FrameReader, ProtocolError};
use crate::session::{run_session, SessionCtx};

/// Command line of `rexec_server`.
#[derive(Debug, Parser)]
#[command(
    name = "rexec_server",
    version,
    about = "Serve rexec clients: run whitelisted commands for them"
)]
pub struct ServerArgs {
    /// Configuration file (holds the whitelist; required).
    #[arg(long, short, env = "REXEC_SERVER_CONFIG", default_value = DEFAULT_SERVER_CONFIG)]
    pub config: PathBuf,
    /// Listen address (tcp://0.0.0.0:port or unix://path); overrides the config.
    #[arg(long, env = ENV_ADDR, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Log filter (tracing EnvFilter syntax), e.g. info or rexec=debug.
    #[arg(long, env = "REXEC_LOG", default_value = "info")]
    pub log: String,
    /// Check the configuration and exit.
    #[arg(long)]
    pub check_config: bool,
}

/// Entry point of the `rexec_server` binary.
pub fn main_entry() -> anyhow::Result<()> {
    crate::process::tune_allocator();
    let args = ServerArgs::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cfg = ServerConfig::load(&args.config)?;
    let listen = args.listen.clone().or(cfg.listen.clone()).ok_or_else(|| {
        anyhow::anyhow!("no listen address: set {ENV_ADDR}, --listen or `listen` in the config")
    })?;
    let addr: Addr = listen.parse()?;
    let server = Server::new(cfg, addr)?;
    if args.check_config {
        println!("configuration OK");
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let bound = server.bind().await?;
        bound.run(shutdown_signal()).await
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => tokio::select! {
            _ = term.recv() => info!("SIGTERM received: shutting down"),
            _ = int.recv() => info!("SIGINT received: shutting down"),
        },
        _ => {
            error!("cannot install SIGTERM/SIGINT handlers; graceful shutdown unavailable");
            std::future::pending::<()>().await
        }
    }
}

/// A configured, not yet listening server.
pub struct Server {
    cfg: ServerConfig,
    addr: Addr,
    whitelist: Whitelist,
    acl: AddrAcl,
    tls: Option<TlsAcceptor>,
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

/// A listening server.
pub struct BoundServer {
    inner: Server,
    listener: Listener,
}

impl Server {
    /// Validate everything that can be validated before listening.
    pub fn new(mut cfg: ServerConfig, addr: Addr) -> anyhow::Result<Server> {
        cfg.validate()?;
        // A uid alone would keep the server's gid 0: take the user's own group.
        if let (Some(uid), None) = (cfg.run_as_uid, cfg.run_as_gid) {
            let gid = crate::process::primary_gid(uid).ok_or_else(|| {
                anyhow::anyhow!(
                    "invalid config: run_as_uid = {uid} has no passwd entry: set run_as_gid too"
                )
            })?;
            cfg.run_as_gid = Some(gid);
        }
        let whitelist = Whitelist::new(&cfg.allow)?;
        let acl = AddrAcl::new(&cfg.allowed_clients)?;
        if let Addr::Tcp(_) = addr {
            if cfg.allowed_clients.is_empty() {
                anyhow::bail!(
                    "invalid config: a TCP listener needs allowed_clients (the client addresses \
                     or networks; [\"*\"] admits any address)"
                );
            }
            if cfg.tls.is_none() && !cfg.insecure_plaintext {
                anyhow::bail!(
                    "invalid config: no [tls] for the TCP listener {addr}: configure mutual TLS, \
                     or set insecure_plaintext = true to serve unencrypted, unauthenticated TCP"
                );
            }
        }
        let tls = match &cfg.tls {
            Some(t) => {
                for p in [&t.key, &t.client_ca] {
                    crate::config::check_file_safety(p)?;
                }
                let sc = crate::tls::server_config(&t.cert, &t.key, &t.client_ca, &t.clients)?;
                Some(TlsAcceptor::from(Arc::new(sc)))
            }
            None => None,
        };
        Ok(Server {
            cfg,
            addr,
            whitelist,
            acl,
            tls,
        })
    }

    /// Open the listening socket.
    pub async fn bind(self) -> anyhow::Result<BoundServer> {
        let listener = match &self.addr {
            Addr::Tcp(a) => Listener::Tcp(
                TcpListener::bind(a.as_str())
                    .await
                    .with_context(|| format!("cannot listen on {}", self.addr))?,
            ),
            Addr::Unix(p) => {
                if let Ok(md) = std::fs::symlink_metadata(p) {
                    use std::os::unix::fs::FileTypeExt;
                    if md.file_type().is_socket() {
                        let _ = std::fs::remove_file(p);
                    }
                }
                let l = UnixListener::bind(p)
                    .with_context(|| format!("cannot listen on {}", self.addr))?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(
                    p,
                    std::fs::Permissions::from_mode(self.cfg.unix_socket_mode),
                )?;
                Listener::Unix(l, p.clone())
            }
        };
        Ok(BoundServer {
            inner: self,
            listener,
        })
    }
}

impl BoundServer {
    /// The local TCP port (for tests binding port 0).
    pub fn local_port(&self) -> Option<u16> {
        match &self.listener {
            Listener::Tcp(l) => l.local_addr().ok().map(|a| a.port()),
            Listener::Unix(..) => None,
        }
    }

    /// Serve until `shutdown` resolves, then drain sessions gracefully.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        let BoundServer { inner, listener } = self;
        let Server {
            cfg,
            addr,
            whitelist,
            acl,
            tls,
        } = inner;
        let max = cfg.limits.max_sessions;
        let allowed_uids = cfg.allowed_uids.clone();
        let shutdown_timeout = Duration::from_millis(cfg.session.shutdown_timeout_ms);
        let (kill_tx, kill_rx) = watch::channel(false);
        let admission = Arc::new(Admission::new(&cfg.limits));
        let cgroups = if cfg.session.cgroups {
            match SessionCgroups::detect() {
                Ok(c) => {
                    let stale = c.remove_stale();
                    info!(
                        "each session gets a cgroup below {} (kill-on-disconnect reaches every process); removed {stale} stale",
                        c.base().display()
                    );
                    Some(c)
                }
                Err(e) => {
                    warn!("no session cgroups ({e}): kill-on-disconnect uses the process group and the /proc scan, which processes that leave the session and drop REXEC_SESSION escape");
                    None
                }
            }
        } else {
            info!("session cgroups are off (session.cgroups = false): kill-on-disconnect uses the process group and the /proc scan");
            None
        };
        let ctx = Arc::new(SessionCtx {
            cfg,
            whitelist,
            cgroups,
            kill_all: kill_rx,
        });
        if ctx.cgroups.is_some() {
            // Cgroups of ended sessions whose leftovers were allowed to run.
            let ctx = ctx.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    if let Some(c) = &ctx.cgroups {
                        c.reap();
                    }
                }
            });
        }
        if tls.is_none() {
            if let Addr::Tcp(_) = addr {
                warn!("listening on {addr} over plain TCP without TLS: traffic is unencrypted and clients are not authenticated (configure [tls] for mutual TLS)");
            }
        }
        info!(
            "rexec_server on {addr} ({}; max {max} sessions)",
            if tls.is_some() { "mutual TLS" } else { "plain" }
        );
        tokio::pin!(shutdown);
        let shown = match &listener {
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| format!("tcp://{a}"))
                .unwrap_or_else(|_| addr.to_string()),
            Listener::Unix(_, p) => format!("unix://{}", p.display()),
        };
        info!("ready: listening on {shown}");
        let unix_path = match &listener {
            Listener::Unix(_, p) => Some(p.clone()),
            _ => None,
        };
        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => break,
                a = accept(&listener) => a,
            };
            let conn = match accepted {
                Ok(c) => c,
                Err(e) => {
                    error!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match conn {
                Conn::Tcp(s, peer) => {
                    let ip = peer.ip();
                    if !acl.allows(ip) {
                        warn!(%peer, "connection refused: address not in allowed_clients");
                        if tls.is_none() {
                            admission.refuse_bounded(s, "client address not allowed");
                        }
                        continue;
                    }
                    let Some(pending) = admission.enter_pending(Some(ip)) else {
                        admission.note_dropped(&peer.to_string());
                        continue;
                    };
                    tune_tcp(&s);
                    let (ctx, tls, admission) = (ctx.clone(), tls.clone(), admission.clone());
                    tokio::spawn(async move {
                        admit(s, peer.to_string(), Some(ip), pending, ctx, admission, tls).await
                    });
                }
                Conn::Unix(s) => {
                    let cred = s.peer_cred().ok();
                    let uid = cred.as_ref().map(|c| c.uid());
                    let peer = format!(
                        "unix(uid={},pid={})",
                        uid.map(|u| u.to_string()).unwrap_or_else(|| "?".into()),
                        cred.and_then(|c| c.pid())
                            .map(|p| p.to_string())
                            .unwrap_or_else(|| "?".into())
                    );
                    if !allowed_uids.is_empty() && !uid.is_some_and(|u| allowed_uids.contains(&u)) {
                        warn!(%peer, "connection refused: uid not in allowed_uids");
                        if tls.is_none() {
                            admission.refuse_bounded(s, "client uid not allowed");
                        }
                        continue;
                    }
                    let Some(pending) = admission.enter_pending(None) else {
                        admission.note_dropped(&peer);
                        continue;
                    };
                    let (ctx, tls, admission) = (ctx.clone(), tls.clone(), admission.clone());
                    tokio::spawn(async move {
                        admit(s, peer, None, pending, ctx, admission, tls).await
                    });
                }
            }
        }
        drop(listener);
        admission.closing.store(true, Ordering::SeqCst);
        if let Some(p) = unix_path {
            let _ = std::fs::remove_file(p);
        }
        let sem = &admission.sessions;
        let active = max - sem.available_permits();
        info!(
            "stopped accepting; waiting up to {shutdown_timeout:?} for {active} running sessions"
        );
        if tokio::time::timeout(shutdown_timeout, sem.acquire_many(max as u32))
            .await
            .is_err()
        {
            let active = max - sem.available_permits();
            warn!("shutdown timeout: killing {active} remaining sessions");
            let _ = kill_tx.send(true);
            let _ =
                tokio::time::timeout(Duration::from_secs(3), sem.acquire_many(max as u32)).await;
        }
        info!("rexec_server stopped");
        Ok(())
    }
}

enum Conn {
    Tcp(tokio::net::TcpStream, std::net::SocketAddr),
    Unix(tokio::net::UnixStream),
}

async fn accept(l: &Listener) -> std::io::Result<Conn> {
    match l {
        Listener::Tcp(l) => l.accept().await.map(|(s, a)| Conn::Tcp(s, a)),
        Listener::Unix(l, _) => l.accept().await.map(|(s, _)| Conn::Unix(s)),
    }
}

/// Concurrent refusals that still get an error message; past that, refused
/// connections are just closed (a flood gets no task per connection).
const REFUSAL_BUDGET: usize = 16;

/// What connections may hold, before and after they authenticate.
struct Admission {
    /// Running sessions (taken only once a valid request has arrived).
    sessions: Arc<Semaphore>,
    sessions_per_client: usize,
    session_counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    /// Connections that have not sent their request yet (TLS handshake included).
    pending: Arc<Semaphore>,
    pending_total: usize,
    pending_per_client: usize,
    pending_counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    /// TLS handshakes in progress (they cost CPU).
    handshakes: Arc<Semaphore>,
    /// Refusals that are sending their error message.
    refusals: Arc<Semaphore>,
    /// Set at shutdown: requests that arrive now are refused.
    closing: AtomicBool,
    /// Connections dropped for want of a pending place since the last
    /// warning, and when that was (a flood must not flood the log too).
    dropped: Mutex<(u64, Option<Instant>)>,
}

/// A pending connection's share of the budget; released on drop.
struct Pending {
    _permit: OwnedSemaphorePermit,
    _count: Option<ClientCount>,
}

/// A session's share; released on drop.
struct SessionSlot {
    _permit: OwnedSemaphorePermit,
    _count: Option<ClientCount>,
}

impl Admission {
    fn new(l: &Limits) -> Admission {
        Admission {
            sessions: Arc::new(Semaphore::new(l.max_sessions)),
            sessions_per_client: l.max_sessions_per_client,
            session_counts: Arc::default(),
            pending: Arc::new(Semaphore::new(l.max_unauthenticated)),
            pending_total: l.max_unauthenticated,
            pending_per_client: l.max_unauthenticated_per_client,
            pending_counts: Arc::default(),
            handshakes: Arc::new(Semaphore::new(l.max_tls_handshakes)),
            refusals: Arc::new(Semaphore::new(REFUSAL_BUDGET)),
            closing: AtomicBool::new(false),
            dropped: Mutex::new((0, None)),
        }
    }

    /// Log connections closed unheard, at most one line per ten seconds.
    fn note_dropped(&self, peer: &str) {
        let mut d = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
        d.0 += 1;
        if d.1.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            warn!(
                %peer,
                "closed {} connection(s) unheard: too many connections that have not sent a request (limits.max_unauthenticated*)",
                d.0
            );
            *d = (0, Some(Instant::now()));
        }
    }

    /// A place for a connection that has not sent its request, if the
    /// global and per-address budgets have one. The per-address cap
    /// applies once half the global budget is taken: a burst from the one
    /// DPU (a hundred commands started at once on a busy machine, each
    /// connecting before it can send its request) is not refused while
    /// the server has room, and a flood from one address still leaves at
    /// least half the budget to the others.
    fn enter_pending(&self, ip: Option<IpAddr>) -> Option<Pending> {
        let crowded = self.pending.available_permits() < self.pending_total.div_ceil(2);
        let limit = if crowded { self.pending_per_client } else { 0 };
        let count = match ip {
            Some(ip) => Some(ClientCount::enter(&self.pending_counts, ip, limit)?),
            None => None,
        };
        let permit = self.pending.clone().try_acquire_owned().ok()?;
        Some(Pending {
            _permit: permit,
            _count: count,
        })
    }

    /// A session slot, or the reason there is none.
    fn enter_session(&self, ip: Option<IpAddr>) -> Result<SessionSlot, &'static str> {
        if self.closing.load(Ordering::SeqCst) {
            return Err("server shutting down");
        }
        let count = match ip {
            Some(ip) => Some(
                ClientCount::enter(&self.session_counts, ip, self.sessions_per_client)
                    .ok_or("too many sessions from this client")?,
            ),
            None => None,
        };
        let permit = self
            .sessions
            .clone()
            .try_acquire_owned()
            .map_err(|_| "server busy: too many sessions")?;
        Ok(SessionSlot {
            _permit: permit,
            _count: count,
        })
    }

    /// Send `message` to a refused client if the refusal budget allows,
    /// else just close the connection.
    fn refuse_bounded<S>(&self, s: S, message: &'static str)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        if let Ok(permit) = self.refusals.clone().try_acquire_owned() {
            tokio::spawn(async move {
                refuse(s, message.to_string()).await;
                drop(permit);
            });
        }
    }
}

/// Counts connections per client address; decrements on drop.
struct ClientCount {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl ClientCount {
    /// None if `ip` already has `limit` (0 = no limit).
    fn enter(
        counts: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        ip: IpAddr,
        limit: usize,
    ) -> Option<ClientCount> {
        let mut m = counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_insert(0);
        if limit != 0 && *n >= limit {
            return None;
        }
        *n += 1;
        Some(ClientCount {
            counts: counts.clone(),
            ip,
        })
    }
}

impl Drop for ClientCount {
    fn drop(&mut self) {
        let mut m = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// Send an error frame and close the stream. The client's request is read
/// and discarded first (briefly): closing with unread input would send a
/// reset that can destroy the error frame before the client reads it.
async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, message: String) {
    let f = Frame::Error { code: 255, message };
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = s.write_all(&f.encode()).await;
        let _ = s.shutdown().await;
        let mut sink = [0u8; 4096];
        while let Ok(n) = s.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// TLS handshake (if configured), the request, a session slot, then the
/// session. Until the request has arrived the connection holds only its
/// `pending` place, which bounds what unauthenticated clients can take.
async fn admit<S>(
    s: S,
    peer: String,
    ip: Option<IpAddr>,
    pending: Pending,
    ctx: Arc<SessionCtx>,
    admission: Arc<Admission>,
    tls: Option<TlsAcceptor>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let deadline = Instant::now() + Duration::from_millis(ctx.cfg.session.handshake_timeout_ms);
    match tls {
        None => admitted(s, peer, ip, None, pending, deadline, ctx, admission).await,
        Some(acc) => {
            let handshake = async {
                let _turn = admission.handshakes.acquire().await;
                acc.accept(s).await
            };
            match tokio::time::timeout_at(deadline, handshake).await {
                Ok(Ok(t)) => {
                    let clients = ctx
                        .cfg
                        .tls
                        .as_ref()
                        .map(|t| t.clients.as_slice())
                        .unwrap_or_default();
                    let identity = t
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(|c| crate::tls::client_identity(c, clients).ok());
                    let peer = match &identity {
                        Some(id) => format!("{peer} ({})", escape_for_log(id.as_bytes())),
                        None => peer,
                    };
                    admitted(t, peer, ip, identity, pending, deadline, ctx, admission).await
                }
                Ok(Err(e)) => warn!(%peer, "TLS handshake failed: {e}"),
                Err(_) => warn!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn admitted<S>(
    s: S,
    peer: String,
    ip: Option<IpAddr>,
    client: Option<String>,
    pending: Pending,
    deadline: Instant,
    ctx: Arc<SessionCtx>,
    admission: Arc<Admission>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (rd, mut wr) = tokio::io::split(s);
    let mut reader = FrameReader::new(rd, ctx.cfg.limits.max_frame);
    let refusal = match tokio::time::timeout_at(deadline, reader.next()).await {
        Ok(Ok(Some(Frame::Exec(req)))) => match admission.enter_session(ip) {
            Ok(slot) => {
                drop(pending);
                run_session(reader, wr, peer, client, req, ctx).await;
                drop(slot);
                return;
            }
            Err(why) => why.to_string(),
        },
        Ok(Ok(Some(other))) => format!(
            "protocol error: expected a request, got {}",
            crate::session::kind(&other)
        ),
        Ok(Ok(None)) => {
            debug!(%peer, "client left before sending a request");
            return;
        }
        Ok(Err(ProtocolError::Io(e))) => {
            info!(%peer, "client left before sending a request: {e}");
            return;
        }
        Ok(Err(e)) => format!("protocol error: {e}"),
        Err(_) => "timed out waiting for the request".to_string(),
    };
    warn!(%peer, "refused: {refusal}");
    let f = Frame::Error {
        code: 255,
        message: refusal,
    };
    // Deliver the error, then drain the client's input briefly (closing
    // with unread input sends a reset that can destroy the error frame).
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = wr.write_all(&f.encode()).await;
        let _ = wr.shutdown().await;
        reader.discard_input().await;
    })
    .await;
    drop(pending);
}
