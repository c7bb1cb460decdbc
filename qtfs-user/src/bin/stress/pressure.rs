//! Memory pressure: `fill` writes a file of deterministic 4 KiB blocks
//! (`write(2)` with periodic `fdatasync`, or stores through one shared
//! mapping of the whole file, so that dirty pages must be written back
//! while the writer's memory cgroup is full), `check-fill` reads it back,
//! and `hog` holds most of a machine's free memory while others work.
use crate::gen::{block, first_difference, BLOCK};
use crate::io::pread_full;
use anyhow::{bail, Context, Result};
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

const CHUNK: u64 = 1 << 20;
/// `fill` says how far it got every so many bytes (a stall shows where).
const PROGRESS: u64 = 16 << 20;

fn content(seed: u64, off: u64, len: u64) -> Vec<u8> {
    let mut v = vec![0u8; len as usize];
    for (i, b) in v.chunks_mut(BLOCK).enumerate() {
        block(seed, off / BLOCK as u64 + i as u64, b);
    }
    v
}

/// How `fill` writes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FillMode {
    Write,
    /// One shared mapping of the whole file.
    Mmap,
    /// A shared mapping of each 1 MiB in turn, stored, `msync`ed, unmapped.
    MmapWindows,
}

/// `size` must be a multiple of 1 MiB; `sync_every` 0: only at the end.
pub fn fill(path: &Path, size: u64, seed: u64, mode: FillMode, sync_every: u64) -> Result<()> {
    let mmap = mode == FillMode::Mmap;
    if !size.is_multiple_of(CHUNK) {
        bail!("size must be a multiple of 1 MiB");
    }
    let started = Instant::now();
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    let mut since_sync = 0;
    if mmap {
        f.set_len(size)?;
        // SAFETY: a fresh shared mapping of the whole file, just sized.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            bail!("mmap: {}", std::io::Error::last_os_error());
        }
        let p = p.cast::<u8>();
        let mut result = Ok(());
        for off in (0..size).step_by(CHUNK as usize) {
            let data = content(seed, off, CHUNK);
            if off > 0 && off.is_multiple_of(PROGRESS) {
                println!(
                    "fill: {} MiB stored, {:.1}s",
                    off >> 20,
                    started.elapsed().as_secs_f64()
                );
            }
            // SAFETY: `off + CHUNK <= size`, the mapping's length.
            unsafe {
                std::ptr::copy_nonoverlapping(data.as_ptr(), p.add(off as usize), data.len())
            };
            since_sync += CHUNK;
            if sync_every > 0 && since_sync >= sync_every || off + CHUNK == size {
                since_sync = 0;
                // SAFETY: the mapping made above.
                if unsafe { libc::msync(p.cast(), size as usize, libc::MS_SYNC) } != 0 {
                    result = Err(anyhow::anyhow!(
                        "msync: {}",
                        std::io::Error::last_os_error()
                    ));
                    break;
                }
            }
        }
        // SAFETY: as above; not used afterwards.
        unsafe { libc::munmap(p.cast(), size as usize) };
        result?;
    } else if mode == FillMode::MmapWindows {
        f.set_len(size)?;
        for off in (0..size).step_by(CHUNK as usize) {
            if off > 0 && off.is_multiple_of(PROGRESS) {
                println!(
                    "fill: {} MiB stored, {:.1}s",
                    off >> 20,
                    started.elapsed().as_secs_f64()
                );
            }
            crate::io::mmap_write(&f, off, &content(seed, off, CHUNK))?;
        }
    } else {
        for off in (0..size).step_by(CHUNK as usize) {
            if off > 0 && off.is_multiple_of(PROGRESS) {
                println!(
                    "fill: {} MiB written, {:.1}s",
                    off >> 20,
                    started.elapsed().as_secs_f64()
                );
            }
            f.write_all_at(&content(seed, off, CHUNK), off)?;
            since_sync += CHUNK;
            if sync_every > 0 && since_sync >= sync_every {
                since_sync = 0;
                f.sync_data().context("fdatasync")?;
            }
        }
    }
    f.sync_all().context("fsync")?;
    let t = started.elapsed().as_secs_f64();
    println!(
        "fill: {} MiB {} in {t:.1}s ({:.1} MB/s)",
        size >> 20,
        match mode {
            FillMode::Write => "with write(2)",
            FillMode::Mmap => "through one shared mapping",
            FillMode::MmapWindows => "through a shared mapping of each MiB",
        },
        size as f64 / t / 1e6
    );
    Ok(())
}

pub fn check_fill(path: &Path, size: u64, seed: u64) -> Result<()> {
    let started = Instant::now();
    let f = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let actual = f.metadata()?.len();
    if actual != size {
        bail!(
            "MISMATCH {}: size {actual}, expected {size}",
            path.display()
        );
    }
    for off in (0..size).step_by(CHUNK as usize) {
        let got = pread_full(&f, off, CHUNK.min(size - off))?;
        if let Some(d) = first_difference(off, &content(seed, off, got.len() as u64), &got) {
            println!("MISMATCH {}: {d}", path.display());
            bail!("{} differs from what was written", path.display());
        }
    }
    println!(
        "check-fill: {} MiB of {} as written (mismatches=0), {:.1}s",
        size >> 20,
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn mem_available() -> Result<u64> {
    let text = std::fs::read_to_string("/proc/meminfo")?;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("MemAvailable:") {
            let kib: u64 = rest.trim().trim_end_matches(" kB").trim().parse()?;
            return Ok(kib << 10);
        }
    }
    bail!("no MemAvailable in /proc/meminfo")
}

/// Holds all but `keep_free` bytes of the available memory, in touched
/// 4 MiB pieces, adjusting every 20 ms (giving back at once when others
/// need memory, so that nobody is OOM-killed), until `seconds` pass or
/// `stop_file` appears.
pub fn hog(keep_free: u64, seconds: u64, stop_file: Option<&Path>) -> Result<()> {
    const PIECE: usize = 4 << 20;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut held: Vec<Vec<u8>> = Vec::new();
    let (mut peak, mut min_avail, mut given_back) = (0usize, u64::MAX, 0u64);
    let mut tick = 0usize;
    while Instant::now() < deadline && !stop_file.is_some_and(|s| s.exists()) {
        let avail = mem_available()?;
        min_avail = min_avail.min(avail);
        if avail > keep_free + 2 * PIECE as u64 {
            held.push(vec![0x5a; PIECE]);
        } else if avail < keep_free {
            let n = ((keep_free - avail) as usize)
                .div_ceil(PIECE)
                .min(held.len());
            held.truncate(held.len() - n);
            given_back += n as u64;
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Keep touching what is held.
        tick += 1;
        if !held.is_empty() {
            let i = tick % held.len();
            for b in held[i].iter_mut().step_by(4096) {
                *b = b.wrapping_add(1);
            }
        }
        peak = peak.max(held.len());
    }
    println!(
        "hog: held up to {} MiB, MemAvailable down to {} MiB, gave back {} MiB",
        peak * (PIECE >> 20),
        min_avail >> 20,
        given_back * (PIECE as u64 >> 20)
    );
    Ok(())
}
