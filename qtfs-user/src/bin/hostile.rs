//! qtfs-hostile: a hostile qtfs peer for the VM tests (tests/scenarios/hostile).
//!
//! `qtfs-hostile attack` runs named attacks on qtfs_server.ko and checks
//! each outcome (an error reply or a dropped connection, and a fresh
//! session still works afterwards); `qtfs-hostile fuzz` sends random and
//! mutated frames for a number of frames or seconds; `qtfs-hostile flood`
//! holds unauthenticated connections open; `qtfs-hostile serve` is a
//! hostile *server* for the DPU's qtfs.ko (see `serve.rs`). Built on the
//! protocol crate and the userspace peer of `qtfsctl probe` (`peer.rs`).

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[path = "../peer.rs"]
#[allow(dead_code)]
mod peer;

#[path = "hostile/attack.rs"]
mod attack;
#[path = "hostile/fuzz.rs"]
mod fuzz;
#[path = "hostile/rng.rs"]
mod rng;
#[path = "hostile/serve.rs"]
mod serve;

#[derive(Parser)]
#[command(about = "A hostile qtfs peer (client or server) for the VM tests")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Clone)]
struct Server {
    /// The qtfs server, IP:PORT.
    #[arg(long)]
    server: SocketAddr,
    /// File with the pre-shared key (64 hex digits).
    #[arg(long)]
    key_file: String,
    /// The read-only export to attack.
    #[arg(long)]
    export: String,
}

#[derive(Subcommand)]
enum Cmd {
    /// The named attacks, each checked; ends with a Ping on a fresh session.
    Attack {
        #[command(flatten)]
        server: Server,
        /// A writable export (for symlinks made by the peer).
        #[arg(long)]
        rw_export: Option<String>,
        /// Also the slow-drain attack (about 40 s).
        #[arg(long)]
        slow: bool,
    },
    /// Random, mutated and valid frames, pipelined, reconnecting when the
    /// server drops the connection; prints totals and `FIGURE ...`.
    Fuzz {
        #[command(flatten)]
        server: Server,
        /// Stop after this many frames.
        #[arg(long, default_value_t = 100_000)]
        frames: u64,
        /// Stop after this many seconds (whichever comes first).
        #[arg(long, default_value_t = 3600)]
        seconds: u64,
        /// Seed (printed; the same seed sends the same frames).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Opens COUNT connections that never finish the handshake and holds
    /// them for SECONDS (a handshake flood).
    Flood {
        #[arg(long)]
        server: SocketAddr,
        #[arg(long, default_value_t = 40)]
        count: usize,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// A hostile qtfs server on ADDR for qtfs.ko (modes by export path).
    Serve {
        /// IP:PORT to listen on.
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        key_file: String,
        /// Frames sent unprompted to each connection that attached
        /// `/random` (the long random mode).
        #[arg(long, default_value_t = 100_000)]
        frames: u64,
        #[arg(long)]
        seed: Option<u64>,
    },
}

/// The pre-shared key from a key file.
fn read_key(path: &str) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    peer::parse_key(&text)
}

/// A TCP connection with bounded waits.
pub fn connect(addr: SocketAddr) -> Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(20))
        .with_context(|| format!("connecting to {addr}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.set_write_timeout(Some(Duration::from_secs(30)))?;
    s.set_nodelay(true)?;
    Ok(s)
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Attack {
            server,
            rw_export,
            slow,
        } => {
            let t = attack::Target {
                server: server.server,
                key: read_key(&server.key_file)?,
                export: server.export,
                rw_export,
            };
            attack::run(&t, slow)
        }
        Cmd::Fuzz {
            server,
            frames,
            seconds,
            seed,
        } => {
            let t = attack::Target {
                server: server.server,
                key: read_key(&server.key_file)?,
                export: server.export,
                rw_export: None,
            };
            fuzz::run(&t, frames, Duration::from_secs(seconds), rng::seed(seed))
        }
        Cmd::Flood {
            server,
            count,
            seconds,
        } => attack::flood_hold(server, count, Duration::from_secs(seconds)),
        Cmd::Serve {
            listen,
            key_file,
            frames,
            seed,
        } => serve::run(listen, read_key(&key_file)?, frames, rng::seed(seed)),
    }
}
