//! qtfs-fstool: file-system operations busybox lacks, for the VM tests.
//!
//! `qtfs-fstool mmap-write FILE OFFSET TEXT` maps FILE shared, writes TEXT
//! at OFFSET through the mapping, `msync`s and unmaps; it fails if any
//! step fails. `qtfs-fstool mmap-read FILE LEN` prints the first LEN bytes
//! read through a private mapping. `qtfs-fstool rename FROM TO
//! [noreplace|exchange]` is renameat2(2) with that flag.
//! `qtfs-fstool xattr FILE NAME VALUE` sets the extended attribute NAME,
//! reads it back, lists it and removes it, failing if any step differs.
//! `qtfs-fstool hold FILE r|w|rw` opens FILE once and then performs the
//! commands it reads from stdin, one per line, on that open file,
//! answering each with one line `ok|err <milliseconds> <result>` (the
//! result: the bytes read, the count written, or the errno number of a
//! failure): `pread OFF LEN`, `pwrite OFF TEXT`, `mmap-write OFF TEXT`
//! (through the shared mapping of a writable file made at open, no
//! msync: the pages stay dirty), `fsync`,
//! `close` (then it exits). The fault tests use it to keep a file open
//! across a server restart.
//! `qtfs-fstool bench DIR [SCALE]` times metadata and streaming workloads in DIR (an empty directory it may fill)
//! and prints one `name value unit` line per figure; SCALE (default 1)
//! multiplies the sizes.
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

fn rename(from: &str, to: &str, flag: Option<&str>) -> Result<()> {
    let flags = match flag {
        None => 0,
        Some("noreplace") => libc::RENAME_NOREPLACE,
        Some("exchange") => libc::RENAME_EXCHANGE,
        Some(f) => bail!("unknown rename flag {f}"),
    };
    let from = std::ffi::CString::new(from)?;
    let to = std::ffi::CString::new(to)?;
    // The raw system call: musl 1.2.3 has no renameat2 wrapper.
    // SAFETY: two NUL-terminated paths; renameat2 only reads them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            flags,
        )
    };
    if r != 0 {
        bail!("renameat2: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

fn rate(n: usize, t: std::time::Duration) -> f64 {
    n as f64 / t.as_secs_f64().max(1e-9)
}

/// Times the workloads the closing notes and `make bench` report.
fn bench(dir: &str, scale: usize) -> Result<()> {
    use std::io::{Read, Write};
    use std::time::Instant;
    let d = std::path::Path::new(dir);
    let hot = d.join("hot");
    std::fs::write(&hot, b"x")?;
    let n = 2000 * scale;
    let t = Instant::now();
    for _ in 0..n {
        std::fs::metadata(&hot)?;
    }
    println!("stat_hot {:.0} ops/s", rate(n, t.elapsed()));

    let many = d.join("many");
    std::fs::create_dir(&many)?;
    let files = 2000 * scale;
    let block = [7u8; 4096];
    let t = Instant::now();
    for i in 0..files {
        let mut f = std::fs::File::create(many.join(format!("f{i}")))?;
        f.write_all(&block)?;
    }
    println!("create_write_4k {:.0} files/s", rate(files, t.elapsed()));
    let t = Instant::now();
    let mut seen = 0;
    for e in std::fs::read_dir(&many)? {
        std::fs::symlink_metadata(e?.path())?;
        seen += 1;
    }
    if seen != files {
        bail!("listed {seen} of {files} files");
    }
    println!(
        "ls_l {:.3} s for {files} entries",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    for i in 0..files {
        std::fs::metadata(many.join(format!("f{i}")))?;
    }
    println!("stat_distinct {:.0} ops/s", rate(files, t.elapsed()));
    let t = Instant::now();
    for i in 0..files {
        std::fs::remove_file(many.join(format!("f{i}")))?;
    }
    println!("unlink {:.0} files/s", rate(files, t.elapsed()));

    let big = d.join("big");
    let mb = 32 * scale;
    let chunk = vec![0x5au8; 1 << 20];
    let t = Instant::now();
    {
        let mut f = std::fs::File::create(&big)?;
        for _ in 0..mb {
            f.write_all(&chunk)?;
        }
        f.sync_all()?;
    }
    println!("seq_write {:.1} MB/s", rate(mb, t.elapsed()));
    let t = Instant::now();
    let mut f = std::fs::File::open(&big)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0usize;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        total += k;
    }
    if total != mb << 20 {
        bail!("read {total} bytes of {}", mb << 20);
    }
    println!("seq_read {:.1} MB/s", rate(mb, t.elapsed()));
    std::fs::remove_file(&big)?;
    std::fs::remove_dir(&many)?;
    std::fs::remove_file(&hot)?;
    Ok(())
}

fn cstr(s: &str) -> Result<std::ffi::CString> {
    std::ffi::CString::new(s).context("a NUL in an argument")
}

fn os_err(what: &str) -> anyhow::Error {
    anyhow::anyhow!("{what}: {}", std::io::Error::last_os_error())
}

fn xattr(file: &str, name: &str, value: &str) -> Result<()> {
    let (f, n) = (cstr(file)?, cstr(name)?);
    // SAFETY: NUL-terminated strings and a buffer of the given length.
    if unsafe {
        libc::setxattr(
            f.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    } != 0
    {
        return Err(os_err("setxattr"));
    }
    let mut buf = vec![0u8; 4096];
    // SAFETY: as above.
    let got = unsafe { libc::getxattr(f.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if got < 0 {
        return Err(os_err("getxattr"));
    }
    if &buf[..got as usize] != value.as_bytes() {
        bail!(
            "getxattr gave {:?}",
            String::from_utf8_lossy(&buf[..got as usize])
        );
    }
    // SAFETY: as above.
    let len = unsafe { libc::listxattr(f.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if len < 0 {
        return Err(os_err("listxattr"));
    }
    if !buf[..len as usize]
        .split(|&b| b == 0)
        .any(|x| x == name.as_bytes())
    {
        bail!("listxattr does not list {name}");
    }
    // SAFETY: as above.
    if unsafe { libc::removexattr(f.as_ptr(), n.as_ptr()) } != 0 {
        return Err(os_err("removexattr"));
    }
    // SAFETY: as above.
    if unsafe { libc::getxattr(f.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) } >= 0 {
        bail!("{name} is still there after removexattr");
    }
    Ok(())
}

/// `hold`: one open file, driven from stdin (see the module's docs).
fn hold(path: &str, mode: &str) -> Result<()> {
    use std::io::BufRead;
    let (read, write) = match mode {
        "r" => (true, false),
        "w" => (false, true),
        "rw" => (true, true),
        m => bail!("unknown mode {m}"),
    };
    let f = OpenOptions::new()
        .read(read)
        .write(write)
        .open(path)
        .with_context(|| format!("open {path}"))?;
    let fd = f.as_raw_fd();
    // A writable file is mapped shared at once (while the server is
    // there): `mmap-write` then dirties pages without asking it.
    let size = f.metadata()?.len() as usize;
    let mapping = if write && size > 0 {
        Some((
            map(
                &f,
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
            )?,
            size,
        ))
    } else {
        None
    };
    let out = std::io::stdout();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.splitn(3, ' ').collect();
        let started = std::time::Instant::now();
        let r: std::io::Result<String> = match words.as_slice() {
            ["pread", off, len] => {
                let mut buf = vec![0u8; len.parse().context("length")?];
                // SAFETY: `buf` is valid for writes of its length.
                let n = unsafe {
                    libc::pread(
                        fd,
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        off.parse().context("offset")?,
                    )
                };
                if n < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(String::from_utf8_lossy(&buf[..n as usize]).into_owned())
                }
            }
            ["pwrite", off, text] => {
                // SAFETY: `text` is valid for reads of its length.
                let n = unsafe {
                    libc::pwrite(
                        fd,
                        text.as_ptr().cast(),
                        text.len(),
                        off.parse().context("offset")?,
                    )
                };
                if n < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(n.to_string())
                }
            }
            ["mmap-write", off, text] => {
                dirty_through_mapping(mapping, off.parse().context("offset")?, text.as_bytes())
            }
            // SAFETY: a plain syscall on our descriptor.
            ["fsync"] => match unsafe { libc::fsync(fd) } {
                0 => Ok(String::new()),
                _ => Err(std::io::Error::last_os_error()),
            },
            ["close"] => {
                if let Some((p, len)) = mapping {
                    // SAFETY: the mapping made above, not used afterwards.
                    unsafe { libc::munmap(p.cast(), len) };
                }
                // SAFETY: the descriptor is ours; `f` is forgotten so that
                // it is not closed twice.
                let r = unsafe { libc::close(fd) };
                std::mem::forget(f);
                let r = if r == 0 {
                    Ok(String::new())
                } else {
                    Err(std::io::Error::last_os_error())
                };
                report(&out, started, r)?;
                return Ok(());
            }
            _ => bail!("unknown command {line:?}"),
        };
        report(&out, started, r)?;
    }
    Ok(())
}

fn report(
    out: &std::io::Stdout,
    started: std::time::Instant,
    r: std::io::Result<String>,
) -> Result<()> {
    use std::io::Write;
    let ms = started.elapsed().as_millis();
    let mut o = out.lock();
    match r {
        Ok(v) => writeln!(o, "ok {ms} {v}")?,
        Err(e) => writeln!(o, "err {ms} {}", e.raw_os_error().unwrap_or(0))?,
    }
    o.flush()?;
    Ok(())
}

/// Writes `text` at `offset` of a shared mapping of `len` bytes (no
/// `msync`: the pages stay dirty for write-back).
fn dirty_through_mapping(
    mapping: Option<(*mut u8, usize)>,
    offset: usize,
    text: &[u8],
) -> std::io::Result<String> {
    let Some((p, _)) = mapping.filter(|&(_, len)| offset + text.len() <= len) else {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    };
    // SAFETY: `p` maps `len` bytes and `offset + text.len() <= len`.
    unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), p.add(offset), text.len()) };
    Ok(text.len().to_string())
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
        [_, "rename", from, to] => rename(from, to, None),
        [_, "rename", from, to, flag] => rename(from, to, Some(flag)),
        [_, "xattr", file, name, value] => xattr(file, name, value),
        [_, "hold", file, mode] => hold(file, mode),
        [_, "bench", dir] => bench(dir, 1),
        [_, "bench", dir, scale] => bench(dir, scale.parse().context("scale")?),
        _ => bail!(
            "usage: qtfs-fstool mmap-write FILE OFFSET TEXT | mmap-read FILE LEN | \
             rename FROM TO [noreplace|exchange] | xattr FILE NAME VALUE | hold FILE r|w|rw | \
             bench DIR [SCALE]"
        ),
    }
}
