//! qtfs-fsbench: the workloads of `make bench-fs` (tests/bench/fs/), run in
//! the DPU guest on each file system under test, and the HOST guest's
//! control server that the DPU asks for the HOST's /proc/stat, for dropping
//! the HOST's caches and for runs on the HOST itself.
//!
//! `qtfs-fsbench WORKLOAD key=value…` runs one workload: `warmup` untimed
//! repetitions, then `reps` timed ones, and prints one line
//! `BENCH {json}` per figure with every repetition's value, the median, min
//! and max, the CPU both guests spent during the timed repetitions (from
//! /proc/stat, in % of all of the guest's CPUs) and, on NFS, the RPCs per
//! operation (/proc/net/rpc/nfs, what nfsstat reads; for qtfs the client's
//! status file, /proc/fs/qtfs/status). Every figure is a rate,
//! higher is better. Keys common to all: `sys` (the name of the system under
//! test, in the output), `reps`, `warmup`, `host=IP:PORT` (the HOST's control
//! server; without it the HOST's side is neither measured nor dropped).
//!
//! `qtfs-fsbench serve PORT` is the control server (one command line per
//! connection): `stat` (its /proc/stat), `drop` (sync, drop caches),
//! `run ARGS…` (runs `qtfs-fsbench ARGS…` there and returns its output),
//! `echo` (echoes bytes back until EOF: the raw TCP round trip).
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type Args = BTreeMap<String, String>;
/// Busy and total jiffies of the DPU, of the HOST, and the NFS RPCs so far.
type Sample = ((u64, u64), (u64, u64), u64);

fn arg<'a>(a: &'a Args, k: &str) -> Result<&'a str> {
    a.get(k)
        .map(String::as_str)
        .ok_or_else(|| anyhow!("missing {k}=…"))
}

fn num(a: &Args, k: &str, default: Option<usize>) -> Result<usize> {
    match (a.get(k), default) {
        (Some(v), _) => v.parse().with_context(|| format!("{k}={v}")),
        (None, Some(d)) => Ok(d),
        (None, None) => bail!("missing {k}=…"),
    }
}

/// Busy and total jiffies of all CPUs, from a /proc/stat text.
fn cpu_jiffies(stat: &str) -> (u64, u64) {
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    // idle and iowait are not busy.
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// One request to the HOST's control server; the whole answer.
fn host_call(host: &str, cmd: &str) -> Result<String> {
    let mut s = TcpStream::connect(host).with_context(|| format!("connect {host}"))?;
    s.write_all(cmd.as_bytes())?;
    s.write_all(b"\n")?;
    s.shutdown(std::net::Shutdown::Write)?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

fn nfs_rpc_calls() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/net/rpc/nfs").ok()?;
    let line = s.lines().find(|l| l.starts_with("rpc "))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Requests the qtfs client has had answered (its status file,
/// docs/status.md): one per round trip.
fn qtfs_round_trips() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/fs/qtfs/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("round_trips "))?
        .trim()
        .parse()
        .ok()
}

fn drop_local() -> Result<()> {
    // SAFETY: sync(2) takes no arguments.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", "3").context("drop_caches")
}

/// Times repetitions and the CPU both guests spend in them.
struct Meter {
    sys: String,
    host: Option<String>,
    rpc: bool,
    values: Vec<f64>,
    ops: f64,
    local: (u64, u64),
    remote: (u64, u64),
    rpcs: u64,
    snap: Option<Snap>,
}

struct Snap {
    t: Instant,
    local: (u64, u64),
    remote: (u64, u64),
    rpcs: u64,
}

impl Meter {
    fn new(a: &Args) -> Meter {
        let sys = a.get("sys").cloned().unwrap_or_else(|| "?".into());
        Meter {
            rpc: sys.starts_with("nfs") || sys == "qtfs",
            sys,
            host: a.get("host").cloned(),
            values: vec![],
            ops: 0.0,
            local: (0, 0),
            remote: (0, 0),
            rpcs: 0,
            snap: None,
        }
    }

    fn sample(&self) -> Result<Sample> {
        let local = cpu_jiffies(&std::fs::read_to_string("/proc/stat")?);
        let remote = match &self.host {
            Some(h) => cpu_jiffies(&host_call(h, "stat")?),
            None => (0, 0),
        };
        let rpcs = match (self.rpc, self.sys.as_str()) {
            (false, _) => 0,
            (true, "qtfs") => qtfs_round_trips().unwrap_or(0),
            (true, _) => nfs_rpc_calls().unwrap_or(0),
        };
        Ok((local, remote, rpcs))
    }

    fn start(&mut self) -> Result<()> {
        let (local, remote, rpcs) = self.sample()?;
        self.snap = Some(Snap {
            t: Instant::now(),
            local,
            remote,
            rpcs,
        });
        Ok(())
    }

    /// Ends a timed stretch of `count` units (operations, MiB…); `keep`
    /// false for a warm-up.
    fn stop(&mut self, count: f64, keep: bool) -> Result<f64> {
        let secs = self
            .snap
            .as_ref()
            .ok_or_else(|| anyhow!("stop without start"))?
            .t
            .elapsed()
            .as_secs_f64()
            .max(1e-9);
        self.stop_value(count / secs, count, keep)?;
        Ok(secs)
    }

    /// Ends a timed stretch whose rate was measured otherwise.
    fn stop_value(&mut self, value: f64, count: f64, keep: bool) -> Result<()> {
        let snap = self
            .snap
            .take()
            .ok_or_else(|| anyhow!("stop without start"))?;
        let (local, remote, rpcs) = self.sample()?;
        if keep {
            self.values.push(value);
            self.ops += count;
            self.local.0 += local.0 - snap.local.0;
            self.local.1 += local.1 - snap.local.1;
            self.remote.0 += remote.0.saturating_sub(snap.remote.0);
            self.remote.1 += remote.1.saturating_sub(snap.remote.1);
            self.rpcs += rpcs.saturating_sub(snap.rpcs);
        }
        Ok(())
    }

    fn drop_caches(&self) -> Result<()> {
        drop_local()?;
        if let Some(h) = &self.host {
            let r = host_call(h, "drop")?;
            if r.trim() != "ok" {
                bail!("HOST drop: {r}");
            }
        }
        Ok(())
    }

    /// Prints the figure and resets for the next one.
    fn emit(&mut self, workload: &str, unit: &str, extra: Value) {
        let mut v = self.values.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        let median = if v.is_empty() {
            None
        } else if v.len() % 2 == 1 {
            Some(v[v.len() / 2])
        } else {
            Some((v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0)
        };
        let pct = |(busy, total): (u64, u64)| {
            if total == 0 {
                Value::Null
            } else {
                json!((busy as f64 * 1000.0 / total as f64).round() / 10.0)
            }
        };
        let mut o = json!({
            "sys": self.sys,
            "workload": workload,
            "unit": unit,
            "values": self.values,
            "median": median,
            "min": v.first(),
            "max": v.last(),
            "cpu_dpu": pct(self.local),
            "cpu_host": pct(self.remote),
            "rpc_per_op": if self.rpc && self.ops > 0.0 {
                json!((self.rpcs as f64 / self.ops * 100.0).round() / 100.0)
            } else {
                Value::Null
            },
        });
        if let (Value::Object(o), Value::Object(e)) = (&mut o, extra) {
            o.extend(e);
        }
        println!("BENCH {o}");
        let _ = std::io::stdout().flush();
        self.values.clear();
        self.ops = 0.0;
        self.local = (0, 0);
        self.remote = (0, 0);
        self.rpcs = 0;
    }

    /// A figure the system cannot give (not a failure: the report says n/a).
    fn emit_unsupported(&self, workload: &str, unit: &str, why: &str) {
        let o = json!({"sys": self.sys, "workload": workload, "unit": unit,
                       "values": [], "median": null, "unsupported": why});
        println!("BENCH {o}");
    }
}

fn reps(a: &Args) -> Result<(usize, usize)> {
    Ok((num(a, "warmup", Some(1))?, num(a, "reps", Some(3))?))
}

/// Repetitions: `warmup` untimed, then `reps` timed (rep index, keep?).
fn rounds(a: &Args) -> Result<Vec<(usize, bool)>> {
    let (w, r) = reps(a)?;
    Ok((0..w + r).map(|i| (i, i >= w)).collect())
}

// ---------------------------------------------------------------- workloads

fn prep(a: &Args) -> Result<()> {
    let dir = PathBuf::from(arg(a, "dir")?);
    let n = num(a, "files", Some(0))?;
    if n > 0 {
        let d = dir.join("files");
        std::fs::create_dir_all(&d)?;
        for i in 0..n {
            std::fs::File::create(d.join(format!("f{i}")))?;
        }
    }
    let mb = num(a, "mb", Some(0))?;
    if mb > 0 {
        let mut f = std::fs::File::create(dir.join("rand.dat"))?;
        let mut x = 0x9e3779b97f4a7c15u64;
        let mut chunk = vec![0u8; 1 << 20];
        for _ in 0..mb {
            for c in chunk.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                c.copy_from_slice(&x.to_le_bytes());
            }
            f.write_all(&chunk)?;
        }
        f.sync_all()?;
    }
    std::fs::write(dir.join("hot"), b"x")?;
    Ok(())
}

fn stat_hot(a: &Args) -> Result<()> {
    let mut m = Meter::new(a);
    let hot = Path::new(arg(a, "dir")?).join("hot");
    let n = num(a, "n", Some(10_000))?;
    for (_, keep) in rounds(a)? {
        m.start()?;
        for _ in 0..n {
            std::fs::metadata(&hot)?;
        }
        m.stop(n as f64, keep)?;
    }
    m.emit("stat_hot", "ops/s", json!({"n": n, "cache": "warm"}));
    Ok(())
}

fn stat_distinct(a: &Args) -> Result<()> {
    let mut m = Meter::new(a);
    let d = Path::new(arg(a, "dir")?).join("files");
    let n = num(a, "n", Some(10_000))?;
    for (_, keep) in rounds(a)? {
        m.drop_caches()?;
        m.start()?;
        for i in 0..n {
            std::fs::metadata(d.join(format!("f{i}")))?;
        }
        m.stop(n as f64, keep)?;
    }
    m.emit(
        "stat_distinct",
        "ops/s",
        json!({"n": n, "cache": "cold (dropped both sides each rep)"}),
    );
    Ok(())
}

fn ls_l(a: &Args) -> Result<()> {
    let mut m = Meter::new(a);
    let d = Path::new(arg(a, "dir")?).join("files");
    let n = num(a, "n", Some(10_000))?;
    for (_, keep) in rounds(a)? {
        m.drop_caches()?;
        m.start()?;
        let mut seen = 0usize;
        for e in std::fs::read_dir(&d)? {
            std::fs::symlink_metadata(e?.path())?;
            seen += 1;
        }
        m.stop(seen as f64, keep)?;
        if seen != n {
            bail!("listed {seen} of {n} entries");
        }
    }
    m.emit(
        "ls_l",
        "entries/s",
        json!({"n": n, "cache": "cold", "what": "readdir + lstat of each entry, as ls -l"}),
    );
    Ok(())
}

fn create_unlink(a: &Args) -> Result<()> {
    let mut mc = Meter::new(a);
    let mut mu = Meter::new(a);
    let base = Path::new(arg(a, "dir")?);
    let n = num(a, "n", Some(2000))?;
    let block = [7u8; 4096];
    for (rep, keep) in rounds(a)? {
        let d = base.join(format!("create{rep}"));
        std::fs::create_dir(&d)?;
        mc.start()?;
        for i in 0..n {
            let mut f = std::fs::File::create(d.join(format!("f{i}")))?;
            f.write_all(&block)?;
        }
        mc.stop(n as f64, keep)?;
        mu.start()?;
        for i in 0..n {
            std::fs::remove_file(d.join(format!("f{i}")))?;
        }
        mu.stop(n as f64, keep)?;
        std::fs::remove_dir(&d)?;
    }
    mc.emit("create_4k", "files/s", json!({"n": n}));
    mu.emit("unlink", "files/s", json!({"n": n}));
    Ok(())
}

/// A zeroed buffer aligned for O_DIRECT.
struct Aligned {
    ptr: *mut u8,
    layout: std::alloc::Layout,
}

impl Aligned {
    fn new(len: usize) -> Aligned {
        let layout = std::alloc::Layout::from_size_align(len, 4096).expect("layout");
        // SAFETY: a non-zero size with a valid alignment.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!ptr.is_null(), "out of memory");
        Aligned { ptr, layout }
    }
    fn buf(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` owns `layout.size()` initialised bytes.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.layout.size()) }
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr, self.layout) };
    }
}

fn seq(a: &Args) -> Result<()> {
    let mut mw = Meter::new(a);
    let mut mr = Meter::new(a);
    let file = Path::new(arg(a, "dir")?).join("seq.dat");
    let mb = num(a, "mb", Some(256))?;
    let direct = num(a, "direct", Some(0))? == 1;
    let flags = if direct { libc::O_DIRECT } else { 0 };
    let suffix = if direct { "_direct" } else { "" };
    let mut buf = Aligned::new(1 << 20);
    buf.buf().fill(0x5a);
    let extra = json!({"mb": mb, "io": "1 MiB", "direct": direct,
        "what": "write + fsync + close; caches dropped both sides; read to EOF"});
    for (_, keep) in rounds(a)? {
        let _ = std::fs::remove_file(&file);
        m_drop(&mw)?;
        mw.start()?;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(flags)
            .open(&file);
        let mut f = match f {
            Ok(f) => f,
            Err(e) if direct && e.raw_os_error() == Some(libc::EINVAL) => {
                let msg = format!("O_DIRECT not supported: {e}");
                mw.emit_unsupported(&format!("seq_write{suffix}"), "MiB/s", &msg);
                mr.emit_unsupported(&format!("seq_read{suffix}"), "MiB/s", &msg);
                return Ok(());
            }
            Err(e) => return Err(e).context("open for writing"),
        };
        for _ in 0..mb {
            f.write_all(buf.buf())?;
        }
        f.sync_all()?;
        drop(f);
        mw.stop(mb as f64, keep)?;
        m_drop(&mr)?;
        mr.start()?;
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(&file)
            .context("open for reading")?;
        let mut total = 0usize;
        loop {
            let k = f.read(buf.buf())?;
            if k == 0 {
                break;
            }
            total += k;
        }
        drop(f);
        mr.stop(mb as f64, keep)?;
        if total != mb << 20 {
            bail!("read {total} bytes of {}", mb << 20);
        }
    }
    let _ = std::fs::remove_file(&file);
    mw.emit(&format!("seq_write{suffix}"), "MiB/s", extra.clone());
    mr.emit(&format!("seq_read{suffix}"), "MiB/s", extra);
    Ok(())
}

fn m_drop(m: &Meter) -> Result<()> {
    m.drop_caches()
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn open_random(file: &Path) -> Result<(std::fs::File, u64)> {
    let f = std::fs::File::open(file).with_context(|| format!("open {}", file.display()))?;
    // As fio does by default: no readahead for random reads.
    // SAFETY: a valid descriptor; advice only.
    unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM) };
    let blocks = f.metadata()?.len() / 4096;
    if blocks == 0 {
        bail!("{} is empty", file.display());
    }
    Ok((f, blocks))
}

fn pread4k(f: &std::fs::File, x: &mut u64, blocks: u64, buf: &mut [u8]) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let off = (xorshift(x) % blocks) * 4096;
    f.read_exact_at(&mut buf[..4096], off)?;
    Ok(())
}

fn randread(a: &Args) -> Result<()> {
    let mut m = Meter::new(a);
    let file = PathBuf::from(arg(a, "file")?);
    let n = num(a, "n", Some(2000))?;
    let mut buf = [0u8; 4096];
    for (rep, keep) in rounds(a)? {
        m.drop_caches()?;
        let mut x = 0x2545F4914F6CDD1Du64 ^ (rep as u64 + 1);
        m.start()?;
        let (f, blocks) = open_random(&file)?;
        for _ in 0..n {
            pread4k(&f, &mut x, blocks, &mut buf)?;
        }
        m.stop(n as f64, keep)?;
    }
    m.emit(
        "randread_4k",
        "reads/s",
        json!({"n": n, "cache": "cold, POSIX_FADV_RANDOM (fio's default)"}),
    );
    Ok(())
}

/// `procs` processes doing `op` until `secs` have passed; operations done.
/// Also the seconds from their release to the last one's end.
fn in_parallel(
    procs: usize,
    secs: f64,
    op: &dyn Fn(usize, u64) -> Result<()>,
) -> Result<(u64, f64)> {
    let mut go = [0i32; 2];
    // SAFETY: a two-int array for pipe(2).
    if unsafe { libc::pipe(go.as_mut_ptr()) } != 0 {
        bail!("pipe: {}", std::io::Error::last_os_error());
    }
    let mut kids = vec![];
    for k in 0..procs {
        let mut res = [0i32; 2];
        // SAFETY: as above.
        if unsafe { libc::pipe(res.as_mut_ptr()) } != 0 {
            bail!("pipe: {}", std::io::Error::last_os_error());
        }
        let _ = std::io::stdout().flush();
        // SAFETY: this program is single-threaded; the child only runs `op`
        // and leaves with _exit.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            bail!("fork: {}", std::io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: the child's own copies of the descriptors.
            unsafe {
                libc::close(go[1]);
                libc::close(res[0]);
                let mut b = [0u8; 1];
                libc::read(go[0], b.as_mut_ptr().cast(), 1);
            }
            let deadline = Instant::now() + Duration::from_secs_f64(secs);
            let mut done = 0u64;
            let mut failed = false;
            while Instant::now() < deadline {
                if op(k, done).is_err() {
                    failed = true;
                    break;
                }
                done += 1;
            }
            let out = if failed { u64::MAX } else { done };
            // SAFETY: writing 8 bytes from a local, then leaving the child.
            unsafe {
                libc::write(res[1], out.to_le_bytes().as_ptr().cast(), 8);
                libc::_exit(0);
            }
        }
        // SAFETY: the parent's copy of the write end.
        unsafe { libc::close(res[1]) };
        kids.push((pid, res[0]));
    }
    let released = Instant::now();
    // SAFETY: closing our ends releases every child at once.
    unsafe {
        libc::close(go[0]);
        libc::close(go[1]);
    }
    let mut total = 0u64;
    let mut failed = false;
    for (pid, fd) in kids {
        // SAFETY: `fd` is ours; File takes it over and closes it.
        let mut r = unsafe { std::fs::File::from_raw_fd(fd) };
        let mut b = [0u8; 8];
        let got = r.read_exact(&mut b).is_ok();
        let mut status = 0;
        // SAFETY: our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let v = u64::from_le_bytes(b);
        if !got || v == u64::MAX {
            failed = true;
        } else {
            total += v;
        }
    }
    if failed {
        bail!("a worker process failed");
    }
    Ok((total, released.elapsed().as_secs_f64()))
}

fn scale(a: &Args, what: &str) -> Result<()> {
    let procs: Vec<usize> = arg(a, "procs")
        .unwrap_or("1,4,16,64")
        .split(',')
        .map(|p| p.parse().context("procs"))
        .collect::<Result<_>>()?;
    let secs = num(a, "secs", Some(5))? as f64;
    for p in procs {
        let mut m = Meter::new(a);
        let mut most = 0u64;
        for (_, keep) in rounds(a)? {
            m.drop_caches()?;
            m.start()?;
            let (done, took) = if what == "stat" {
                let d = Path::new(arg(a, "dir")?).join("files");
                let n = num(a, "n", Some(10_000))?;
                // Process k stats k, k+p, k+2p…: distinct files, cold.
                in_parallel(p, secs, &|k, i| {
                    let idx = (k as u64 + i * p as u64) % n as u64;
                    std::fs::metadata(d.join(format!("f{idx}")))?;
                    Ok(())
                })?
            } else {
                let file = PathBuf::from(arg(a, "file")?);
                in_parallel(p, secs, &|k, _| {
                    thread_local! {
                        static F: std::cell::RefCell<Option<(std::fs::File, u64, u64)>> =
                            const { std::cell::RefCell::new(None) };
                    }
                    F.with(|c| {
                        let mut c = c.borrow_mut();
                        if c.is_none() {
                            let (f, blocks) = open_random(&file)?;
                            *c = Some((f, blocks, 0x9E37_79B9_7F4A_7C15 ^ (k as u64 + 1)));
                        }
                        let (f, blocks, x) = c.as_mut().expect("opened");
                        let mut buf = [0u8; 4096];
                        pread4k(f, x, *blocks, &mut buf)
                    })
                })?
            };
            most = most.max(done);
            m.stop_value(done as f64 / took, done as f64, keep)?;
        }
        let (name, unit) = if what == "stat" {
            (format!("scale_stat_p{p}"), "ops/s")
        } else {
            (format!("scale_randread_p{p}"), "reads/s")
        };
        let mut extra = json!({"procs": p, "secs": secs, "cache": "cold"});
        let n = num(a, "n", Some(10_000))? as u64;
        if what == "stat" && most > n {
            extra["note"] = json!(format!(
                "up to {most} stats of {n} files: warm after the first pass"
            ));
        }
        m.emit(&name, unit, extra);
    }
    Ok(())
}

fn run_sh(cmd: &str) -> Result<()> {
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .status()?;
    if !st.success() {
        bail!("`{cmd}` failed: {st}");
    }
    Ok(())
}

fn tar(a: &Args) -> Result<()> {
    let mut mx = Meter::new(a);
    let mut mv = Meter::new(a);
    let base = Path::new(arg(a, "dir")?);
    let tarball = arg(a, "tarball")?;
    let manifest = arg(a, "manifest")?;
    let files = std::fs::read_to_string(manifest)?.lines().count();
    for (rep, keep) in rounds(a)? {
        let d = base.join(format!("tar{rep}"));
        std::fs::create_dir(&d)?;
        let ds = d.display();
        mx.drop_caches()?;
        mx.start()?;
        run_sh(&format!("tar -xf {tarball} -C {ds} && sync"))?;
        mx.stop(files as f64, keep)?;
        mv.drop_caches()?;
        mv.start()?;
        run_sh(&format!("cd {ds} && md5sum -c -s {manifest}"))?;
        mv.stop(files as f64, keep)?;
        run_sh(&format!("rm -rf {ds}"))?;
    }
    let extra = json!({"files": files});
    mx.emit("tar_extract", "files/s", extra.clone());
    mv.emit("tar_verify", "files/s", extra);
    Ok(())
}

fn procstat(a: &Args) -> Result<()> {
    let mut m = Meter::new(a);
    let dir = Path::new(arg(a, "dir")?);
    let pids: Vec<String> = std::fs::read_to_string(arg(a, "pids")?)?
        .split_whitespace()
        .map(String::from)
        .collect();
    let loops = num(a, "loops", Some(10))?;
    let mut buf = Vec::with_capacity(4096);
    for (_, keep) in rounds(a)? {
        m.start()?;
        for _ in 0..loops {
            for p in &pids {
                buf.clear();
                std::fs::File::open(dir.join(p).join("stat"))?.read_to_end(&mut buf)?;
                if buf.is_empty() {
                    bail!("{p}/stat is empty");
                }
            }
        }
        m.stop((loops * pids.len()) as f64, keep)?;
    }
    m.emit(
        "proc_pid_stat",
        "reads/s",
        json!({"processes": pids.len(), "what": "open, read to EOF, close"}),
    );
    Ok(())
}

fn tcp_rtt(a: &Args) -> Result<()> {
    let mut m = Meter::new(a);
    let n = num(a, "n", Some(2000))?;
    let mut s = TcpStream::connect(arg(a, "host")?)?;
    s.set_nodelay(true)?;
    s.write_all(b"echo\n")?;
    let mut b = [0u8; 64];
    for (_, keep) in rounds(a)? {
        m.start()?;
        for _ in 0..n {
            s.write_all(&b)?;
            s.read_exact(&mut b)?;
        }
        m.stop(n as f64, keep)?;
    }
    m.emit(
        "tcp_rtt",
        "round trips/s",
        json!({"n": n, "what": "64-byte ping-pong, TCP_NODELAY"}),
    );
    Ok(())
}

fn tcp_stream(a: &Args) -> Result<()> {
    let mut m = Meter::new(a);
    let server = arg(a, "server")?;
    let secs = num(a, "secs", Some(5))?;
    let rx = arg(a, "dir")? == "rx";
    for (_, keep) in rounds(a)? {
        let mut c = std::process::Command::new("iperf3");
        c.args(["-c", server, "-J", "-t", &secs.to_string()]);
        if rx {
            c.arg("-R");
        }
        m.start()?;
        let out = c.output().context("iperf3")?;
        if !out.status.success() {
            bail!("iperf3: {}", String::from_utf8_lossy(&out.stdout));
        }
        let j: Value = serde_json::from_slice(&out.stdout)?;
        let bps = j["end"]["sum_received"]["bits_per_second"]
            .as_f64()
            .ok_or_else(|| anyhow!("no end.sum_received in iperf3's output"))?;
        // The figure is iperf3's own; the CPU is the whole run's.
        let mib = bps / 8.0 / 1048576.0;
        m.stop_value(mib, mib * secs as f64, keep)?;
    }
    let name = if rx { "tcp_stream_rx" } else { "tcp_stream_tx" };
    m.emit(
        name,
        "MiB/s",
        json!({"secs": secs, "what": if rx { "iperf3 -R: HOST to DPU" } else { "iperf3: DPU to HOST" }}),
    );
    Ok(())
}

// ---------------------------------------------------------- control server

fn serve(port: &str) -> Result<()> {
    let l = TcpListener::bind(format!("0.0.0.0:{port}"))?;
    for s in l.incoming() {
        let Ok(s) = s else { continue };
        // A thread each: the echo connection stays open while the DPU asks
        // for /proc/stat.
        std::thread::spawn(move || {
            if let Err(e) = serve_one(s) {
                eprintln!("qtfs-fsbench serve: {e:#}");
            }
        });
    }
    Ok(())
}

fn serve_one(s: TcpStream) -> Result<()> {
    let mut r = BufReader::new(s.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut w = s;
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [] => {}
        ["stat"] => w.write_all(std::fs::read_to_string("/proc/stat")?.as_bytes())?,
        ["drop"] => {
            drop_local()?;
            w.write_all(b"ok\n")?
        }
        ["run", rest @ ..] => {
            let out = std::process::Command::new(std::env::current_exe()?)
                .args(rest)
                .output()?;
            w.write_all(&out.stdout)?;
            if !out.status.success() {
                w.write_all(
                    format!("ERROR {}\n", String::from_utf8_lossy(&out.stderr)).as_bytes(),
                )?;
            }
        }
        ["echo"] => {
            w.set_nodelay(true)?;
            let mut b = [0u8; 65536];
            loop {
                let k = r.read(&mut b)?;
                if k == 0 {
                    break;
                }
                w.write_all(&b[..k])?;
            }
        }
        _ => w.write_all(format!("ERROR unknown command {line}").as_bytes())?,
    }
    Ok(())
}

fn host_run(a: &Args, rest: &[String]) -> Result<()> {
    let out = host_call(arg(a, "host")?, &format!("run {}", rest.join(" ")))?;
    print!("{out}");
    if out.contains("\nERROR") || out.starts_with("ERROR") {
        bail!("the HOST's run failed");
    }
    Ok(())
}

fn main() -> Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    let usage = "usage: qtfs-fsbench serve PORT | host-run host=IP:PORT -- ARGS… | \
        WORKLOAD key=value… (prep, stat-hot, stat-distinct, ls-l, create-unlink, seq, \
        randread, scale-stat, scale-randread, tar, procstat, tcp-rtt, tcp-stream)";
    let Some(cmd) = argv.get(1) else { bail!(usage) };
    if cmd == "serve" {
        return serve(argv.get(2).map(String::as_str).unwrap_or("12400"));
    }
    let mut a = Args::new();
    let mut rest = vec![];
    let mut it = argv[2..].iter();
    for kv in it.by_ref() {
        if kv == "--" {
            break;
        }
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow!("not key=value: {kv}"))?;
        a.insert(k.into(), v.into());
    }
    rest.extend(it.cloned());
    match cmd.as_str() {
        "prep" => prep(&a),
        "stat-hot" => stat_hot(&a),
        "stat-distinct" => stat_distinct(&a),
        "ls-l" => ls_l(&a),
        "create-unlink" => create_unlink(&a),
        "seq" => seq(&a),
        "randread" => randread(&a),
        "scale-stat" => scale(&a, "stat"),
        "scale-randread" => scale(&a, "randread"),
        "tar" => tar(&a),
        "procstat" => procstat(&a),
        "tcp-rtt" => tcp_rtt(&a),
        "tcp-stream" => tcp_stream(&a),
        "host-run" => host_run(&a, &rest),
        _ => bail!(usage),
    }
}
