// SPDX-License-Identifier: GPL-2.0
//! Mounting: the `fs_context` of a [`RemoteFs`] and its `fill_super`.
//!
//! The C half (`shim/client_vfs_shim.c`) owns the `fs_context_operations`
//! table and calls back into the functions here through fixed symbols,
//! which [`remote_fs_entry_points!`] defines for the module's one file
//! system type. `fs_private` is a `KBox<T::Mount>`; `s_fs_info` a
//! `KBox<T::Super>`, freed after `kill_anon_super` (inodes evicted there
//! still reach it).

use super::ops::RemoteFs;
use super::tables::Tables;
use super::types::{Inode, SuperBlock};
use crate::kbase::log::qwarn;
use core::ffi::c_void;
use kernel::alloc::KBox;
use kernel::bindings;
use kernel::error::code::{EINVAL, ENOMEM};
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;

#[allow(improper_ctypes)]
extern "C" {
    fn qtfs_shim_fc_set_private(fc: *mut bindings::fs_context, p: *mut c_void);
    fn qtfs_shim_sb_setup(
        sb: *mut bindings::super_block,
        magic: usize,
        sops: *const bindings::super_operations,
        dops: *const bindings::dentry_operations,
        xattr: *const *const bindings::xattr_handler,
        fs_info: *mut c_void,
        read_only: c_int,
    ) -> c_int;
    static qtfs_shim_xattr_handlers: [*const bindings::xattr_handler; 4];
    fn qtfs_shim_sb_set_root(sb: *mut bindings::super_block, root: *mut bindings::dentry);
    /// The C `init_fs_context` of the type (installs the table).
    pub(crate) fn qtfs_shim_init_fs_context(fc: *mut bindings::fs_context) -> c_int;
    /// The C `kill_sb` of the type.
    pub(crate) fn qtfs_shim_kill_sb(sb: *mut bindings::super_block);
}

/// `init_fs_context`: fresh options.
///
/// # Safety
///
/// `fc` is the context being initialised.
pub(crate) unsafe fn fc_init<T: RemoteFs>(fc: *mut bindings::fs_context) -> c_int {
    match T::new_mount().and_then(|m| Ok(KBox::new(m, GFP_KERNEL)?)) {
        Ok(b) => {
            // SAFETY: `fc` is ours to set up; freed by `fc_free`.
            unsafe { qtfs_shim_fc_set_private(fc, KBox::into_raw(b).cast()) };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// `p` is the `fs_private` set by `fc_init::<T>`, freed once.
pub(crate) unsafe fn fc_free<T: RemoteFs>(p: *mut c_void) {
    // SAFETY: per the contract.
    drop(unsafe { KBox::from_raw(p.cast::<T::Mount>()) });
}

/// # Safety
///
/// `p` as for `fc_free`; `key`/`value` readable for their lengths.
pub(crate) unsafe fn fc_param<T: RemoteFs>(
    p: *mut c_void,
    key: *const c_char,
    key_len: usize,
    value: *const c_char,
    value_len: usize,
    has_value: c_int,
) -> c_int {
    // SAFETY: per the contract.
    let m = unsafe { &mut *p.cast::<T::Mount>() };
    // SAFETY: per the contract.
    let key = unsafe { core::slice::from_raw_parts(key.cast::<u8>(), key_len) };
    let value = (has_value != 0 && !value.is_null())
        // SAFETY: per the contract.
        .then(|| unsafe { core::slice::from_raw_parts(value.cast::<u8>(), value_len) });
    match T::mount_param(m, key, value) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// `sb` is the new super block of `get_tree_nodev`; `p` the context's
/// `T::Mount`; `source` a NUL-terminated string.
pub(crate) unsafe fn fill_super<T: RemoteFs>(
    sb: *mut bindings::super_block,
    p: *mut c_void,
    source: *const c_char,
) -> c_int {
    // SAFETY: per the contract.
    let m = unsafe { &mut *p.cast::<T::Mount>() };
    // SAFETY: per the contract.
    let source = unsafe { kernel::str::CStr::from_char_ptr(source) };
    let (info, read_only) = match T::new_super(m, source.as_bytes()) {
        Ok(v) => v,
        Err(e) => return e.to_errno(),
    };
    let info = KBox::into_raw(info);
    // SAFETY: `sb` is new and ours; the tables are 'static (the xattr one
    // a NULL-terminated array in the shim's read-only data); `info` is
    // freed by `kill_sb_done` from now on (kill_sb runs even if the rest
    // of fill_super fails).
    let err = unsafe {
        qtfs_shim_sb_setup(
            sb,
            T::MAGIC,
            &Tables::<T>::SUPER_OPS,
            &Tables::<T>::DENTRY_OPS,
            qtfs_shim_xattr_handlers.as_ptr(),
            info.cast(),
            c_int::from(read_only),
        )
    };
    if err != 0 {
        return err;
    }
    // SAFETY: `s_fs_info` is set: a valid `SuperBlock<T>`.
    let sbr = unsafe { SuperBlock::<T>::from_raw(sb) };
    let root = match T::root(sbr) {
        Ok(r) => r,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: gives the reference to the new dentry (dropped on failure).
    let d = unsafe { bindings::d_make_root(root.into_raw()) };
    if d.is_null() {
        return ENOMEM.to_errno();
    }
    // SAFETY: `sb` is ours until `get_tree` returns.
    unsafe { qtfs_shim_sb_set_root(sb, d) };
    0
}

/// # Safety
///
/// `sb` a live `T` super block; `p` the reconfiguring context's options.
pub(crate) unsafe fn reconfigure<T: RemoteFs>(sb: *mut bindings::super_block, p: *mut c_void) -> c_int {
    if p.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: per the contract.
    let (sbr, m) = unsafe { (SuperBlock::<T>::from_raw(sb), &mut *p.cast::<T::Mount>()) };
    match T::reconfigure(sbr, m) {
        Ok(()) => 0,
        Err(e) => {
            qwarn!("remount refused: error {}", e.to_errno());
            e.to_errno()
        }
    }
}

/// # Safety
///
/// `info` is the `s_fs_info` set by `fill_super::<T>`, after
/// `kill_anon_super`.
pub(crate) unsafe fn kill_sb_done<T: RemoteFs>(info: *mut c_void) {
    // SAFETY: per the contract.
    drop(unsafe { KBox::from_raw(info.cast::<T::Super>()) });
}

/// # Safety
///
/// `inode` one of `T`'s; `name` NUL-terminated; `buf` null (size query)
/// or writable for `size` bytes.
pub(crate) unsafe fn xattr_get<T: RemoteFs>(
    inode: *mut bindings::inode,
    name: *const c_char,
    buf: *mut c_void,
    size: usize,
) -> c_int {
    // SAFETY: per the contract.
    let (i, name) = unsafe { (Inode::<T>::from_raw(inode), kernel::str::CStr::from_char_ptr(name)) };
    let buf = (!buf.is_null() && size > 0)
        // SAFETY: per the contract.
        .then(|| unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), size) });
    match T::getxattr(i, name.as_bytes(), buf) {
        Ok(n) => c_int::try_from(n).unwrap_or(c_int::MAX),
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// As for `xattr_get`; `value` null (remove) or readable for `size`.
pub(crate) unsafe fn xattr_set<T: RemoteFs>(
    inode: *mut bindings::inode,
    name: *const c_char,
    value: *const c_void,
    size: usize,
    flags: c_int,
) -> c_int {
    // SAFETY: per the contract.
    let (i, name) = unsafe { (Inode::<T>::from_raw(inode), kernel::str::CStr::from_char_ptr(name)) };
    let value = (!value.is_null())
        // SAFETY: per the contract.
        .then(|| unsafe { core::slice::from_raw_parts(value.cast::<u8>(), size) });
    match T::setxattr(i, name.as_bytes(), value, flags as u32) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Defines the C entry points of [`super::super::vfsc::mount`] for `$t`,
/// the module's one [`RemoteFs`].
macro_rules! remote_fs_entry_points {
    ($t:ty) => {
        /// # Safety
        ///
        /// Called by the C `init_fs_context`.
        #[no_mangle]
        unsafe extern "C" fn qtfs_rs_fc_init(fc: *mut kernel::bindings::fs_context) -> kernel::ffi::c_int {
            // SAFETY: forwarded contract.
            unsafe { $crate::kbase::vfsc::mount::fc_init::<$t>(fc) }
        }
        /// # Safety
        ///
        /// Called by the C `fs_context` `free`.
        #[no_mangle]
        unsafe extern "C" fn qtfs_rs_fc_free(p: *mut core::ffi::c_void) {
            // SAFETY: forwarded contract.
            unsafe { $crate::kbase::vfsc::mount::fc_free::<$t>(p) }
        }
        /// # Safety
        ///
        /// Called by the C `parse_param`.
        #[no_mangle]
        unsafe extern "C" fn qtfs_rs_fc_param(
            p: *mut core::ffi::c_void,
            key: *const kernel::ffi::c_char,
            key_len: usize,
            value: *const kernel::ffi::c_char,
            value_len: usize,
            has_value: kernel::ffi::c_int,
        ) -> kernel::ffi::c_int {
            // SAFETY: forwarded contract.
            unsafe { $crate::kbase::vfsc::mount::fc_param::<$t>(p, key, key_len, value, value_len, has_value) }
        }
        /// # Safety
        ///
        /// Called by the C `fill_super`.
        #[no_mangle]
        unsafe extern "C" fn qtfs_rs_fill_super(
            sb: *mut kernel::bindings::super_block,
            p: *mut core::ffi::c_void,
            source: *const kernel::ffi::c_char,
            _silent: kernel::ffi::c_int,
        ) -> kernel::ffi::c_int {
            // SAFETY: forwarded contract.
            unsafe { $crate::kbase::vfsc::mount::fill_super::<$t>(sb, p, source) }
        }
        /// # Safety
        ///
        /// Called by the C `reconfigure`.
        #[no_mangle]
        unsafe extern "C" fn qtfs_rs_reconfigure(
            sb: *mut kernel::bindings::super_block,
            p: *mut core::ffi::c_void,
        ) -> kernel::ffi::c_int {
            // SAFETY: forwarded contract.
            unsafe { $crate::kbase::vfsc::mount::reconfigure::<$t>(sb, p) }
        }
        /// # Safety
        ///
        /// Called by the C xattr handlers' `get`.
        #[no_mangle]
        unsafe extern "C" fn qtfs_rs_xattr_get(
            inode: *mut kernel::bindings::inode,
            name: *const kernel::ffi::c_char,
            buf: *mut core::ffi::c_void,
            size: usize,
        ) -> kernel::ffi::c_int {
            // SAFETY: forwarded contract.
            unsafe { $crate::kbase::vfsc::mount::xattr_get::<$t>(inode, name, buf, size) }
        }
        /// # Safety
        ///
        /// Called by the C xattr handlers' `set`.
        #[no_mangle]
        unsafe extern "C" fn qtfs_rs_xattr_set(
            inode: *mut kernel::bindings::inode,
            name: *const kernel::ffi::c_char,
            value: *const core::ffi::c_void,
            size: usize,
            flags: kernel::ffi::c_int,
        ) -> kernel::ffi::c_int {
            // SAFETY: forwarded contract.
            unsafe { $crate::kbase::vfsc::mount::xattr_set::<$t>(inode, name, value, size, flags) }
        }
        /// # Safety
        ///
        /// Called by the C `kill_sb` after `kill_anon_super`.
        #[no_mangle]
        unsafe extern "C" fn qtfs_rs_kill_sb_done(info: *mut core::ffi::c_void) {
            // SAFETY: forwarded contract.
            unsafe { $crate::kbase::vfsc::mount::kill_sb_done::<$t>(info) }
        }
    };
}
pub(crate) use remote_fs_entry_points;
