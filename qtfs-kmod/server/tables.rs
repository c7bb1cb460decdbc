// SPDX-License-Identifier: GPL-2.0
//! Per-session tables of nodes (HOST inodes) and handles (open files).
//!
//! Ids are opaque `u64`s: slot index + 1 in the low 32 bits, the slot's
//! generation in the high 32, so that an id of a freed slot is not
//! mistaken for its next occupant. Both tables are bounded; an unknown id
//! is `ESTALE` (node) or `EBADF` (handle), never dereferenced.
//!
//! A node is one HOST inode: it is indexed by `(dev, ino)` in a red-black
//! tree, so every name of a file (hard links) gets the same node id. The
//! values are `Arc`s: a request clones what it needs under the session's
//! table lock and does its VFS work without it.
#![forbid(unsafe_code)]

use crate::exports::Export;
use crate::kbase::vfs::{File, Path};
use crate::proto::Errno;
use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::rbtree::RBTree;
use kernel::sync::{Arc, Mutex};

/// "Too many open files in system": the node table is full.
pub(crate) const ENFILE: Errno = match Errno::new(23) {
    Some(e) => e,
    None => Errno::EMFILE,
};

/// Most nodes one session may hold: every inode the client has cached
/// holds one (a client with more cached files sees `ENFILE` until it
/// forgets some). 65536 nodes pin at most about 16 MiB here, besides the
/// HOST's own dentries and inodes.
pub(crate) const MAX_NODES: usize = 65536;
/// Most open handles one session may hold.
pub(crate) const MAX_HANDLES: usize = 256;

struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// A bounded slot table with generation-tagged ids.
pub(crate) struct Table<T> {
    slots: KVVec<Slot<T>>,
    /// `free[..nfree]` are the indices of empty slots; `free` is as long
    /// as `slots`, so that `remove` never allocates.
    free: KVVec<usize>,
    nfree: usize,
    max: usize,
}

fn split(id: u64) -> (usize, u32) {
    let index = (id & 0xffff_ffff) as usize;
    (index.wrapping_sub(1), (id >> 32) as u32)
}

impl<T> Table<T> {
    pub(crate) fn new(max: usize) -> Self {
        Table {
            slots: KVVec::new(),
            free: KVVec::new(),
            nfree: 0,
            max,
        }
    }

    fn id_of(&self, index: usize) -> u64 {
        let generation = self.slots.get(index).map_or(0, |s| s.generation);
        (u64::from(generation) << 32) | (index as u64 + 1)
    }

    /// Stores `value`; its id, or `None` when full (or out of memory).
    pub(crate) fn insert(&mut self, value: T) -> Option<u64> {
        if self.nfree > 0 {
            self.nfree -= 1;
            let i = self.free.get(self.nfree).copied().unwrap_or(usize::MAX);
            if let Some(slot) = self.slots.get_mut(i) {
                slot.generation = slot.generation.wrapping_add(1).max(1);
                slot.value = Some(value);
                return Some(self.id_of(i));
            }
            return None;
        }
        if self.slots.len() >= self.max {
            return None;
        }
        // Reserve the free-list room now, so that `remove` never allocates.
        self.free.push(0, GFP_KERNEL).ok()?;
        self.slots
            .push(
                Slot {
                    generation: 1,
                    value: Some(value),
                },
                GFP_KERNEL,
            )
            .ok()?;
        Some(self.id_of(self.slots.len() - 1))
    }

    pub(crate) fn get(&self, id: u64) -> Option<&T> {
        let (i, generation) = split(id);
        let slot = self.slots.get(i)?;
        if slot.generation != generation {
            return None;
        }
        slot.value.as_ref()
    }

    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        let (i, generation) = split(id);
        let slot = self.slots.get_mut(i)?;
        if slot.generation != generation {
            return None;
        }
        slot.value.as_mut()
    }

    pub(crate) fn remove(&mut self, id: u64) -> Option<T> {
        let (i, generation) = split(id);
        let slot = self.slots.get_mut(i)?;
        if slot.generation != generation {
            return None;
        }
        let v = slot.value.take()?;
        if let Some(f) = self.free.get_mut(self.nfree) {
            *f = i;
            self.nfree += 1;
        }
        Some(v)
    }
}

/// A HOST inode as the session sees it: a path to it (one of its names)
/// within an export.
pub(crate) struct NodeRef {
    /// A path to the inode, beneath `export`'s root.
    pub(crate) path: Path,
    /// The export the node was reached through.
    pub(crate) export: Arc<Export>,
}

impl NodeRef {
    /// `ESTALE` if the export was removed or the node is no longer
    /// beneath its root (moved out of the export on the HOST).
    pub(crate) fn check(&self) -> Result<(), Errno> {
        if self.export.removed() || !self.path.is_under(&self.export.root) {
            return Err(Errno::ESTALE);
        }
        Ok(())
    }
}

struct NodeEntry {
    node: Arc<NodeRef>,
    key: (u64, u64),
    refs: u64,
}

/// An open file.
#[pin_data]
pub(crate) struct HandleRef {
    pub(crate) file: File,
    /// The node it was opened on (for the attributes after a write, and
    /// the export's state).
    pub(crate) node: Arc<NodeRef>,
    /// Serialises the requests that use the file position (`Readdir`,
    /// `Llseek`), as `f_pos_lock` serialises them for system calls
    /// (reads and writes use explicit offsets).
    #[pin]
    pub(crate) pos: Mutex<()>,
}

/// The nodes and handles of a session.
pub(crate) struct Tables {
    nodes: Table<NodeEntry>,
    index: RBTree<(u64, u64), u64>,
    handles: Table<Arc<HandleRef>>,
    /// Poll registrations on the handles.
    pub(crate) polls: crate::poll::Polls,
}

impl Tables {
    pub(crate) fn new() -> Self {
        Tables {
            nodes: Table::new(MAX_NODES),
            index: RBTree::new(),
            handles: Table::new(MAX_HANDLES),
            polls: crate::poll::Polls::new(),
        }
    }

    /// Adds one lookup reference to the node of inode `key` (`(dev, ino)`),
    /// creating it with `path` if there is none; a node whose path was
    /// unlinked or moved takes the new `path` (another name of the same
    /// inode). `ENFILE` when the table is full.
    pub(crate) fn add_ref(
        &mut self,
        key: (u64, u64),
        path: Path,
        export: &Arc<Export>,
    ) -> Result<u64, Errno> {
        if let Some(&id) = self.index.get(&key) {
            if let Some(e) = self.nodes.get_mut(id) {
                let replace = !Arc::ptr_eq(&e.node.export, export)
                    || e.node.path.unhashed()
                    || e.node.check().is_err();
                if replace {
                    e.node = Arc::new(
                        NodeRef {
                            path,
                            export: export.clone(),
                        },
                        GFP_KERNEL,
                    )
                    .map_err(|_| Errno::ENOMEM)?;
                }
                e.refs = e.refs.saturating_add(1);
                return Ok(id);
            }
        }
        let node = Arc::new(
            NodeRef {
                path,
                export: export.clone(),
            },
            GFP_KERNEL,
        )
        .map_err(|_| Errno::ENOMEM)?;
        let id = self
            .nodes
            .insert(NodeEntry { node, key, refs: 1 })
            .ok_or(ENFILE)?;
        if self
            .index
            .try_create_and_insert(key, id, GFP_KERNEL)
            .is_err()
        {
            self.nodes.remove(id);
            return Err(Errno::ENOMEM);
        }
        Ok(id)
    }

    /// Node `id`, or `ESTALE` (not checked against its export: see
    /// [`NodeRef::check`]).
    pub(crate) fn node(&self, id: u64) -> Result<Arc<NodeRef>, Errno> {
        self.nodes
            .get(id)
            .map(|e| e.node.clone())
            .ok_or(Errno::ESTALE)
    }

    /// Drops `count` references; frees the node when none remain.
    pub(crate) fn forget(&mut self, id: u64, count: u64) -> Result<(), Errno> {
        let e = self.nodes.get_mut(id).ok_or(Errno::ESTALE)?;
        e.refs = e.refs.saturating_sub(count);
        if e.refs == 0 {
            let key = e.key;
            self.nodes.remove(id);
            self.index.remove(&key);
        }
        Ok(())
    }

    /// Stores an open file; `EMFILE` when the table is full.
    pub(crate) fn add_handle(&mut self, file: File, node: Arc<NodeRef>) -> Result<u64, Errno> {
        let h = Arc::pin_init(
            pin_init!(HandleRef {
                file,
                node,
                pos <- kernel::new_mutex!((), "qtfs_server::handle_pos"),
            }),
            GFP_KERNEL,
        )
        .map_err(|_| Errno::ENOMEM)?;
        self.handles.insert(h).ok_or(Errno::EMFILE)
    }

    /// Handle `id`, or `EBADF`.
    pub(crate) fn handle(&self, id: u64) -> Result<Arc<HandleRef>, Errno> {
        self.handles.get(id).cloned().ok_or(Errno::EBADF)
    }

    /// Closes handle `id` (the file is put once no running request uses
    /// it), or `EBADF`.
    pub(crate) fn release(&mut self, id: u64) -> Result<Arc<HandleRef>, Errno> {
        self.handles.remove(id).ok_or(Errno::EBADF)
    }
}
