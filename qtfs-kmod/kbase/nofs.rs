// SPDX-License-Identifier: GPL-2.0
//! A scope in which allocations never recurse into file systems
//! (`memalloc_nofs_save`/`memalloc_nofs_restore`), for the client's
//! network work: reclaim that wrote back qtfs pages from inside a qtfs
//! request could wait on itself.
//!
//! C header: [`include/linux/sched/mm.h`](srctree/include/linux/sched/mm.h)

use core::marker::PhantomData;
use kernel::ffi::c_uint;

extern "C" {
    fn qtfs_shim_nofs_save() -> c_uint;
    fn qtfs_shim_nofs_restore(flags: c_uint);
}

/// While alive, the current task allocates as if with `GFP_NOFS`.
///
/// # Invariants
///
/// `flags` is what `memalloc_nofs_save` returned on this task; restored
/// once, on drop, on the same task (not `Send`); scopes nest like stack
/// values.
pub(crate) struct NoFs {
    flags: c_uint,
    _not_send: PhantomData<*mut ()>,
}

impl NoFs {
    /// Enters the scope.
    pub(crate) fn enter() -> NoFs {
        // SAFETY: only sets a flag of the current task.
        let flags = unsafe { qtfs_shim_nofs_save() };
        NoFs {
            flags,
            _not_send: PhantomData,
        }
    }
}

impl Drop for NoFs {
    fn drop(&mut self) {
        // SAFETY: the matching save on this task (invariant).
        unsafe { qtfs_shim_nofs_restore(self.flags) };
    }
}
