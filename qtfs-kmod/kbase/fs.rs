// SPDX-License-Identifier: GPL-2.0
//! File system types: a static `struct file_system_type` and its
//! registration, undone on drop.
//!
//! For now a type can only refuse mounts ([`FileSystem::init_fs_context`]
//! returns an error, never `fs_context` operations); the mount path comes
//! with the remote VFS work.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use core::convert::Infallible;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::bindings;
use kernel::error::{code::EBUSY, to_result, Error, Result};
use kernel::ffi::c_int;
use kernel::str::CStr;
use kernel::types::Opaque;
use kernel::ThisModule;

/// What a file system type does when someone mounts it.
pub(crate) trait FileSystem {
    /// Called for every mount attempt (`init_fs_context`). Returning `Err`
    /// makes the mount fail with that error; the `Ok` type is uninhabited
    /// until fs_context operations exist.
    fn init_fs_context() -> Result<Infallible>;
}

/// A file system type, to be placed in a `static` (lockdep wants the lock
/// class keys inside `struct file_system_type` in static storage).
///
/// # Invariants
///
/// While `registered` is true, `inner` is on the kernel's list of file
/// system types and only the kernel writes to it.
pub(crate) struct FsType {
    inner: Opaque<bindings::file_system_type>,
    registered: AtomicBool,
}

// SAFETY: The C side synchronises its own accesses to the registered
// `file_system_type` (under `file_systems_lock`); the Rust side writes it
// only before registering, serialised by `registered`.
unsafe impl Sync for FsType {}

/// The `init_fs_context` callback of an [`FsType`] made for `T`.
///
/// # Safety
///
/// Called by the VFS only, with a valid `fs_context`.
unsafe extern "C" fn init_fs_context_cb<T: FileSystem>(_fc: *mut bindings::fs_context) -> c_int {
    match T::init_fs_context() {
        Err(e) => e.to_errno(),
    }
}

impl FsType {
    /// A type named `name` whose mounts are handled by `T`.
    pub(crate) const fn new<T: FileSystem>(name: &'static CStr) -> Self {
        // SAFETY: `file_system_type` is a C struct of pointers, integers,
        // an `hlist_head` and lock class keys, for all of which zero bytes
        // are the valid "empty" value (what a C static initialiser gives).
        let mut t: bindings::file_system_type = unsafe { core::mem::zeroed() };
        t.name = name.as_char_ptr();
        t.init_fs_context = Some(init_fs_context_cb::<T>);
        t.kill_sb = Some(bindings::kill_anon_super);
        FsType {
            inner: Opaque::new(t),
            registered: AtomicBool::new(false),
        }
    }
}

impl FsType {
    /// A type whose mounts are set up by the C `init_fs_context` given
    /// (which installs its `fs_context` operations) and torn down by
    /// `kill_sb`.
    pub(crate) const fn with_context(
        name: &'static CStr,
        init_fs_context: unsafe extern "C" fn(*mut bindings::fs_context) -> c_int,
        kill_sb: unsafe extern "C" fn(*mut bindings::super_block),
    ) -> Self {
        // SAFETY: as in `new`: all-zero is the empty `file_system_type`.
        let mut t: bindings::file_system_type = unsafe { core::mem::zeroed() };
        t.name = name.as_char_ptr();
        t.init_fs_context = Some(init_fs_context);
        t.kill_sb = Some(kill_sb);
        FsType {
            inner: Opaque::new(t),
            registered: AtomicBool::new(false),
        }
    }
}

/// A registered [`FsType`]: listed in `/proc/filesystems` until dropped.
pub(crate) struct Registration {
    fs: &'static FsType,
}

impl Registration {
    /// Registers `fs`, owned by `module` (the VFS pins the module while a
    /// mount is in progress). `EBUSY` if it is already registered.
    pub(crate) fn register(fs: &'static FsType, module: &'static ThisModule) -> Result<Self> {
        if fs.registered.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        let raw = fs.inner.get();
        // SAFETY: `registered` was false, so the kernel does not know `fs`
        // yet and we are the only writer (the swap above).
        unsafe { (*raw).owner = module.as_ptr() };
        // SAFETY: `raw` points to a fully initialised `file_system_type` in
        // static storage, not yet registered.
        let ret = unsafe { bindings::register_filesystem(raw) };
        if let Err(e) = to_result(ret) {
            fs.registered.store(false, Ordering::Release);
            return Err(e);
        }
        // INVARIANT: registered, so `registered` stays true until drop.
        Ok(Registration { fs })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: `self.fs` is registered (a `Registration` exists only for
        // a successful `register_filesystem`) and is unregistered once, here.
        let ret = unsafe { bindings::unregister_filesystem(self.fs.inner.get()) };
        if ret != 0 {
            crate::kbase::log::qerr!("unregister_filesystem: error {}", ret);
        }
        self.fs.registered.store(false, Ordering::Release);
    }
}

/// `EOPNOTSUPP`, not in 6.12's `kernel::error::code`.
pub(crate) fn eopnotsupp() -> Error {
    Error::from_errno(-95)
}
