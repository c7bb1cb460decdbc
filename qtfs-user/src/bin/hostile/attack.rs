//! The named attacks on qtfs_server.ko, each with the outcome it must get:
//! an error reply (the connection still serving) or a dropped connection.
//! Every attack runs on connections of its own; the run ends with a Ping
//! on a fresh session (the server is still up).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use qtfs_proto::attr::{S_IFLNK, S_IFREG};
use qtfs_proto::{
    encode_handshake, encode_request, split_frame, Capabilities, ClientHandshake, Credentials,
    Errno, GetattrRequest, IoSize, LookupRequest, MkdirRequest, Name, OpenFlags, Path, Permissions,
    PingRequest, ReadFileRequest, ReadRequest, Request, SymlinkRequest, HEADER_LEN,
};

use crate::connect;
use crate::peer::{
    self, describe, errno_name, error_of, handshake, is_reset, raw_frame, read_frame, Ids, Peer,
    Remote,
};

/// Connection settings.
pub struct Target {
    pub server: SocketAddr,
    pub key: Vec<u8>,
    pub export: String,
    pub rw_export: Option<String>,
}

/// The server's limit of handshaking connections per address
/// (`MAX_HANDSHAKES_PER_ADDR` in server/session.rs).
const HANDSHAKES_PER_ADDR: usize = 4;

type P = Peer<TcpStream>;

pub fn session(t: &Target) -> Result<P> {
    handshake(connect(t.server)?, &t.key, Ids::current()?).context("handshake")
}

/// A request frame as root.
pub fn encode(id: u64, req: &Request<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 8192];
    let n = encode_request(&mut buf, id, &Credentials::ROOT, req).unwrap_or(0);
    buf.truncate(n);
    buf
}

fn closed(got: &Result<Option<Vec<u8>>>) -> bool {
    match got {
        Ok(None) => true,
        Err(e) => is_reset(e),
        Ok(Some(_)) => false,
    }
}

/// `bytes` first on a new connection: it must be dropped unanswered
/// (or after a handshake refusal).
fn before_auth(t: &Target, what: &str, bytes: &[u8]) -> Result<()> {
    let mut s = connect(t.server)?;
    s.write_all(bytes)?;
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut got = read_frame(&mut s);
    // A Hello is answered; what follows it must then end the connection.
    if let Ok(Some(f)) = &got {
        if split_frame(f).is_ok_and(|(h, _)| h.opcode == 1 && h.status == 0) {
            got = read_frame(&mut s);
        }
    }
    if !closed(&got) {
        bail!("{what}: expected a drop, got {}", describe(&got));
    }
    println!("ok: {what}: connection dropped");
    Ok(())
}

/// `bytes` on an authenticated session: the answer must be an error in
/// `want` (any error if empty) and the session must still serve.
fn after_auth(t: &Target, what: &str, bytes: &[u8], want: &[Errno]) -> Result<()> {
    let mut p = session(t)?;
    p.stream().write_all(bytes)?;
    let got = read_frame(p.stream());
    match &got {
        Ok(Some(f)) => match error_of(f) {
            Some(e) if want.is_empty() || want.contains(&e) => {
                p.ping()
                    .with_context(|| format!("{what}: ping after the error"))?;
                println!("ok: {what}: {}, session alive", errno_name(e));
                Ok(())
            }
            _ => bail!("{what}: expected an error {want:?}, got {}", describe(&got)),
        },
        _ => bail!("{what}: expected an error {want:?}, got {}", describe(&got)),
    }
}

/// `bytes` on an authenticated session: the server must drop it.
fn dropped_after_auth(t: &Target, what: &str, bytes: &[u8]) -> Result<()> {
    let mut p = session(t)?;
    p.stream().write_all(bytes)?;
    let _ = p.stream().shutdown(std::net::Shutdown::Write);
    let got = read_frame(p.stream());
    if !closed(&got) {
        bail!("{what}: expected a drop, got {}", describe(&got));
    }
    println!("ok: {what}: connection dropped");
    Ok(())
}

fn errno_of<T>(r: Result<T>) -> std::result::Result<Errno, String> {
    match r {
        Ok(_) => Err("success".into()),
        Err(e) => e
            .chain()
            .find_map(|c| c.downcast_ref::<Remote>().map(|r| r.0))
            .ok_or_else(|| format!("{e:#}")),
    }
}

fn refused<T>(what: &str, r: Result<T>, want: &[Errno]) -> Result<()> {
    match errno_of(r) {
        Ok(e) if want.is_empty() || want.contains(&e) => {
            println!("ok: {what}: {}", errno_name(e));
            Ok(())
        }
        Ok(e) => bail!("{what}: expected {want:?}, got {}", errno_name(e)),
        Err(got) => bail!("{what}: expected {want:?}, got {got}"),
    }
}

/// A name the decoder would refuse, put in place of [`PLACEHOLDER`] in an
/// encoded frame (its length prefix rewritten, `total_len` fixed).
const PLACEHOLDER: &[u8] = b"qtfs-hostile-placeholder";

fn splice_name(frame: &[u8], name: &[u8], claimed_len: Option<u32>) -> Result<Vec<u8>> {
    let mut pat = (PLACEHOLDER.len() as u32).to_le_bytes().to_vec();
    pat.extend_from_slice(PLACEHOLDER);
    let at = frame
        .windows(pat.len())
        .position(|w| w == pat.as_slice())
        .context("placeholder not in the frame")?;
    let mut f = frame[..at].to_vec();
    f.extend_from_slice(&claimed_len.unwrap_or(name.len() as u32).to_le_bytes());
    f.extend_from_slice(name);
    f.extend_from_slice(&frame[at + pat.len()..]);
    let total = f.len() as u32;
    f[..4].copy_from_slice(&total.to_le_bytes());
    Ok(f)
}

/// Runs every attack.
pub fn run(t: &Target, slow: bool) -> Result<()> {
    unauthenticated(t)?;
    replay(t)?;
    framing(t)?;
    ids(t)?;
    names(t)?;
    symlinks(t)?;
    flood(t)?;
    if slow {
        slow_drain(t)?;
    }
    let mut p = session(t)?;
    p.ping().context("ping after the attacks")?;
    println!("ok: the server still answers a fresh session after every attack");
    Ok(())
}

fn hello_bytes(hs: &ClientHandshake, id: u64) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    let n = encode_handshake(&mut buf, id, &hs.hello()).map_err(|e| anyhow!("{e:?}"))?;
    buf.truncate(n);
    Ok(buf)
}

/// Requests before and without authentication.
fn unauthenticated(t: &Target) -> Result<()> {
    before_auth(
        t,
        "Ping before the handshake",
        &encode(1, &Request::Ping(PingRequest {})),
    )?;
    before_auth(
        t,
        "Getattr before the handshake",
        &encode(1, &Request::Getattr(GetattrRequest { node: 1 })),
    )?;
    before_auth(t, "Auth without Hello", &raw_frame(2, 0, 1, 0, &[0x55; 32]))?;
    let hs = ClientHandshake::new(Capabilities::NONE, peer::random_nonce()?);
    let hello = hello_bytes(&hs, 1)?;
    let mut then_ping = hello.clone();
    then_ping.extend_from_slice(&encode(2, &Request::Ping(PingRequest {})));
    before_auth(t, "Hello, then Ping instead of Auth", &then_ping)?;
    let mut twice = hello.clone();
    twice.extend_from_slice(&hello_bytes(&hs, 2)?);
    before_auth(t, "Hello twice", &twice)?;
    let mut long = hello.clone();
    long.extend_from_slice(&[0u8; 300]);
    let n = long.len() as u32;
    long[..4].copy_from_slice(&n.to_le_bytes());
    before_auth(
        t,
        "a 320-byte Hello (above the handshake frame limit)",
        &long,
    )?;
    before_auth(t, "20 random bytes", &crate::rng::Rng::new(1).bytes(20))?;
    Ok(())
}

/// A genuine handshake recorded, then replayed on another connection: the
/// server's nonce differs, so the recorded proof must fail (EACCES).
fn replay(t: &Target) -> Result<()> {
    let hs0 = ClientHandshake::new(Capabilities::NONE, peer::random_nonce()?);
    let hello = hello_bytes(&hs0, 1)?;
    let mut buf = vec![0u8; 256];
    // The genuine connection.
    let (auth_bytes, nonce1) = {
        let mut hs = hs0;
        let mut s = connect(t.server)?;
        s.write_all(&hello)?;
        let f = read_frame(&mut s)?.context("no ServerHello")?;
        let (h, body) = split_frame(&f).map_err(|e| anyhow!("{e}"))?;
        let nonce = body.get(14..46).map(<[u8]>::to_vec).unwrap_or_default();
        let auth = hs.on_server_hello(&t.key, &h, body).map_err(Remote)?;
        let n = encode_handshake(&mut buf, 2, &auth).map_err(|e| anyhow!("{e:?}"))?;
        let auth_bytes = buf[..n].to_vec();
        s.write_all(&auth_bytes)?;
        let f = read_frame(&mut s)?.context("no answer to Auth")?;
        let (h, body) = split_frame(&f).map_err(|e| anyhow!("{e}"))?;
        hs.on_auth_reply(&h, body).map_err(Remote)?;
        (auth_bytes, nonce)
    };
    // The replay.
    let mut s = connect(t.server)?;
    s.write_all(&hello)?;
    let f = read_frame(&mut s)?.context("no ServerHello to the replayed Hello")?;
    let (_, body) = split_frame(&f).map_err(|e| anyhow!("{e}"))?;
    if body.get(14..46) == Some(nonce1.as_slice()) {
        bail!("replay: the server sent the same nonce twice");
    }
    s.write_all(&auth_bytes)?;
    let f = read_frame(&mut s)?.context("no answer to the replayed Auth")?;
    if error_of(&f) != Some(Errno::EACCES) {
        bail!(
            "replayed Auth: expected EACCES, got {}",
            describe(&Ok(Some(f)))
        );
    }
    let end = read_frame(&mut s);
    if !closed(&end) {
        bail!("replayed Auth: connection not closed: {}", describe(&end));
    }
    println!("ok: a replay of another connection's handshake: EACCES, connection closed");
    // The server's own proof reflected as the client's.
    let mut s = connect(t.server)?;
    s.write_all(&hello)?;
    let f = read_frame(&mut s)?.context("no ServerHello")?;
    let (_, body) = split_frame(&f).map_err(|e| anyhow!("{e}"))?;
    let proof = body.get(46..78).context("short ServerHello")?;
    s.write_all(&raw_frame(2, 0, 2, 0, proof))?;
    let f = read_frame(&mut s)?.context("no answer to a reflected proof")?;
    if error_of(&f) != Some(Errno::EACCES) {
        bail!(
            "reflected proof: expected EACCES, got {}",
            describe(&Ok(Some(f)))
        );
    }
    println!("ok: the server's proof reflected as the client's: EACCES");
    Ok(())
}

/// Unknown opcodes, lengths that lie, bad header fields.
fn framing(t: &Target) -> Result<()> {
    for op in [0x0000u16, 0x0001, 0x0002, 0x0033, 0x00ff, 0x7777, 0xffff] {
        after_auth(
            t,
            &format!("opcode {op:#06x} after the handshake"),
            &raw_frame(op, 0, 100, 0, &[]),
            &[Errno::EOPNOTSUPP],
        )?;
    }
    for (op, name) in [
        (0x002Bu16, "PollRegister"),
        (0x002E, "RemoteMount"),
        (0x0030, "RemoteKill"),
    ] {
        after_auth(
            t,
            &format!("{name} without its capability"),
            &raw_frame(op, 0, 100, 0, &[0u8; 40]),
            &[Errno::EOPNOTSUPP],
        )?;
    }
    for len in [0u32, 1, 19, qtfs_proto::MAX_FRAME_SIZE + 1, u32::MAX] {
        let mut f = raw_frame(0x0010, 0, 100, 0, &[]);
        f[..4].copy_from_slice(&len.to_le_bytes());
        dropped_after_auth(t, &format!("total_len {len}"), &f)?;
    }
    let mut cut = raw_frame(0x0014, 0, 100, 0, &[0u8; 10]);
    cut[..4].copy_from_slice(&5000u32.to_le_bytes());
    dropped_after_auth(t, "a body shorter than total_len, then EOF", &cut)?;
    let ping = encode(100, &Request::Ping(PingRequest {}));
    let mut short = ping.clone();
    short.truncate(HEADER_LEN + 3);
    let n = short.len() as u32;
    short[..4].copy_from_slice(&n.to_le_bytes());
    after_auth(
        t,
        "Ping with its credentials cut short",
        &short,
        &[Errno::EPROTO, Errno::EINVAL],
    )?;
    let lookup = encode(
        100,
        &Request::Lookup(LookupRequest {
            parent: 1,
            name: Name::new(PLACEHOLDER).context("name")?,
        }),
    );
    after_auth(
        t,
        "a name length field of u32::MAX",
        &splice_name(&lookup, b"abc", Some(u32::MAX))?,
        &[],
    )?;
    after_auth(
        t,
        "a name length field longer than the frame",
        &splice_name(&lookup, b"abc", Some(200))?,
        &[],
    )?;
    Ok(())
}

/// Stale, forged and other sessions' node ids and handles.
fn ids(t: &Target) -> Result<()> {
    let mut a = session(t)?;
    let (root_a, _) = a.attach(&t.export).context("attach")?;
    let mut file = None;
    for e in a.list(root_a)? {
        let (n, attr) = a.lookup(root_a, &e.name)?;
        if attr.mode.file_type_bits() == S_IFREG {
            file = Some(n);
            break;
        }
    }
    let file = file.context("no regular file in the export root")?;
    // More nodes in A than B will ever hold.
    let sub = a.attach(&t.export)?.0;
    let h = a.open(file, OpenFlags::O_RDONLY)?;
    let mut b = session(t)?;
    let (root_b, _) = b.attach(&t.export)?;
    refused(
        "session A's node id in session B",
        b.getattr(file),
        &[Errno::ESTALE],
    )?;
    refused(
        "session A's handle in session B",
        b.read(h, 0, 16),
        &[Errno::EBADF],
    )?;
    refused(
        "session A's handle released by session B",
        b.release(h),
        &[Errno::EBADF],
    )?;
    a.read(h, 0, 16)
        .context("A's handle after B tried to use it")?;
    for (what, id) in [
        ("node id 0", 0u64),
        ("node id u64::MAX", u64::MAX),
        ("a node id with the wrong generation", root_b ^ (1 << 32)),
        ("a node id of a slot never used", root_b + 1000),
    ] {
        refused(what, b.getattr(id), &[Errno::ESTALE])?;
        refused(
            &format!("Lookup beneath {what}"),
            b.lookup(id, b"x"),
            &[Errno::ESTALE],
        )?;
    }
    refused(
        "a handle with the wrong generation",
        a.read(h ^ (1 << 32), 0, 16),
        &[Errno::EBADF],
    )?;
    refused("handle 0", a.read(0, 0, 16), &[Errno::EBADF])?;
    a.release(h)?;
    refused("a released handle", a.read(h, 0, 16), &[Errno::EBADF])?;
    a.forget(sub, u64::MAX)?;
    a.forget(file, u64::MAX)?;
    refused("a forgotten node", a.getattr(file), &[Errno::ESTALE])?;
    refused(
        "Open of a forgotten node",
        a.open(file, OpenFlags::O_RDONLY),
        &[Errno::ESTALE],
    )?;
    a.ping()?;
    b.ping()?;
    println!("ok: both sessions still serve");
    Ok(())
}

/// Names with `/`, `.`, `..`, NUL, overlong or empty, in Lookup and (on a
/// writable export) Mkdir and Symlink.
fn names(t: &Target) -> Result<()> {
    let long = vec![b'a'; 256];
    let bad: [(&str, &[u8]); 8] = [
        ("'/'", b"/"),
        ("'a/b'", b"a/b"),
        ("'.'", b"."),
        ("'..'", b".."),
        ("'a\\0b'", b"a\0b"),
        ("'\\0'", b"\0"),
        ("a 256-byte component", &long),
        ("an empty name", b""),
    ];
    let mut p = session(t)?;
    let (root, _) = p.attach(&t.export)?;
    let lookup = encode(
        100,
        &Request::Lookup(LookupRequest {
            parent: root,
            name: Name::new(PLACEHOLDER).context("name")?,
        }),
    );
    let want = [Errno::EINVAL, Errno::ENAMETOOLONG];
    for (what, name) in bad {
        after_auth(
            t,
            &format!("Lookup of {what}"),
            &splice_name(&lookup, name, None)?,
            &want,
        )?;
    }
    // Attach by paths that leave the export or go through a symlink.
    for path in [
        "/".to_string(),
        "/srv/outside".to_string(),
        format!("{}/../outside", t.export),
        format!("{}/out-dir", t.export),
        format!("{}/out-file", t.export),
        format!("{}/../../srv/outside", t.export),
    ] {
        if path == t.export {
            continue;
        }
        refused(&format!("Attach of {path}"), p.attach(&path), &[])?;
    }
    if let Some(rw) = &t.rw_export {
        let (rw_root, _) = p.attach(rw)?;
        let mkdir = encode(
            100,
            &Request::Mkdir(MkdirRequest {
                parent: rw_root,
                name: Name::new(PLACEHOLDER).context("name")?,
                mode: Permissions::new(0o755).context("mode")?,
                umask: Permissions::new(0).context("umask")?,
            }),
        );
        let symlink = encode(
            100,
            &Request::Symlink(SymlinkRequest {
                parent: rw_root,
                name: Name::new(PLACEHOLDER).context("name")?,
                target: Path::new(b"x").context("target")?,
            }),
        );
        for (what, name) in bad {
            after_auth(
                t,
                &format!("Mkdir of {what}"),
                &splice_name(&mkdir, name, None)?,
                &want,
            )?;
            after_auth(
                t,
                &format!("Symlink named {what}"),
                &splice_name(&symlink, name, None)?,
                &want,
            )?;
        }
    }
    p.ping()?;
    Ok(())
}

/// Symlinks in the export that point out of it (made by the HOST:
/// `out-file` -> /srv/outside/sentinel, `out-dir` -> /srv/outside, `up`
/// -> ../outside/sentinel) and one made by the peer: none is followed.
fn symlinks(t: &Target) -> Result<()> {
    let mut p = session(t)?;
    let (root, _) = p.attach(&t.export)?;
    let mut links = vec![];
    for name in [&b"out-file"[..], b"out-dir", b"up"] {
        let (node, a) = p
            .lookup(root, name)
            .with_context(|| format!("lookup {}", String::from_utf8_lossy(name)))?;
        if a.mode.file_type_bits() != S_IFLNK {
            bail!(
                "{}: the lookup followed the symlink (mode {:o})",
                String::from_utf8_lossy(name),
                a.mode.bits()
            );
        }
        links.push((String::from_utf8_lossy(name).into_owned(), node));
    }
    println!("ok: out-file, out-dir, up: looked up as symlinks, not followed");
    if let Some(rw) = &t.rw_export {
        let (rw_root, _) = p.attach(rw)?;
        let name = format!("evil-{}", std::process::id());
        let (node, a) = p
            .symlink(rw_root, name.as_bytes(), b"/srv/outside/sentinel")
            .context("Symlink out of the export")?;
        if a.mode.file_type_bits() != S_IFLNK {
            bail!("the new symlink is not a symlink");
        }
        links.push((name.clone(), node));
        let mut req = crate::attack::setattr_size(node);
        req.size = 0;
        // Truncating a symlink node is refused; the target is untouched
        // (the HOST checks the sentinel).
        refused("Setattr(size 0) of a symlink", p.setattr(req), &[])?;
        p.unlink(rw_root, name.as_bytes())?;
    }
    let (dir_node, _) = p.lookup(root, b"out-dir")?;
    refused(
        "Lookup beneath a symlink to a directory outside",
        p.lookup(dir_node, b"sentinel"),
        &[Errno::ENOTDIR, Errno::ELOOP],
    )?;
    for (name, node) in &links {
        refused(
            &format!("Open of {name}"),
            p.open(*node, OpenFlags::O_RDONLY),
            &[],
        )?;
        let f = p.call(&Request::ReadFile(ReadFileRequest {
            node: *node,
            max_size: IoSize::new(4096).context("size")?,
        }))?;
        if error_of(&f).is_none() {
            bail!("ReadFile of {name}: answered with data");
        }
        println!(
            "ok: ReadFile of {name}: {}",
            error_of(&f).map(errno_name).unwrap_or_default()
        );
    }
    p.ping()?;
    Ok(())
}

fn setattr_size(node: u64) -> qtfs_proto::SetattrRequest {
    qtfs_proto::SetattrRequest {
        node,
        handle: 0,
        mask: qtfs_proto::SetAttrMask::SIZE,
        mode: Permissions::default(),
        uid: 0,
        gid: 0,
        size: 0,
        atime: qtfs_proto::TimeUpdate::Omit,
        mtime: qtfs_proto::TimeUpdate::Omit,
    }
}

/// Opens `count` connections that never send a byte.
fn open_silent(addr: SocketAddr, count: usize) -> Result<Vec<TcpStream>> {
    let mut v = Vec::with_capacity(count);
    for _ in 0..count {
        let s = connect(addr)?;
        s.set_read_timeout(Some(Duration::from_millis(200)))?;
        v.push(s);
    }
    Ok(v)
}

/// Whether the server has closed `s` (EOF or reset); `false` while it is
/// still open.
fn is_closed_by_server(s: &TcpStream) -> bool {
    let mut b = [0u8; 1];
    let mut r = s;
    match r.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

/// A handshake flood from this address must not lock an authenticating
/// peer out: the oldest handshakes are evicted.
fn flood(t: &Target) -> Result<()> {
    let count = 40;
    let silent = open_silent(t.server, count)?;
    let mut p = session(t).context("a genuine handshake during a flood")?;
    p.ping()?;
    let open = silent.iter().filter(|s| !is_closed_by_server(s)).count();
    if open > HANDSHAKES_PER_ADDR {
        bail!("flood: {open} of {count} silent connections still open (limit {HANDSHAKES_PER_ADDR} per address)");
    }
    println!(
        "ok: a flood of {count} silent connections: {} evicted, {open} left, a genuine session authenticated",
        count - open
    );
    drop(silent);
    Ok(())
}

/// `qtfs-hostile flood`: holds `count` silent connections (for the
/// kernel client's mount during a flood).
pub fn flood_hold(addr: SocketAddr, count: usize, hold: Duration) -> Result<()> {
    let mut v = open_silent(addr, count)?;
    println!("flood: {count} connections open");
    std::io::stdout().flush()?;
    let t0 = Instant::now();
    // Keep the pressure on: reopen what the server closes.
    let mut reopened = 0;
    while t0.elapsed() < hold {
        for s in v.iter_mut() {
            if is_closed_by_server(s) {
                if let Ok(n) = connect(addr) {
                    n.set_read_timeout(Some(Duration::from_millis(200)))?;
                    *s = n;
                    reopened += 1;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("flood: done, {reopened} connections reopened after eviction");
    Ok(())
}

/// A TCP connection whose receive buffer is small (`SO_RCVBUF` before
/// connect), so that the server's replies queue up on its side.
fn connect_small_rcvbuf(addr: SocketAddr, bytes: i32) -> Result<TcpStream> {
    let SocketAddr::V4(v4) = addr else {
        bail!("IPv4 only")
    };
    // SAFETY: plain socket(2)/setsockopt(2)/connect(2) calls on a new fd
    // that this function owns until it hands it to `TcpStream`.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        if fd < 0 {
            bail!("socket: {}", std::io::Error::last_os_error());
        }
        let s = TcpStream::from_raw_fd(fd);
        let v = bytes;
        if libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&v as *const i32).cast(),
            4,
        ) != 0
        {
            bail!("SO_RCVBUF: {}", std::io::Error::last_os_error());
        }
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        if libc::connect(
            fd,
            (&sa as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        ) != 0
        {
            bail!("connect: {}", std::io::Error::last_os_error());
        }
        Ok(s)
    }
}

/// A peer that reads its replies a little at a time (1 KiB per 100 ms,
/// each wait of the server's send making progress): the server must end
/// the session once one reply takes longer than its send deadline
/// (15 s), well before the replies could drain (4 MiB at 10 KiB/s).
fn slow_drain(t: &Target) -> Result<()> {
    let s = connect_small_rcvbuf(t.server, 4096)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut p = handshake(s, &t.key, Ids::current()?).context("handshake")?;
    let (root, _) = p.attach(&t.export)?;
    let (node, a) = p.lookup(root, b"big.bin").context("lookup big.bin")?;
    if a.size < 4 << 20 {
        bail!("big.bin must be at least 4 MiB");
    }
    let h = p.open(node, OpenFlags::O_RDONLY)?;
    for k in 0..4u64 {
        p.send(&Request::Read(ReadRequest {
            handle: h,
            offset: k << 20,
            size: IoSize::new(1 << 20).context("size")?,
        }))?;
    }
    let t0 = Instant::now();
    let mut got = 0usize;
    let mut buf = [0u8; 1024];
    let end = loop {
        if t0.elapsed() > Duration::from_secs(150) {
            bail!("slow drain: the session still alive after 150 s ({got} bytes read)");
        }
        match p.stream().read(&mut buf) {
            Ok(0) => break "closed",
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break "reset",
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let secs = t0.elapsed().as_secs();
    if got >= 4 << 20 {
        bail!("slow drain: all replies were read ({got} bytes) before the session ended");
    }
    println!(
        "ok: a slow reader (1 KiB per 100 ms): session {end} after {secs} s, {got} bytes read"
    );
    println!("FIGURE slow_drain_seconds={secs} bytes={got}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_name_rewrites_length_and_total() {
        let f = encode(
            7,
            &Request::Lookup(LookupRequest {
                parent: 1,
                name: Name::new(PLACEHOLDER).expect("name"),
            }),
        );
        let g = splice_name(&f, b"a/b", None).expect("spliced");
        assert_eq!(g.len(), f.len() - PLACEHOLDER.len() + 3);
        assert_eq!(
            u32::from_le_bytes(g[..4].try_into().unwrap()) as usize,
            g.len()
        );
        assert_eq!(&g[g.len() - 7..], &[3, 0, 0, 0, b'a', b'/', b'b']);
        let h = splice_name(&f, b"x", Some(u32::MAX)).expect("spliced");
        assert_eq!(&h[h.len() - 5..h.len() - 1], &u32::MAX.to_le_bytes());
    }
}
