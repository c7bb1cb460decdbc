// SPDX-License-Identifier: GPL-2.0
//! What the client keeps per inode, and keeping it in step with the
//! server: the node id, the lookup references to give back, when the
//! attributes were fetched and what the file's data looked like then.
#![forbid(unsafe_code)]

use crate::fs::Qtfs;
use crate::kbase::vfs::Attr;
use crate::kbase::vfsc::{fresh, now, Inode, InodeKey, InodeRef, Kind, Lookup, SuperBlock};
use crate::kbase::errno::{enametoolong, estale};
use crate::kbase::log::{qinfo, qwarn};
use crate::proto::{
    AttachRequest, ForgetRequest, GetattrRequest, LookupRequest, Name, NodeFlags, OpenFlags, Path, Reply,
    Request, WireAttr,
};
use crate::transport::{Conn, Creds};
use crate::vfs_super::SuperInfo;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use kernel::alloc::KVVec;
use kernel::error::code::{EINVAL, EIO, ENOENT, ENOTDIR};
use kernel::new_mutex;
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex, SpinLock};

/// A server id (node or handle) in one session: an id is valid only on
/// the connection of the session that gave it (a new session reuses the
/// numbers for other files), so it is never sent without its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SessionId {
    /// The session ([`Conn::generation`]; never 0 for a real one).
    pub(crate) generation: u64,
    pub(crate) id: u64,
}

/// A handle that may be replaced by a new session's: the open file's own
/// handle, or the one a snapshot open made for `poll`.
#[pin_data]
pub(crate) struct HandleSlot {
    #[pin]
    inner: SpinLock<SessionId>,
}

impl HandleSlot {
    pub(crate) fn new(generation: u64, handle: u64) -> impl PinInit<HandleSlot> {
        pin_init!(HandleSlot {
            inner <- new_spinlock!(SessionId { generation, id: handle }),
        })
    }

    /// The handle and its session.
    pub(crate) fn get(&self) -> SessionId {
        *self.inner.lock()
    }

    /// Installs `handle` of session `generation` unless one of that
    /// session is there already: the handle to use, and whether ours was
    /// taken (if not, the caller releases its own).
    pub(crate) fn install(&self, generation: u64, handle: u64) -> (u64, bool) {
        let mut h = self.inner.lock();
        if h.generation == generation && h.id != NO_HANDLE {
            return (h.id, false);
        }
        *h = SessionId { generation, id: handle };
        (handle, true)
    }
}

/// The handle of an open file that has none on the server (the server
/// never hands out 0).
pub(crate) const NO_HANDLE: u64 = 0;

/// An open file on the server that write-back may use: its handle and the
/// credentials of whoever opened it.
#[pin_data]
pub(crate) struct OpenState {
    /// The handle ([`NO_HANDLE`] for a pseudo file read whole at open);
    /// replaced by a durable re-open in a new session (`vfs_file`).
    #[pin]
    pub(crate) handle: HandleSlot,
    pub(crate) creds: Creds,
    pub(crate) writable: bool,
    /// The flags the server was given, sent again by a re-open (never
    /// `O_CREAT`, `O_EXCL` or `O_TRUNC`).
    pub(crate) flags: OpenFlags,
}

impl OpenState {
    pub(crate) fn new(
        generation: u64,
        handle: u64,
        creds: Creds,
        flags: OpenFlags,
    ) -> Result<Arc<OpenState>> {
        Arc::pin_init(
            pin_init!(OpenState {
                handle <- HandleSlot::new(generation, handle),
                creds,
                writable: flags.access_mode() != 0,
                flags,
            }),
            GFP_KERNEL,
        )
    }
}

/// The server's node of an inode: its id, and the lookup references held
/// on it (given back by `Forget`), in one session.
#[derive(Clone, Copy)]
pub(crate) struct Remote {
    pub(crate) at: SessionId,
    pub(crate) nlookup: u64,
}

/// Per-inode data.
#[pin_data]
pub(crate) struct Node {
    /// The server's node; of an older session after a reconnect, until
    /// [`id`] finds it again.
    #[pin]
    remote: SpinLock<Remote>,
    /// When the attributes were last fetched (jiffies).
    pub(crate) attr_time: AtomicUsize,
    /// Data version seen: mtime, ctime, size and change cookie hashed.
    pub(crate) data_version: AtomicU64,
    /// The page cache may hold data older than the server's.
    pub(crate) pages_stale: AtomicBool,
    /// A pseudo file of the HOST (never cached).
    pub(crate) pseudo: AtomicBool,
    /// The server's preferred I/O size.
    pub(crate) blksize: AtomicU64,
    /// The session of writes the server acknowledged and no `fsync` has
    /// made durable since (0: none): if that session ends first, they may
    /// be lost, which the next `fsync` or `close` reports ([`note_lost_writes`]).
    pub(crate) unsynced: AtomicU64,
    /// The file's writable opens, each in a slot (`None`: closed; the
    /// slots are reused, so there are never more than the most writable
    /// opens the file had at once). Write-back of mmap'ed pages (and
    /// reads without a file) use the first, so that the close of one
    /// writable open leaves write-back working for the others.
    #[pin]
    pub(crate) writeback: Mutex<KVec<Option<Arc<OpenState>>>>,
    /// A symlink made here by splice rule `n` (`vfs_proc`), with no node
    /// on the server.
    pub(crate) spliced: Option<usize>,
}

impl Node {
    pub(crate) fn new(at: SessionId, attr: WireAttr) -> impl PinInit<Node, Error> {
        try_pin_init!(Node {
            remote <- new_spinlock!(Remote { at, nlookup: 1 }),
            attr_time: AtomicUsize::new(now()),
            data_version: AtomicU64::new(data_version(&attr)),
            pages_stale: AtomicBool::new(false),
            pseudo: AtomicBool::new(attr.flags.contains(NodeFlags::PSEUDO)),
            blksize: AtomicU64::new(u64::from(attr.blksize)),
            unsynced: AtomicU64::new(0),
            writeback <- new_mutex!(KVec::new()),
            spliced: None,
        }? Error)
    }

    /// The node of a symlink that splice rule `rule` makes (no server
    /// node, so no lookup reference to give back).
    pub(crate) fn spliced(rule: usize, attr: WireAttr) -> impl PinInit<Node, Error> {
        try_pin_init!(Node {
            remote <- new_spinlock!(Remote { at: SessionId { generation: 0, id: 0 }, nlookup: 0 }),
            attr_time: AtomicUsize::new(now()),
            data_version: AtomicU64::new(0),
            pages_stale: AtomicBool::new(false),
            pseudo: AtomicBool::new(true),
            blksize: AtomicU64::new(u64::from(attr.blksize)),
            unsynced: AtomicU64::new(0),
            writeback <- new_mutex!(KVec::new()),
            spliced: Some(rule),
        }? Error)
    }

    /// The node id in session `generation`, if it has one there.
    pub(crate) fn id_in(&self, generation: u64) -> Option<u64> {
        let r = self.remote.lock();
        (r.at.generation == generation).then_some(r.at.id)
    }

    /// Takes a reference the server just gave to node `id` in session
    /// `generation`. Returns a duplicate to give back: the server names
    /// this file by another id in the same session than the one held
    /// (it never should; the held one stays).
    pub(crate) fn take_ref(&self, generation: u64, id: u64) -> Option<u64> {
        let mut r = self.remote.lock();
        if r.at.generation != generation {
            // The references of the older session died with it.
            *r = Remote { at: SessionId { generation, id }, nlookup: 1 };
            None
        } else if r.at.id == id {
            r.nlookup += 1;
            None
        } else {
            Some(id)
        }
    }

    /// Takes every reference held (when the inode goes).
    pub(crate) fn take_all(&self) -> Remote {
        let mut r = self.remote.lock();
        let held = *r;
        r.nlookup = 0;
        held
    }

    /// The open that write-back uses: a writable one still open.
    pub(crate) fn writeback_open(&self) -> Option<Arc<OpenState>> {
        self.writeback.lock().iter().flatten().next().cloned()
    }

    /// Registers a writable open for write-back.
    pub(crate) fn add_writable(&self, state: Arc<OpenState>) -> Result {
        let mut slots = self.writeback.lock();
        match slots.iter_mut().find(|s| s.is_none()) {
            Some(free) => *free = Some(state),
            None => slots.push(Some(state), GFP_KERNEL)?,
        }
        Ok(())
    }

    /// Forgets a writable open at its release.
    pub(crate) fn remove_writable(&self, state: &Arc<OpenState>) {
        let mut slots = self.writeback.lock();
        if let Some(slot) = slots.iter_mut().find(|s| s.as_ref().is_some_and(|o| Arc::ptr_eq(o, state))) {
            *slot = None;
        }
    }

    pub(crate) fn is_pseudo(&self) -> bool {
        self.pseudo.load(Ordering::Relaxed)
    }
}

/// A digest of what says "the data changed": change cookie, mtime, ctime
/// and size (a same-size rewrite moves ctime and mtime).
pub(crate) fn data_version(a: &WireAttr) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in [
        a.change,
        a.mtime.sec as u64,
        u64::from(a.mtime.nsec),
        a.ctime.sec as u64,
        u64::from(a.ctime.nsec),
        a.size,
    ] {
        h = (h ^ v).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The shim's flat attributes from the wire's.
pub(crate) fn attr(a: &WireAttr) -> Attr {
    Attr {
        ino: a.ino,
        dev: a.dev,
        mode: a.mode.bits(),
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev_major: a.rdev_major,
        rdev_minor: a.rdev_minor,
        size: a.size,
        blocks: a.blocks,
        blksize: a.blksize,
        atime_sec: a.atime.sec,
        atime_nsec: a.atime.nsec,
        mtime_sec: a.mtime.sec,
        mtime_nsec: a.mtime.nsec,
        ctime_sec: a.ctime.sec,
        ctime_nsec: a.ctime.nsec,
        change: a.change,
        magic: 0,
        generation: a.generation,
        mounted: 0,
    }
}

pub(crate) fn key_of(a: &WireAttr) -> InodeKey {
    InodeKey {
        ino: a.ino,
        dev: a.dev,
        generation: a.generation,
    }
}

/// Whether the server's size is taken into `i_size`: not for a regular
/// pseudo file, whose size (0 on the HOST) says nothing of its contents.
fn caches_size(inode: &Inode<Qtfs>, a: &WireAttr) -> bool {
    !a.flags.contains(NodeFlags::PSEUDO) || inode.kind() != Kind::Regular
}

/// Takes fresh attributes from the server into the inode. A change of the
/// data (as seen by [`data_version`]) marks the cached pages stale; they
/// are dropped at the next open (close-to-open).
pub(crate) fn apply(inode: &Inode<Qtfs>, a: &WireAttr) {
    let n = inode.data();
    let v = data_version(a);
    if n.data_version.swap(v, Ordering::AcqRel) != v && inode.kind() == Kind::Regular {
        n.pages_stale.store(true, Ordering::Release);
    }
    n.pseudo.store(a.flags.contains(NodeFlags::PSEUDO), Ordering::Relaxed);
    n.blksize.store(u64::from(a.blksize), Ordering::Relaxed);
    n.attr_time.store(now(), Ordering::Release);
    inode.set_attr(&attr(a), a.generation, caches_size(inode, a));
}

/// Takes attributes that follow from this client's own change (a write,
/// a truncate): the data changed, but the cache already has it.
pub(crate) fn apply_own(inode: &Inode<Qtfs>, a: &WireAttr) {
    inode.data().data_version.store(data_version(a), Ordering::Release);
    apply(inode, a);
}

/// Forces the next `stat` to ask the server.
pub(crate) fn expire(inode: &Inode<Qtfs>) {
    inode
        .data()
        .attr_time
        .store(now().wrapping_sub(1 << 30), Ordering::Release);
}

/// The inode for a node the server just gave us a reference to, on
/// `conn`.
pub(crate) fn inode_for(sb: &SuperBlock<Qtfs>, conn: &Conn, node: u64, a: &WireAttr) -> Result<InodeRef<Qtfs>> {
    let key = key_of(a);
    let generation = conn.generation();
    let at = SessionId { generation, id: node };
    let looked = match sb.get_inode(key, Node::new(at, *a)) {
        Ok(l) => l,
        Err(e) => {
            // The server's reference must not leak.
            forget(conn, node, 1);
            return Err(e);
        }
    };
    match looked {
        Lookup::Cached(i) => {
            if let Some(dup) = i.data().take_ref(generation, node) {
                forget(conn, dup, 1);
            }
            if crate::kbase::vfsc::kind_of(a.mode.bits()) != i.kind() {
                // Same identity, another type: the server is confused.
                return Err(EIO);
            }
            apply(&i, a);
            Ok(i)
        }
        Lookup::New(new) => {
            let pseudo = a.flags.contains(NodeFlags::PSEUDO);
            Ok(new.finish(&attr(a), a.generation, !pseudo || crate::kbase::vfsc::kind_of(a.mode.bits()) != Kind::Regular))
        }
    }
}

/// Gives `count` references to `node` of `conn`'s session back (no reply
/// awaited).
pub(crate) fn forget(conn: &Conn, node: u64, count: u64) {
    if count > 0 {
        conn.send_oneway(&Request::Forget(ForgetRequest { node, count }));
    }
}

/// Gives back what an inode that goes held, if its session still lives
/// (the references of a dead one died with it).
pub(crate) fn forget_all(n: &Node) {
    let r = n.take_all();
    if r.nlookup == 0 {
        return;
    }
    if let Some(conn) = crate::client::session(r.at.generation) {
        forget(&conn, r.at.id, r.nlookup);
    }
}

/// The id of `inode`'s node in `conn`'s session, looked up as the caller.
pub(crate) fn id(inode: &Inode<Qtfs>, conn: &Conn) -> Result<u64> {
    id_as(inode, conn, &Creds::current())
}

/// The id of `inode`'s node in `conn`'s session: the one it holds, or,
/// when it holds an older session's (after a reconnect), found again:
/// the mount's root by `Attach`, any other inode by looking its path up
/// from the root name by name as `creds`. The node found is taken only if
/// it is the same HOST file (`dev`, `ino`, `generation`); otherwise, or
/// when the inode has no name (an unlinked open file), `ESTALE`, never
/// another file's data.
pub(crate) fn id_as(inode: &Inode<Qtfs>, conn: &Conn, creds: &Creds) -> Result<u64> {
    let n = inode.data();
    if n.spliced.is_some() {
        // No node on the server; never sent (vfs_proc answers for it).
        return Ok(0);
    }
    if let Some(id) = n.id_in(conn.generation()) {
        return Ok(id);
    }
    // Reclaim must not re-enter qtfs from here (write-back may be the caller).
    let _nofs = crate::kbase::nofs::NoFs::enter();
    let info: &SuperInfo = inode.sb().info();
    if inode.key() == info.root_key() {
        return reattach(inode, conn);
    }
    let alias = inode.alias().ok_or_else(estale)?;
    // The mount's root: the top of the alias's dentry chain.
    let mut root = alias.parent().ok_or_else(estale)?;
    for _ in 0..MAX_DEPTH {
        let up = root.parent().ok_or_else(estale)?;
        if up.as_ptr() == root.as_ptr() {
            break;
        }
        root = up;
    }
    let root_inode = root.inode().ok_or_else(estale)?;
    if root_inode.key() != info.root_key() {
        return Err(estale());
    }
    let mut parent = id_as(root_inode, conn, creds)?;
    let mut buf = KVVec::from_elem(0u8, PATH_BUF, GFP_KERNEL)?;
    let path = alias.path_in_sb(&mut buf)?;
    let mut last = None;
    for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        let name = Name::new(comp).ok_or_else(enametoolong)?;
        let r = conn.call(creds, &Request::Lookup(LookupRequest { parent, name }), |r| match r {
            Reply::Lookup(e) => Ok((e.node, e.attr)),
            _ => Err(EIO),
        });
        let (node, a) = match r {
            Ok(v) => v,
            // The path leads nowhere now: the file is gone.
            Err(e) if e == ENOENT || e == ENOTDIR => return Err(estale()),
            Err(e) => return Err(e),
        };
        let i = inode_for(inode.sb(), conn, node, &a)?;
        parent = node;
        last = Some(i);
    }
    match last {
        Some(i) if i.key() == inode.key() => n.id_in(conn.generation()).ok_or_else(estale),
        _ => {
            qinfo!("a file open or cached across a reconnect was replaced on the HOST: ESTALE");
            Err(estale())
        }
    }
}

/// Deepest directory tree [`id_as`] walks (a path of `PATH_MAX` has at
/// most half as many components).
const MAX_DEPTH: usize = 2048;
/// Room for a path of `PATH_MAX` bytes and its NUL.
const PATH_BUF: usize = 4097;

/// The mount's root in a new session: its export attached again (as
/// whoever mounted it), taken only if it is the same HOST directory.
fn reattach(root: &Inode<Qtfs>, conn: &Conn) -> Result<u64> {
    let info: &SuperInfo = root.sb().info();
    let export = Path::new(info.source()).ok_or(EINVAL)?;
    let (node, a) = conn.call(
        info.mount_creds(),
        &Request::Attach(AttachRequest { export }),
        |r| match r {
            Reply::Attach(e) => Ok((e.node, e.attr)),
            _ => Err(EIO),
        },
    )?;
    if key_of(&a) != root.key() {
        forget(conn, node, 1);
        qwarn!("the export of a mount is another directory after the reconnect: ESTALE");
        return Err(estale());
    }
    if let Some(dup) = root.data().take_ref(conn.generation(), node) {
        forget(conn, dup, 1);
    }
    apply(root, &a);
    root.data().id_in(conn.generation()).ok_or_else(estale)
}

/// Writes the server acknowledged in a session that ended before an
/// `fsync` made them durable may be lost with it: recorded as a
/// write-back error (errseq), so that the next `fsync` or `close` of each
/// open file reports `EIO` once. Called before those report.
pub(crate) fn note_lost_writes(inode: &Inode<Qtfs>) {
    let n = inode.data();
    let s = n.unsynced.load(Ordering::Acquire);
    if s == 0 || crate::client::session(s).is_some() {
        return;
    }
    if n.unsynced.compare_exchange(s, 0, Ordering::AcqRel, Ordering::Acquire).is_ok() {
        qwarn!("writes not synced before the connection was lost may be lost: reported as EIO");
        inode.record_wb_err(EIO);
    }
}

/// Fetches the attributes unless the cached ones are fresh (or `force`).
pub(crate) fn refresh(inode: &Inode<Qtfs>, force: bool) -> Result {
    let info: &SuperInfo = inode.sb().info();
    let n = inode.data();
    if !force && fresh(n.attr_time.load(Ordering::Acquire), info.opts.actimeo_ms) {
        return Ok(());
    }
    let conn = info.conn()?;
    let a = conn.call(
        &Creds::current(),
        &Request::Getattr(GetattrRequest { node: id(inode, &conn)? }),
        |r| match r {
            Reply::Getattr(g) => Ok(g.attr),
            _ => Err(EIO),
        },
    )?;
    if key_of(&a) != inode.key() {
        return Err(crate::kbase::errno::estale());
    }
    apply(inode, &a);
    Ok(())
}
