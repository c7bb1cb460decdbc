//! qtfs-fstool: file-system operations busybox lacks, for the VM tests.
//!
//! `qtfs-fstool mmap-write FILE OFFSET TEXT` maps FILE shared, writes TEXT
//! at OFFSET through the mapping, `msync`s and unmaps; it fails if any
//! step fails. `qtfs-fstool mmap-read FILE LEN` prints the first LEN bytes
//! read through a private mapping.
use anyhow::{bail, Context, Result};
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;

fn map(file: &std::fs::File, len: usize, prot: libc::c_int, flags: libc::c_int) -> Result<*mut u8> {
    // SAFETY: a fresh mapping of an open file; the kernel checks the rest.
    let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, file.as_raw_fd(), 0) };
    if p == libc::MAP_FAILED {
        bail!("mmap: {}", std::io::Error::last_os_error());
    }
    Ok(p.cast())
}

fn mmap_write(path: &str, offset: usize, text: &[u8]) -> Result<()> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("open {path}"))?;
    let size = f.metadata()?.len() as usize;
    let end = offset + text.len();
    if end > size {
        bail!("{path} is {size} bytes: cannot write up to {end} through a mapping");
    }
    let p = map(
        &f,
        size,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_SHARED,
    )?;
    // SAFETY: `p` maps `size` bytes and `offset + text.len() <= size`.
    unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), p.add(offset), text.len()) };
    // SAFETY: `p`/`size` are the mapping made above.
    if unsafe { libc::msync(p.cast(), size, libc::MS_SYNC) } != 0 {
        bail!("msync: {}", std::io::Error::last_os_error());
    }
    // SAFETY: as above; not used afterwards.
    unsafe { libc::munmap(p.cast(), size) };
    Ok(())
}

fn mmap_read(path: &str, len: usize) -> Result<()> {
    let f = std::fs::File::open(path).with_context(|| format!("open {path}"))?;
    let size = (f.metadata()?.len() as usize).min(len);
    if size == 0 {
        return Ok(());
    }
    let p = map(&f, size, libc::PROT_READ, libc::MAP_PRIVATE)?;
    // SAFETY: `p` maps `size` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(p, size) };
    use std::io::Write;
    std::io::stdout().write_all(bytes)?;
    // SAFETY: the mapping made above; `bytes` is not used afterwards.
    unsafe { libc::munmap(p.cast(), size) };
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [_, "mmap-write", file, off, text] => {
            mmap_write(file, off.parse().context("offset")?, text.as_bytes())
        }
        [_, "mmap-read", file, len] => mmap_read(file, len.parse().context("length")?),
        _ => bail!("usage: qtfs-fstool mmap-write FILE OFFSET TEXT | mmap-read FILE LEN"),
    }
}
