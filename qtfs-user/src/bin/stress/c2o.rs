//! Close-to-open across the link: the HOST writes a new version of a file
//! and closes it, then tells the DPU (over TCP, the barrier); every DPU
//! reader then opens the file and must see exactly that version, whole.
//! Between versions the DPU readers keep reading the file (`--race`), so
//! that their cached pages and attributes are as fresh as can be when the
//! HOST writes the next one: the open after the barrier must still drop
//! them.
//!
//! Versions are written three ways in turn: truncate and write, an
//! overwrite of the same size (only ctime or the change cookie differs)
//! and a new file renamed over the old one (a new inode).
use crate::gen::{first_difference, mix, Rng};
use crate::io::read_all;
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

pub const FILE: &str = "c2o-file";
const MAX_VERSION_SIZE: u64 = 256 << 10;
/// How long either side waits for the other's next line.
const LINE_TIMEOUT: Duration = Duration::from_secs(120);

pub fn version(seed: u64, n: u64, size: u64) -> Vec<u8> {
    let mut v = vec![0u8; size as usize];
    Rng::new(mix(&[seed, n, 0x0063_326f])).fill(&mut v);
    let tag = format!("version {n:012}\n");
    let k = tag.len().min(v.len());
    v[..k].copy_from_slice(&tag.as_bytes()[..k]);
    v
}

fn size_of_version(seed: u64, n: u64, previous: u64) -> u64 {
    if n % 3 == 1 && previous > 0 {
        previous // same-size overwrite
    } else {
        Rng::new(mix(&[seed, n, 0x73697a65])).range(1, MAX_VERSION_SIZE)
    }
}

fn read_line(r: &mut BufReader<TcpStream>) -> Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        bail!("the peer closed the connection");
    }
    Ok(line.trim_end().to_string())
}

/// The HOST side: writes `rounds` versions, each acknowledged by the DPU.
pub fn host(dir: &Path, port: u16, rounds: u64, seed: u64) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(FILE);
    let mut size = size_of_version(seed, 0, 0);
    std::fs::write(&path, version(seed, 0, size))?;
    let listener =
        TcpListener::bind(("0.0.0.0", port)).with_context(|| format!("listen on {port}"))?;
    let (stream, peer) = listener.accept()?;
    stream.set_read_timeout(Some(LINE_TIMEOUT))?;
    println!("c2o-host: DPU {peer} connected");
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let started = Instant::now();
    for n in 1..=rounds {
        size = size_of_version(seed, n, size);
        let data = version(seed, n, size);
        match n % 3 {
            0 => std::fs::write(&path, &data)?,
            1 => {
                let mut f = std::fs::OpenOptions::new().write(true).open(&path)?;
                f.write_all(&data)?;
            }
            _ => {
                let tmp = dir.join(".c2o-next");
                std::fs::write(&tmp, &data)?;
                std::fs::rename(&tmp, &path)?;
            }
        }
        writeln!(out, "v {n} {size}")?;
        let answer = read_line(&mut reader)
            .with_context(|| format!("waiting for the DPU's check of version {n}"))?;
        if answer != format!("ok {n}") {
            bail!("version {n}: the DPU says: {answer}");
        }
    }
    writeln!(out, "end")?;
    println!(
        "c2o-host: {rounds} versions written and seen whole by the DPU, {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

struct Shared {
    round: AtomicU64,
    size: AtomicU64,
    stop: AtomicBool,
    race_reads: AtomicU64,
}

fn reader(
    dir: &Path,
    seed: u64,
    race: bool,
    shared: &Shared,
    results: mpsc::Sender<(u64, Result<(), String>)>,
) {
    let path = dir.join(FILE);
    let mut checked = 0u64;
    while !shared.stop.load(Ordering::Acquire) {
        let n = shared.round.load(Ordering::Acquire);
        if n > checked {
            let size = shared.size.load(Ordering::Acquire);
            let verdict = std::fs::File::open(&path)
                .and_then(|f| read_all(&f))
                .map_err(|e| format!("read: {e}"))
                .and_then(
                    |got| match first_difference(0, &version(seed, n, size), &got) {
                        None => Ok(()),
                        Some(d) => Err(format!(
                            "{d}; the file starts {:?}",
                            String::from_utf8_lossy(&got[..got.len().min(20)])
                        )),
                    },
                );
            checked = n;
            if results.send((n, verdict)).is_err() {
                return;
            }
        } else if race {
            if let Ok(f) = std::fs::File::open(&path) {
                let _ = read_all(&f);
                shared.race_reads.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// The DPU side: `readers` threads with their own descriptors check every
/// version the HOST announces.
pub fn dpu(dir: &Path, host: &str, readers: u32, seed: u64, race: bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let stream = loop {
        match TcpStream::connect(host) {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => return Err(e).with_context(|| format!("connect to {host}")),
        }
    };
    stream.set_read_timeout(Some(LINE_TIMEOUT))?;
    let mut lines = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let shared = Arc::new(Shared {
        round: AtomicU64::new(0),
        size: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        race_reads: AtomicU64::new(0),
    });
    let (tx, rx) = mpsc::channel();
    let threads: Vec<_> = (0..readers)
        .map(|_| {
            let (shared, tx, dir) = (shared.clone(), tx.clone(), dir.to_path_buf());
            std::thread::spawn(move || reader(&dir, seed, race, &shared, tx))
        })
        .collect();
    drop(tx);
    let result = (|| -> Result<u64> {
        let mut rounds = 0;
        loop {
            let line = read_line(&mut lines)?;
            if line == "end" {
                return Ok(rounds);
            }
            let mut words = line.split(' ');
            let (Some("v"), Some(n), Some(size)) = (words.next(), words.next(), words.next())
            else {
                bail!("unexpected line from the HOST: {line:?}");
            };
            let (n, size): (u64, u64) = (n.parse()?, size.parse()?);
            shared.size.store(size, Ordering::Release);
            shared.round.store(n, Ordering::Release);
            let mut failures = Vec::new();
            for _ in 0..readers {
                let (m, verdict) = rx
                    .recv_timeout(LINE_TIMEOUT)
                    .context("a reader never reported")?;
                if m != n {
                    bail!("a reader checked version {m} instead of {n}");
                }
                if let Err(e) = verdict {
                    failures.push(e);
                }
            }
            if let Some(first) = failures.first() {
                writeln!(out, "fail {n}: {first}")?;
                println!(
                    "MISMATCH c2o version {n}: {} of {readers} readers: {first}",
                    failures.len()
                );
                bail!("version {n} not seen whole after close and barrier");
            }
            writeln!(out, "ok {n}")?;
            rounds += 1;
        }
    })();
    shared.stop.store(true, Ordering::Release);
    for t in threads {
        let _ = t.join();
    }
    let rounds = result?;
    println!(
        "c2o-dpu: rounds={rounds} readers={readers} checks={} race_reads={} mismatches=0",
        rounds * readers as u64,
        shared.race_reads.load(Ordering::Relaxed)
    );
    Ok(())
}
