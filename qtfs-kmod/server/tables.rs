// SPDX-License-Identifier: GPL-2.0
//! Per-session tables of nodes (looked-up paths) and handles (open files).
//!
//! Ids are opaque `u64`s: slot index + 1 in the low 32 bits, the slot's
//! generation in the high 32, so that an id of a freed slot is not
//! mistaken for its next occupant. Both tables are bounded; an unknown id
//! is `ESTALE` (node) or `EBADF` (handle), never dereferenced.
#![forbid(unsafe_code)]

use crate::kbase::vfs::{File, Path};
use crate::proto::Errno;
use kernel::alloc::KVec;
use kernel::prelude::*;

/// "Too many open files in system": the node table is full.
const ENFILE: Errno = match Errno::new(23) {
    Some(e) => e,
    None => Errno::EMFILE,
};

/// Most nodes one session may hold.
pub(crate) const MAX_NODES: usize = 4096;
/// Most open handles one session may hold.
pub(crate) const MAX_HANDLES: usize = 256;

struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// A bounded slot table with generation-tagged ids.
pub(crate) struct Table<T> {
    slots: KVec<Slot<T>>,
    max: usize,
}

fn split(id: u64) -> (usize, u32) {
    let index = (id & 0xffff_ffff) as usize;
    (index.wrapping_sub(1), (id >> 32) as u32)
}

impl<T> Table<T> {
    pub(crate) fn new(max: usize) -> Self {
        Table {
            slots: KVec::new(),
            max,
        }
    }

    fn id_of(&self, index: usize) -> u64 {
        let generation = self.slots.get(index).map_or(0, |s| s.generation);
        (u64::from(generation) << 32) | (index as u64 + 1)
    }

    /// Stores `value`; its id, or `None` when full (or out of memory).
    pub(crate) fn insert(&mut self, value: T) -> Option<u64> {
        if let Some(i) = self.slots.iter().position(|s| s.value.is_none()) {
            let slot = &mut self.slots[i];
            slot.generation = slot.generation.wrapping_add(1);
            slot.value = Some(value);
            return Some(self.id_of(i));
        }
        if self.slots.len() >= self.max {
            return None;
        }
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
        slot.value.take()
    }

    /// The id of the first value matching `f`.
    pub(crate) fn find(&self, mut f: impl FnMut(&T) -> bool) -> Option<u64> {
        let i = self
            .slots
            .iter()
            .position(|s| s.value.as_ref().is_some_and(&mut f))?;
        Some(self.id_of(i))
    }
}

/// A node: a path beneath the export root and its lookup references.
pub(crate) struct Node {
    pub(crate) path: Path,
    pub(crate) refs: u64,
}

/// An open file.
pub(crate) struct Handle {
    pub(crate) file: File,
}

/// The nodes of a session.
pub(crate) struct Nodes(Table<Node>);

impl Nodes {
    pub(crate) fn new() -> Self {
        Nodes(Table::new(MAX_NODES))
    }

    /// Adds one lookup reference to `path`'s node (the same dentry gets the
    /// same id while referenced); `ENFILE` when the table is full.
    pub(crate) fn add_ref(&mut self, path: Path) -> Result<u64, Errno> {
        if let Some(id) = self.0.find(|n| n.path.same(&path)) {
            if let Some(n) = self.0.get_mut(id) {
                n.refs = n.refs.saturating_add(1);
            }
            return Ok(id);
        }
        self.0
            .insert(Node { path, refs: 1 })
            .ok_or(ENFILE)
    }

    /// The path of node `id`, or `ESTALE`.
    pub(crate) fn path(&self, id: u64) -> Result<&Path, Errno> {
        self.0.get(id).map(|n| &n.path).ok_or(Errno::ESTALE)
    }

    /// Drops `count` references; frees the node when none remain.
    pub(crate) fn forget(&mut self, id: u64, count: u64) -> Result<(), Errno> {
        let n = self.0.get_mut(id).ok_or(Errno::ESTALE)?;
        n.refs = n.refs.saturating_sub(count);
        if n.refs == 0 {
            self.0.remove(id);
        }
        Ok(())
    }
}

/// The open handles of a session.
pub(crate) struct Handles(Table<Handle>);

impl Handles {
    pub(crate) fn new() -> Self {
        Handles(Table::new(MAX_HANDLES))
    }

    /// Stores `file`; `EMFILE` when the table is full.
    pub(crate) fn add(&mut self, file: File) -> Result<u64, Errno> {
        self.0.insert(Handle { file }).ok_or(Errno::EMFILE)
    }

    /// The file of handle `id`, or `EBADF`.
    pub(crate) fn file(&self, id: u64) -> Result<&File, Errno> {
        self.0.get(id).map(|h| &h.file).ok_or(Errno::EBADF)
    }

    /// Closes handle `id`, or `EBADF`.
    pub(crate) fn release(&mut self, id: u64) -> Result<(), Errno> {
        self.0.remove(id).map(drop).ok_or(Errno::EBADF)
    }
}
