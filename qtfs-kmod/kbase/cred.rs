// SPDX-License-Identifier: GPL-2.0
//! Acting as another user: `override_creds` for the current thread, undone
//! when the guard drops (`revert_creds`). C half in `shim/vfs_shim.c`.
//!
//! C header: [`include/linux/cred.h`](srctree/include/linux/cred.h)

use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{Error, Result};
use kernel::ffi::c_int;

/// Opaque `struct cred`, only ever behind a pointer.
#[repr(C)]
pub(crate) struct RawCred {
    _private: [u8; 0],
}

extern "C" {
    fn qtfs_shim_override_creds(
        fsuid: u32,
        fsgid: u32,
        groups: *const u32,
        ngroups: c_int,
    ) -> *const RawCred;
    fn qtfs_shim_revert_creds(old: *const RawCred);
}

/// Most supplementary groups taken (the protocol's MAX_GROUPS).
pub(crate) const MAX_GROUPS: usize = 64;

/// While alive, the current thread runs with other credentials.
///
/// # Invariants
///
/// `old` is what `override_creds` returned on this thread; it is restored
/// exactly once, on drop, on the same thread (the guard is neither `Send`
/// nor `Sync`), and guards on one thread drop in reverse order (they are
/// values on its stack).
pub(crate) struct CredGuard {
    old: NonNull<RawCred>,
    _not_send: PhantomData<*mut ()>,
}

impl CredGuard {
    /// Runs the current thread as `fsuid`/`fsgid` (also euid/egid) with
    /// `groups` (at most [`MAX_GROUPS`], else `EINVAL`), with no capability
    /// unless `fsuid` is 0, until the guard drops. Ids that do not map into
    /// the initial user namespace (e.g. `u32::MAX`) are `EINVAL`.
    pub(crate) fn new(fsuid: u32, fsgid: u32, groups: &[u32]) -> Result<CredGuard> {
        if groups.len() > MAX_GROUPS {
            return Err(kernel::error::code::EINVAL);
        }
        // SAFETY: `groups` is valid for reads of `groups.len()` (<= 64) ids
        // for the call; the shim copies them.
        let old = unsafe {
            qtfs_shim_override_creds(fsuid, fsgid, groups.as_ptr(), groups.len() as c_int)
        };
        let e = old as isize;
        if (-4095..0).contains(&e) {
            return Err(Error::from_errno(e as i32));
        }
        let old = NonNull::new(old.cast_mut()).ok_or(kernel::error::code::ENOMEM)?;
        // INVARIANT: `old` came from `override_creds` on this thread.
        Ok(CredGuard {
            old,
            _not_send: PhantomData,
        })
    }
}

impl Drop for CredGuard {
    fn drop(&mut self) {
        // SAFETY: By the invariant, `self.old` is the matching
        // `override_creds` result of this thread and restored only here.
        unsafe { qtfs_shim_revert_creds(self.old.as_ptr()) };
    }
}

extern "C" {
    fn qtfs_shim_current_creds(
        fsuid: *mut u32,
        fsgid: *mut u32,
        groups: *mut u32,
        max: c_int,
        umask: *mut u32,
    ) -> c_int;
}

/// Who the current task is for file access: what a request carries.
#[derive(Clone, Copy)]
pub(crate) struct Ids {
    pub(crate) fsuid: u32,
    pub(crate) fsgid: u32,
    /// The first [`MAX_GROUPS`] supplementary groups.
    pub(crate) groups: [u32; MAX_GROUPS],
    pub(crate) ngroups: usize,
    pub(crate) umask: u32,
}

/// The current task's [`Ids`] (ids in the initial user namespace).
pub(crate) fn current_ids() -> Ids {
    let mut ids = Ids {
        fsuid: 0,
        fsgid: 0,
        groups: [0; MAX_GROUPS],
        ngroups: 0,
        umask: 0,
    };
    // SAFETY: every pointer is valid for writes; `groups` has room for
    // `MAX_GROUPS` ids, the bound passed.
    let n = unsafe {
        qtfs_shim_current_creds(
            &mut ids.fsuid,
            &mut ids.fsgid,
            ids.groups.as_mut_ptr(),
            MAX_GROUPS as c_int,
            &mut ids.umask,
        )
    };
    ids.ngroups = usize::try_from(n).unwrap_or(0).min(MAX_GROUPS);
    ids
}

extern "C" {
    fn qtfs_shim_current_pids(tgid: *mut u32, tid: *mut u32);
}

/// The current task's thread-group id (what `getpid()` returns) and
/// thread id, as its own pid namespace numbers them.
pub(crate) fn current_pids() -> (u32, u32) {
    let (mut tgid, mut tid) = (0u32, 0u32);
    // SAFETY: both pointers are valid for writes; the shim only reads
    // `current`'s pids.
    unsafe { qtfs_shim_current_pids(&mut tgid, &mut tid) };
    (tgid, tid)
}
