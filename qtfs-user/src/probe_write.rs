//! `qtfsctl probe writes` and `qtfsctl probe concurrency`: the modifying
//! operations and the server's concurrency, driven through the protocol
//! against a writable export. `writes` leaves a directory `qtfs-w` in the
//! export and, in it, a file `expect` with one line per node
//! (`name mode uid gid size nlink`, mode in octal with its type bits) that
//! the HOST compares with `stat`.

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use qtfs_proto::attr::{S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK};
use qtfs_proto::{
    CancelRequest, Errno, OpenFlags, OpenRequest, PingRequest, RenameFlags, Request, SetAttrMask,
    SetattrRequest, TimeUpdate, Timestamp, Whence, WireAttr, XattrFlags,
};

use crate::peer::{errno_name, Ids, Peer, Remote};
use crate::probe::{session_for, Target};

type P = Peer<std::net::TcpStream>;
/// A reply frame, or the errno of a failed request, by request id.
type Answer = (u64, std::result::Result<Vec<u8>, Errno>);

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
            println!("ok: {what}: {}", errno_name(want));
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

fn perm(a: &WireAttr) -> u32 {
    a.mode.bits() & 0o7777
}

fn setattr(node: u64) -> SetattrRequest {
    SetattrRequest {
        node,
        handle: 0,
        mask: SetAttrMask::default(),
        mode: qtfs_proto::Permissions::default(),
        uid: 0,
        gid: 0,
        size: 0,
        atime: TimeUpdate::Omit,
        mtime: TimeUpdate::Omit,
    }
}

fn acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for &(tag, perm, id) in entries {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    }
    v
}

const ACL_USER_OBJ: u16 = 1;
const ACL_USER: u16 = 2;
const ACL_GROUP_OBJ: u16 = 4;
const ACL_MASK: u16 = 0x10;
const ACL_OTHER: u16 = 0x20;
const UNDEF: u32 = u32::MAX;

/// The modifying operations, each checked through its reply; the HOST
/// then checks the results with `stat` (see the module doc).
pub fn writes(t: &Target) -> Result<()> {
    let mut p = session_for(t)?;
    let (root, _) = p.attach(&t.export).context("attach")?;
    let mut expect: Vec<(String, WireAttr)> = Vec::new();

    // mkdir with the caller's umask, the parent's attributes after it.
    let (w, wa, parent) = p.mkdir_mode(root, b"qtfs-w", 0o777, 0o022)?;
    ensure!(
        wa.mode.file_type_bits() == S_IFDIR,
        "qtfs-w is not a directory"
    );
    ensure!(
        perm(&wa) == 0o755,
        "mkdir 0777 with umask 022 gave {:o}",
        perm(&wa)
    );
    ensure!(
        parent.nlink >= 3,
        "parent nlink {} after mkdir",
        parent.nlink
    );
    println!("ok: mkdir (mode 0755 after umask 022, parent attributes)");
    expect_errno(
        "mkdir of an existing name",
        p.mkdir_mode(root, b"qtfs-w", 0o777, 0),
        Errno::EEXIST,
    )?;

    // create: O_EXCL, umask, write, append, O_TRUNC.
    let rw_excl = OpenFlags::O_RDWR.union(OpenFlags::O_EXCL);
    let (f, h, fa, pa) = p.create(w, b"f", rw_excl, 0o666, 0o027)?;
    ensure!(
        fa.mode.file_type_bits() == S_IFREG && perm(&fa) == 0o640,
        "create mode {:o}",
        fa.mode.bits()
    );
    ensure!(
        pa.ino == wa.ino,
        "create's parent attributes are not qtfs-w's"
    );
    println!("ok: create (mode 0640 after umask 027)");
    expect_errno(
        "create O_EXCL of an existing file",
        p.create(w, b"f", rw_excl, 0o666, 0),
        Errno::EEXIST,
    )?;
    let (n, a) = p.write(h, 0, b"hello")?;
    ensure!(n == 5 && a.size == 5, "write: {n} bytes, size {}", a.size);
    let (_, a) = p.write(h, 5, b" world")?;
    ensure!(a.size == 11, "size {} after the second write", a.size);
    let ap = p.open(f, OpenFlags::O_WRONLY.union(OpenFlags::O_APPEND))?;
    let (_, a) = p.write(ap, 0, b"!")?;
    ensure!(a.size == 12, "O_APPEND write at 0 gave size {}", a.size);
    p.release(ap)?;
    ensure!(
        p.read(h, 0, 64)? == b"hello world!",
        "content after the writes"
    );
    println!("ok: write at offsets and O_APPEND (reply attributes carry the size)");
    p.fsync(h, false)?;
    p.fsync(h, true)?;
    ensure!(p.llseek(h, 0, Whence::End)? == 12, "SEEK_END");
    ensure!(p.llseek(h, 0, Whence::Data)? == 0, "SEEK_DATA");
    ensure!(p.llseek(h, 0, Whence::Hole)? == 12, "SEEK_HOLE");
    expect_errno(
        "SEEK_DATA beyond the end",
        p.llseek(h, 100, Whence::Data),
        Errno::new(6).unwrap(),
    )?;
    println!("ok: fsync, fdatasync, llseek END/DATA/HOLE");
    p.release(h)?;
    let (f2, h2, a, _) = p.create(
        w,
        b"f",
        OpenFlags::O_RDWR.union(OpenFlags::O_TRUNC),
        0o600,
        0,
    )?;
    ensure!(f2 == f, "create of an existing file gave another node");
    ensure!(a.size == 0, "O_TRUNC left size {}", a.size);
    p.write(h2, 0, b"data")?;
    p.release(h2)?;
    let t0 = p.open(f, OpenFlags::O_WRONLY.union(OpenFlags::O_TRUNC))?;
    ensure!(p.getattr(f)?.size == 0, "Open O_TRUNC did not truncate");
    p.write(t0, 0, b"data")?;
    p.release(t0)?;
    println!("ok: O_TRUNC by Create and by Open");

    // setattr: mode, owner, size by path and by handle, times.
    let mut s = setattr(f);
    s.mask = SetAttrMask::MODE;
    s.mode = qtfs_proto::Permissions::new(0o604).unwrap();
    ensure!(perm(&p.setattr(s)?) == 0o604, "chmod");
    let mut s = setattr(f);
    s.mask = SetAttrMask::UID.union(SetAttrMask::GID);
    s.uid = 1000;
    s.gid = 1000;
    let a = p.setattr(s)?;
    ensure!(
        a.uid == 1000 && a.gid == 1000,
        "chown gave {}:{}",
        a.uid,
        a.gid
    );
    let mut s = setattr(f);
    s.mask = SetAttrMask::SIZE;
    s.size = 10;
    ensure!(p.setattr(s)?.size == 10, "truncate up");
    let hh = p.open(f, OpenFlags::O_RDWR)?;
    let mut s = setattr(f);
    s.mask = SetAttrMask::SIZE;
    s.handle = hh;
    s.size = 4;
    ensure!(p.setattr(s)?.size == 4, "ftruncate through the handle");
    let ro = p.open(f, OpenFlags::O_RDONLY)?;
    let mut s = setattr(f);
    s.mask = SetAttrMask::SIZE;
    s.handle = ro;
    s.size = 1;
    expect_errno(
        "ftruncate of a read-only handle",
        p.setattr(s),
        Errno::EINVAL,
    )?;
    p.release(ro)?;
    let mut s = setattr(f);
    s.atime = TimeUpdate::Set(Timestamp {
        sec: 1_000_000_000,
        nsec: 5,
    });
    s.mtime = TimeUpdate::Set(Timestamp {
        sec: 1_100_000_000,
        nsec: 7,
    });
    let a = p.setattr(s)?;
    ensure!(
        a.atime.sec == 1_000_000_000 && a.mtime.sec == 1_100_000_000 && a.mtime.nsec == 7,
        "utimes gave {:?} {:?}",
        a.atime,
        a.mtime
    );
    let mut s = setattr(f);
    s.mtime = TimeUpdate::Now;
    let a = p.setattr(s)?;
    ensure!(
        a.mtime.sec > 1_100_000_000 && a.atime.sec == 1_000_000_000,
        "mtime now, atime omitted"
    );
    println!("ok: setattr mode, uid/gid, size (path and handle), times Set/Now/Omit");
    // Set-id bits: a chown and a write by another user drop them.
    let mut s = setattr(f);
    s.mask = SetAttrMask::MODE;
    s.mode = qtfs_proto::Permissions::new(0o6775).unwrap();
    ensure!(perm(&p.setattr(s)?) == 0o6775, "chmod 6775");
    let mut s = setattr(f);
    s.mask = SetAttrMask::UID;
    s.uid = 1001;
    let a = p.setattr(s)?;
    ensure!(
        perm(&a) & 0o6000 == 0,
        "chown kept the set-id bits: {:o}",
        perm(&a)
    );
    let mut s = setattr(f);
    s.mask = SetAttrMask::MODE;
    s.mode = qtfs_proto::Permissions::new(0o4777).unwrap();
    p.setattr(s)?;
    p.release(hh)?;
    {
        let mut other = session_for(t)?;
        other.set_ids(Ids {
            uid: 1000,
            gid: 1000,
            groups: vec![],
        });
        let (r2, _) = other.attach(&t.export)?;
        let (w2, _) = other.lookup(r2, b"qtfs-w")?;
        let (f3, _) = other.lookup(w2, b"f")?;
        let hw = other.open(f3, OpenFlags::O_WRONLY)?;
        let (_, a) = other.write(hw, 0, b"D")?;
        ensure!(
            perm(&a) & 0o4000 == 0,
            "a write by another user kept setuid: {:o}",
            perm(&a)
        );
        other.release(hw)?;
        expect_errno(
            "chmod by a non-owner",
            other.setattr({
                let mut s = setattr(f3);
                s.mask = SetAttrMask::MODE;
                s.mode = qtfs_proto::Permissions::new(0o777).unwrap();
                s
            }),
            Errno::EPERM,
        )?;
        expect_errno(
            "mkdir by uid 1000 in a root-owned 0755 directory",
            other.mkdir_mode(w2, b"x", 0o755, 0),
            Errno::EACCES,
        )?;
    }
    println!("ok: chown and another user's write drop set-id bits; caller credentials enforced");
    let mut s = setattr(f);
    s.mask = SetAttrMask::MODE
        .union(SetAttrMask::UID)
        .union(SetAttrMask::GID);
    s.mode = qtfs_proto::Permissions::new(0o640).unwrap();
    s.uid = 1000;
    s.gid = 1000;
    expect.push(("f".into(), p.setattr(s)?));

    // mkdir, symlink, link (one node per inode), mknod.
    let (_, da, _) = p.mkdir_mode(w, b"d", 0o750, 0)?;
    expect.push(("d".into(), da));
    let (sl, sa) = p.symlink(w, b"sl", b"f")?;
    ensure!(
        sa.mode.file_type_bits() == S_IFLNK && p.readlink(sl)? == b"f",
        "symlink"
    );
    expect.push(("sl".into(), sa));
    let (hl, la) = p.link(f, w, b"hl")?;
    ensure!(
        hl == f,
        "the hard link got node {hl:#x}, the file is {f:#x}"
    );
    ensure!(la.nlink == 2, "nlink {} after link", la.nlink);
    let (lk, _) = p.lookup(w, b"hl")?;
    ensure!(lk == f, "lookup of the link gave another node");
    ensure!(
        la.generation == p.getattr(f)?.generation,
        "generation differs between names"
    );
    println!("ok: mkdir, symlink, link (one node id for both names, nlink 2)");
    let (_, pa) = p.mknod(w, b"p", S_IFIFO | 0o666, 0o022, (0, 0))?;
    ensure!(
        pa.mode.file_type_bits() == S_IFIFO && perm(&pa) == 0o644,
        "fifo {:o}",
        pa.mode.bits()
    );
    expect.push(("p".into(), pa));
    let (_, so) = p.mknod(w, b"s", S_IFSOCK | 0o600, 0, (0, 0))?;
    ensure!(so.mode.file_type_bits() == S_IFSOCK, "socket");
    expect.push(("s".into(), so));
    let (_, ca) = p.mknod(w, b"null", S_IFCHR | 0o666, 0, (1, 3))?;
    ensure!(
        ca.mode.file_type_bits() == S_IFCHR && (ca.rdev_major, ca.rdev_minor) == (1, 3),
        "char device"
    );
    expect.push(("null".into(), ca));
    let (_, ra) = p.mknod(w, b"reg", S_IFREG | 0o644, 0, (0, 0))?;
    expect.push(("reg".into(), ra));
    expect_errno(
        "mknod of a directory type",
        p.mknod(w, b"dd", S_IFDIR | 0o755, 0, (0, 0)),
        Errno::EINVAL,
    )?;
    println!("ok: mknod FIFO, socket, char device (1:3), regular");

    // rename with flags.
    p.rename(w, b"hl", w, b"hl2", RenameFlags::default())?;
    expect_errno(
        "rename NOREPLACE onto an existing name",
        p.rename(w, b"hl2", w, b"f", RenameFlags::RENAME_NOREPLACE),
        Errno::EEXIST,
    )?;
    expect_errno(
        "rename EXCHANGE with a missing target",
        p.rename(w, b"hl2", w, b"nothing", RenameFlags::RENAME_EXCHANGE),
        Errno::ENOENT,
    )?;
    p.rename(w, b"d", w, b"sl", RenameFlags::RENAME_EXCHANGE)?;
    let (_, x) = p.lookup(w, b"sl")?;
    ensure!(x.mode.file_type_bits() == S_IFDIR, "EXCHANGE did not swap");
    p.rename(w, b"d", w, b"sl", RenameFlags::RENAME_EXCHANGE)?;
    let (dnode, _) = p.lookup(w, b"d")?;
    expect_errno(
        "rename of a directory into itself",
        p.rename(w, b"d", dnode, b"in", RenameFlags::default()),
        Errno::EINVAL,
    )?;
    println!("ok: rename plain, NOREPLACE, EXCHANGE, into itself");

    // unlink, rmdir.
    expect_errno("rmdir of a file", p.rmdir(w, b"hl2"), Errno::ENOTDIR)?;
    expect_errno("unlink of a directory", p.unlink(w, b"d"), Errno::EISDIR)?;
    expect_errno(
        "rmdir of a non-empty directory",
        p.rmdir(root, b"qtfs-w"),
        Errno::ENOTEMPTY,
    )?;
    let pa = p.unlink(w, b"hl2")?;
    ensure!(pa.ino == wa.ino, "unlink's parent attributes");
    ensure!(p.getattr(f)?.nlink == 1, "nlink after unlinking the link");
    p.mkdir_mode(w, b"gone", 0o755, 0)?;
    p.rmdir(w, b"gone")?;
    expect_errno("lookup after rmdir", p.lookup(w, b"gone"), Errno::ENOENT)?;
    println!("ok: unlink, rmdir and their errors");

    // xattrs and POSIX ACLs.
    p.setxattr(f, b"user.qtfs", b"v1", XattrFlags::default())?;
    ensure!(p.getxattr(f, b"user.qtfs", 0)?.0 == 2, "getxattr size");
    ensure!(
        p.getxattr(f, b"user.qtfs", 64)?.1 == b"v1",
        "getxattr value"
    );
    expect_errno(
        "getxattr into a too small buffer",
        p.getxattr(f, b"user.qtfs", 1),
        Errno::ERANGE,
    )?;
    let (n, names) = p.listxattr(f, 4096)?;
    ensure!(
        n as usize == names.len() && names.split(|&b| b == 0).any(|x| x == b"user.qtfs"),
        "listxattr {names:?}"
    );
    expect_errno(
        "XATTR_CREATE of an existing xattr",
        p.setxattr(f, b"user.qtfs", b"v2", XattrFlags::XATTR_CREATE),
        Errno::EEXIST,
    )?;
    p.removexattr(f, b"user.qtfs")?;
    expect_errno(
        "getxattr after removexattr",
        p.getxattr(f, b"user.qtfs", 64),
        Errno::ENODATA,
    )?;
    let access = acl(&[
        (ACL_USER_OBJ, 6, UNDEF),
        (ACL_USER, 4, 1001),
        (ACL_GROUP_OBJ, 4, UNDEF),
        (ACL_MASK, 4, UNDEF),
        (ACL_OTHER, 0, UNDEF),
    ]);
    p.setxattr(
        f,
        b"system.posix_acl_access",
        &access,
        XattrFlags::default(),
    )?;
    ensure!(
        p.getxattr(f, b"system.posix_acl_access", 4096)?.1 == access,
        "ACL read back differs"
    );
    let (_, acld, _) = p.mkdir_mode(w, b"acl", 0o755, 0)?;
    let _ = acld;
    let (acln, _) = p.lookup(w, b"acl")?;
    let default = acl(&[
        (ACL_USER_OBJ, 7, UNDEF),
        (ACL_GROUP_OBJ, 7, UNDEF),
        (ACL_OTHER, 7, UNDEF),
    ]);
    p.setxattr(
        acln,
        b"system.posix_acl_default",
        &default,
        XattrFlags::default(),
    )?;
    let (_, ah, aa, _) = p.create(acln, b"inherits", OpenFlags::O_WRONLY, 0o666, 0o077)?;
    p.release(ah)?;
    ensure!(
        perm(&aa) == 0o666,
        "a default ACL must replace the umask: mode {:o}",
        perm(&aa)
    );
    let (_, ah, aa, _) = p.create(w, b"noacl", OpenFlags::O_WRONLY, 0o666, 0o077)?;
    p.release(ah)?;
    ensure!(
        perm(&aa) == 0o600,
        "umask 077 without a default ACL: mode {:o}",
        perm(&aa)
    );
    p.removexattr(f, b"system.posix_acl_access")?;
    println!(
        "ok: user xattrs (size, value, ERANGE, list, CREATE, remove), ACLs, default ACL vs umask"
    );

    // Confinement: names that are not one component never reach the HOST.
    for bad in [&b".."[..], b".", b"a/b"] {
        ensure!(
            qtfs_proto::Name::new(bad).is_none(),
            "the protocol allows {bad:?}"
        );
    }

    let f_attr = p.getattr(f)?;
    expect.retain(|(n, _)| n != "f");
    expect.push(("f".into(), f_attr));
    let mut text = String::new();
    for (name, a) in &expect {
        let size = if a.mode.file_type_bits() == S_IFDIR {
            0
        } else {
            a.size
        };
        text += &format!(
            "{name} {:x} {} {} {size} {}\n",
            a.mode.bits(),
            a.uid,
            a.gid,
            a.nlink
        );
    }
    let (_, eh, _, _) = p.create(
        w,
        b"expect",
        OpenFlags::O_WRONLY.union(OpenFlags::O_EXCL),
        0o644,
        0,
    )?;
    p.write(eh, 0, text.as_bytes())?;
    p.release(eh)?;
    print!("{text}");
    println!("ok: all write operations checked; expectations left in qtfs-w/expect");
    Ok(())
}

/// The handle of an `Open` reply frame.
fn handle_of(frame: &[u8]) -> Result<u64> {
    let (h, body) = qtfs_proto::split_frame(frame).map_err(|e| anyhow::anyhow!("{e}"))?;
    match qtfs_proto::decode_reply(&h, body)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .result
    {
        Ok(qtfs_proto::Reply::Open(o)) => Ok(o.handle),
        _ => bail!("not an Open reply"),
    }
}

/// Waits for the replies to `ids`, at most `secs`; returns them by id.
fn wait_for(p: &mut P, ids: &[u64], secs: u64) -> Result<Vec<Answer>> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut got = Vec::new();
    while got.len() < ids.len() {
        if Instant::now() > deadline {
            bail!(
                "only {} of {} replies within {secs} s",
                got.len(),
                ids.len()
            );
        }
        let (id, r) = p.recv()?;
        ensure!(
            ids.contains(&id),
            "a reply to request {id}, which was not expected now"
        );
        got.push((id, r));
    }
    Ok(got)
}

/// A blocking FIFO open stalls only its worker; requests are answered out
/// of order; at most `MAX_BLOCKING_OPENS` FIFO opens wait; a blocked one
/// can be cancelled; a connection with blocked workers can be dropped.
pub fn concurrency(t: &Target) -> Result<()> {
    let mut p = session_for(t)?;
    let (root, _) = p.attach(&t.export).context("attach")?;
    let (w, _) = p.lookup(root, b"qtfs-w")?;
    let (fifo, a) = p.lookup(w, b"p")?;
    ensure!(a.mode.file_type_bits() == S_IFIFO, "qtfs-w/p is not a FIFO");
    let blocked = p.send(&Request::Open(OpenRequest {
        node: fifo,
        flags: OpenFlags::O_RDONLY,
    }))?;
    std::thread::sleep(Duration::from_millis(300));
    let ping = p.send(&Request::Ping(PingRequest {}))?;
    let got = wait_for(&mut p, &[ping], 10)?;
    ensure!(got[0].0 == ping, "ping");
    println!("ok: a Ping is answered while a FIFO open blocks on the same connection");
    let writer = p.send(&Request::Open(OpenRequest {
        node: fifo,
        flags: OpenFlags::O_WRONLY.union(OpenFlags::O_NONBLOCK),
    }))?;
    let got = wait_for(&mut p, &[blocked, writer], 10)?;
    for (id, r) in &got {
        let frame = match r {
            Ok(f) => f,
            Err(e) => bail!("open {id} failed: {}", errno_name(*e)),
        };
        p.release(handle_of(frame)?)?;
    }
    println!("ok: the FIFO's writer open completes the blocked reader open");
    // Many requests at once, more than the in-flight bound.
    let ids: Vec<u64> = (0..200)
        .map(|_| p.send(&Request::Ping(PingRequest {})))
        .collect::<Result<_>>()?;
    wait_for(&mut p, &ids, 30)?;
    println!("ok: 200 pipelined requests answered");
    // Cancel a running request: the blocked open is interrupted.
    let running = p.send(&Request::Open(OpenRequest {
        node: fifo,
        flags: OpenFlags::O_RDONLY,
    }))?;
    std::thread::sleep(Duration::from_millis(500));
    let cancel = p.send(&Request::Cancel(CancelRequest { target: running }))?;
    for (id, r) in wait_for(&mut p, &[running, cancel], 10)? {
        if id == running {
            ensure!(
                r.as_ref().err() == Errno::new(125).as_ref(),
                "the cancelled running open was answered {:?}",
                r.as_ref().err()
            );
        } else {
            ensure!(r.is_ok(), "Cancel failed");
        }
    }
    p.ping()?;
    println!("ok: a running (blocked) FIFO open cancelled: interrupted, ECANCELED");
    // At most MAX_BLOCKING_OPENS readers wait on the server; the rest are
    // EBUSY at once, so the other workers stay free for other requests.
    let max = qtfs_proto::MAX_BLOCKING_OPENS as usize;
    let extra = 12;
    let mut pending = Vec::new();
    for _ in 0..max + extra {
        pending.push(p.send(&Request::Open(OpenRequest {
            node: fifo,
            flags: OpenFlags::O_RDONLY,
        }))?);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut busy = 0;
    while busy < extra {
        ensure!(
            Instant::now() < deadline,
            "only {busy} of {extra} opens beyond the limit answered"
        );
        let (id, r) = p.recv()?;
        ensure!(
            pending.contains(&id),
            "a reply to request {id}, which was not expected now"
        );
        ensure!(
            r.as_ref().err() == Some(&Errno::EBUSY),
            "an open beyond the limit of {max} waiting was answered {:?}",
            r.as_ref().err()
        );
        pending.retain(|&p| p != id);
        busy += 1;
    }
    let ping = p.send(&Request::Ping(PingRequest {}))?;
    ensure!(wait_for(&mut p, &[ping], 10)?[0].0 == ping, "ping");
    let target = pending.pop().context("no blocked open left")?;
    let cancel = p.send(&Request::Cancel(CancelRequest { target }))?;
    for (id, r) in wait_for(&mut p, &[target, cancel], 10)? {
        if id == target {
            ensure!(
                r.as_ref().err() == Errno::new(125).as_ref(),
                "the cancelled blocked open was answered {:?}",
                r.as_ref().err()
            );
        } else {
            ensure!(r.is_ok(), "Cancel failed");
        }
    }
    println!(
        "ok: {max} FIFO opens wait on the server, {extra} more are EBUSY at once, a Ping and a Cancel are answered meanwhile"
    );
    // The server must stop the blocked workers and keep serving.
    let t0 = Instant::now();
    let mut q = session_for(t)?;
    q.ping()?;
    let (r2, _) = q.attach(&t.export)?;
    q.lookup(r2, b"qtfs-w")?;
    println!(
        "ok: a new session is served {:?} after dropping one with {} blocked workers",
        t0.elapsed(),
        max - 1
    );
    std::io::stdout().flush()?;
    Ok(())
}

/// Holds the node at `path` and asks for its attributes every 200 ms
/// until the server answers `ESTALE` (the HOST moved it out of the export
/// or removed the export), at most 60 s.
pub fn stale(t: &Target, path: &str) -> Result<()> {
    let mut p = session_for(t)?;
    let (root, _) = p.attach(&t.export).context("attach")?;
    let (node, _) = p.resolve(root, path)?;
    println!("holding {path} (node {node:#x})");
    std::io::stdout().flush()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match errno_of(p.getattr(node)) {
            Ok(e) if e == Errno::ESTALE => break,
            Ok(e) => bail!("getattr of {path}: {}", errno_name(e)),
            Err(_) => {}
        }
        ensure!(Instant::now() < deadline, "{path} never became stale");
        std::thread::sleep(Duration::from_millis(200));
    }
    p.ping()?;
    println!("ok: {path} is ESTALE now, the session still serves");
    Ok(())
}

/// Under `qtfs_root_squash`, uid 0 is nobody: no mkdir in the (root-owned
/// 0755) export root, and a file created in the 0777 directory `path` is
/// owned by 65534:65534.
pub fn squash(t: &Target, path: &str) -> Result<()> {
    let mut p = session_for(t)?;
    let (root, _) = p.attach(&t.export).context("attach")?;
    expect_errno(
        "mkdir by squashed root in a root-owned 0755 directory",
        p.mkdir_mode(root, b"squashed", 0o755, 0),
        Errno::EACCES,
    )?;
    let (dir, _) = p.resolve(root, path)?;
    let (_, h, a, _) = p.create(dir, b"by-root", OpenFlags::O_WRONLY, 0o644, 0)?;
    p.release(h)?;
    ensure!(
        a.uid == 65534 && a.gid == 65534,
        "a file created by squashed root is owned by {}:{}",
        a.uid,
        a.gid
    );
    println!("ok: root squashed to 65534:65534");
    Ok(())
}

/// `n` random but well-formed modifying requests (random names from a
/// small pool, modes, owners, sizes, times, flags, xattr names and values,
/// offsets and whence, and a random caller among uid 0, 1000 and 65534),
/// aimed at the ids this session collects in a directory `qtfs-chaos-PID` of a
/// writable export; each must be answered on the same connection and the
/// server must keep serving. No FIFO is made (a random blocking open of
/// one would wait forever), and devices are only 1:3, 1:5 and 0:0.
/// `batch` requests are sent before their replies are read (1: one at a
/// time), so that many run at once on the same nodes and handles.
pub fn chaos(t: &Target, n: usize, batch: usize) -> Result<()> {
    use qtfs_proto::{
        attr::S_IFBLK, decode_reply, split_frame, CreateRequest, Data, FileMode, ForgetRequest,
        FsyncRequest, GetXattrRequest, GetattrRequest, IoSize, LinkRequest, ListXattrRequest,
        LlseekRequest, LookupRequest, MkdirRequest, MknodRequest, Name, Path, Permissions,
        ReadFileRequest, ReadRequest, ReleaseRequest, RemoveXattrRequest, RenameRequest, Reply,
        RmdirRequest, SetXattrRequest, SymlinkRequest, UnlinkRequest, WriteRequest, XattrListSize,
        XattrName, XattrSize, XattrValue,
    };
    let mut p = session_for(t)?;
    let (root, _) = p.attach(&t.export).context("attach")?;
    let sandbox_name = format!("qtfs-chaos-{}", std::process::id());
    let (sandbox, _, _) = p.mkdir_mode(root, sandbox_name.as_bytes(), 0o777, 0)?;
    let mut nodes = vec![sandbox];
    let mut handles: Vec<u64> = Vec::new();
    let seed = crate::peer::random_nonce()?;
    let mut x = u64::from_le_bytes(seed[..8].try_into().unwrap_or([1; 8])) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let names: [&[u8]; 6] = [b"a", b"b", b"c", b"dir", b"x.y", b"zz"];
    let xnames: [&[u8]; 7] = [
        b"user.a",
        b"user.b",
        b"trusted.t",
        b"security.s",
        b"system.posix_acl_access",
        b"system.posix_acl_default",
        b"system.nope",
    ];
    let valid_acl = acl(&[
        (ACL_USER_OBJ, 7, UNDEF),
        (ACL_USER, 5, 1000),
        (ACL_GROUP_OBJ, 5, UNDEF),
        (ACL_MASK, 5, UNDEF),
        (ACL_OTHER, 1, UNDEF),
    ]);
    let payload: Vec<u8> = (0..8192u32).map(|i| (i * 7) as u8).collect();
    let mut answered = [0usize; 2];
    let batch = batch.max(1);
    let mut pending: Vec<u64> = Vec::with_capacity(batch);
    for k in 0..n {
        let (r, a, b, c, d) = (next(), next(), next(), next(), next());
        let node = if a % 8 == 0 {
            a >> 3
        } else {
            nodes[(a >> 3) as usize % nodes.len()]
        };
        let handle = if handles.is_empty() || b % 8 == 0 {
            b >> 3
        } else {
            handles[(b >> 3) as usize % handles.len()]
        };
        let name = Name::new(names[(c % 6) as usize]).context("name")?;
        let name2 = Name::new(names[((c >> 8) % 6) as usize]).context("name")?;
        let perm = Permissions::new((d as u32) & 0o7777).context("perm")?;
        let umask = Permissions::new(((d >> 16) as u32) & 0o777).context("umask")?;
        // Mostly the common flags (so that operations succeed and go on to
        // work on what they created), one in four any known bits.
        let common = OpenFlags::O_RDWR.bits()
            | OpenFlags::O_WRONLY.bits()
            | OpenFlags::O_EXCL.bits()
            | OpenFlags::O_TRUNC.bits()
            | OpenFlags::O_APPEND.bits()
            | OpenFlags::O_NONBLOCK.bits();
        let mask = if c % 4 == 0 {
            OpenFlags::KNOWN & !OpenFlags::O_PATH.bits()
        } else {
            common
        };
        let flags = OpenFlags::from_bits((c as u32 >> 2) & mask).unwrap_or(OpenFlags::O_RDWR);
        let ids = [0u32, 1000, 65534][(d % 3) as usize];
        p.set_ids(Ids {
            uid: ids,
            gid: ids,
            groups: vec![],
        });
        let time = |v: u64| match v % 4 {
            0 => TimeUpdate::Omit,
            1 => TimeUpdate::Now,
            2 => TimeUpdate::Set(Timestamp {
                sec: (v as i64) >> 20,
                nsec: ((v >> 3) % 1_000_000_000) as u32,
            }),
            _ => TimeUpdate::Set(Timestamp {
                sec: -((v >> 40) as i64),
                nsec: 0,
            }),
        };
        let len = (b % 9000) as usize;
        let data = &payload[..len.min(payload.len())];
        let xname = XattrName::new(xnames[(d % 7) as usize]).context("xattr name")?;
        let xvalue: &[u8] = match d % 3 {
            0 => &valid_acl,
            1 => &payload[..(c % 64) as usize],
            _ => &valid_acl[..(c as usize) % valid_acl.len()],
        };
        let whence = [
            Whence::Set,
            Whence::Cur,
            Whence::End,
            Whence::Data,
            Whence::Hole,
        ][(c % 5) as usize];
        let req = match r % 26 {
            0 | 1 => Request::Create(CreateRequest {
                parent: node,
                name,
                flags,
                mode: perm,
                umask,
            }),
            2 | 3 => Request::Write(WriteRequest {
                handle,
                offset: if c % 4 == 0 { c >> 1 } else { c % 100_000 },
                data: Data::new(data).context("data")?,
            }),
            4 => Request::Mkdir(MkdirRequest {
                parent: node,
                name,
                mode: perm,
                umask,
            }),
            5 => {
                let (kind, dev) = match c % 5 {
                    0 => (S_IFREG, (0, 0)),
                    1 => (S_IFCHR, (1, 3 + 2 * ((c >> 4) % 2) as u32)),
                    2 => (S_IFSOCK, (0, 0)),
                    3 => (S_IFBLK, (0, 0)),
                    _ => (S_IFDIR, (0, 0)),
                };
                Request::Mknod(MknodRequest {
                    parent: node,
                    name,
                    mode: FileMode::new(kind | perm.bits()).context("mode")?,
                    umask,
                    rdev_major: dev.0,
                    rdev_minor: dev.1,
                })
            }
            6 => Request::Symlink(SymlinkRequest {
                parent: node,
                name,
                target: Path::new(
                    [&b"../.."[..], b"/etc/passwd", b"a", b"dir/x"][(c % 4) as usize],
                )
                .context("target")?,
            }),
            7 => Request::Link(LinkRequest {
                node: nodes[(c as usize) % nodes.len()],
                new_parent: node,
                new_name: name,
            }),
            8 => Request::Unlink(UnlinkRequest { parent: node, name }),
            9 => Request::Rmdir(RmdirRequest { parent: node, name }),
            10 => Request::Rename(RenameRequest {
                old_parent: node,
                old_name: name,
                new_parent: nodes[(c as usize >> 3) % nodes.len()],
                new_name: name2,
                flags: RenameFlags::from_bits((d % 8) as u32).unwrap_or_default(),
            }),
            11 | 12 => Request::Setattr(SetattrRequest {
                node,
                handle: if c % 3 == 0 { handle } else { 0 },
                mask: SetAttrMask::from_bits((c >> 4) as u32 & SetAttrMask::KNOWN)
                    .unwrap_or_default(),
                mode: perm,
                uid: [0, 1000, 65534, u32::MAX][((d >> 8) % 4) as usize],
                gid: [0, 1000, 65534, u32::MAX][((d >> 10) % 4) as usize],
                size: if c % 7 == 0 {
                    u64::MAX >> (c % 3)
                } else {
                    c % 70_000
                },
                atime: time(a),
                mtime: time(b),
            }),
            13 => Request::Fsync(FsyncRequest {
                handle,
                datasync: c % 2 == 0,
            }),
            14 => Request::Llseek(LlseekRequest {
                handle,
                offset: (c as i64) >> (d % 64),
                whence,
            }),
            15 => Request::SetXattr(SetXattrRequest {
                node,
                name: xname,
                value: XattrValue::new(xvalue).context("value")?,
                flags: XattrFlags::from_bits((c % 3) as u32).unwrap_or_default(),
            }),
            16 => Request::GetXattr(GetXattrRequest {
                node,
                name: xname,
                size: XattrSize::new((c % 70_000) as u32 % 65_537).context("size")?,
            }),
            17 => Request::ListXattr(ListXattrRequest {
                node,
                size: XattrListSize::new((c % 65_537) as u32).context("size")?,
            }),
            18 => Request::RemoveXattr(RemoveXattrRequest { node, name: xname }),
            19 | 20 => Request::Open(OpenRequest { node, flags }),
            21 => Request::Read(ReadRequest {
                handle,
                offset: c % 100_000,
                size: IoSize::new((d % 200_000) as u32).context("size")?,
            }),
            22 => Request::Release(ReleaseRequest { handle }),
            23 => Request::Lookup(LookupRequest { parent: node, name }),
            24 => Request::ReadFile(ReadFileRequest {
                node,
                max_size: IoSize::new((d % 70_000) as u32).context("size")?,
            }),
            _ => match c % 3 {
                0 => Request::Forget(ForgetRequest { node, count: 1 }),
                1 => Request::Getattr(GetattrRequest { node }),
                _ => Request::Cancel(CancelRequest { target: c }),
            },
        };
        let id = p.send(&req)?;
        pending.push(id);
        if pending.len() < batch && k + 1 < n {
            continue;
        }
        while !pending.is_empty() {
            let (got, res) = p
                .recv()
                .with_context(|| format!("random requests (last {req:?})"))?;
            let Some(at) = pending.iter().position(|&x| x == got) else {
                bail!("a reply to request {got}, which is not pending");
            };
            pending.swap_remove(at);
            answered[usize::from(res.is_err())] += 1;
            let Ok(f) = res else { continue };
            let (h, body) = split_frame(&f).map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Ok(Ok(reply)) = decode_reply(&h, body).map(|r| r.result) {
                match reply {
                    Reply::Create(c) => {
                        nodes.push(c.node);
                        handles.push(c.handle);
                    }
                    Reply::Mkdir(e) | Reply::Mknod(e) | Reply::Symlink(e) | Reply::Link(e) => {
                        nodes.push(e.node)
                    }
                    Reply::Lookup(e) => nodes.push(e.node),
                    Reply::Open(o) => handles.push(o.handle),
                    _ => {}
                }
            }
        }
        nodes.truncate(200);
        handles.truncate(200);
    }
    p.set_ids(Ids::current()?);
    p.ping()?;
    let (again, _) = p.attach(&t.export)?;
    p.lookup(again, sandbox_name.as_bytes())?;
    println!(
        "ok: {n} random modifying requests ({batch} at a time) answered ({} successes, {} errors), the server still serves",
        answered[0], answered[1]
    );
    Ok(())
}
