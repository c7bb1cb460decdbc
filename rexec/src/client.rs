//! The rexec client: run one command on the server as if it ran here.

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use rustls::pki_types::ServerName;
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::{mpsc, Semaphore};
use tracing::debug;

use crate::addr::{tune_tcp, Addr, BoxStream, ENV_ADDR};
use crate::config::{ClientConfig, DEFAULT_CLIENT_CONFIG, DEFAULT_PIDMAP_DIR};
use crate::pidmap::{self, PidMapEntry};
use crate::protocol::{
    frame_writer, DataKind, ExecRequest, Frame, FrameReader, CHUNK, DEFAULT_MAX_FRAME,
};
use crate::signals;

/// Exit status for errors of rexec itself (like ssh).
pub const EXIT_REXEC_ERROR: i32 = 255;

/// Command line of `rexec`.
#[derive(Debug, Parser)]
#[command(
    name = "rexec",
    version,
    about = "Run a command on the rexec server as if it ran here",
    after_help = "Environment: CMD_NET_ADDR=tcp://<host>:<port> | unix://<path> names the server.\n\
                  Exit status: the remote command's, 128+N if it died by signal N, 255 for rexec errors."
)]
pub struct ClientArgs {
    /// Server address (tcp://host:port or unix://path).
    #[arg(long = "addr", env = ENV_ADDR, value_name = "ADDR")]
    pub addr: Option<String>,
    /// Client configuration file (TLS material, pid map directory).
    #[arg(long, env = "REXEC_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// CA certificate that signed the server certificate (enables TLS).
    #[arg(long, env = "REXEC_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate for mutual TLS.
    #[arg(long, env = "REXEC_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// Client private key for mutual TLS.
    #[arg(long, env = "REXEC_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Name expected in the server certificate (default: the address host).
    #[arg(long, env = "REXEC_TLS_SERVER_NAME", value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// Directory of the pid map (`<dir>/<local pid>` holds the remote pid).
    #[arg(long, env = "REXEC_PIDMAP_DIR", value_name = "DIR")]
    pub pidmap_dir: Option<PathBuf>,
    /// Remote working directory (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Connection timeout in milliseconds.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub connect_timeout_ms: u64,
    /// Give up when the server sends nothing (not even its heartbeat) for this long
    /// while rexec waits for it.
    #[arg(
        long,
        env = "REXEC_SERVER_TIMEOUT_MS",
        default_value_t = 15_000,
        value_name = "MS"
    )]
    pub server_timeout_ms: u64,
    /// Print the remote pid of the local rexec process PID (from the pid map) and exit.
    #[arg(long, value_name = "PID", conflicts_with = "argv")]
    pub remote_pid: Option<u32>,
    /// The command and its arguments.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_parser = clap::value_parser!(OsString),
        required_unless_present = "remote_pid"
    )]
    pub argv: Vec<OsString>,
}

/// TLS settings of a client.
pub struct ClientTls {
    pub config: Arc<rustls::ClientConfig>,
    pub server_name: ServerName<'static>,
}

/// Everything `run` needs.
pub struct ClientOptions {
    pub addr: Addr,
    pub tls: Option<ClientTls>,
    pub argv: Vec<OsString>,
    pub cwd: Option<PathBuf>,
    pub pidmap_dir: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub heartbeat: Duration,
    pub server_timeout: Duration,
}

/// Entry point of the `rexec` binary; returns the exit status.
pub fn main_entry() -> i32 {
    crate::process::tune_allocator();
    if let Ok(filter) = std::env::var("REXEC_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
    let args = ClientArgs::parse();
    let cfg_path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CLIENT_CONFIG));
    let cfg = match ClientConfig::load(&cfg_path, args.config.is_some()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rexec: {e}");
            return EXIT_REXEC_ERROR;
        }
    };
    let pidmap_dir = args
        .pidmap_dir
        .clone()
        .or(cfg.pidmap_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PIDMAP_DIR));
    if let Some(local) = args.remote_pid {
        return match pidmap::lookup(&pidmap_dir, local) {
            Some(m) => {
                println!("{}", m.remote_pid);
                0
            }
            None => {
                eprintln!("rexec: no remote process known for local pid {local}");
                1
            }
        };
    }
    match options_from(args, cfg, pidmap_dir) {
        Ok(opts) => {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("rexec: cannot start runtime: {e}");
                    return EXIT_REXEC_ERROR;
                }
            };
            rt.block_on(run(opts))
        }
        Err(e) => {
            eprintln!("rexec: {e}");
            EXIT_REXEC_ERROR
        }
    }
}

fn options_from(
    args: ClientArgs,
    cfg: ClientConfig,
    pidmap_dir: PathBuf,
) -> anyhow::Result<ClientOptions> {
    let addr_s = args
        .addr
        .or(cfg.addr.clone())
        .ok_or_else(|| anyhow::anyhow!("no server address: set {ENV_ADDR} or --addr"))?;
    let addr: Addr = addr_s.parse()?;
    let ctls = cfg.tls.unwrap_or_default();
    let pick = |a: Option<PathBuf>, b: PathBuf| a.or((!b.as_os_str().is_empty()).then_some(b));
    let ca = pick(args.tls_ca, ctls.ca);
    let cert = pick(args.tls_cert, ctls.cert);
    let key = pick(args.tls_key, ctls.key);
    let tls = match (ca, cert, key) {
        (None, None, None) => None,
        (Some(ca), Some(cert), Some(key)) => {
            let config = crate::tls::client_config(&ca, &cert, &key)?;
            let name = args
                .tls_server_name
                .or(ctls.server_name)
                .or_else(|| addr.host())
                .unwrap_or_else(|| "localhost".to_string());
            Some(ClientTls {
                config: Arc::new(config),
                server_name: crate::tls::server_name(&name)?,
            })
        }
        _ => anyhow::bail!("TLS needs all of: CA, client certificate and client key"),
    };
    Ok(ClientOptions {
        addr,
        tls,
        argv: args.argv,
        cwd: args.cwd,
        pidmap_dir: Some(pidmap_dir),
        connect_timeout: Duration::from_millis(args.connect_timeout_ms),
        heartbeat: Duration::from_millis(1000),
        server_timeout: Duration::from_millis(args.server_timeout_ms),
    })
}

/// Connect to the server (TCP or unix, optionally TLS).
pub async fn connect(
    addr: &Addr,
    tls: Option<&ClientTls>,
    limit: Duration,
) -> std::io::Result<BoxStream> {
    let fut = async {
        match addr {
            Addr::Tcp(a) => {
                let s = TcpStream::connect(a.as_str()).await?;
                tune_tcp(&s);
                match tls {
                    None => Ok(BoxStream(Box::new(s))),
                    Some(t) => {
                        let c = tokio_rustls::TlsConnector::from(t.config.clone());
                        let s = c.connect(t.server_name.clone(), s).await?;
                        Ok(BoxStream(Box::new(s)))
                    }
                }
            }
            Addr::Unix(p) => {
                let s = UnixStream::connect(p).await?;
                match tls {
                    None => Ok(BoxStream(Box::new(s))),
                    Some(t) => {
                        let c = tokio_rustls::TlsConnector::from(t.config.clone());
                        let s = c.connect(t.server_name.clone(), s).await?;
                        Ok(BoxStream(Box::new(s)))
                    }
                }
            }
        }
    };
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connection timed out",
        )),
    }
}

fn build_request(opts: &ClientOptions) -> ExecRequest {
    let cwd = opts
        .cwd
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .map(|p| p.into_os_string().into_vec())
        .unwrap_or_default();
    ExecRequest {
        argv: opts.argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
        env: std::env::vars_os()
            .map(|(k, v)| (k.into_vec(), v.into_vec()))
            .collect(),
        cwd,
    }
}

type Reader = FrameReader<tokio::io::ReadHalf<BoxStream>>;

struct Established {
    reader: Reader,
    tx: mpsc::Sender<Vec<u8>>,
    writer: tokio::task::JoinHandle<()>,
    pid: u32,
    window: u32,
}

/// Connect, send the request, wait for `Started`. Errors are reported on
/// stderr and returned as the exit status.
async fn establish(opts: &ClientOptions) -> Result<Established, i32> {
    let stream = match connect(&opts.addr, opts.tls.as_ref(), opts.connect_timeout).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rexec: cannot connect to {}: {e}", opts.addr);
            return Err(EXIT_REXEC_ERROR);
        }
    };
    let (rd, wr) = tokio::io::split(stream);
    let (tx, rx) = mpsc::channel::<Vec<u8>>(16);
    let writer = tokio::spawn(frame_writer(wr, rx));
    let mut reader = FrameReader::new(rd, DEFAULT_MAX_FRAME);
    let _ = tx.send(Frame::Exec(build_request(opts)).encode()).await;
    let first = match tokio::time::timeout(opts.server_timeout, reader.next()).await {
        Ok(r) => r,
        Err(_) => {
            eprintln!(
                "rexec: no answer from the server within {:?}",
                opts.server_timeout
            );
            return Err(EXIT_REXEC_ERROR);
        }
    };
    match first {
        Ok(Some(Frame::Started { pid, stdin_window })) => Ok(Established {
            reader,
            tx,
            writer,
            pid,
            window: stdin_window,
        }),
        Ok(Some(Frame::Error { code, message })) => {
            eprintln!("rexec: {message}");
            Err(code as i32)
        }
        Ok(Some(other)) => {
            eprintln!("rexec: protocol error: unexpected {other:?}");
            Err(EXIT_REXEC_ERROR)
        }
        Ok(None) => {
            eprintln!(
                "rexec: the server closed the connection before accepting the request \
                 (client refused, or TLS expected; see the server log)"
            );
            Err(EXIT_REXEC_ERROR)
        }
        Err(e) => {
            eprintln!("rexec: {e}");
            Err(EXIT_REXEC_ERROR)
        }
    }
}

/// Run the command remotely; returns the exit status for this process.
pub async fn run(opts: ClientOptions) -> i32 {
    // Catch the forwarded signals from the start.
    let mut sigs = match signals::listen() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rexec: cannot install signal handlers: {e}");
            return EXIT_REXEC_ERROR;
        }
    };
    // Until the remote process exists, a forwarded signal ends rexec the
    // way it would end a local process (the server then kills whatever it
    // may have started, since the connection drops).
    let established = tokio::select! {
        r = establish(&opts) => r,
        Some(sig) = sigs.recv() => signals::die_by(sig),
    };
    let Established {
        mut reader,
        tx,
        writer,
        pid,
        window,
    } = match established {
        Ok(e) => e,
        Err(code) => return code,
    };
    debug!(remote_pid = pid, "started");
    let _entry = opts.pidmap_dir.as_ref().and_then(|d| {
        PidMapEntry::create(d, std::process::id(), pid, &opts.addr.to_string())
            .map_err(|e| debug!("pid map entry not written in {}: {e}", d.display()))
            .ok()
    });

    // Signals -> Signal frames.
    {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(sig) = sigs.recv().await {
                debug!(sig, "forwarding signal");
                if tx.send(Frame::Signal(sig as u8).encode()).await.is_err() {
                    return;
                }
            }
        });
    }
    // Watchdog state (see below), shared with the job-control task.
    let waiting = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let last_frame = Arc::new(std::sync::Mutex::new(tokio::time::Instant::now()));
    // Job control: SIGTSTP (Ctrl-Z) stops the remote process and then this
    // one; when continued, the remote process is continued too.
    let suspending = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Ok(mut tstp) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(libc::SIGTSTP))
    {
        let tx = tx.clone();
        let last_frame = last_frame.clone();
        let suspending = suspending.clone();
        tokio::spawn(async move {
            while tstp.recv().await.is_some() {
                debug!("SIGTSTP: stopping the remote process and this one");
                // No heartbeat may follow the Suspend frame.
                suspending.store(true, std::sync::atomic::Ordering::SeqCst);
                let _ = tx.send(Frame::Signal(libc::SIGTSTP as u8).encode()).await;
                let _ = tx.send(Frame::Suspend.encode()).await;
                // Let the writer put both frames on the wire.
                tokio::time::sleep(Duration::from_millis(50)).await;
                signals::stop_self();
                *last_frame.lock().unwrap_or_else(|e| e.into_inner()) = tokio::time::Instant::now();
                let _ = tx.send(Frame::Signal(libc::SIGCONT as u8).encode()).await;
                suspending.store(false, std::sync::atomic::Ordering::SeqCst);
            }
        });
    }
    // Heartbeat.
    {
        let tx = tx.clone();
        let suspending = suspending.clone();
        let every = opts.heartbeat;
        tokio::spawn(async move {
            let mut t = tokio::time::interval(every);
            t.tick().await;
            loop {
                t.tick().await;
                if suspending.load(std::sync::atomic::Ordering::SeqCst) {
                    continue;
                }
                if tx.send(Frame::Ping.encode()).await.is_err() {
                    return;
                }
            }
        });
    }
    // Stdin -> Stdin frames, limited by the credit the server grants.
    let credit = Arc::new(Semaphore::new(window as usize));
    {
        let tx = tx.clone();
        let credit = credit.clone();
        let (in_tx, mut in_rx) = mpsc::channel::<Vec<u8>>(2);
        std::thread::spawn(move || stdin_thread(in_tx));
        tokio::spawn(async move {
            while let Some(chunk) = in_rx.recv().await {
                match credit.acquire_many(chunk.len() as u32).await {
                    Ok(p) => p.forget(),
                    Err(_) => return,
                }
                if tx.send(Frame::Stdin(chunk).encode()).await.is_err() {
                    return;
                }
            }
            let _ = tx.send(Frame::StdinEof.encode()).await;
        });
    }
    drop(tx);

    // Larger local pipes (where stdin/stdout are pipes) mean fewer, larger
    // chunks; capacity is not observable through read/write semantics.
    for fd in [0, 1] {
        crate::process::grow_pipe(fd, 2 * CHUNK);
    }
    // Remote output -> local stdout/stderr (a blocking thread, bounded queue).
    let (out_tx, out_rx) = mpsc::channel::<(DataKind, Vec<u8>)>(8);
    let out_thread = std::thread::spawn(move || output_thread(out_rx));

    // Watchdog: while the main loop waits for the server, the server's
    // heartbeat must keep arriving (a vanished host sends no RST).
    {
        let waiting = waiting.clone();
        let last_frame = last_frame.clone();
        let limit = opts.server_timeout;
        tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_millis(250));
            loop {
                t.tick().await;
                let last = *last_frame.lock().unwrap_or_else(|e| e.into_inner());
                if waiting.load(std::sync::atomic::Ordering::SeqCst) && last.elapsed() > limit {
                    eprintln!(
                        "rexec: the server stopped responding ({limit:?} without a heartbeat)"
                    );
                    std::process::exit(EXIT_REXEC_ERROR);
                }
            }
        });
    }
    let code = loop {
        // The watchdog measures how long this wait lasts, not time spent
        // delivering output to a slow local reader.
        *last_frame.lock().unwrap_or_else(|e| e.into_inner()) = tokio::time::Instant::now();
        waiting.store(true, std::sync::atomic::Ordering::SeqCst);
        let next = reader.next().await;
        waiting.store(false, std::sync::atomic::Ordering::SeqCst);
        match next {
            Ok(Some(Frame::Ping)) => {}
            Ok(Some(Frame::Stdout(d))) => {
                if out_tx.send((DataKind::Stdout, d)).await.is_err() {
                    break EXIT_REXEC_ERROR;
                }
            }
            Ok(Some(Frame::Stderr(d))) => {
                if out_tx.send((DataKind::Stderr, d)).await.is_err() {
                    break EXIT_REXEC_ERROR;
                }
            }
            Ok(Some(Frame::StdinAck(n))) => credit.add_permits(n as usize),
            Ok(Some(Frame::Exit(st))) => break st.shell_code(),
            Ok(Some(Frame::Error { code, message })) => {
                eprintln!("rexec: {message}");
                break code as i32;
            }
            Ok(Some(other)) => {
                eprintln!("rexec: protocol error: unexpected {other:?}");
                break EXIT_REXEC_ERROR;
            }
            Ok(None) => {
                eprintln!("rexec: connection to the server lost");
                break EXIT_REXEC_ERROR;
            }
            Err(e) => {
                eprintln!("rexec: connection to the server lost: {e}");
                break EXIT_REXEC_ERROR;
            }
        }
    };
    drop(out_tx);
    let _ = tokio::task::spawn_blocking(move || out_thread.join()).await;
    writer.abort();
    code
}

fn stdin_thread(tx: mpsc::Sender<Vec<u8>>) {
    // SAFETY: fd 0 is owned by the process for its lifetime; ManuallyDrop
    // keeps this File from closing it.
    let mut f = ManuallyDrop::new(unsafe { File::from_raw_fd(0) });
    loop {
        // A background job reading its terminal would be stopped (SIGTTIN):
        // leave the terminal alone until we are in the foreground (the
        // remote command sees no input meanwhile; rexec is not stopped).
        while in_background_of_tty() {
            if tx.is_closed() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let mut buf = vec![0u8; CHUNK];
        match f.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                buf.truncate(n);
                if tx.blocking_send(buf).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
}

/// True if stdin is a terminal whose foreground process group is not ours.
fn in_background_of_tty() -> bool {
    // SAFETY: isatty/tcgetpgrp/getpgrp only query the descriptor and the process.
    unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) != libc::getpgrp() }
}

fn output_thread(mut rx: mpsc::Receiver<(DataKind, Vec<u8>)>) {
    // SAFETY: fds 1 and 2 are owned by the process for its lifetime;
    // ManuallyDrop keeps these Files from closing them.
    let mut out = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
    // SAFETY: as above.
    let mut err = ManuallyDrop::new(unsafe { File::from_raw_fd(2) });
    let (mut out_ok, mut err_ok) = (true, true);
    while let Some((kind, data)) = rx.blocking_recv() {
        let (f, ok) = match kind {
            DataKind::Stderr => (&mut *err, &mut err_ok),
            _ => (&mut *out, &mut out_ok),
        };
        if !*ok {
            continue;
        }
        if let Err(e) = f.write_all(&data) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                // A local process would die of SIGPIPE here; so do we (the
                // server then sees the connection drop and kills the remote).
                signals::die_by(libc::SIGPIPE);
            }
            *ok = false;
        }
    }
}
