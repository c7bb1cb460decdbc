//! qtfs-proctool: checks of a qtfs mount of the HOST's /proc and /sys that
//! need one process doing several things (busybox runs each command in a
//! process of its own), for the VM tests.
//!
//! - `whoami MNT`: prints `pid=`, `self=` (readlink MNT/self),
//!   `thread_self=`, `self_stat=` and `pid_stat=` (the first field of
//!   MNT/self/stat and MNT/<pid>/stat): all must be this process.
//! - `readtree [--no-tasks] [--errors] DIR...`: reads every regular file under each
//!   DIR (symlinks not followed, no mount beneath entered, each opened
//!   `O_NONBLOCK`; with `--no-tasks`, not the `<pid>/task` directories)
//!   with 8 threads, prints
//!   `files= read= failed= bytes=` (with `--errors`, then one line per
//!   failing file name, step and errno).
//! - `round-trips FILE COUNT STATUS`: reads FILE whole COUNT times and
//!   prints, from the client's status file STATUS, the round trips each
//!   read cost (`per_read=<median> min= max=`).
//! - `wait-event FILE SECONDS ARMED`: reads FILE (arming a kernfs file's
//!   event), waits with epoll for `EPOLLPRI` on it, having written
//!   `armed` to the file ARMED; prints `events=0x<mask> ms=<waited>` and
//!   the file's contents read again through the same open file, or fails
//!   after SECONDS.
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
    /// Failures by (file name, what failed, errno), with `--errors`.
    errors: std::collections::BTreeMap<(String, &'static str, i32), u64>,
    keep_errors: bool,
}

impl TreeCount {
    fn add(&mut self, o: &TreeCount) {
        self.files += o.files;
        self.read += o.read;
        self.failed += o.failed;
        self.bytes += o.bytes;
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }

    fn fail(&mut self, p: &Path, what: &'static str, e: &std::io::Error) {
        self.failed += 1;
        if self.keep_errors {
            let name = p
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned());
            *self
                .errors
                .entry((name, what, e.raw_os_error().unwrap_or(0)))
                .or_default() += 1;
        }
    }
}

/// Whether `p` is a `/proc/<pid>/task` directory (skipped with
/// `--no-tasks`: each holds the same files as its process's directory).
fn is_task_dir(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n == "task")
        && p.parent()
            .and_then(|d| d.file_name())
            .and_then(|n| n.to_str())
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn read_file(p: &Path, buf: &mut [u8], c: &mut TreeCount) {
    use std::os::unix::fs::OpenOptionsExt;
    c.files += 1;
    // Non-blocking, so that /proc/kmsg and the like answer EAGAIN.
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(p);
    let mut f = match opened {
        Ok(f) => f,
        Err(e) => return c.fail(p, "open", &e),
    };
    loop {
        match f.read(buf) {
            Ok(0) => break,
            Ok(n) => c.bytes += n as u64,
            Err(e) => return c.fail(p, "read", &e),
        }
    }
    c.read += 1;
}

/// Walks `dir`, staying on device `dev` (no mount beneath is entered).
fn readtree(dir: &Path, dev: u64, no_tasks: bool, buf: &mut [u8], c: &mut TreeCount) {
    use std::os::unix::fs::MetadataExt;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return c.fail(dir, "list", &e),
    };
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        let p = e.path();
        if t.is_dir() {
            let same_fs = std::fs::symlink_metadata(&p).is_ok_and(|m| m.dev() == dev);
            if same_fs && !(no_tasks && is_task_dir(&p)) {
                readtree(&p, dev, no_tasks, buf, c);
            }
        } else if t.is_file() {
            read_file(&p, buf, c);
        }
    }
}

/// Reads the trees with `THREADS` threads, each taking whole top-level
/// entries (the server answers requests in parallel).
fn readtrees(dirs: &[&str], no_tasks: bool, keep_errors: bool) -> TreeCount {
    const THREADS: usize = 8;
    let mut top = Vec::new();
    let mut total = TreeCount::default();
    for d in dirs {
        use std::os::unix::fs::MetadataExt;
        let dev = std::fs::metadata(d).map(|m| m.dev()).unwrap_or(0);
        match std::fs::read_dir(d) {
            Ok(entries) => top.extend(entries.flatten().map(|e| (e.path(), dev))),
            Err(_) => total.failed += 1,
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let counts = std::sync::Mutex::new(TreeCount::default());
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                let mut c = TreeCount {
                    keep_errors,
                    ..TreeCount::default()
                };
                let mut buf = vec![0u8; 64 << 10];
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((p, dev)) = top.get(i) else { break };
                    match std::fs::symlink_metadata(p) {
                        Ok(m) if m.is_dir() && std::os::unix::fs::MetadataExt::dev(&m) == *dev => {
                            readtree(p, *dev, no_tasks, &mut buf, &mut c)
                        }
                        Ok(m) if m.is_file() => read_file(p, &mut buf, &mut c),
                        _ => {}
                    }
                }
                counts.lock().unwrap().add(&c);
            });
        }
    });
    total.add(&counts.into_inner().unwrap());
    total
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

fn wait_event(file: &str, seconds: i32, armed: &str) -> Result<()> {
    use std::io::{Seek, SeekFrom};
    use std::os::fd::AsRawFd;
    let mut f = std::fs::File::open(file).with_context(|| format!("open {file}"))?;
    let mut first = String::new();
    f.read_to_string(&mut first).context("first read")?;
    // SAFETY: plain system calls on descriptors this function owns.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        bail!("epoll_create1: {}", std::io::Error::last_os_error());
    }
    let mut ev = libc::epoll_event {
        events: libc::EPOLLPRI as u32,
        u64: 1,
    };
    // SAFETY: as above; `ev` is valid for the call.
    if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, f.as_raw_fd(), &mut ev) } != 0 {
        bail!("epoll_ctl: {}", std::io::Error::last_os_error());
    }
    std::fs::write(armed, "armed\n").with_context(|| format!("write {armed}"))?;
    let start = Instant::now();
    let mut out = libc::epoll_event { events: 0, u64: 0 };
    // SAFETY: as above; `out` has room for one event.
    let n = unsafe { libc::epoll_wait(ep, &mut out, 1, seconds.saturating_mul(1000)) };
    let ms = start.elapsed().as_millis();
    if n < 0 {
        bail!("epoll_wait: {}", std::io::Error::last_os_error());
    }
    if n == 0 {
        bail!("no event within {seconds} s");
    }
    let events = out.events;
    println!("events={events:#x} ms={ms}");
    f.seek(SeekFrom::Start(0)).context("seek")?;
    let mut again = String::new();
    f.read_to_string(&mut again).context("second read")?;
    print!("{again}");
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        [_, "whoami", mnt] => whoami(mnt),
        [_, "readtree", rest @ ..] if !rest.is_empty() => {
            let mut rest = rest;
            let (mut no_tasks, mut errors) = (false, false);
            while let Some(opt) = rest.first() {
                match *opt {
                    "--no-tasks" => no_tasks = true,
                    "--errors" => errors = true,
                    _ => break,
                }
                rest = &rest[1..];
            }
            if rest.is_empty() {
                bail!("readtree needs a directory");
            }
            let c = readtrees(rest, no_tasks, errors);
            println!(
                "files={} read={} failed={} bytes={}",
                c.files, c.read, c.failed, c.bytes
            );
            for ((name, what, errno), n) in &c.errors {
                println!("error {what} {name} errno={errno} count={n}");
            }
            Ok(())
        }
        [_, "round-trips", file, count, status] => {
            round_trip_count(file, count.parse().context("COUNT")?, status)
        }
        [_, "stat-rate", dir, reps] => stat_rate(dir, reps.parse().context("REPS")?),
        [_, "wait-event", file, secs, armed] => {
            wait_event(file, secs.parse().context("SECONDS")?, armed)
        }
        _ => bail!(
            "usage: qtfs-proctool whoami MNT | readtree [--no-tasks] [--errors] DIR... | \
             round-trips FILE COUNT STATUS | stat-rate DIR REPS | wait-event FILE SECONDS ARMED"
        ),
    }
}
