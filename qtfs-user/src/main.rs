//! qtfsctl: load and unload the qtfs kernel modules and show their state.
//! (Mounting and the offload procedure come with the roadmap.)

mod kmod;
mod params;
mod peer;
mod probe;
mod rawname;
mod status;

use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};

use kmod::Role;
use params::{LogLevel, ModuleParams, DEFAULT_PORT};

#[derive(Parser)]
#[command(name = "qtfsctl", version, about = "Control the qtfs kernel modules")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load qtfs.ko (client) or qtfs_server.ko (server) with its parameters.
    Load {
        role: Role,
        /// The server's IPv4 address (for the server: the address it listens on).
        #[arg(long)]
        server_ip: Ipv4Addr,
        /// TCP port of the server, 1-65535.
        #[arg(long, default_value_t = NonZeroU16::new(DEFAULT_PORT).unwrap())]
        port: NonZeroU16,
        #[arg(long, value_parser = clap::value_parser!(LogLevel), ignore_case = true)]
        log_level: Option<LogLevel>,
        /// Folder holding qtfs.ko and qtfs_server.ko.
        #[arg(long, env = "QTFS_MODULES", default_value = "/lib/qtfs")]
        module_dir: PathBuf,
    },
    /// Unload a module; refused while it is in use.
    Unload { role: Role },
    /// Show the modules, their parameters, the file system type and mounts.
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Talk to qtfs_server.ko directly: handshake, then one read-only
    /// operation on a path within the export, with the caller's ids.
    Probe {
        /// The server, IP:PORT.
        #[arg(long)]
        server: SocketAddr,
        /// File holding the pre-shared key, 64 hex digits.
        #[arg(long)]
        key_file: PathBuf,
        /// The export to attach (the server's qtfs_export).
        #[arg(long, default_value = "/")]
        export: String,
        /// Send each path component to the server as written, `.` and `..`
        /// included (tests of the server's own checks; `stat` only).
        #[arg(long, hide = true)]
        raw_name: bool,
        action: probe::Action,
        /// Path within the export ("/" or "" is its root).
        #[arg(default_value = "/")]
        path: String,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("qtfsctl: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Load {
            role,
            server_ip,
            port,
            log_level,
            module_dir,
        } => {
            let params = ModuleParams {
                server_ip,
                server_port: port,
                log_level,
            };
            load(role, &module_dir, &params)
        }
        Command::Unload { role } => {
            kmod::unload(role.module_name()).map_err(|e| explain_unload(role, e))
        }
        Command::Status { json } => {
            let status = status::read(Path::new("/")).context("reading module status")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{status}");
            }
            Ok(())
        }
        Command::Probe {
            server,
            key_file,
            export,
            raw_name,
            action,
            path,
        } => {
            let text = std::fs::read_to_string(&key_file)
                .with_context(|| format!("reading {}", key_file.display()))?;
            let key = peer::parse_key(&text)?;
            if raw_name {
                if action != probe::Action::Stat {
                    bail!("--raw-name works with the stat action only");
                }
                return rawname::stat(server, &key, &export, &path);
            }
            let target = probe::Target {
                server,
                key,
                export,
            };
            probe::run(&target, action, &path)
        }
    }
}

fn load(role: Role, module_dir: &Path, params: &ModuleParams) -> Result<()> {
    let path = module_dir.join(format!("{}.ko", role.module_name()));
    let args = params.to_kernel_args();
    kmod::load(&path, &args).map_err(|e| match e.raw_os_error() {
        Some(libc::EEXIST) => anyhow!("{} is already loaded", role.module_name()),
        Some(libc::EINVAL) => anyhow!(
            "the kernel refused {} with '{args}': the kernel log (dmesg) names the bad value",
            path.display()
        ),
        Some(libc::EADDRINUSE) => anyhow!("port {} is in use on this machine", params.server_port),
        _ => anyhow!("loading {}: {e}", path.display()),
    })?;
    println!("loaded {} ({args})", role.module_name());
    Ok(())
}

fn explain_unload(role: Role, err: std::io::Error) -> anyhow::Error {
    match err.raw_os_error() {
        Some(libc::ENOENT) => anyhow!("{} is not loaded", role.module_name()),
        Some(libc::EWOULDBLOCK) | Some(libc::EBUSY) => {
            anyhow!("{} is in use (unmount qtfs first)", role.module_name())
        }
        _ => anyhow!("unloading {}: {err}", role.module_name()),
    }
}
