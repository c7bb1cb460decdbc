//! qtfs-proctool: checks of a qtfs mount of the HOST's /proc and /sys that
//! need one process doing several things (busybox runs each command in a
//! process of its own), for the VM tests.
//!
//! - `whoami MNT`: prints `pid=`, `self=` (readlink MNT/self),
//!   `thread_self=`, `self_stat=` and `pid_stat=` (the first field of
//!   MNT/self/stat and MNT/<pid>/stat): all must be this process.
//! - `readtree DIR...`: reads every regular file under each DIR (symlinks
//!   not followed), prints `files= read= failed= bytes=`.
//! - `round-trips FILE COUNT STATUS`: reads FILE whole COUNT times and
//!   prints, from the client's status file STATUS, the round trips each
//!   read cost (`per_read=<median> min= max=`).
//! - `stat-rate DIR REPS`: open/read/close of DIR/<pid>/stat for every
//!   numeric entry of DIR, REPS times; prints `pids= reads= per_second=`.
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;
use std::time::Instant;

fn first_field(path: &Path) -> Result<String> {
    let s = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    Ok(s.split(' ').next().unwrap_or("").to_string())
}

fn whoami(mnt: &str) -> Result<()> {
    let m = Path::new(mnt);
    let pid = std::process::id();
    let link = |p: &str| -> Result<String> {
        Ok(std::fs::read_link(m.join(p))
            .with_context(|| format!("readlink {mnt}/{p}"))?
            .display()
            .to_string())
    };
    println!("pid={pid}");
    println!("self={}", link("self")?);
    println!("thread_self={}", link("thread-self")?);
    println!("self_stat={}", first_field(&m.join("self/stat"))?);
    println!("pid_stat={}", first_field(&m.join(format!("{pid}/stat")))?);
    Ok(())
}

#[derive(Default)]
struct TreeCount {
    files: u64,
    read: u64,
    failed: u64,
    bytes: u64,
}

fn readtree(dir: &Path, c: &mut TreeCount) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        c.failed += 1;
        return;
    };
    let mut buf = vec![0u8; 64 << 10];
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        let p = e.path();
        if t.is_dir() {
            readtree(&p, c);
        } else if t.is_file() {
            c.files += 1;
            match std::fs::File::open(&p) {
                Ok(mut f) => {
                    let mut ok = true;
                    loop {
                        match f.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => c.bytes += n as u64,
                            Err(_) => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    if ok {
                        c.read += 1;
                    } else {
                        c.failed += 1;
                    }
                }
                Err(_) => c.failed += 1,
            }
        }
    }
}

/// The `round_trips` line of a status file, and each opcode's calls.
fn counters(status: &str) -> Result<(u64, Vec<(String, u64)>)> {
    let s = std::fs::read_to_string(status).with_context(|| format!("read {status}"))?;
    let total = s
        .lines()
        .find_map(|l| l.strip_prefix("round_trips "))
        .context("no round_trips line")?
        .trim()
        .parse()
        .context("round_trips value")?;
    let ops = s
        .lines()
        .filter_map(|l| {
            let mut f = l.strip_prefix("op ")?.split(' ');
            Some((f.next()?.to_string(), f.next()?.parse().ok()?))
        })
        .collect();
    Ok((total, ops))
}

fn round_trips(status: &str) -> Result<u64> {
    Ok(counters(status)?.0)
}

fn round_trip_count(file: &str, count: usize, status: &str) -> Result<()> {
    if count == 0 {
        bail!("COUNT must be at least 1");
    }
    std::fs::read(file).with_context(|| format!("read {file}"))?; // warm the names
    let mut per = Vec::with_capacity(count);
    for _ in 0..count {
        let before = round_trips(status)?;
        std::fs::read(file).with_context(|| format!("read {file}"))?;
        per.push(round_trips(status)? - before);
    }
    // What the last read cost, by opcode.
    let (_, before) = counters(status)?;
    std::fs::read(file).with_context(|| format!("read {file}"))?;
    let (_, after) = counters(status)?;
    let mut last = String::new();
    for (name, n) in &after {
        let was = before
            .iter()
            .find(|(b, _)| b == name)
            .map_or(0, |(_, v)| *v);
        if *n > was {
            last.push_str(&format!(" {name}={}", n - was));
        }
    }
    per.sort_unstable();
    println!("last_read:{last}");
    println!(
        "per_read={} min={} max={} reads={count}",
        per[count / 2],
        per[0],
        per[count - 1]
    );
    Ok(())
}

fn stat_rate(dir: &str, reps: usize) -> Result<()> {
    let mut pids: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("list {dir}"))?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    pids.sort();
    let paths: Vec<_> = pids
        .iter()
        .map(|p| Path::new(dir).join(p).join("stat"))
        .collect();
    let mut buf = vec![0u8; 4096];
    let mut reads = 0u64;
    let start = Instant::now();
    for _ in 0..reps {
        for p in &paths {
            if let Ok(mut f) = std::fs::File::open(p) {
                while matches!(f.read(&mut buf), Ok(n) if n > 0) {}
                reads += 1;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "pids={} reads={reads} seconds={secs:.3} per_second={:.0}",
        pids.len(),
        reads as f64 / secs.max(1e-9)
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        [_, "whoami", mnt] => whoami(mnt),
        [_, "readtree", dirs @ ..] if !dirs.is_empty() => {
            let mut c = TreeCount::default();
            for d in dirs {
                readtree(Path::new(d), &mut c);
            }
            println!(
                "files={} read={} failed={} bytes={}",
                c.files, c.read, c.failed, c.bytes
            );
            Ok(())
        }
        [_, "round-trips", file, count, status] => {
            round_trip_count(file, count.parse().context("COUNT")?, status)
        }
        [_, "stat-rate", dir, reps] => stat_rate(dir, reps.parse().context("REPS")?),
        _ => bail!(
            "usage: qtfs-proctool whoami MNT | readtree DIR... | \
             round-trips FILE COUNT STATUS | stat-rate DIR REPS"
        ),
    }
}
