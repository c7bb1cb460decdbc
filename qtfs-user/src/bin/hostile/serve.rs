//! `qtfs-hostile serve`: a hostile qtfs *server* for the DPU's qtfs.ko. It
//! completes the handshake (it knows the key) and then serves a small
//! made-up tree whose behaviour depends on the export the client attached
//! (the mount's source path), so that one DPU script can try each:
//!
//! - `/good`: well-behaved (a directory of files `v0`..`v9`, 100 bytes each).
//! - `/attrs`: bogus attributes: sizes and block counts near `u64::MAX`,
//!   `nlink` `u32::MAX`, timestamps at `i64::MIN`/`i64::MAX`, ino 0, blksize
//!   0 and `u32::MAX`, a node whose type changes between lookup and getattr,
//!   a child with its parent's node id (a directory loop), mode bits that
//!   do not decode, duplicate directory entries, a read answered with more
//!   data than asked.
//! - `/ids`: before each reply a reply to an id never sent and after it the
//!   same reply again (a duplicate) and a reply to an older id.
//! - `/events`: `PollEvent`s for unknown poll ids, malformed events and
//!   events of unknown opcodes before each reply.
//! - `/silent`: requests on its nodes are never answered (the client must
//!   fail them with ETIMEDOUT at its bound).
//! - `/wrongop`: replies with the right id but another opcode.
//! - `/badreply`: reply bodies cut short or with trailing junk, and errnos
//!   the kernel keeps for itself (ERESTARTSYS, EIOCBQUEUED, ...).
//! - `/random`: once attached, `frames` random and mutated frames sent
//!   unprompted (replies to random ids, events, mutations of valid replies)
//!   while requests are answered normally or with mutated replies; then a
//!   frame of a bad length ends the connection.
//! - `/kill`: every request is answered with a truncated frame, then the
//!   connection is closed; another with an oversized length.
//!
//! Prints a line per connection and `FIGURE client_frames=... seconds=...`
//! for the random mode.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use qtfs_proto::attr::{S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG};
use qtfs_proto::{
    decode_request, encode_error_reply, encode_event, encode_handshake, encode_reply, split_frame,
    AttrReply, Capabilities, Data, DirEntriesBuilder, DirEntry, EmptyReply, EntryReply, Errno,
    Event, FileMode, FileType, FrameFlags, Name, NodeFlags, OpenReply, Path, PollEventBody,
    PollEvents, ReadReply, ReaddirReply, ReadlinkReply, Reply, Request, ServerHandshake,
    ServerStep, StatFs, StatfsReply, Timestamp, WireAttr, HEADER_LEN, MAX_FRAME_SIZE,
};

use crate::peer::{random_nonce, raw_frame, read_frame};
use crate::rng::Rng;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Good = 1,
    Attrs,
    Ids,
    Events,
    Silent,
    WrongOp,
    BadReply,
    Random,
    Kill,
}

const MODES: [(&str, Mode); 9] = [
    ("good", Mode::Good),
    ("attrs", Mode::Attrs),
    ("ids", Mode::Ids),
    ("events", Mode::Events),
    ("silent", Mode::Silent),
    ("wrongop", Mode::WrongOp),
    ("badreply", Mode::BadReply),
    ("random", Mode::Random),
    ("kill", Mode::Kill),
];

/// Node ids: the mode in bits 48.., the entry in bits 8..48 (0 = root),
/// and bit 47 for handles.
fn node_id(mode: Mode, entry: u64) -> u64 {
    ((mode as u64) << 48) | (entry << 8) | 1
}

fn mode_of(id: u64) -> Option<Mode> {
    let m = (id >> 48) as u8;
    MODES.iter().map(|(_, m)| *m).find(|x| *x as u8 == m)
}

fn entry_of(id: u64) -> u64 {
    (id >> 8) & ((1 << 39) - 1)
}

const HANDLE_BIT: u64 = 1 << 47;
const FILES: u64 = 10;
const FILE_SIZE: u64 = 100;

pub fn run(listen: SocketAddr, key: Vec<u8>, frames: u64, seed: u64) -> Result<()> {
    let l = TcpListener::bind(listen).with_context(|| format!("binding {listen}"))?;
    println!("serve: listening on {listen}, seed {seed}");
    std::io::stdout().flush()?;
    let key = Arc::new(key);
    for (n, s) in l.incoming().enumerate() {
        let Ok(s) = s else { continue };
        let key = key.clone();
        std::thread::spawn(move || {
            let peer = s.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            match serve_conn(s, &key, frames, seed.wrapping_add(n as u64)) {
                Ok(why) => println!("serve: connection {n} from {peer} ended: {why}"),
                Err(e) => println!("serve: connection {n} from {peer} ended: {e:#}"),
            }
            let _ = std::io::stdout().flush();
        });
    }
    Ok(())
}

/// The write half, shared by the request loop and the random sender.
type Tx = Arc<Mutex<TcpStream>>;

fn send(tx: &Tx, f: &[u8]) -> Result<()> {
    tx.lock()
        .map_err(|_| anyhow!("poisoned"))?
        .write_all(f)
        .context("sending")
}

fn server_handshake(s: &mut TcpStream, key: &[u8]) -> Result<()> {
    let caps = Capabilities::XATTR
        .union(Capabilities::WHOLE_FILE_READ)
        .union(Capabilities::POLL_EVENTS);
    let mut hs = ServerHandshake::new(caps, random_nonce()?);
    let mut buf = [0u8; 256];
    loop {
        let f = read_frame(s)?.context("closed in the handshake")?;
        let (h, body) = split_frame(&f).map_err(|e| anyhow!("{e}"))?;
        let (answer, done) = match hs.on_frame(key, &h, body) {
            ServerStep::Reply(m) => (Some(m), false),
            ServerStep::Accept(m, _) => (Some(m), true),
            ServerStep::Close(_) => return Err(anyhow!("the client failed the handshake")),
        };
        if let Some(m) = answer {
            let n = encode_handshake(&mut buf, h.request_id, &m).map_err(|e| anyhow!("{e:?}"))?;
            s.write_all(&buf[..n])?;
        }
        if done {
            return Ok(());
        }
    }
}

fn serve_conn(mut s: TcpStream, key: &[u8], frames: u64, seed: u64) -> Result<String> {
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    server_handshake(&mut s, key)?;
    s.set_read_timeout(None)?;
    println!("serve: authenticated {}", s.peer_addr()?);
    let tx: Tx = Arc::new(Mutex::new(s.try_clone()?));
    let mut rng = Rng::new(seed);
    let mut last_id = 1u64;
    let mut random_started = false;
    loop {
        let Some(f) = read_frame(&mut s)? else {
            return Ok("closed by the client".into());
        };
        let (h, body) = split_frame(&f).map_err(|e| anyhow!("{e}"))?;
        if h.flags != FrameFlags::REQUEST {
            continue;
        }
        let Ok(req) = decode_request(&h, body) else {
            let mut b = [0u8; 64];
            let n = encode_error_reply(&mut b, h.opcode, h.request_id, Errno::EPROTO)
                .map_err(|e| anyhow!("{e:?}"))?;
            send(&tx, &b[..n])?;
            continue;
        };
        let id = h.request_id;
        let mode = target_mode(&req.request);
        // What mount itself asks (Attach, the root's attributes and
        // statfs) is answered well, so that each mode gets mounted.
        if for_mount(&req.request) {
            let good = answer(&req.request, id, mode, &mut rng);
            send(&tx, &good)?;
            continue;
        }
        if mode == Mode::Random && !random_started {
            random_started = true;
            let tx2 = tx.clone();
            let seed2 = rng.next();
            std::thread::spawn(move || {
                let t0 = Instant::now();
                let sent = blast(&tx2, frames, seed2);
                let secs = t0.elapsed().as_secs_f64();
                println!(
                    "serve: random mode: {sent} frames to the client in {secs:.1} s (seed {seed2})"
                );
                println!("FIGURE client_frames={sent} seconds={secs:.1} seed={seed2}");
                let _ = std::io::stdout().flush();
            });
        }
        let mut good = answer(&req.request, id, mode, &mut rng);
        match mode {
            Mode::Silent => continue,
            Mode::Ids => {
                let mut pre = good.clone();
                pre[8..16].copy_from_slice(&(id + 1_000_000).to_le_bytes());
                send(&tx, &pre)?;
                send(&tx, &good)?;
                send(&tx, &good)?;
                let mut old = good.clone();
                old[8..16].copy_from_slice(&last_id.max(1).to_le_bytes());
                send(&tx, &old)?;
                last_id = id;
                continue;
            }
            Mode::Events => {
                for f in bogus_events(&mut rng) {
                    send(&tx, &f)?;
                }
            }
            Mode::WrongOp => {
                let op = u16::from_le_bytes([good[4], good[5]]);
                let other = if op == 0x0014 { 0x0025u16 } else { 0x0014 };
                good[4..6].copy_from_slice(&other.to_le_bytes());
            }
            Mode::BadReply => {
                good = bad_reply(good, h.opcode, id, &mut rng);
            }
            Mode::Random if rng.one_in(3) => {
                good = mutate_reply(good, &mut rng);
            }
            Mode::Kill => {
                if rng.one_in(2) {
                    let mut f = good.clone();
                    let n = f.len() as u32 + 500;
                    f[..4].copy_from_slice(&n.to_le_bytes());
                    send(&tx, &f)?;
                } else {
                    let mut f = raw_frame(h.opcode, 1, id, 0, &[]);
                    f[..4].copy_from_slice(&(MAX_FRAME_SIZE + 1).to_le_bytes());
                    send(&tx, &f)?;
                }
                let _ = s.shutdown(Shutdown::Both);
                return Ok("killed (a bad frame, then closed)".into());
            }
            _ => {}
        }
        send(&tx, &good)?;
    }
}

/// Whether `req` is one of those a mount makes before any file is named:
/// `Attach`, `Ping`, and `Getattr` and `Statfs` of an export root.
fn for_mount(req: &Request<'_>) -> bool {
    let root = |id: u64| entry_of(id) == 0;
    match req {
        Request::Attach(_) | Request::Ping(_) => true,
        Request::Getattr(r) => root(r.node),
        Request::Statfs(r) => root(r.node),
        _ => false,
    }
}

/// The mode of the node or handle a request names (an Attach: its path).
fn target_mode(req: &Request<'_>) -> Mode {
    let id = match req {
        Request::Attach(a) => {
            let p = a.export.as_bytes();
            let name = p.rsplit(|&b| b == b'/').next().unwrap_or(b"");
            return MODES
                .iter()
                .find(|(n, _)| n.as_bytes() == name)
                .map(|(_, m)| *m)
                .unwrap_or(Mode::Good);
        }
        Request::Getattr(r) => r.node,
        Request::Lookup(r) => r.parent,
        Request::Open(r) => r.node,
        Request::Read(r) => r.handle,
        Request::Readdir(r) => r.handle,
        Request::Release(r) => r.handle,
        Request::Readlink(r) => r.node,
        Request::Statfs(r) => r.node,
        Request::Forget(r) => r.node,
        Request::Setattr(r) => r.node,
        Request::Llseek(r) => r.handle,
        Request::ReadFile(r) => r.node,
        Request::GetXattr(r) => r.node,
        Request::ListXattr(r) => r.node,
        Request::Fsync(r) => r.handle,
        Request::PollRegister(r) => r.handle,
        _ => 0,
    };
    mode_of(id).unwrap_or(Mode::Good)
}

fn ts(sec: i64, nsec: u32) -> Timestamp {
    Timestamp { sec, nsec }
}

fn attr(ino: u64, mode: u32, size: u64) -> WireAttr {
    WireAttr {
        ino,
        dev: 77,
        mode: FileMode::new(mode).unwrap_or(FileMode::new(S_IFREG | 0o644).expect("valid mode")),
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev_major: 0,
        rdev_minor: 0,
        size,
        blocks: size.div_ceil(512),
        blksize: 4096,
        atime: ts(1_700_000_000, 0),
        mtime: ts(1_700_000_000, 0),
        ctime: ts(1_700_000_000, 0),
        generation: 1,
        change: 1,
        flags: NodeFlags::default(),
    }
}

/// The attributes of `node` (`getattr`: as Getattr sees them, else as
/// Lookup does).
fn attr_of(node: u64, getattr: bool) -> WireAttr {
    let e = entry_of(node);
    let ino = (node & 0xffff_ffff_ff00) | 2;
    if e == 0 {
        return attr(ino, S_IFDIR | 0o755, 4096);
    }
    if mode_of(node) != Some(Mode::Attrs) {
        return attr(ino, S_IFREG | 0o644, FILE_SIZE);
    }
    let mut a = attr(ino, S_IFREG | 0o644, FILE_SIZE);
    match (e - 1) % FILES {
        0 => {
            a.size = u64::MAX;
            a.blocks = u64::MAX;
        }
        1 => a.nlink = u32::MAX,
        2 => {
            a.atime = ts(i64::MIN, 999_999_999);
            a.mtime = ts(i64::MAX, 999_999_999);
            a.ctime = ts(-1, 0);
        }
        3 => {
            a.ino = 0;
            a.blksize = 0;
        }
        4 => {
            a.blksize = u32::MAX;
            a.size = i64::MAX as u64 + 1;
        }
        // A regular file at lookup, a directory at getattr.
        5 if getattr => a.mode = FileMode::new(S_IFDIR | 0o755).expect("valid mode"),
        6 => {
            a.mode = FileMode::new(S_IFCHR | 0o666).expect("valid mode");
            a.rdev_major = u32::MAX;
            a.rdev_minor = u32::MAX;
        }
        7 => {
            a.mode = FileMode::new(S_IFLNK | 0o777).expect("valid mode");
            a.size = u64::MAX;
        }
        8 => {
            a.uid = u32::MAX;
            a.gid = u32::MAX;
            a.change = u64::MAX;
            a.generation = u32::MAX;
        }
        _ => {}
    }
    a
}

fn enc(id: u64, r: &Reply<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; MAX_FRAME_SIZE as usize];
    let n = encode_reply(&mut buf, id, r).unwrap_or(0);
    buf.truncate(n);
    buf
}

fn enc_err(op: u16, id: u64, e: Errno) -> Vec<u8> {
    let mut b = [0u8; 64];
    let n = encode_error_reply(&mut b, op, id, e).unwrap_or(0);
    b[..n].to_vec()
}

/// The reply a plain server of the made-up tree gives (with the bogus
/// attributes of `/attrs`).
fn answer(req: &Request<'_>, id: u64, mode: Mode, rng: &mut Rng) -> Vec<u8> {
    let op = req.opcode().to_u16();
    match req {
        Request::Ping(_) => enc(id, &Reply::Ping(EmptyReply {})),
        Request::Attach(_) => {
            let node = node_id(mode, 0);
            enc(
                id,
                &Reply::Attach(EntryReply {
                    node,
                    attr: attr_of(node, false),
                }),
            )
        }
        Request::Lookup(r) => {
            let name = r.name.as_bytes();
            let pmode = mode_of(r.parent).unwrap_or(Mode::Good);
            let idx = name
                .strip_prefix(b"v")
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| d.parse::<u64>().ok())
                .filter(|&i| i < FILES);
            let Some(i) = idx else {
                return enc_err(op, id, Errno::ENOENT);
            };
            // `/attrs`: v9 is its parent's own node (a directory loop).
            let node = if pmode == Mode::Attrs && i == 9 {
                r.parent
            } else {
                node_id(pmode, i + 1)
            };
            let mut f = enc(
                id,
                &Reply::Lookup(EntryReply {
                    node,
                    attr: attr_of(node, false),
                }),
            );
            // `/attrs` v3: mode bits that do not decode.
            if pmode == Mode::Attrs && i == 3 && f.len() > HEADER_LEN + 28 {
                f[HEADER_LEN + 24..HEADER_LEN + 28].copy_from_slice(&0o170644u32.to_le_bytes());
            }
            f
        }
        Request::Getattr(r) => enc(
            id,
            &Reply::Getattr(AttrReply {
                attr: attr_of(r.node, true),
            }),
        ),
        Request::Setattr(r) => enc(
            id,
            &Reply::Setattr(AttrReply {
                attr: attr_of(r.node, true),
            }),
        ),
        Request::Open(r) => enc(
            id,
            &Reply::Open(OpenReply {
                handle: r.node | HANDLE_BIT,
                attr: attr_of(r.node, true),
            }),
        ),
        Request::Readdir(r) => {
            let mut buf = vec![0u8; 8192];
            let n = {
                let mut b = DirEntriesBuilder::new(&mut buf);
                if r.cookie == 0 {
                    for i in 0..FILES {
                        let name = format!("v{i}");
                        let _ = b.push(&DirEntry {
                            ino: 100 + i,
                            cookie: i + 1,
                            file_type: FileType::Regular,
                            name: Name::new(name.as_bytes()).expect("valid name"),
                        });
                    }
                    if mode_of(r.handle) == Some(Mode::Attrs) {
                        // The same name twice, with ino 0.
                        let _ = b.push(&DirEntry {
                            ino: 0,
                            cookie: 99,
                            file_type: FileType::Directory,
                            name: Name::new(b"v0").expect("valid name"),
                        });
                    }
                }
                b.finish()
            };
            enc(
                id,
                &Reply::Readdir(ReaddirReply {
                    entries: n,
                    eof: true,
                }),
            )
        }
        Request::Read(r) => {
            let attrs = mode_of(r.handle) == Some(Mode::Attrs);
            let want = r.size.get() as u64;
            let n = if attrs {
                // More than asked for.
                (want + 512).min(u64::from(qtfs_proto::MAX_IO_SIZE))
            } else {
                FILE_SIZE.saturating_sub(r.offset).min(want)
            };
            let data = vec![b'x'; n as usize];
            enc(
                id,
                &Reply::Read(ReadReply {
                    data: Data::new(&data).expect("bounded"),
                }),
            )
        }
        Request::Readlink(_) => enc(
            id,
            &Reply::Readlink(ReadlinkReply {
                target: Path::new(b"../../../../etc/passwd").expect("valid path"),
            }),
        ),
        Request::Statfs(_) => enc(
            id,
            &Reply::Statfs(StatfsReply {
                stat: StatFs {
                    blocks: rng.next(),
                    bfree: u64::MAX,
                    bavail: u64::MAX,
                    files: u64::MAX,
                    ffree: 0,
                    fsid: 0,
                    flags: 0,
                    bsize: 4096,
                    frsize: 4096,
                    namelen: 255,
                    fs_type: 0x5174_6673,
                },
            }),
        ),
        Request::Release(_) => enc(id, &Reply::Release(EmptyReply {})),
        Request::Forget(_) => enc(id, &Reply::Forget(EmptyReply {})),
        Request::Cancel(_) => enc(id, &Reply::Cancel(EmptyReply {})),
        _ => enc_err(op, id, Errno::EROFS),
    }
}

fn event(poll_id: u64, bits: u32) -> Vec<u8> {
    let mut b = [0u8; 64];
    let revents = PollEvents::from_bits(bits).unwrap_or_default();
    let n = encode_event(&mut b, &Event::Poll(PollEventBody { poll_id, revents })).unwrap_or(0);
    b[..n].to_vec()
}

fn bogus_events(rng: &mut Rng) -> Vec<Vec<u8>> {
    vec![
        event(rng.next(), 1),
        event(0, 0x1f),
        raw_frame(0x0100, 2, 0, 0, &rng.bytes(5)),
        raw_frame(rng.next() as u16, 2, 0, 0, &rng.bytes(16)),
    ]
}

/// `good` turned into a reply the client must refuse (EPROTO) or an
/// errno it must not pass on as is.
fn bad_reply(good: Vec<u8>, op: u16, id: u64, rng: &mut Rng) -> Vec<u8> {
    match rng.below(4) {
        0 if good.len() > HEADER_LEN + 1 => {
            let mut f = good;
            let cut = HEADER_LEN + rng.below((f.len() - HEADER_LEN) as u64) as usize;
            f.truncate(cut);
            let n = f.len() as u32;
            f[..4].copy_from_slice(&n.to_le_bytes());
            f
        }
        1 => {
            let mut f = good;
            f.extend_from_slice(b"trailing junk");
            let n = f.len() as u32;
            f[..4].copy_from_slice(&n.to_le_bytes());
            f
        }
        _ => {
            // Errnos that are the kernel's own: ERESTARTSYS,
            // ERESTARTNOINTR, ERESTARTNOHAND, ENOIOCTLCMD,
            // ERESTART_RESTARTBLOCK, EOPENSTALE, EIOCBQUEUED, 4095.
            let e = *rng.pick(&[512u32, 513, 514, 515, 516, 518, 529, 4095]);
            raw_frame(op, 1, id, e, &[])
        }
    }
}

/// A valid reply with a bit flipped, two fields swapped or cut short.
fn mutate_reply(mut f: Vec<u8>, rng: &mut Rng) -> Vec<u8> {
    let body = f.len() - HEADER_LEN;
    if body == 0 {
        return f;
    }
    match rng.below(3) {
        0 => {
            let at = HEADER_LEN + rng.below(body as u64) as usize;
            f[at] ^= 1 << rng.below(8);
        }
        1 if body >= 8 => {
            let n = body / 4;
            let a = HEADER_LEN + 4 * rng.below(n as u64) as usize;
            let b = HEADER_LEN + 4 * rng.below(n as u64) as usize;
            for k in 0..4 {
                f.swap(a + k, b + k);
            }
        }
        _ => {
            f.truncate(HEADER_LEN + rng.below(body as u64) as usize);
            let n = f.len() as u32;
            f[..4].copy_from_slice(&n.to_le_bytes());
        }
    }
    f
}

/// A random frame with a header the client accepts (so that the
/// connection survives): replies to random ids with random or mutated
/// bodies, events, frames with request flags.
fn random_frame(rng: &mut Rng) -> Vec<u8> {
    let id = match rng.below(4) {
        0 => rng.below(1000) + 1,
        1 => u64::MAX,
        _ => rng.next() | 1,
    };
    match rng.below(6) {
        0 => event(rng.next(), rng.next() as u32 & 0x3f),
        1 => raw_frame(rng.next() as u16, 2, 0, 0, &rng.bytes_below(64)),
        2 => {
            let e = rng.below(4095) as u32 + 1;
            raw_frame(rng.below(0x40) as u16, 1, id, e, &[])
        }
        3 => {
            let node = node_id(Mode::Random, rng.below(FILES + 1));
            let f = enc(
                id,
                &Reply::Getattr(AttrReply {
                    attr: attr_of(node, true),
                }),
            );
            mutate_reply(f, rng)
        }
        4 => raw_frame(0x0010, 0, id, 0, &rng.bytes_below(32)),
        _ => {
            let op = rng.below(0x40) as u16;
            raw_frame(op, 1, id, 0, &rng.bytes_below(256))
        }
    }
}

/// Sends `frames` random frames, then one with a bad length; the count
/// actually sent.
fn blast(tx: &Tx, frames: u64, seed: u64) -> u64 {
    let mut rng = Rng::new(seed);
    let mut sent = 0u64;
    let mut batch = Vec::with_capacity(64 * 128);
    while sent < frames {
        batch.clear();
        let mut k = 0;
        while k < 64 && sent + k < frames {
            batch.extend_from_slice(&random_frame(&mut rng));
            k += 1;
        }
        if send(tx, &batch).is_err() {
            return sent;
        }
        sent += k;
    }
    // A frame of a bad length: the client must drop the connection.
    let mut f = raw_frame(0x0010, 1, 1, 0, &[]);
    f[..4].copy_from_slice(&5u32.to_le_bytes());
    let _ = send(tx, &f);
    sent + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_mode() {
        for (_, m) in MODES {
            for e in [0, 1, 9, 10] {
                let id = node_id(m, e);
                assert_eq!(mode_of(id), Some(m));
                assert_eq!(mode_of(id | HANDLE_BIT), Some(m));
                assert_eq!(entry_of(id), e);
            }
        }
        assert_eq!(mode_of(0), None);
    }

    /// The unprompted frames of the random mode never break the framing
    /// (the connection must survive them until the final bad frame).
    #[test]
    fn random_frames_keep_the_framing() {
        let mut rng = Rng::new(7);
        for _ in 0..20_000 {
            let f = random_frame(&mut rng);
            let h = qtfs_proto::FrameHeader::decode(&f[..HEADER_LEN]).expect("valid header");
            assert_eq!(h.total_len as usize, f.len());
        }
    }
}
