//! qtfs-fifotool: FIFO checks between a DPU process (through qtfs) and a
//! HOST process (locally), for the VM tests. Every data check is exact:
//! the bytes are a pattern both sides compute from a seed.
//!
//! - `write PATH BYTES SEED`: opens PATH for writing (blocking), prints
//!   `opened`, writes BYTES pattern bytes in uneven pieces, closes.
//! - `read PATH BYTES SEED`: opens PATH for reading (blocking), prints
//!   `opened`, reads to EOF; fails unless exactly the pattern came.
//! - `echo IN OUT`: (HOST) opens IN for reading, then OUT for writing, and
//!   sends back each line it reads, uppercased, until IN ends.
//! - `ping TO FROM COUNT`: (DPU) the other end of `echo`, driven by epoll:
//!   opens TO for writing, FROM non-blocking for reading, and for each of
//!   COUNT lines writes it and waits in `epoll_wait` for the answer;
//!   then closes TO and waits for FROM's hang-up. Prints `exchanged=N`.
//! - `nonblock PATH`: with nobody else on the FIFO: `O_NONBLOCK` opens
//!   (ENXIO for a writer without a reader), EOF without writers, EAGAIN
//!   with a writer and no data, data, EPIPE (SIGPIPE ignored) once the
//!   reader is gone.
//! - `eintr PATH`: a blocking open interrupted by a signal whose handler
//!   has no `SA_RESTART` fails with EINTR; prints `eintr ms=`.
//! - `crowd PATH N OTHER`: N threads block opening PATH for reading
//!   (more than the server lets wait at once); meanwhile 20 reads of the
//!   regular file OTHER on the same mount must succeed; then this process
//!   opens PATH for writing and every reader's open must return.
use anyhow::{bail, Context, Result};
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The pattern byte at `i` for `seed` (xorshift of the position).
fn pattern(seed: u64, i: u64) -> u8 {
    let mut x = seed ^ (i / 8).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x >> ((i % 8) * 8)) as u8
}

fn write_cmd(path: &str, bytes: u64, seed: u64) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("open {path} for writing"))?;
    println!("opened");
    let mut off = 0u64;
    let mut piece = 1usize;
    while off < bytes {
        // Pieces of 1 byte up to 96 KiB: below, at and above PIPE_BUF and
        // the pipe's capacity.
        let n = (piece as u64).min(bytes - off) as usize;
        let buf: Vec<u8> = (0..n as u64).map(|k| pattern(seed, off + k)).collect();
        f.write_all(&buf)
            .with_context(|| format!("write at {off}"))?;
        off += n as u64;
        piece = if piece >= 96 << 10 { 1 } else { piece * 3 + 1 };
    }
    println!("wrote={off}");
    Ok(())
}

fn read_cmd(path: &str, bytes: u64, seed: u64) -> Result<()> {
    let mut f = File::open(path).with_context(|| format!("open {path} for reading"))?;
    println!("opened");
    let mut off = 0u64;
    let mut buf = vec![0u8; 50_000];
    loop {
        let n = f.read(&mut buf).with_context(|| format!("read at {off}"))?;
        if n == 0 {
            break;
        }
        for (k, b) in buf[..n].iter().enumerate() {
            let want = pattern(seed, off + k as u64);
            if *b != want {
                bail!(
                    "byte {} is {:#04x}, expected {:#04x}",
                    off + k as u64,
                    b,
                    want
                );
            }
        }
        off += n as u64;
    }
    if off != bytes {
        bail!("EOF after {off} bytes, expected {bytes}");
    }
    println!("read={off} ok");
    Ok(())
}

fn echo(inp: &str, out: &str) -> Result<()> {
    let r = File::open(inp).with_context(|| format!("open {inp}"))?;
    let mut w = OpenOptions::new()
        .write(true)
        .open(out)
        .with_context(|| format!("open {out}"))?;
    let mut n = 0;
    for line in BufReader::new(r).lines() {
        let line = line.context("read a line")?;
        writeln!(w, "{}", line.to_uppercase()).context("write the answer")?;
        n += 1;
    }
    println!("echoed={n}");
    Ok(())
}

struct Epoll(i32);

impl Epoll {
    fn new(fd: i32, events: u32) -> Result<Epoll> {
        // SAFETY: plain system calls on descriptors this process owns.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            bail!("epoll_create1: {}", std::io::Error::last_os_error());
        }
        let mut ev = libc::epoll_event { events, u64: 0 };
        // SAFETY: as above; `ev` is valid for the call.
        if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) } != 0 {
            bail!("epoll_ctl: {}", std::io::Error::last_os_error());
        }
        Ok(Epoll(ep))
    }

    /// The events, or an error after `ms`.
    fn wait(&self, ms: i32) -> Result<u32> {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: `ev` is valid for one event.
        let n = unsafe { libc::epoll_wait(self.0, &mut ev, 1, ms) };
        match n {
            1 => Ok(ev.events),
            0 => bail!("epoll_wait: nothing within {ms} ms"),
            _ => bail!("epoll_wait: {}", std::io::Error::last_os_error()),
        }
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: ours.
        unsafe { libc::close(self.0) };
    }
}

fn ping(to: &str, from: &str, count: usize) -> Result<()> {
    let mut w = OpenOptions::new()
        .write(true)
        .open(to)
        .with_context(|| format!("open {to}"))?;
    let mut r = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(from)
        .with_context(|| format!("open {from}"))?;
    let ep = Epoll::new(r.as_raw_fd(), (libc::EPOLLIN | libc::EPOLLHUP) as u32)?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    for i in 0..count {
        let msg = format!("message {i} from the dpu\n");
        w.write_all(msg.as_bytes())
            .with_context(|| format!("write message {i}"))?;
        let want = msg.to_uppercase();
        // The answer may come in pieces; an EAGAIN after a wake-up is fine.
        while got.len() < want.len() {
            let ev = ep
                .wait(30_000)
                .with_context(|| format!("waiting for answer {i}"))?;
            match r.read(&mut buf) {
                Ok(0) => bail!("EOF before answer {i} (events {ev:#x})"),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => bail!("read answer {i}: {e}"),
            }
        }
        let line: Vec<u8> = got.drain(..want.len()).collect();
        if line != want.as_bytes() {
            bail!(
                "answer {i} is {:?}, expected {:?}",
                String::from_utf8_lossy(&line),
                want
            );
        }
    }
    drop(w);
    // The HOST's echo sees EOF and closes its end: a hang-up here.
    loop {
        let ev = ep.wait(30_000).context("waiting for the hang-up")?;
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bail!("{n} bytes more after the last answer"),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if ev & libc::EPOLLHUP as u32 != 0 {
                    bail!("EPOLLHUP but read says EAGAIN");
                }
            }
            Err(e) => bail!("read at the end: {e}"),
        }
    }
    println!("exchanged={count}");
    Ok(())
}

fn errno_of(r: std::io::Result<impl Sized>) -> Option<i32> {
    r.err().and_then(|e| e.raw_os_error())
}

fn open_nb(path: &str, write: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .read(!write)
        .write(write)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

fn nonblock(path: &str) -> Result<()> {
    let e = errno_of(open_nb(path, true));
    if e != Some(libc::ENXIO) {
        bail!("O_WRONLY|O_NONBLOCK open without a reader: {e:?}, expected ENXIO");
    }
    let mut r = open_nb(path, false).context("O_RDONLY|O_NONBLOCK open")?;
    let mut buf = [0u8; 16];
    match r.read(&mut buf) {
        Ok(0) => {}
        other => bail!("read without any writer: {other:?}, expected EOF"),
    }
    let mut w = open_nb(path, true).context("O_WRONLY|O_NONBLOCK open with a reader")?;
    let e = errno_of(r.read(&mut buf));
    if e != Some(libc::EAGAIN) {
        bail!("read with a writer and no data: {e:?}, expected EAGAIN");
    }
    w.write_all(b"hello").context("write")?;
    let n = r.read(&mut buf).context("read the data")?;
    if &buf[..n] != b"hello" {
        bail!("read {:?}, expected \"hello\"", &buf[..n]);
    }
    // Fill the pipe: a non-blocking write then says EAGAIN.
    let big = vec![7u8; 4096];
    let mut filled = 0usize;
    loop {
        match w.write(&big) {
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => bail!("filling the pipe: {e}"),
        }
        if filled > 16 << 20 {
            bail!("wrote 16 MiB into a pipe without EAGAIN");
        }
    }
    let mut drained = 0usize;
    let mut chunk = vec![0u8; 65536];
    while drained < filled {
        match r.read(&mut chunk) {
            Ok(0) => bail!("EOF while draining"),
            Ok(n) => drained += n,
            Err(e) => bail!("draining after {drained} of {filled}: {e}"),
        }
    }
    drop(w);
    match r.read(&mut buf) {
        Ok(0) => {}
        other => bail!("read after the writer closed: {other:?}, expected EOF"),
    }
    let mut w = {
        // A writer again, then the reader goes: EPIPE (SIGPIPE ignored).
        let w = open_nb(path, true).context("second writer")?;
        drop(r);
        w
    };
    // SAFETY: setting a signal's disposition to ignore.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let e = errno_of(w.write(b"x"));
    if e != Some(libc::EPIPE) {
        bail!("write without a reader: {e:?}, expected EPIPE");
    }
    println!("nonblock ok filled={filled}");
    Ok(())
}

extern "C" fn on_alarm(_: libc::c_int) {}

fn eintr(path: &str) -> Result<()> {
    // SAFETY: installs a handler that does nothing, without SA_RESTART.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_alarm as *const () as usize;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut()) != 0 {
            bail!("sigaction: {}", std::io::Error::last_os_error());
        }
        libc::alarm(2);
    }
    let c = CString::new(path)?;
    let t = Instant::now();
    // SAFETY: a plain open of a NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY) };
    let err = std::io::Error::last_os_error();
    if fd >= 0 {
        // SAFETY: ours.
        unsafe { libc::close(fd) };
        bail!("the open returned without a writer");
    }
    if err.raw_os_error() != Some(libc::EINTR) {
        bail!("the interrupted open failed with {err}, expected EINTR");
    }
    println!("eintr ms={}", t.elapsed().as_millis());
    Ok(())
}

fn crowd(path: &str, n: usize, other: &str) -> Result<()> {
    let opened = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for _ in 0..n {
        let opened = opened.clone();
        let p = path.to_string();
        threads.push(std::thread::spawn(move || -> Result<()> {
            let _f = File::open(&p).with_context(|| format!("open {p}"))?;
            opened.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }));
    }
    std::thread::sleep(Duration::from_secs(2));
    if opened.load(Ordering::SeqCst) != 0 {
        bail!("a reader's open returned without a writer");
    }
    let t = Instant::now();
    for i in 0..20 {
        std::fs::read(other)
            .with_context(|| format!("read {other} ({i}) while {n} opens block"))?;
    }
    let busy_ms = t.elapsed().as_millis();
    let _w = OpenOptions::new()
        .write(true)
        .open(path)
        .context("the writer's open")?;
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a reader panicked"))??;
    }
    println!(
        "crowd readers={} other_reads=20 other_ms={busy_ms}",
        opened.load(Ordering::SeqCst)
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let num = |s: &str| -> Result<u64> { s.parse().with_context(|| format!("not a number: {s}")) };
    match a.as_slice() {
        ["write", p, b, s] => write_cmd(p, num(b)?, num(s)?),
        ["read", p, b, s] => read_cmd(p, num(b)?, num(s)?),
        ["echo", i, o] => echo(i, o),
        ["ping", t, f, c] => ping(t, f, num(c)? as usize),
        ["nonblock", p] => nonblock(p),
        ["eintr", p] => eintr(p),
        ["crowd", p, n, o] => crowd(p, num(n)? as usize, o),
        _ => bail!("usage: see the comment at the top of src/bin/fifotool.rs"),
    }
}
