//! qtfs-stress: data-integrity stress for qtfs, checked against a model.
//!
//! - `run DIR`: several worker processes do random writes, truncates,
//!   reads, appends and shared-mmap writes on private and shared files in
//!   DIR; every read is checked at once, every file at the end (see
//!   `model.rs` for why the model stays exact). Prints the seed and the
//!   operations by kind; any mismatch fails with its offset, expected and
//!   found bytes.
//! - `verify DIR`: the same final check, anywhere (the HOST runs it over
//!   its own copies); it needs only DIR's `stress.json`.
//! - `c2o-host` / `c2o-dpu`: close-to-open across the link (`c2o.rs`).
//! - `journal` / `verify-journal`: fsync-acknowledged writes across a
//!   server restart (`journal.rs`).
//! - `fill` / `check-fill` / `hog`: memory pressure (`pressure.rs`).
mod c2o;
mod gen;
mod io;
mod journal;
mod model;
mod pressure;
mod run;
mod verify;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "qtfs-stress",
    about = "data-integrity stress for qtfs, checked against a model"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Sizes as bytes, or with K/M/G (binary) suffixes.
fn size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| n * mult)
        .map_err(|e| format!("{s}: {e}"))
}

fn default_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    t.as_nanos() as u64 ^ std::process::id() as u64
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the workers in DIR (created; its files are replaced).
    Run {
        dir: PathBuf,
        /// The seed (default: from the clock; printed either way).
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, default_value_t = 4)]
        workers: u32,
        /// Operations per worker.
        #[arg(long, default_value_t = 1000)]
        ops: u64,
        #[arg(long, value_parser = size, default_value = "192K")]
        max_size: u64,
        #[arg(long, default_value_t = 1000)]
        slot_size: u64,
        #[arg(long, default_value_t = 24)]
        slots_per_worker: u64,
        #[arg(long, default_value_t = 200)]
        log_record: u64,
        /// Leave these kinds of operation out (comma-separated names as
        /// the counts print them, e.g. mmap_write,slot_mmap).
        #[arg(long, value_delimiter = ',')]
        without: Vec<String>,
        /// Mapped slot writes into the same file (and pages) as the
        /// `pwrite`s of other workers (qtfs loses such writes today).
        #[arg(long)]
        mixed: bool,
    },
    /// One worker of `run` (started by it).
    #[command(hide = true)]
    Worker { dir: PathBuf, id: u32 },
    /// Compare the files of a finished `run` in DIR with the model.
    Verify { dir: PathBuf },
    /// HOST side of the close-to-open check: listen on PORT, write ROUNDS versions.
    C2oHost {
        dir: PathBuf,
        #[arg(long)]
        port: u16,
        #[arg(long, default_value_t = 100)]
        rounds: u64,
        #[arg(long)]
        seed: u64,
    },
    /// DPU side: connect to HOST:PORT, check every version with READERS threads.
    C2oDpu {
        dir: PathBuf,
        #[arg(long)]
        host: String,
        #[arg(long, default_value_t = 3)]
        readers: u32,
        #[arg(long)]
        seed: u64,
        /// Keep reading while the HOST writes the next version.
        #[arg(long)]
        race: bool,
    },
    /// Fsync-acknowledged writes into DIR, journaled in JOURNAL (keep it off qtfs).
    Journal {
        dir: PathBuf,
        #[arg(long)]
        journal: PathBuf,
        #[arg(long)]
        seed: Option<u64>,
        /// At least this many records.
        #[arg(long, default_value_t = 200)]
        ops: u64,
        /// And go on until this file exists.
        #[arg(long)]
        stop_file: Option<PathBuf>,
        #[arg(long, default_value_t = 2)]
        files: u64,
        #[arg(long, default_value_t = 3000)]
        record: u64,
        /// Longest outage to ride out, seconds.
        #[arg(long, default_value_t = 240)]
        retry_for: u64,
    },
    /// The mapped write of one journal record (started by `journal`).
    #[command(hide = true)]
    MmapPut {
        path: PathBuf,
        offset: u64,
        seed: u64,
        seq: u64,
        len: u64,
    },
    /// Check that every record JOURNAL acknowledges is in DIR.
    VerifyJournal {
        dir: PathBuf,
        #[arg(long)]
        journal: PathBuf,
    },
    /// Write SIZE bytes of deterministic blocks to FILE.
    Fill {
        file: PathBuf,
        #[arg(long, value_parser = size)]
        size: u64,
        #[arg(long)]
        seed: u64,
        /// Store through one shared mapping of the whole file.
        #[arg(long)]
        mmap: bool,
        /// Store through a shared mapping of each MiB in turn (mapped,
        /// stored, msync'ed, unmapped).
        #[arg(long, conflicts_with = "mmap")]
        mmap_windows: bool,
        /// fdatasync (or msync) after every so many bytes; 0: at the end.
        #[arg(long, value_parser = size, default_value = "8M")]
        sync_every: u64,
    },
    /// Check a file `fill` wrote.
    CheckFill {
        file: PathBuf,
        #[arg(long, value_parser = size)]
        size: u64,
        #[arg(long)]
        seed: u64,
    },
    /// Hold all but KEEP_FREE of the available memory.
    Hog {
        #[arg(long, value_parser = size, default_value = "48M")]
        keep_free: u64,
        #[arg(long, default_value_t = 300)]
        seconds: u64,
        #[arg(long)]
        stop_file: Option<PathBuf>,
    },
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Run {
            dir,
            seed,
            workers,
            ops,
            max_size,
            slot_size,
            slots_per_worker,
            log_record,
            without,
            mixed,
        } => {
            let without = without
                .iter()
                .map(|n| {
                    model::Kind::from_name(n)
                        .ok_or_else(|| anyhow::anyhow!("--without: unknown kind {n:?}"))
                })
                .collect::<Result<Vec<_>>>()?;
            if without.len() >= model::Kind::ALL.len() {
                anyhow::bail!("--without leaves no operation");
            }
            if workers == 0
                || slots_per_worker == 0
                || slot_size <= gen::HEADER as u64
                || log_record <= gen::HEADER as u64
            {
                anyhow::bail!(
                    "need workers, slots and records larger than their {}-byte header",
                    gen::HEADER
                );
            }
            if max_size < 65536 {
                anyhow::bail!("--max-size must be at least 64K");
            }
            let p = model::Params {
                seed: seed.unwrap_or_else(default_seed),
                workers,
                ops,
                max_size,
                slot_size,
                slots_per_worker,
                log_record,
                without,
                mixed,
            };
            run::coordinate(&dir, &p)
        }
        Cmd::Worker { dir, id } => run::work(&dir, id),
        Cmd::Verify { dir } => verify::verify(&dir),
        Cmd::C2oHost {
            dir,
            port,
            rounds,
            seed,
        } => c2o::host(&dir, port, rounds, seed),
        Cmd::C2oDpu {
            dir,
            host,
            readers,
            seed,
            race,
        } => c2o::dpu(&dir, &host, readers, seed, race),
        Cmd::Journal {
            dir,
            journal,
            seed,
            ops,
            stop_file,
            files,
            record,
            retry_for,
        } => {
            if files == 0 || record <= gen::HEADER as u64 {
                anyhow::bail!(
                    "need at least one file and records larger than {} bytes",
                    gen::HEADER
                );
            }
            let p = journal::JournalParams {
                seed: seed.unwrap_or_else(default_seed),
                files,
                record,
            };
            println!("journal: seed={} files={files} record={record}", p.seed);
            let o = journal::Options {
                ops,
                stop_file,
                retry_for: Duration::from_secs(retry_for),
            };
            journal::write(&dir, &journal, &p, &o)
        }
        Cmd::MmapPut {
            path,
            offset,
            seed,
            seq,
            len,
        } => journal::mmap_put(&path, offset, seed, seq, len),
        Cmd::VerifyJournal { dir, journal } => journal::verify(&dir, &journal),
        Cmd::Fill {
            file,
            size,
            seed,
            mmap,
            mmap_windows,
            sync_every,
        } => {
            let mode = match (mmap, mmap_windows) {
                (true, _) => pressure::FillMode::Mmap,
                (_, true) => pressure::FillMode::MmapWindows,
                _ => pressure::FillMode::Write,
            };
            pressure::fill(&file, size, seed, mode, sync_every)
        }
        Cmd::CheckFill { file, size, seed } => pressure::check_fill(&file, size, seed),
        Cmd::Hog {
            keep_free,
            seconds,
            stop_file,
        } => pressure::hog(keep_free, seconds, stop_file.as_deref()),
    }
}
