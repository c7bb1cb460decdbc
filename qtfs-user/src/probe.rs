//! `qtfsctl probe`: talk to qtfs_server.ko from userspace — the handshake,
//! then one read-only operation on a path within the export, printed like
//! ls/stat/cat would; or `garbage`, which sends malformed frames and checks
//! that the server answers or drops them as docs/protocol.md says.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use qtfs_proto::attr::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFSOCK};
use qtfs_proto::{
    encode_handshake, encode_request, split_frame, Capabilities, ClientHandshake, Credentials,
    Errno, GetattrRequest, HandshakeMessage, LookupRequest, Name, PingRequest, ReadRequest,
    Request, WireAttr, HEADER_LEN, MAX_FRAME_SIZE,
};

use crate::peer::{self, describe, errno_name, error_of, handshake, read_frame, Ids, Peer, Remote};

// Beside this file (src/probe_write.rs); declared here so that main.rs
// stays as it is.
#[path = "probe_write.rs"]
mod probe_write;

/// What to do once connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Handshake and Ping.
    Ping,
    /// List a directory (like `ls -la`, numeric ids).
    Ls,
    /// Attributes of a node (like `stat`).
    Stat,
    /// Content of a file.
    Cat,
    /// Target of a symbolic link.
    Readlink,
    /// File-system statistics.
    Statfs,
    /// Malformed frames; checks the server's answers and that it stays up.
    Garbage,
    /// Attach, open the path, then hold the session until the server ends
    /// it (for unload tests); prints when it does.
    Hold,
    /// The modifying operations in a new directory `qtfs-w` of a writable
    /// export, each checked; leaves `qtfs-w/expect` for the HOST.
    Writes,
    /// Concurrency: a blocking FIFO open (of `qtfs-w/p`, after `writes`)
    /// beside other requests, pipelining, Cancel, a dropped connection
    /// with blocked workers.
    Concurrency,
    /// Hold the node at the path until the server answers ESTALE for it
    /// (the HOST moves it out of the export or removes the export).
    Stale,
    /// Under qtfs_root_squash: uid 0 may not mkdir in the export root and
    /// creates files as 65534 in the 0777 directory at the path.
    Squash,
    /// Random well-formed modifying requests in `qtfs-chaos-PID` of a
    /// writable export; each must be answered. The path, if a number, is
    /// how many are sent before their replies are read (default 1).
    Chaos,
}

/// Connection settings.
pub struct Target {
    pub server: SocketAddr,
    pub key: Vec<u8>,
    pub export: String,
}

const TIMEOUT: Duration = Duration::from_secs(20);

fn connect(t: &Target) -> Result<TcpStream> {
    let s = TcpStream::connect_timeout(&t.server, TIMEOUT)
        .with_context(|| format!("connecting to {}", t.server))?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.set_write_timeout(Some(TIMEOUT))?;
    Ok(s)
}

/// An authenticated session with the caller's ids.
pub fn session_for(t: &Target) -> Result<Peer<TcpStream>> {
    session(t)
}

fn session(t: &Target) -> Result<Peer<TcpStream>> {
    let ids = Ids::current()?;
    handshake(connect(t)?, &t.key, ids).context("handshake")
}

/// Runs `action` on `path` (within the export).
pub fn run(t: &Target, action: Action, path: &str) -> Result<()> {
    match action {
        Action::Garbage => return garbage(t),
        Action::Writes => return probe_write::writes(t),
        Action::Concurrency => return probe_write::concurrency(t),
        Action::Stale => return probe_write::stale(t, path),
        Action::Squash => return probe_write::squash(t, path),
        Action::Chaos => {
            // The path argument, if a number, is how many requests are in
            // flight at once.
            let batch = path.trim_matches('/').parse().unwrap_or(1);
            return probe_write::chaos(t, 3000, batch);
        }
        _ => {}
    }
    let mut p = session(t)?;
    if action == Action::Ping {
        p.ping()?;
        println!("ping ok (protocol version {})", p.negotiated.version);
        return Ok(());
    }
    let (root, _) = p.attach(&t.export).context("attach")?;
    let (node, attr) = p.resolve(root, path).with_context(|| path.to_string())?;
    if action == Action::Hold {
        let h = p.open(node, qtfs_proto::OpenFlags::O_RDONLY)?;
        println!("holding session (handle {h:#x}) until the server closes it");
        std::io::stdout().flush()?;
        p.stream()
            .set_read_timeout(Some(Duration::from_secs(600)))?;
        return match read_frame(p.stream()) {
            Ok(None) => {
                println!("the server closed the session");
                Ok(())
            }
            Err(e) if is_reset(&e) => {
                println!("the server closed the session");
                Ok(())
            }
            got => bail!("while holding: {}", describe(&got)),
        };
    }
    let mut out = std::io::stdout().lock();
    match action {
        Action::Ls => {
            if attr.mode.file_type_bits() != S_IFDIR {
                writeln!(out, "{}", ls_line(&mut p, node, &attr, path.as_bytes())?)?;
            } else {
                let mut entries = p.list(node).with_context(|| path.to_string())?;
                entries.sort_by(|a, b| a.name.cmp(&b.name));
                for e in entries {
                    let (n, a) = p.lookup(node, &e.name)?;
                    writeln!(out, "{}", ls_line(&mut p, n, &a, &e.name)?)?;
                }
            }
        }
        Action::Stat => {
            let a = attr;
            writeln!(out, "  File: {path}")?;
            writeln!(out, "  Type: {}", type_name(a.mode.bits()))?;
            writeln!(out, "  Size: {}", a.size)?;
            writeln!(out, "  Mode: {:04o}", a.mode.bits() & 0o7777)?;
            writeln!(out, "   Uid: {}", a.uid)?;
            writeln!(out, "   Gid: {}", a.gid)?;
            writeln!(out, " Links: {}", a.nlink)?;
            writeln!(out, " Inode: {}", a.ino)?;
            writeln!(out, "Blocks: {}", a.blocks)?;
            writeln!(out, " Mtime: {}.{:09}", a.mtime.sec, a.mtime.nsec)?;
            writeln!(out, "   Gen: {}", a.generation)?;
            writeln!(out, "Change: {}", a.change)?;
            let names: Vec<&str> = qtfs_proto::NodeFlags::ALL
                .iter()
                .filter(|(_, f)| a.flags.contains(*f))
                .map(|(n, _)| *n)
                .collect();
            let flags = if names.is_empty() {
                "-".to_string()
            } else {
                names.join(",")
            };
            writeln!(out, " Flags: {flags}")?;
        }
        Action::Cat => {
            let data = p.read_all(node).with_context(|| path.to_string())?;
            out.write_all(&data)?;
        }
        Action::Readlink => {
            let t = p.readlink(node).with_context(|| path.to_string())?;
            out.write_all(&t)?;
            writeln!(out)?;
        }
        Action::Statfs => {
            let s = p.statfs(node)?;
            writeln!(out, "type: {:#x}", s.fs_type)?;
            writeln!(out, "bsize: {}", s.bsize)?;
            writeln!(out, "frsize: {}", s.frsize)?;
            writeln!(out, "blocks: {}", s.blocks)?;
            writeln!(out, "bfree: {}", s.bfree)?;
            writeln!(out, "bavail: {}", s.bavail)?;
            writeln!(out, "files: {}", s.files)?;
            writeln!(out, "ffree: {}", s.ffree)?;
            writeln!(out, "namelen: {}", s.namelen)?;
        }
        Action::Ping
        | Action::Garbage
        | Action::Hold
        | Action::Writes
        | Action::Concurrency
        | Action::Stale
        | Action::Squash
        | Action::Chaos => unreachable!(),
    }
    Ok(())
}

fn type_name(mode: u32) -> &'static str {
    match mode & S_IFMT {
        S_IFDIR => "directory",
        S_IFLNK => "symbolic link",
        S_IFCHR => "character special file",
        S_IFBLK => "block special file",
        S_IFIFO => "fifo",
        S_IFSOCK => "socket",
        _ => "regular file",
    }
}

/// `-rw-r--r--`-style mode string.
pub fn mode_string(mode: u32) -> String {
    let t = match mode & S_IFMT {
        S_IFDIR => 'd',
        S_IFLNK => 'l',
        S_IFCHR => 'c',
        S_IFBLK => 'b',
        S_IFIFO => 'p',
        S_IFSOCK => 's',
        _ => '-',
    };
    let mut s = String::from(t);
    for (i, c) in "rwxrwxrwx".chars().enumerate() {
        s.push(if mode & (0o400 >> i) != 0 { c } else { '-' });
    }
    s
}

fn ls_line(p: &mut Peer<TcpStream>, node: u64, a: &WireAttr, name: &[u8]) -> Result<String> {
    let mut line = format!(
        "{} {} {} {} {} {}",
        mode_string(a.mode.bits()),
        a.nlink,
        a.uid,
        a.gid,
        a.size,
        String::from_utf8_lossy(name)
    );
    if a.mode.file_type_bits() == S_IFLNK {
        let t = p.readlink(node)?;
        line.push_str(&format!(" -> {}", String::from_utf8_lossy(&t)));
    }
    Ok(line)
}

/// What a malformed frame must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// An error reply with this errno, the connection still usable.
    Error(Errno),
    /// Any error reply, the connection still usable.
    #[allow(dead_code)]
    AnyError,
    /// The connection closed, no answer.
    Dropped,
}

fn frame(opcode: u16, flags: u16, id: u64, status: u32, body: &[u8]) -> Vec<u8> {
    peer::raw_frame(opcode, flags, id, status, body)
}

fn encode(id: u64, req: &Request<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let n = encode_request(&mut buf, id, &Credentials::ROOT, req).expect("small request");
    buf.truncate(n);
    buf
}

/// Sends `bytes` on an authenticated connection and checks the outcome.
fn check_after_auth(t: &Target, what: &str, bytes: &[u8], expect: Expect) -> Result<()> {
    let mut p = session(t)?;
    p.stream()
        .write_all(bytes)
        .with_context(|| format!("{what}: sending"))?;
    // A truncated frame leaves the server waiting: end our side.
    if expect == Expect::Dropped && bytes.len() >= 4 {
        let claimed = u32::from_le_bytes(bytes[..4].try_into().unwrap_or([0; 4])) as usize;
        if claimed > bytes.len() && claimed <= MAX_FRAME_SIZE as usize {
            p.stream().shutdown(std::net::Shutdown::Write)?;
        }
    }
    let got = read_frame(p.stream());
    match (expect, got) {
        (Expect::Dropped, Ok(None)) => {}
        (Expect::Dropped, Err(e)) if is_reset(&e) => {}
        (Expect::Error(_) | Expect::AnyError, Ok(Some(f)))
            if error_of(&f)
                .is_some_and(|e| expect == Expect::AnyError || expect == Expect::Error(e)) =>
        {
            // The connection must still serve requests.
            p.ping()
                .with_context(|| format!("{what}: ping after the error reply"))?;
        }
        (_, got) => bail!("{what}: expected {expect:?}, got {}", describe(&got)),
    }
    println!(
        "ok: {what}: {}",
        match expect {
            Expect::Dropped => "connection dropped".to_string(),
            Expect::Error(e) => format!("answered {}, connection alive", errno_name(e)),
            Expect::AnyError => "answered with an error, connection alive".to_string(),
        }
    );
    Ok(())
}

fn is_reset(e: &anyhow::Error) -> bool {
    peer::is_reset(e)
}

/// Sends `bytes` as the first thing on a new connection: the server must
/// close it without answering anything but a handshake refusal.
fn check_before_auth(t: &Target, what: &str, bytes: &[u8]) -> Result<()> {
    let mut s = connect(t)?;
    s.write_all(bytes)?;
    let got = read_frame(&mut s);
    match got {
        Ok(None) => {}
        Err(ref e) if is_reset(e) => {}
        _ => bail!(
            "{what}: expected the connection to be dropped, got {}",
            describe(&got)
        ),
    }
    println!("ok: {what}: connection dropped");
    Ok(())
}

/// The hostile-peer checks; ends with a normal session proving the server
/// is still alive.
fn garbage(t: &Target) -> Result<()> {
    // Before authentication.
    let mut short = frame(1, 0, 1, 0, &[]);
    short[..4].copy_from_slice(&5u32.to_le_bytes());
    check_before_auth(t, "total_len below the header size", &short)?;
    check_before_auth(
        t,
        "a file operation before the handshake",
        &encode(1, &Request::Ping(PingRequest {})),
    )?;
    let mut big = frame(1, 0, 1, 0, &[]);
    big[..4].copy_from_slice(&(MAX_FRAME_SIZE + 1).to_le_bytes());
    check_before_auth(t, "total_len above MAX_FRAME_SIZE", &big)?;
    let mut hello = vec![0u8; 256];
    let hs = ClientHandshake::new(Capabilities::NONE, peer::random_nonce()?);
    let n = encode_handshake(&mut hello, 1, &hs.hello()).map_err(|e| anyhow!("{e:?}"))?;
    hello.truncate(n);
    let mut bad_magic = hello.clone();
    bad_magic[HEADER_LEN] ^= 0xff;
    check_before_auth(t, "Hello with a bad magic", &bad_magic)?;

    // A wrong key: refused with EACCES, then closed.
    let mut wrong = t.key.clone();
    wrong[0] ^= 1;
    let wt = Target {
        server: t.server,
        key: wrong,
        export: t.export.clone(),
    };
    match handshake(connect(&wt)?, &wt.key, Ids::current()?) {
        Err(e)
            if e.chain()
                .any(|c| c.downcast_ref::<Remote>() == Some(&Remote(Errno::EACCES))) =>
        {
            println!("ok: wrong key: refused with EACCES")
        }
        Err(e) => bail!("wrong key: expected EACCES, got {e:#}"),
        Ok(_) => bail!("wrong key: the handshake succeeded"),
    }
    // Forged client proof after a genuine Hello: EACCES too.
    {
        let mut s = connect(t)?;
        let mut hs = ClientHandshake::new(Capabilities::NONE, peer::random_nonce()?);
        let mut buf = vec![0u8; 256];
        let n = encode_handshake(&mut buf, 1, &hs.hello()).map_err(|e| anyhow!("{e:?}"))?;
        s.write_all(&buf[..n])?;
        let f = read_frame(&mut s)?.context("no ServerHello")?;
        let (h, body) = split_frame(&f).map_err(|e| anyhow!("{e}"))?;
        let auth = hs.on_server_hello(&t.key, &h, body).map_err(Remote)?;
        let HandshakeMessage::ClientAuth(mut a) = auth else {
            bail!("no ClientAuth")
        };
        a.client_proof[0] ^= 0x80;
        let n = encode_handshake(&mut buf, 2, &HandshakeMessage::ClientAuth(a))
            .map_err(|e| anyhow!("{e:?}"))?;
        s.write_all(&buf[..n])?;
        let f = read_frame(&mut s)?.context("no answer to a forged proof")?;
        if error_of(&f) != Some(Errno::EACCES) {
            bail!(
                "forged client proof: expected EACCES, got {}",
                describe(&Ok(Some(f)))
            );
        }
        let end = read_frame(&mut s);
        if !matches!(end, Ok(None)) && !matches!(end, Err(ref e) if is_reset(e)) {
            bail!(
                "forged client proof: connection not closed: {}",
                describe(&end)
            );
        }
        println!("ok: forged client proof: refused with EACCES, connection closed");
    }

    // After authentication.
    check_after_auth(
        t,
        "unknown opcode 0x7777",
        &frame(0x7777, 0, 100, 0, &[]),
        Expect::Error(Errno::EOPNOTSUPP),
    )?;
    check_after_auth(
        t,
        "Hello after the handshake",
        &{
            let mut h = hello.clone();
            h[8..16].copy_from_slice(&100u64.to_le_bytes());
            h
        },
        Expect::Error(Errno::EOPNOTSUPP),
    )?;
    let mut trailing = encode(100, &Request::Ping(PingRequest {}));
    trailing.extend_from_slice(b"xyz");
    let tl = trailing.len() as u32;
    trailing[..4].copy_from_slice(&tl.to_le_bytes());
    check_after_auth(
        t,
        "Ping with trailing bytes",
        &trailing,
        Expect::Error(Errno::EPROTO),
    )?;
    let lookup = encode(
        100,
        &Request::Lookup(LookupRequest {
            parent: 1,
            name: Name::new(b"xx").context("name")?,
        }),
    );
    let mut truncated = lookup[..lookup.len() - 6].to_vec();
    let tl = truncated.len() as u32;
    truncated[..4].copy_from_slice(&tl.to_le_bytes());
    check_after_auth(
        t,
        "Lookup with a truncated body",
        &truncated,
        Expect::Error(Errno::EPROTO),
    )?;
    let mut dotdot = lookup.clone();
    let at = dotdot.len() - 2;
    dotdot[at..].copy_from_slice(b"..");
    check_after_auth(
        t,
        "Lookup of '..' (bad name)",
        &dotdot,
        Expect::Error(Errno::EINVAL),
    )?;
    let mut slash = lookup.clone();
    let at = slash.len() - 2;
    slash[at..].copy_from_slice(b"/x");
    check_after_auth(
        t,
        "Lookup of a name with '/'",
        &slash,
        Expect::Error(Errno::EINVAL),
    )?;
    let big_read = {
        let mut f = encode(
            100,
            &Request::Read(ReadRequest {
                handle: 1,
                offset: 0,
                size: qtfs_proto::IoSize::new(1).context("size")?,
            }),
        );
        let at = f.len() - 4;
        f[at..].copy_from_slice(&(qtfs_proto::MAX_IO_SIZE + 1).to_le_bytes());
        f
    };
    check_after_auth(
        t,
        "Read above MAX_IO_SIZE",
        &big_read,
        Expect::Error(Errno::EINVAL),
    )?;
    check_after_auth(
        t,
        "Getattr of an unknown node",
        &encode(100, &Request::Getattr(GetattrRequest { node: 0xdead_beef })),
        Expect::Error(Errno::ESTALE),
    )?;
    check_after_auth(
        t,
        "Read of an unknown handle",
        &encode(
            100,
            &Request::Read(ReadRequest {
                handle: 0xdead_beef,
                offset: 0,
                size: qtfs_proto::IoSize::new(16).context("size")?,
            }),
        ),
        Expect::Error(Errno::EBADF),
    )?;
    check_after_auth(
        t,
        "a reply frame from the client",
        &frame(0x0010, 1, 100, 0, &[]),
        Expect::Dropped,
    )?;
    check_after_auth(
        t,
        "an event frame from the client",
        &frame(0x0100, 2, 0, 0, &[]),
        Expect::Dropped,
    )?;
    check_after_auth(
        t,
        "request id 0",
        &frame(0x0010, 0, 0, 0, &[]),
        Expect::Dropped,
    )?;
    check_after_auth(
        t,
        "status set on a request",
        &frame(0x0010, 0, 100, 5, &[]),
        Expect::Dropped,
    )?;
    let mut over = frame(0x0010, 0, 100, 0, &[]);
    over[..4].copy_from_slice(&(MAX_FRAME_SIZE + 1).to_le_bytes());
    check_after_auth(t, "total_len above MAX_FRAME_SIZE", &over, Expect::Dropped)?;
    let mut cut = frame(0x0013, 0, 100, 0, &[0u8; 10]);
    cut[..4].copy_from_slice(&1000u32.to_le_bytes());
    check_after_auth(
        t,
        "a body cut short by the end of the stream",
        &cut,
        Expect::Dropped,
    )?;

    stalled_body(t)?;
    semantics(t)?;
    random_requests(t, 3000)?;

    // Still alive.
    let mut p = session(t)?;
    p.ping().context("ping after the garbage")?;
    println!("ok: the server still answers after the garbage");
    Ok(())
}

/// A header followed by part of its body, then silence: the server must
/// drop the connection once its body timeout (30 s) runs out.
fn stalled_body(t: &Target) -> Result<()> {
    let mut p = session(t)?;
    let mut f = frame(0x0013, 0, 100, 0, &[0u8; 10]);
    f[..4].copy_from_slice(&1000u32.to_le_bytes());
    p.stream().write_all(&f)?;
    p.stream().set_read_timeout(Some(Duration::from_secs(90)))?;
    let t0 = std::time::Instant::now();
    let got = read_frame(p.stream());
    match got {
        Ok(None) => {}
        Err(ref e) if is_reset(e) => {}
        _ => bail!("stalled body: expected a drop, got {}", describe(&got)),
    }
    println!(
        "ok: a body that never completes: connection dropped after {} s",
        t0.elapsed().as_secs()
    );
    Ok(())
}

/// The errno of a failed operation, or a description of its success.
fn errno_of<T>(r: Result<T>) -> std::result::Result<Errno, String> {
    match r {
        Ok(_) => Err("success".into()),
        Err(e) => e
            .chain()
            .find_map(|c| c.downcast_ref::<Remote>().map(|r| r.0))
            .ok_or_else(|| format!("{e:#}")),
    }
}

fn expect_errno<T>(what: &str, r: Result<T>, want: Errno) -> Result<()> {
    match errno_of(r) {
        Ok(e) if e == want => {
            println!("ok: {what}: {}", errno_name(e));
            Ok(())
        }
        Ok(e) => bail!(
            "{what}: expected {}, got {}",
            errno_name(want),
            errno_name(e)
        ),
        Err(got) => bail!("{what}: expected {}, got {got}", errno_name(want)),
    }
}

/// Well-formed requests a server must refuse on a read-only export (`ro`), on one session.
fn semantics(t: &Target) -> Result<()> {
    use qtfs_proto::OpenFlags;
    let mut p = session(t)?;
    let (root, _) = p.attach(&t.export).context("attach")?;
    for (name, flags) in [
        ("O_WRONLY", OpenFlags::O_WRONLY),
        ("O_RDWR", OpenFlags::O_RDWR),
        ("O_TRUNC", OpenFlags::O_TRUNC),
    ] {
        expect_errno(
            &format!("Open of the root with {name}"),
            p.open(root, flags),
            Errno::EROFS,
        )?;
    }
    expect_errno("Mkdir", p.mkdir(root, b"qtfs-probe-new"), Errno::EROFS)?;
    let h = p.open(root, OpenFlags::O_RDONLY)?;
    expect_errno(
        "Read of a directory handle",
        p.read(h, 0, 16),
        Errno::EISDIR,
    )?;
    p.release(h)?;
    expect_errno("second Release of a handle", p.release(h), Errno::EBADF)?;
    expect_errno(
        "Readdir of a released handle",
        p.readdir(h, 0),
        Errno::EBADF,
    )?;
    // A regular file of the export, if there is one.
    let entries = p.list(root)?;
    let mut file = None;
    for e in &entries {
        let (n, a) = p.lookup(root, &e.name)?;
        if a.mode.file_type_bits() == qtfs_proto::attr::S_IFREG {
            file = Some(n);
            break;
        }
    }
    if let Some(f) = file {
        expect_errno(
            "Lookup beneath a regular file",
            p.lookup(f, b"x"),
            Errno::ENOTDIR,
        )?;
        let h = p.open(f, OpenFlags::O_RDONLY)?;
        expect_errno("Readdir of a file handle", p.readdir(h, 0), Errno::ENOTDIR)?;
        p.release(h)?;
    }
    expect_errno(
        "Lookup of a missing name",
        p.lookup(root, b"no-such-entry-qtfs"),
        Errno::ENOENT,
    )?;
    let (sub, _) = p.attach(&t.export)?;
    p.forget(sub, u64::MAX)?;
    expect_errno("Getattr of a forgotten node", p.getattr(sub), Errno::ESTALE)?;
    expect_errno("Attach of another directory", p.attach("/"), Errno::ENOENT).or_else(|e| {
        if t.export == "/" {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    p.ping()?;
    println!("ok: the session still serves after the refusals");
    Ok(())
}

/// `n` requests with valid headers and credentials but random opcodes
/// (known and unknown) and random fields, half of them aimed at the ids
/// this session really holds (the export root node, an open directory
/// handle, a file node and handle). Each must be answered (any status) on
/// the same connection.
fn random_requests(t: &Target, n: usize) -> Result<()> {
    use qtfs_proto::OpenFlags;
    let mut p = session(t)?;
    let (root, _) = p.attach(&t.export).context("attach")?;
    let dir = p.open(root, OpenFlags::O_RDONLY)?;
    let mut ids = vec![root, dir];
    if let Some(e) = p.list(root)?.first() {
        let (node, a) = p.lookup(root, &e.name)?;
        ids.push(node);
        if a.mode.file_type_bits() == qtfs_proto::attr::S_IFREG {
            ids.push(p.open(node, OpenFlags::O_RDONLY)?);
        }
    }
    let seed = peer::random_nonce()?;
    let mut x = u64::from_le_bytes(seed[..8].try_into().unwrap_or([1; 8])) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut answered = [0usize; 2];
    let names: [&[u8]; 4] = [b"sub", b"hello.txt", b"link-out", b"nope"];
    for k in 0..n {
        let r = next();
        let pick = |v: u64| {
            if v.is_multiple_of(4) {
                v >> 3
            } else {
                ids[(v >> 3) as usize % ids.len()]
            }
        };
        let (a, b, c) = (next(), next(), next());
        let size =
            |v: u64| qtfs_proto::IoSize::new((v % (u64::from(qtfs_proto::MAX_IO_SIZE) + 1)) as u32);
        let name = Name::new(names[(c % 4) as usize]).context("name")?;
        let flags =
            OpenFlags::from_bits((c as u32) & OpenFlags::KNOWN).unwrap_or(OpenFlags::O_RDONLY);
        let req = match r % 10 {
            0 => Request::Getattr(GetattrRequest { node: pick(a) }),
            1 => Request::Lookup(LookupRequest {
                parent: pick(a),
                name,
            }),
            2 => Request::Open(qtfs_proto::OpenRequest {
                node: pick(a),
                flags,
            }),
            3 => Request::Read(ReadRequest {
                handle: pick(a),
                offset: b >> (c % 64),
                size: size(c).context("size")?,
            }),
            4 => Request::Readdir(qtfs_proto::ReaddirRequest {
                handle: pick(a),
                cookie: b >> (c % 64),
                max_bytes: size(c >> 8).context("size")?,
            }),
            5 => Request::Release(qtfs_proto::ReleaseRequest { handle: pick(a) }),
            6 => Request::Readlink(qtfs_proto::ReadlinkRequest { node: pick(a) }),
            7 => Request::Statfs(qtfs_proto::StatfsRequest { node: pick(a) }),
            8 => Request::Forget(qtfs_proto::ForgetRequest {
                node: pick(a),
                count: b % 3,
            }),
            _ => Request::Ping(PingRequest {}),
        };
        let mut bytes = encode(1 + k as u64, &req);
        // One in eight: flip a byte of the body after the credentials.
        if c % 8 == 0 && bytes.len() > HEADER_LEN + 20 {
            let at = HEADER_LEN + 20 + (b as usize) % (bytes.len() - HEADER_LEN - 20);
            bytes[at] ^= 1 << (a % 8);
        }
        let id = p.next_id();
        bytes[8..16].copy_from_slice(&id.to_le_bytes());
        let opcode = req.opcode().to_u16();
        p.stream().write_all(&bytes)?;
        let f = read_frame(p.stream())?
            .with_context(|| format!("random request {req:?}: the connection closed"))?;
        let (h, _) = split_frame(&f).map_err(|e| anyhow!("{e}"))?;
        if h.request_id != id || h.opcode != opcode {
            bail!(
                "random request {id} opcode {opcode:#x}: answered {} {:#x}",
                h.request_id,
                h.opcode
            );
        }
        answered[usize::from(h.status != 0)] += 1;
        // Reopen what random Forgets and Releases took away, now and then.
        if k % 500 == 499 {
            let (root, _) = p.attach(&t.export)?;
            let dir = p.open(root, OpenFlags::O_RDONLY)?;
            ids[0] = root;
            ids[1] = dir;
        }
    }
    p.ping()?;
    println!(
        "ok: {n} random requests answered ({} successes, {} errors), connection alive",
        answered[0], answered[1]
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(mode_string(0o100644), "-rw-r--r--");
        assert_eq!(mode_string(0o040755), "drwxr-xr-x");
        assert_eq!(mode_string(0o120777), "lrwxrwxrwx");
        assert_eq!(type_name(0o100600), "regular file");
    }

    #[test]
    fn frames() {
        let f = frame(0x10, 0, 7, 0, b"ab");
        assert_eq!(f.len(), HEADER_LEN + 2);
        assert_eq!(&f[..4], &22u32.to_le_bytes());
    }
}
