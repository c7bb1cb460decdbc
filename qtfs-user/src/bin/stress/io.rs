//! File access the tools share: positioned reads to the end of file, and
//! writes through a shared mapping followed by `msync`.
use anyhow::{bail, Result};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

pub fn page_size() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as u64
    } else {
        4096
    }
}

/// Reads up to `len` bytes at `off`, stopping early only at the end of
/// file.
pub fn pread_full(f: &File, off: u64, len: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len as usize];
    let mut got = 0usize;
    while got < buf.len() {
        match f.read_at(&mut buf[got..], off + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

/// Reads the whole file from offset 0 to its end.
pub fn read_all(f: &File) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut off = 0u64;
    loop {
        let chunk = pread_full(f, off, 1 << 20)?;
        off += chunk.len() as u64;
        let short = chunk.len() < 1 << 20;
        out.extend_from_slice(&chunk);
        if short {
            return Ok(out);
        }
    }
}

/// Writes `data` at `off` through a `MAP_SHARED` mapping of the pages that
/// cover it, then `msync(MS_SYNC)`s and unmaps. The file must already be
/// at least `off + data.len()` bytes long (a store past its end is
/// `SIGBUS`).
pub fn mmap_write(f: &File, off: u64, data: &[u8]) -> Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let page = page_size();
    let start = off / page * page;
    let len = (off + data.len() as u64 - start) as usize;
    // SAFETY: a fresh mapping of an open file; the kernel checks the
    // range and the access mode.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            start as libc::off_t,
        )
    };
    if p == libc::MAP_FAILED {
        bail!("mmap: {}", std::io::Error::last_os_error());
    }
    let p = p.cast::<u8>();
    // SAFETY: `p` maps `len` bytes and `off - start + data.len() == len`.
    unsafe {
        std::ptr::copy_nonoverlapping(data.as_ptr(), p.add((off - start) as usize), data.len())
    };
    // SAFETY: `p`/`len` are the mapping made above.
    let synced = unsafe { libc::msync(p.cast(), len, libc::MS_SYNC) };
    let err = std::io::Error::last_os_error();
    // SAFETY: as above; not used afterwards.
    unsafe { libc::munmap(p.cast(), len) };
    if synced != 0 {
        return Err(anyhow::Error::new(err).context("msync"));
    }
    Ok(())
}

/// One `write(2)` that must write everything (an `O_APPEND` record must
/// land whole, not split in two appends).
pub fn write_once(f: &File, data: &[u8]) -> Result<()> {
    use std::io::Write;
    let n = (&*f).write(data)?;
    if n != data.len() {
        bail!("short write: {n} of {} bytes", data.len());
    }
    Ok(())
}
