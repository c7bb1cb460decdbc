//! The long-running mode against qtfs_server.ko: valid requests with random
//! arguments in random order, mutations of them (bit flips, field swaps,
//! truncations, opcode and id changes, random bodies) and, rarely, frames
//! that break the framing (length changes, bad flags, status or id, random
//! headers). Frames are pipelined (a reader thread counts the replies);
//! after a framing-breaking frame the writer stops and the server must
//! drop the connection, then the tool reconnects. Any other drop is an
//! anomaly and fails the run.

use std::io::Write;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use qtfs_proto::{
    AttachRequest, CancelRequest, CreateRequest, Data, ForgetRequest, FrameFlags, FrameHeader,
    FsyncRequest, GetXattrRequest, GetattrRequest, IoSize, LinkRequest, ListXattrRequest,
    LlseekRequest, LookupRequest, MkdirRequest, Name, OpenFlags, OpenRequest, Path, Permissions,
    PingRequest, ReadFileRequest, ReadRequest, ReaddirRequest, ReadlinkRequest, ReleaseRequest,
    RenameFlags, RenameRequest, Request, RmdirRequest, StatfsRequest, SymlinkRequest,
    UnlinkRequest, Whence, WriteRequest, XattrListSize, XattrName, XattrSize, HEADER_LEN,
};

use crate::attack::{encode, session, Target};
use crate::peer::read_frame;
use crate::rng::Rng;

/// One frame in this many breaks the framing (then a reconnect).
const BREAK_ONE_IN: u64 = 4000;
/// Frames written at once.
const BATCH: usize = 64;

#[derive(Default)]
struct Totals {
    frames: u64,
    bytes: u64,
    replies: u64,
    errors: u64,
    drops: u64,
    connections: u64,
    anomalies: u64,
}

pub fn run(t: &Target, max_frames: u64, max_time: Duration, seed: u64) -> Result<()> {
    println!("fuzz: seed {seed} (replay with --seed {seed})");
    let mut rng = Rng::new(seed);
    let mut tot = Totals::default();
    let t0 = Instant::now();
    while tot.frames < max_frames && t0.elapsed() < max_time {
        one_connection(t, &mut rng, &mut tot, max_frames, max_time, t0)?;
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "fuzz: {} frames ({} bytes) in {:.1} s on {} connections: {} replies ({} errors), {} drops after framing-breaking frames, {} unexpected drops",
        tot.frames, tot.bytes, secs, tot.connections, tot.replies, tot.errors, tot.drops, tot.anomalies
    );
    println!(
        "FIGURE frames={} seconds={:.1} replies={} drops={} connections={} seed={}",
        tot.frames, secs, tot.replies, tot.drops, tot.connections, seed
    );
    let mut p = session(t).context("a fresh session after the fuzzing")?;
    p.ping().context("ping after the fuzzing")?;
    println!("ok: the server still answers a fresh session");
    if tot.anomalies > 0 {
        bail!(
            "{} connection(s) dropped without a framing-breaking frame (seed {seed})",
            tot.anomalies
        );
    }
    Ok(())
}

/// The ids a session really holds, for requests that should reach the VFS.
struct Ids {
    nodes: Vec<u64>,
    handles: Vec<u64>,
    names: Vec<Vec<u8>>,
    next_id: u64,
}

fn one_connection(
    t: &Target,
    rng: &mut Rng,
    tot: &mut Totals,
    max_frames: u64,
    max_time: Duration,
    t0: Instant,
) -> Result<()> {
    let mut p = session(t)?;
    tot.connections += 1;
    let (root, _) = p.attach(&t.export).context("attach")?;
    let mut ids = Ids {
        nodes: vec![root],
        handles: vec![],
        names: vec![b"nope".to_vec()],
        next_id: 1000,
    };
    for e in p.list(root)?.into_iter().take(8) {
        if let Ok((n, _)) = p.lookup(root, &e.name) {
            ids.nodes.push(n);
            if let Ok(h) = p.open(n, OpenFlags::O_RDONLY) {
                ids.handles.push(h);
            }
        }
        ids.names.push(e.name);
    }
    if let Ok(h) = p.open(root, OpenFlags::O_RDONLY) {
        ids.handles.push(h);
    }
    let mut stream = p.stream().try_clone()?;
    let mut rx = stream.try_clone()?;
    rx.set_read_timeout(Some(Duration::from_secs(120)))?;
    // Set before a framing-breaking frame or our end of the stream goes
    // out: an end of the stream before that is an anomaly.
    let expect_end = Arc::new(AtomicBool::new(false));
    let expected = expect_end.clone();
    let reader = std::thread::spawn(move || {
        let (mut replies, mut errors) = (0u64, 0u64);
        while let Ok(Some(f)) = read_frame(&mut rx) {
            replies += 1;
            if f.get(16..20).is_some_and(|s| s != [0; 4]) {
                errors += 1;
            }
        }
        (replies, errors, !expected.load(Ordering::Acquire))
    });
    let mut broke = false;
    let mut batch = Vec::with_capacity(BATCH * 256);
    'conn: while tot.frames < max_frames && t0.elapsed() < max_time {
        batch.clear();
        for _ in 0..BATCH {
            let (f, breaks) = next_frame(rng, &mut ids);
            batch.extend_from_slice(&f);
            tot.frames += 1;
            tot.bytes += f.len() as u64;
            if breaks {
                broke = true;
                break;
            }
            if tot.frames >= max_frames {
                break;
            }
        }
        if broke {
            expect_end.store(true, Ordering::Release);
        }
        if stream.write_all(&batch).is_err() {
            break 'conn;
        }
        if broke {
            break;
        }
    }
    expect_end.store(true, Ordering::Release);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
    let (replies, errors, unexpected) = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader thread panicked"))?;
    tot.replies += replies;
    tot.errors += errors;
    if broke {
        tot.drops += 1;
    } else if unexpected {
        tot.anomalies += 1;
        println!(
            "fuzz: ANOMALY: the server dropped connection {} without a framing-breaking frame",
            tot.connections
        );
    }
    Ok(())
}

fn pick_id(rng: &mut Rng, v: &[u64]) -> u64 {
    if v.is_empty() || rng.one_in(5) {
        match rng.below(4) {
            0 => 0,
            1 => u64::MAX,
            2 => rng.below(64) + 1 + ((rng.below(3)) << 32),
            _ => rng.next(),
        }
    } else {
        *rng.pick(v)
    }
}

fn size(rng: &mut Rng) -> IoSize {
    let s = match rng.below(8) {
        0 => 0,
        1 => 1 << 20,
        _ => rng.below(64 << 10) as u32,
    };
    IoSize::new(s).unwrap_or(IoSize::new(1).expect("1 is a valid size"))
}

/// A valid request with random arguments.
fn valid(rng: &mut Rng, ids: &mut Ids, id: u64) -> Vec<u8> {
    let node = pick_id(rng, &ids.nodes);
    let node2 = pick_id(rng, &ids.nodes);
    let handle = pick_id(rng, &ids.handles);
    let name_bytes = rng.pick(&ids.names).clone();
    let name = Name::new(&name_bytes).unwrap_or(Name::new(b"x").expect("valid name"));
    let mode = Permissions::new((rng.next() as u32) & 0o7777).unwrap_or_default();
    let flags =
        OpenFlags::from_bits((rng.next() as u32) & OpenFlags::KNOWN).unwrap_or(OpenFlags::O_RDONLY);
    let data = vec![0x5a; rng.below(300) as usize];
    let xname = XattrName::new(b"user.qtfs-fuzz").expect("valid xattr name");
    let req = match rng.below(26) {
        0 => Request::Getattr(GetattrRequest { node }),
        1 => Request::Lookup(LookupRequest { parent: node, name }),
        2 => Request::Open(OpenRequest { node, flags }),
        3 => Request::Read(ReadRequest {
            handle,
            offset: rng.next() >> rng.below(64),
            size: size(rng),
        }),
        4 => Request::Readdir(ReaddirRequest {
            handle,
            cookie: rng.next() >> rng.below(64),
            max_bytes: size(rng),
        }),
        5 => Request::Release(ReleaseRequest { handle }),
        6 => Request::Readlink(ReadlinkRequest { node }),
        7 => Request::Statfs(StatfsRequest { node }),
        8 => Request::Forget(ForgetRequest {
            node,
            count: rng.below(2),
        }),
        9 => Request::Llseek(LlseekRequest {
            handle,
            offset: rng.next() as i64 >> rng.below(64),
            whence: Whence::from_u8(rng.below(5) as u8).unwrap_or(Whence::Set),
        }),
        10 => Request::GetXattr(GetXattrRequest {
            node,
            name: xname,
            size: XattrSize::new(rng.below(70000) as u32).unwrap_or(XattrSize::new(0).expect("0")),
        }),
        11 => Request::ListXattr(ListXattrRequest {
            node,
            size: XattrListSize::new(rng.below(70000) as u32)
                .unwrap_or(XattrListSize::new(0).expect("0")),
        }),
        12 => Request::Mkdir(MkdirRequest {
            parent: node,
            name,
            mode,
            umask: Permissions::default(),
        }),
        13 => Request::Create(CreateRequest {
            parent: node,
            name,
            flags,
            mode,
            umask: Permissions::default(),
        }),
        14 => Request::Unlink(UnlinkRequest { parent: node, name }),
        15 => Request::Rmdir(RmdirRequest { parent: node, name }),
        16 => Request::Rename(RenameRequest {
            old_parent: node,
            old_name: name,
            new_parent: node2,
            new_name: name,
            flags: RenameFlags::from_bits((rng.next() as u32) & 7).unwrap_or_default(),
        }),
        17 => Request::Link(LinkRequest {
            node,
            new_parent: node2,
            new_name: name,
        }),
        18 => Request::Symlink(SymlinkRequest {
            parent: node,
            name,
            target: Path::new(b"/srv/outside/sentinel").expect("valid path"),
        }),
        19 => Request::Write(WriteRequest {
            handle,
            offset: rng.next() >> rng.below(64),
            data: Data::new(&data).expect("short data"),
        }),
        20 => Request::Fsync(FsyncRequest {
            handle,
            datasync: rng.one_in(2),
        }),
        21 => Request::Cancel(CancelRequest {
            target: id.saturating_sub(rng.below(100)),
        }),
        22 => Request::ReadFile(ReadFileRequest {
            node,
            max_size: size(rng),
        }),
        23 => Request::Attach(AttachRequest {
            export: Path::new(if rng.one_in(2) {
                b"/srv/export"
            } else {
                b"/srv/outside"
            })
            .expect("valid path"),
        }),
        _ => Request::Ping(PingRequest {}),
    };
    encode(id, &req)
}

/// The next frame and whether it breaks the framing (the server must then
/// drop the connection).
fn next_frame(rng: &mut Rng, ids: &mut Ids) -> (Vec<u8>, bool) {
    ids.next_id += 1;
    let id = ids.next_id;
    let mut f = valid(rng, ids, id);
    if f.len() < HEADER_LEN {
        f = encode(id, &Request::Ping(PingRequest {}));
    }
    if rng.one_in(BREAK_ONE_IN) {
        return (breaking(rng, f), true);
    }
    match rng.below(8) {
        // Valid.
        0..=3 => {}
        // A bit flip in the body.
        4 => {
            if f.len() > HEADER_LEN {
                let at = HEADER_LEN + rng.below((f.len() - HEADER_LEN) as u64) as usize;
                f[at] ^= 1 << rng.below(8);
            }
        }
        // Two 4-byte fields of the body swapped.
        5 => {
            let n = (f.len() - HEADER_LEN) / 4;
            if n >= 2 {
                let a = HEADER_LEN + 4 * rng.below(n as u64) as usize;
                let b = HEADER_LEN + 4 * rng.below(n as u64) as usize;
                for k in 0..4 {
                    f.swap(a + k, b + k);
                }
            }
        }
        // The body truncated (total_len fixed) or extended with junk.
        6 => {
            let body = f.len() - HEADER_LEN;
            if rng.one_in(2) && body > 0 {
                f.truncate(HEADER_LEN + rng.below(body as u64) as usize);
            } else {
                let extra = rng.bytes_below(64 + 1);
                f.extend_from_slice(&extra);
            }
            let n = f.len() as u32;
            f[..4].copy_from_slice(&n.to_le_bytes());
        }
        // Another opcode (known or not) on this body, or a random body.
        _ => {
            let op = if rng.one_in(2) {
                rng.below(0x40) as u16
            } else {
                rng.next() as u16
            };
            f[4..6].copy_from_slice(&op.to_le_bytes());
            if rng.one_in(2) {
                let body = rng.bytes_below(200);
                f.truncate(HEADER_LEN);
                f.extend_from_slice(&body);
                let n = f.len() as u32;
                f[..4].copy_from_slice(&n.to_le_bytes());
            }
        }
    }
    // A mutation may still leave a header the server must refuse.
    let breaks = match FrameHeader::decode(&f[..HEADER_LEN]) {
        Ok(h) => h.flags != FrameFlags::REQUEST || h.total_len as usize != f.len(),
        Err(_) => true,
    };
    (f, breaks)
}

/// A frame that breaks the framing: the server cannot trust the stream
/// after it.
fn breaking(rng: &mut Rng, mut f: Vec<u8>) -> Vec<u8> {
    match rng.below(6) {
        0 => {
            let n = u32::from_le_bytes([f[0], f[1], f[2], f[3]]);
            let n = if rng.one_in(2) {
                n.wrapping_add(rng.below(100) as u32 + 1)
            } else {
                rng.next() as u32
            };
            f[..4].copy_from_slice(&n.to_le_bytes());
        }
        1 => f[6..8].copy_from_slice(&(1u16 << rng.below(16)).to_le_bytes()),
        2 => f[8..16].copy_from_slice(&0u64.to_le_bytes()),
        3 => f[16..20].copy_from_slice(&(rng.next() as u32 | 1).to_le_bytes()),
        4 => f[..4].copy_from_slice(&(qtfs_proto::MAX_FRAME_SIZE + 1).to_le_bytes()),
        _ => {
            let junk = rng.bytes(HEADER_LEN);
            f[..HEADER_LEN].copy_from_slice(&junk);
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Ids {
        Ids {
            nodes: vec![0x1_0000_0001],
            handles: vec![0x1_0000_0001],
            names: vec![b"nope".to_vec()],
            next_id: 1000,
        }
    }

    /// Every frame not marked as breaking has a header the server must
    /// accept as a request of exactly its length; the marked ones do not
    /// (or lie about their length). The same seed gives the same frames.
    #[test]
    fn frames_are_classified_and_reproducible() {
        let (mut a, mut b) = (Rng::new(42), Rng::new(42));
        let (mut ia, mut ib) = (ids(), ids());
        let mut broke = 0;
        for _ in 0..20_000 {
            let (f, breaks) = next_frame(&mut a, &mut ia);
            assert_eq!((f.clone(), breaks), next_frame(&mut b, &mut ib));
            match FrameHeader::decode(&f[..HEADER_LEN]) {
                Ok(h) if !breaks => {
                    assert_eq!(h.flags, FrameFlags::REQUEST);
                    assert_eq!(h.total_len as usize, f.len());
                }
                Ok(h) => {
                    broke += 1;
                    assert!(h.flags != FrameFlags::REQUEST || h.total_len as usize != f.len());
                }
                Err(_) => {
                    assert!(breaks);
                    broke += 1;
                }
            }
        }
        assert!(broke > 0 && broke < 100, "{broke} breaking frames");
    }
}
