// SPDX-License-Identifier: GPL-2.0
//! The export list (`qtfs_exports`), swapped atomically at runtime.
//!
//! Each export is a HOST directory resolved once, when the list is
//! configured (by the module, in the context of `insmod` or of the process
//! writing the parameter, never with a client's credentials), plus its
//! options (`ro`, `crossmnt`). A new list keeps the entries it shares with
//! the old one (same directory and options: their nodes stay valid); an
//! entry that is gone or changed is marked removed, and every node and
//! handle of it answers `ESTALE` from then on.
#![forbid(unsafe_code)]

use crate::kbase::config::{self, ExportSpecs, MAX_EXPORTS};
use crate::kbase::param::ExportsSink;
use crate::kbase::vfs::Path;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::alloc::KVec;
use kernel::error::code::EINVAL;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::{Arc, Mutex};

/// One exported directory.
pub(crate) struct Export {
    /// The directory as configured, without trailing slashes.
    pub(crate) name: KVec<u8>,
    /// Its root, resolved when configured.
    pub(crate) root: Path,
    /// Modifying operations are refused with `EROFS`.
    pub(crate) ro: bool,
    /// Lookups cross into mounts beneath the export.
    pub(crate) crossmnt: bool,
    removed: AtomicBool,
}

impl Export {
    /// Whether the export was removed from the list (its nodes are stale).
    pub(crate) fn removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }
}

/// An immutable list of exports.
pub(crate) struct ExportList {
    entries: KVec<Arc<Export>>,
}

impl ExportList {
    fn empty() -> Self {
        ExportList {
            entries: KVec::new(),
        }
    }

    /// The export holding `path` (the longest one that `path` is, or is
    /// beneath) and the rest of `path` relative to its root.
    pub(crate) fn find<'a>(&self, path: &'a [u8]) -> Option<(Arc<Export>, &'a [u8])> {
        let path = config::trim_slashes(path);
        let mut best: Option<(&Arc<Export>, &'a [u8])> = None;
        for e in self.entries.iter() {
            if let Some(rest) = config::beneath(&e.name, path) {
                if best.is_none_or(|(b, _)| b.name.len() < e.name.len()) {
                    best = Some((e, rest));
                }
            }
        }
        best.map(|(e, rest)| (e.clone(), rest))
    }

    /// Whether the list is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The current list; the handler of `qtfs_exports` writes.
#[pin_data]
pub(crate) struct Exports {
    #[pin]
    current: Mutex<Arc<ExportList>>,
}

impl Exports {
    /// An empty list (the module's init then attaches it as the handler,
    /// which applies the value given to insmod).
    pub(crate) fn new() -> Result<Arc<Exports>> {
        let empty = Arc::new(ExportList::empty(), GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(Exports {
                current <- kernel::new_mutex!(empty, "qtfs_server::exports"),
            }),
            GFP_KERNEL,
        )
    }

    /// A snapshot of the current list.
    pub(crate) fn current(&self) -> Arc<ExportList> {
        self.current.lock().clone()
    }

    /// Marks every export removed (at unload).
    pub(crate) fn remove_all(&self) {
        let list = self.current.lock();
        for e in list.entries.iter() {
            e.removed.store(true, Ordering::Release);
        }
    }

    fn build(&self, specs: &ExportSpecs<'_>, old: &ExportList) -> Result<ExportList> {
        let mut entries = KVec::with_capacity(MAX_EXPORTS, GFP_KERNEL)?;
        for spec in specs.iter().flatten() {
            let keep = old.entries.iter().find(|e| {
                e.name.as_slice() == spec.path && e.ro == spec.ro && e.crossmnt == spec.crossmnt
            });
            let export = match keep {
                Some(e) => e.clone(),
                None => {
                    let mut cbuf = KVec::with_capacity(spec.path.len() + 1, GFP_KERNEL)?;
                    cbuf.extend_from_slice(spec.path, GFP_KERNEL)?;
                    cbuf.push(0, GFP_KERNEL)?;
                    let cname = CStr::from_bytes_with_nul(&cbuf).map_err(|_| EINVAL)?;
                    let root = Path::dir(cname).map_err(|e| {
                        pr_err!(
                            "invalid qtfs_exports entry {}: cannot resolve the directory: error {}\n",
                            config::Shown(spec.path),
                            e.to_errno()
                        );
                        EINVAL
                    })?;
                    let mut name = KVec::with_capacity(spec.path.len(), GFP_KERNEL)?;
                    name.extend_from_slice(spec.path, GFP_KERNEL)?;
                    Arc::new(
                        Export {
                            name,
                            root,
                            ro: spec.ro,
                            crossmnt: spec.crossmnt,
                            removed: AtomicBool::new(false),
                        },
                        GFP_KERNEL,
                    )?
                }
            };
            entries.push(export, GFP_KERNEL)?;
        }
        Ok(ExportList { entries })
    }
}

impl ExportsSink for Exports {
    fn set(&self, value: &[u8]) -> Result {
        let mut specs = [None; MAX_EXPORTS];
        if let Err(e) = config::parse_exports(value, &mut specs) {
            pr_err!("{}\n", e);
            return Err(EINVAL);
        }
        // Sets are serialised by the parameter lock; `current` is only
        // locked for the snapshot and the swap.
        let old = self.current();
        let new = Arc::new(self.build(&specs, &old)?, GFP_KERNEL)?;
        *self.current.lock() = new.clone();
        for e in old.entries.iter() {
            if !new.entries.iter().any(|n| Arc::ptr_eq(n, e)) {
                e.removed.store(true, Ordering::Release);
            }
        }
        let n = new.entries.len();
        crate::kbase::log::qinfo!("{} export(s) configured", n);
        Ok(())
    }
}
