//! qtfsctl: load and unload the qtfs kernel modules, set the server's
//! exports and show the modules' state; `probe` talks to the server.
//! (Mounting and the offload procedure come with the roadmap.)

mod exports;
mod keyfile;
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
use clap::{Args, Parser, Subcommand};

use exports::ExportList;
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
    /// Load qtfs_server.ko (server, on the HOST) or qtfs.ko (client, on the
    /// DPU) with its parameters.
    Load {
        #[command(subcommand)]
        role: LoadRole,
    },
    /// Unload a module; refused while it is in use.
    Unload { role: Role },
    /// The loaded server's export list (`qtfs_exports`).
    Exports {
        #[command(subcommand)]
        action: ExportsAction,
    },
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
        /// The export to attach (one of the server's exports).
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

#[derive(Subcommand)]
enum LoadRole {
    /// qtfs_server.ko: listen on --server-ip and serve --exports.
    Server {
        #[command(flatten)]
        common: LoadArgs,
        /// Comma-separated absolute directories to serve, each with optional
        /// `:ro` (read-only) and `:crossmnt` (serve mounts beneath it), e.g.
        /// `/srv/a,/srv/b:ro`.
        #[arg(long)]
        exports: ExportList,
        /// Serve uid 0 of the client as an unprivileged user.
        #[arg(long)]
        root_squash: bool,
    },
    /// qtfs.ko: connect to the server at --server-ip.
    Client {
        #[command(flatten)]
        common: LoadArgs,
    },
}

#[derive(Args)]
struct LoadArgs {
    /// The server's IPv4 address (for the server: the address it listens on).
    #[arg(long)]
    server_ip: Ipv4Addr,
    /// TCP port of the server, 1-65535.
    #[arg(long, default_value_t = NonZeroU16::new(DEFAULT_PORT).unwrap())]
    port: NonZeroU16,
    /// File holding the pre-shared key: 64 hex digits, readable and writable
    /// by its owner only (mode 0600 or stricter).
    #[arg(long)]
    key_file: PathBuf,
    #[arg(long, value_parser = clap::value_parser!(LogLevel), ignore_case = true)]
    log_level: Option<LogLevel>,
    /// Folder holding qtfs.ko and qtfs_server.ko.
    #[arg(long, env = "QTFS_MODULES", default_value = "/lib/qtfs")]
    module_dir: PathBuf,
}

#[derive(Subcommand)]
enum ExportsAction {
    /// Replace the loaded server's export list (validated first).
    Set { list: ExportList },
    /// Print the loaded server's export list.
    Show,
}

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`qtfsctl status | head`), as C tools
    // do, instead of panicking in println!.
    // SAFETY: setting a signal's disposition to the default has no
    // preconditions; no other thread exists yet.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
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
        Command::Load { role } => {
            let (role, common, exports, root_squash) = match role {
                LoadRole::Server {
                    common,
                    exports,
                    root_squash,
                } => (Role::Server, common, Some(exports), root_squash),
                LoadRole::Client { common } => (Role::Client, common, None, false),
            };
            let params = ModuleParams {
                server_ip: common.server_ip,
                server_port: common.port,
                log_level: common.log_level,
                auth_key: Some(keyfile::read(&common.key_file)?),
                exports,
                root_squash,
            };
            load(role, &common.module_dir, &params)
        }
        Command::Unload { role } => {
            kmod::unload(role.module_name()).map_err(|e| explain_unload(role, e))
        }
        Command::Exports { action } => match action {
            ExportsAction::Set { list } => {
                exports::set(Path::new("/"), &list)?;
                print!("qtfs_exports={list}\n{}", list.describe());
                Ok(())
            }
            ExportsAction::Show => {
                println!("{}", exports::show(Path::new("/"))?);
                Ok(())
            }
        },
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
            // Test keys may be shared (the scenarios read one as two
            // users): the probe does not insist on a private file.
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
    let image = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    // The kernel ignores a parameter the module does not declare (it only
    // logs "unknown parameter"): say so here, where the user sees it.
    let declared = kmod::declared_params(&image);
    for name in params.names() {
        if !declared.iter().any(|d| d == name) {
            eprintln!(
                "qtfsctl: warning: {} declares no parameter {name}: the kernel will ignore it",
                path.display()
            );
        }
    }
    let args = params.to_kernel_args();
    let shown = params.to_display_args();
    kmod::load(&path, &args).map_err(|e| match e.raw_os_error() {
        Some(libc::EEXIST) => anyhow!("{} is already loaded", role.module_name()),
        Some(libc::EINVAL) => anyhow!(
            "the kernel refused {} with '{shown}': the kernel log (dmesg) names the bad value",
            path.display()
        ),
        Some(libc::EADDRINUSE) => anyhow!("port {} is in use on this machine", params.server_port),
        _ => anyhow!("loading {}: {e}", path.display()),
    })?;
    println!("loaded {} ({shown})", role.module_name());
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("qtfsctl").chain(args.split_whitespace()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn load_server_takes_exports_key_file_and_root_squash() {
        let cli = parse(
            "load server --server-ip 10.10.0.1 --port 2000 --exports /a,/b:ro:crossmnt \
             --key-file /k --root-squash --log-level debug --module-dir /m",
        )
        .unwrap();
        let Command::Load {
            role:
                LoadRole::Server {
                    common,
                    exports,
                    root_squash,
                },
        } = cli.command
        else {
            panic!("not load server")
        };
        assert_eq!(exports.to_string(), "/a,/b:ro:crossmnt");
        assert!(root_squash);
        assert_eq!(common.server_ip, Ipv4Addr::new(10, 10, 0, 1));
        assert_eq!(common.port.get(), 2000);
        assert_eq!(common.key_file, Path::new("/k"));
        assert_eq!(common.log_level, Some(LogLevel::Debug));
        assert_eq!(common.module_dir, Path::new("/m"));
    }

    #[test]
    fn load_refuses_what_is_missing_or_malformed() {
        for bad in [
            "load server --server-ip 10.10.0.1 --key-file /k",
            "load server --server-ip 10.10.0.1 --exports /a",
            "load server --server-ip 10.10.0.1 --exports a --key-file /k",
            "load server --server-ip 10.10.0.1 --exports /a:rw --key-file /k",
            "load client --server-ip 10.10.0.1",
            "load client --server-ip 10.10.0.1 --key-file /k --exports /a",
            "load client --server-ip 10.10.0.1 --key-file /k --root-squash",
            "load client --server-ip 10.10.0.256 --key-file /k",
            "load client --server-ip 10.10.0.1 --key-file /k --port 0",
        ] {
            assert!(parse(bad).is_err(), "accepted: {bad}");
        }
        let err = parse("load server --server-ip 1.2.3.4 --key-file /k --exports /a:rw")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("unknown option \"rw\""), "{err}");
        assert!(parse("load client --server-ip 10.10.0.1 --key-file /k").is_ok());
    }

    #[test]
    fn exports_set_validates_before_anything_is_written() {
        assert!(parse("exports set /a,/b:ro").is_ok());
        assert!(parse("exports show").is_ok());
        let err = parse("exports set /a,../b").err().unwrap().to_string();
        assert!(err.contains("not an absolute path"), "{err}");
    }
}
