// SPDX-License-Identifier: GPL-2.0
//! What the client keeps per inode, and keeping it in step with the
//! server: the node id, the lookup references to give back, when the
//! attributes were fetched and what the file's data looked like then.
#![forbid(unsafe_code)]

use crate::fs::Qtfs;
use crate::kbase::vfs::Attr;
use crate::kbase::vfsc::{fresh, now, Inode, InodeKey, InodeRef, Kind, Lookup, SuperBlock};
use crate::proto::{ForgetRequest, GetattrRequest, NodeFlags, Reply, Request, WireAttr};
use crate::transport::Creds;
use crate::vfs_super::SuperInfo;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use kernel::error::code::EIO;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// An open file on the server that write-back may use: its handle and the
/// credentials of whoever opened it.
pub(crate) struct OpenState {
    pub(crate) handle: u64,
    pub(crate) creds: Creds,
    pub(crate) writable: bool,
}

/// Per-inode data.
#[pin_data]
pub(crate) struct Node {
    /// The server's node id (per connection).
    pub(crate) id: AtomicU64,
    /// Lookup references held on the server (given back by `Forget`).
    pub(crate) nlookup: AtomicU64,
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
    pub(crate) fn new(id: u64, attr: WireAttr) -> impl PinInit<Node, Error> {
        try_pin_init!(Node {
            id: AtomicU64::new(id),
            nlookup: AtomicU64::new(1),
            attr_time: AtomicUsize::new(now()),
            data_version: AtomicU64::new(data_version(&attr)),
            pages_stale: AtomicBool::new(false),
            pseudo: AtomicBool::new(attr.flags.contains(NodeFlags::PSEUDO)),
            blksize: AtomicU64::new(u64::from(attr.blksize)),
            writeback <- new_mutex!(KVec::new()),
            spliced: None,
        }? Error)
    }

    /// The node of a symlink that splice rule `rule` makes (no server
    /// node, so no lookup reference to give back).
    pub(crate) fn spliced(rule: usize, attr: WireAttr) -> impl PinInit<Node, Error> {
        try_pin_init!(Node {
            id: AtomicU64::new(0),
            nlookup: AtomicU64::new(0),
            attr_time: AtomicUsize::new(now()),
            data_version: AtomicU64::new(0),
            pages_stale: AtomicBool::new(false),
            pseudo: AtomicBool::new(true),
            blksize: AtomicU64::new(u64::from(attr.blksize)),
            writeback <- new_mutex!(KVec::new()),
            spliced: Some(rule),
        }? Error)
    }

    pub(crate) fn id(&self) -> u64 {
        self.id.load(Ordering::Acquire)
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

/// The inode for a node the server just gave us a reference to.
pub(crate) fn inode_for(sb: &SuperBlock<Qtfs>, node: u64, a: &WireAttr) -> Result<InodeRef<Qtfs>> {
    let info: &SuperInfo = sb.info();
    let key = key_of(a);
    let looked = match sb.get_inode(key, Node::new(node, *a)) {
        Ok(l) => l,
        Err(e) => {
            // The server's reference must not leak.
            forget(info, node, 1);
            return Err(e);
        }
    };
    match looked {
        Lookup::Cached(i) => {
            let n = i.data();
            if n.id() == node {
                n.nlookup.fetch_add(1, Ordering::AcqRel);
            } else {
                // A new session's id for the same file: the old one's
                // references died with that session.
                n.id.store(node, Ordering::Release);
                n.nlookup.store(1, Ordering::Release);
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

/// Gives `count` references to `node` back (no reply awaited).
pub(crate) fn forget(info: &SuperInfo, node: u64, count: u64) {
    if count > 0 {
        info.conn.send_oneway(&Request::Forget(ForgetRequest { node, count }));
    }
}

/// Fetches the attributes unless the cached ones are fresh (or `force`).
pub(crate) fn refresh(inode: &Inode<Qtfs>, force: bool) -> Result {
    let info: &SuperInfo = inode.sb().info();
    let n = inode.data();
    if !force && fresh(n.attr_time.load(Ordering::Acquire), info.opts.actimeo_ms) {
        return Ok(());
    }
    let a = info.conn.call(
        &Creds::current(),
        &Request::Getattr(GetattrRequest { node: n.id() }),
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
