// SPDX-License-Identifier: GPL-2.0
//! Wrappers over the VFS objects a file system is handed: super blocks,
//! inodes, dentries, open files, folios, I/O iterators and directory
//! contexts. All are `#[repr(transparent)]` over an [`Opaque`] C struct and
//! only ever used by reference, for the duration of the callback that got
//! the pointer (the VFS holds the reference).

use super::ops::RemoteFs;
use super::tables::Tables;
use crate::kbase::vfs::{Attr, FsStat};
use core::ffi::c_void;
use core::marker::PhantomData;
use core::pin::Pin;
use core::ptr::NonNull;
use kernel::alloc::KBox;
use kernel::bindings;
use kernel::alloc::KVec;
use kernel::error::{
    code::{EINVAL, ENOMEM},
    Error, Result,
};
use kernel::ffi::{c_char, c_int, c_uint};
use kernel::init::PinInit;
use kernel::prelude::*;
use kernel::types::Opaque;

#[allow(improper_ctypes)]
extern "C" {
    pub(super) fn qtfs_shim_sb_info(sb: *mut bindings::super_block) -> *mut c_void;
    fn qtfs_shim_sb_rdonly(sb: *mut bindings::super_block) -> c_int;
    fn qtfs_shim_inode_private(inode: *const bindings::inode) -> *mut c_void;
    fn qtfs_shim_inode_set_private(inode: *mut bindings::inode, p: *mut c_void);
    fn qtfs_shim_inode_sb(inode: *const bindings::inode) -> *mut bindings::super_block;
    fn qtfs_shim_inode_mode(inode: *const bindings::inode) -> c_uint;
    fn qtfs_shim_inode_ino(inode: *const bindings::inode) -> u64;
    fn qtfs_shim_inode_size(inode: *const bindings::inode) -> i64;
    fn qtfs_shim_inode_init(
        inode: *mut bindings::inode,
        ino: u64,
        mode: c_uint,
        rdev_major: u32,
        rdev_minor: u32,
        iops: *const bindings::inode_operations,
        fops: *const bindings::file_operations,
        aops: *const bindings::address_space_operations,
    );
    fn qtfs_shim_inode_set_attr(
        inode: *mut bindings::inode,
        a: *const Attr,
        generation: u32,
        set_size: c_int,
    );
    fn qtfs_shim_inode_set_size(inode: *mut bindings::inode, size: i64);
    fn qtfs_shim_inode_lock(inode: *mut bindings::inode);
    fn qtfs_shim_inode_unlock(inode: *mut bindings::inode);
    fn qtfs_shim_inode_lock_shared(inode: *mut bindings::inode);
    fn qtfs_shim_inode_unlock_shared(inode: *mut bindings::inode);
    fn qtfs_shim_inode_drop_nlink(inode: *mut bindings::inode);
    fn qtfs_shim_write_and_wait(inode: *mut bindings::inode, start: i64, end: i64) -> c_int;
    fn qtfs_shim_invalidate_range(inode: *mut bindings::inode, start: i64, end: i64) -> c_int;
    fn qtfs_shim_truncate_pagecache(inode: *mut bindings::inode, size: i64);
    fn qtfs_shim_dentry_inode(d: *const bindings::dentry) -> *mut bindings::inode;
    fn qtfs_shim_dentry_name(d: *const bindings::dentry, len: *mut u32) -> *const u8;
    fn qtfs_shim_dentry_time(d: *const bindings::dentry) -> usize;
    fn qtfs_shim_dentry_set_time(d: *mut bindings::dentry, t: usize);
    fn qtfs_shim_jiffies() -> usize;
    fn qtfs_shim_ms_to_jiffies(ms: c_uint) -> usize;
    fn qtfs_shim_time_before(a: usize, b: usize) -> c_int;
    fn qtfs_shim_file_private(f: *const bindings::file) -> *mut c_void;
    fn qtfs_shim_file_flags(f: *const bindings::file) -> c_uint;
    fn qtfs_shim_file_inode(f: *const bindings::file) -> *mut bindings::inode;
    fn qtfs_shim_file_parent_ino(f: *const bindings::file) -> u64;
    fn qtfs_shim_file_check_wb_err(f: *mut bindings::file) -> c_int;
    fn qtfs_shim_inode_set_wb_err(inode: *mut bindings::inode, err: c_int);
    fn qtfs_shim_kiocb_file(k: *const bindings::kiocb) -> *mut bindings::file;
    fn qtfs_shim_kiocb_pos(k: *const bindings::kiocb) -> i64;
    fn qtfs_shim_kiocb_set_pos(k: *mut bindings::kiocb, pos: i64);
    fn qtfs_shim_kiocb_flags(k: *const bindings::kiocb) -> c_uint;
    fn qtfs_shim_iter_count(i: *const bindings::iov_iter) -> usize;
    fn qtfs_shim_copy_to_iter(buf: *const c_void, len: usize, i: *mut bindings::iov_iter) -> usize;
    fn qtfs_shim_copy_from_iter(buf: *mut c_void, len: usize, i: *mut bindings::iov_iter)
        -> usize;
    fn qtfs_shim_dir_pos(ctx: *const bindings::dir_context) -> i64;
    fn qtfs_shim_dir_set_pos(ctx: *mut bindings::dir_context, pos: i64);
    fn qtfs_shim_local_dir_open(path: *const c_char) -> *mut bindings::file;
    fn qtfs_shim_local_file_put(f: *mut bindings::file);
    fn qtfs_shim_local_dir_relay(dir: *mut bindings::file, to: *mut bindings::dir_context, d_type: c_uint) -> c_int;
    fn qtfs_shim_local_link_target(path: *const c_char, buf: *mut c_char, len: c_int) -> c_int;
    fn qtfs_shim_dir_emit(
        ctx: *mut bindings::dir_context,
        name: *const c_char,
        len: c_int,
        ino: u64,
        d_type: c_uint,
    ) -> c_int;
    fn qtfs_shim_folio_pos(folio: *mut bindings::folio) -> i64;
    fn qtfs_shim_folio_size(folio: *mut bindings::folio) -> usize;
    fn qtfs_shim_folio_fill_done(
        folio: *mut bindings::folio,
        data: *const c_void,
        len: usize,
        err: c_int,
    );
    fn qtfs_shim_readahead_pos(r: *mut bindings::readahead_control) -> i64;
    fn qtfs_shim_readahead_length(r: *mut bindings::readahead_control) -> usize;
    fn qtfs_shim_readahead_next(r: *mut bindings::readahead_control) -> *mut bindings::folio;
    fn qtfs_shim_statfs_fill(buf: *mut bindings::kstatfs, s: *const FsStat, magic: usize);
}

/// What identifies a HOST file for the inode cache: its inode number and
/// file system on the HOST, and the inode's generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InodeKey {
    /// HOST inode number.
    pub(crate) ino: u64,
    /// HOST file system (the server's `dev`).
    pub(crate) dev: u64,
    /// HOST inode generation.
    pub(crate) generation: u32,
}

impl InodeKey {
    /// The hash bucket: inode number mixed with the device.
    pub(crate) fn hash(&self) -> usize {
        (self.ino ^ self.dev.rotate_left(32)) as usize
    }
}

/// What `i_private` points to.
#[pin_data]
pub(crate) struct InodeBox<T: RemoteFs> {
    pub(crate) key: InodeKey,
    #[pin]
    pub(crate) data: T::Node,
}

/// A super block of file system `T`.
///
/// # Invariants
///
/// Only ever referenced while the VFS holds it active, after `fill_super`
/// set `s_fs_info` to a `KBox<T::Super>` (see [`super::mount`]).
#[repr(transparent)]
pub(crate) struct SuperBlock<T: RemoteFs>(Opaque<bindings::super_block>, PhantomData<T>);

impl<T: RemoteFs> SuperBlock<T> {
    /// # Safety
    ///
    /// `sb` must be a live super block of type `T` whose `s_fs_info` is set,
    /// valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(sb: *mut bindings::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper; validity per the
        // caller's contract.
        unsafe { &*sb.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    /// The file system's data of this super block.
    pub(crate) fn info(&self) -> &T::Super {
        // SAFETY: per the type invariant `s_fs_info` is a live
        // `KBox<T::Super>` for as long as the super block is referenced.
        unsafe { &*qtfs_shim_sb_info(self.as_ptr()).cast::<T::Super>() }
    }

    /// Mounted read-only.
    pub(crate) fn read_only(&self) -> bool {
        // SAFETY: valid super block (type invariant).
        unsafe { qtfs_shim_sb_rdonly(self.as_ptr()) != 0 }
    }

    /// The inode of `key`: the cached one if there is one, else a new one
    /// (locked, `I_NEW`) carrying the data `init` makes, which the caller
    /// sets up and then unlocks with [`NewInode::finish`].
    pub(crate) fn get_inode(
        &self,
        key: InodeKey,
        init: impl PinInit<T::Node, Error>,
    ) -> Result<Lookup<T>> {
        let boxed: Pin<KBox<InodeBox<T>>> = KBox::pin_init(
            try_pin_init!(InodeBox::<T> { key, data <- init }? Error),
            GFP_KERNEL,
        )?;
        // SAFETY: The box is handed to C as a raw pointer; it is either
        // installed as `i_private` (then freed by `free_inode_cb`) or taken
        // back below. It is never moved (pinned).
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(boxed) });
        let mut arg = SetArg::<T> {
            key,
            boxed: raw,
            used: false,
        };
        // SAFETY: `self` is a live super block; the callbacks match
        // `iget5_locked`'s contract and `arg` outlives the call.
        let inode = unsafe {
            bindings::iget5_locked(
                self.as_ptr(),
                key.hash() as _,
                Some(test_cb::<T>),
                Some(set_cb::<T>),
                (&mut arg as *mut SetArg<T>).cast(),
            )
        };
        if !arg.used {
            // SAFETY: not installed: still ours, from `into_raw` above.
            drop(unsafe { KBox::from_raw(raw) });
        }
        let inode = NonNull::new(inode).ok_or(ENOMEM)?;
        if arg.used {
            // INVARIANT: `iget5_locked` returned the new inode it locked.
            Ok(Lookup::New(NewInode(inode, PhantomData)))
        } else {
            // INVARIANT: an existing inode with a reference for us.
            Ok(Lookup::Cached(InodeRef(inode, PhantomData)))
        }
    }

    /// Fills `statfs(2)`'s buffer.
    pub(crate) fn fill_statfs(buf: *mut bindings::kstatfs, s: &FsStat, magic: usize) {
        // SAFETY: `buf` is the VFS's kstatfs for this call (the trampoline
        // passes it straight through).
        unsafe { qtfs_shim_statfs_fill(buf, s, magic) };
    }
}

struct SetArg<T: RemoteFs> {
    key: InodeKey,
    boxed: *mut InodeBox<T>,
    used: bool,
}

/// # Safety
///
/// `iget5_locked` test callback: `inode` is hashed in our super block and
/// `data` is the `SetArg<T>` passed by `get_inode`.
unsafe extern "C" fn test_cb<T: RemoteFs>(inode: *mut bindings::inode, data: *mut c_void) -> c_int {
    // SAFETY: per the contract.
    let arg = unsafe { &*data.cast::<SetArg<T>>() };
    // SAFETY: `inode` is valid; `i_private` is null or one of our boxes,
    // set before the inode was hashed (in `set_cb`, under the hash lock).
    let p = unsafe { qtfs_shim_inode_private(inode) }.cast::<InodeBox<T>>();
    if p.is_null() {
        return 0;
    }
    // SAFETY: a live box: it is freed only after the inode leaves the hash.
    c_int::from(unsafe { (*p).key } == arg.key)
}

/// # Safety
///
/// `iget5_locked` set callback, under `inode_hash_lock`: `inode` is a new
/// inode and `data` the `SetArg<T>` of `get_inode`.
unsafe extern "C" fn set_cb<T: RemoteFs>(inode: *mut bindings::inode, data: *mut c_void) -> c_int {
    // SAFETY: per the contract.
    let arg = unsafe { &mut *data.cast::<SetArg<T>>() };
    // SAFETY: `inode` is new and private to this call.
    unsafe { qtfs_shim_inode_set_private(inode, arg.boxed.cast()) };
    arg.used = true;
    0
}

/// The result of [`SuperBlock::get_inode`].
pub(crate) enum Lookup<T: RemoteFs> {
    /// Already in the inode cache.
    Cached(InodeRef<T>),
    /// Just created, locked, to be set up.
    New(NewInode<T>),
}

/// What a new inode is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    Regular,
    Symlink,
    /// A FIFO: the HOST's, opened, read and written through the server.
    Fifo,
    /// A socket or device node (the kernel's own file operations).
    Special,
}

/// A new, locked inode (`I_NEW`).
///
/// # Invariants
///
/// `self.0` is an `I_NEW` inode from `iget5_locked` with one reference
/// owned by this value; dropping it without `finish` calls `iget_failed`.
pub(crate) struct NewInode<T: RemoteFs>(NonNull<bindings::inode>, PhantomData<T>);

impl<T: RemoteFs> NewInode<T> {
    /// The inode, to fill in.
    pub(crate) fn inode(&self) -> &Inode<T> {
        // SAFETY: valid for as long as we hold the reference (invariant).
        unsafe { Inode::from_raw(self.0.as_ptr()) }
    }

    /// Sets type, operations and attributes, then unlocks it.
    pub(crate) fn finish(self, attr: &Attr, generation: u32, cache_size: bool) -> InodeRef<T> {
        self.finish_as(attr, generation, cache_size, false)
    }

    /// As [`Self::finish`], for a directory made by the file system
    /// itself: lookups and listings only (creating, removing or renaming
    /// in it is refused by the VFS, as in procfs).
    pub(crate) fn finish_made_dir(self, attr: &Attr) -> InodeRef<T> {
        self.finish_as(attr, 0, true, true)
    }

    fn finish_as(self, attr: &Attr, generation: u32, cache_size: bool, made_dir: bool) -> InodeRef<T> {
        let mode = attr.mode;
        let kind = kind_of(mode);
        let (iops, fops, aops): (
            *const bindings::inode_operations,
            *const bindings::file_operations,
            *const bindings::address_space_operations,
        ) = match kind {
            Kind::Dir if made_dir => (&Tables::<T>::MADE_DIR_IOPS, &Tables::<T>::DIR_FOPS.0, core::ptr::null()),
            Kind::Dir => (&Tables::<T>::DIR_IOPS, &Tables::<T>::DIR_FOPS.0, core::ptr::null()),
            Kind::Regular => (&Tables::<T>::FILE_IOPS, &Tables::<T>::FILE_FOPS.0, &Tables::<T>::AOPS),
            Kind::Symlink => (&Tables::<T>::SYMLINK_IOPS, core::ptr::null(), core::ptr::null()),
            Kind::Fifo => (&Tables::<T>::SPECIAL_IOPS, &Tables::<T>::FIFO_FOPS.0, core::ptr::null()),
            Kind::Special => (&Tables::<T>::SPECIAL_IOPS, core::ptr::null(), core::ptr::null()),
        };
        let p = self.0.as_ptr();
        // SAFETY: `p` is our locked new inode (invariant); the tables are
        // constants with static lifetime.
        unsafe {
            qtfs_shim_inode_init(p, attr.ino, mode, attr.rdev_major, attr.rdev_minor, iops, fops, aops);
            qtfs_shim_inode_set_attr(p, attr, generation, c_int::from(cache_size));
        }
        // SAFETY: the inode is fully set up; it stays referenced by us.
        unsafe { bindings::unlock_new_inode(p) };
        let me = core::mem::ManuallyDrop::new(self);
        // INVARIANT: our reference moves into the `InodeRef`.
        InodeRef(me.0, PhantomData)
    }
}

impl<T: RemoteFs> Drop for NewInode<T> {
    fn drop(&mut self) {
        // SAFETY: an unfinished new inode we own (invariant).
        unsafe { bindings::iget_failed(self.0.as_ptr()) };
    }
}

/// The kind of an inode of mode `mode`.
pub(crate) fn kind_of(mode: u32) -> Kind {
    match mode & 0o170000 {
        0o040000 => Kind::Dir,
        0o100000 => Kind::Regular,
        0o120000 => Kind::Symlink,
        0o010000 => Kind::Fifo,
        _ => Kind::Special,
    }
}

/// A counted inode reference (`iput` on drop).
///
/// # Invariants
///
/// `self.0` is a live inode of a `T` super block with `i_private` set; one
/// reference is owned by this value.
pub(crate) struct InodeRef<T: RemoteFs>(NonNull<bindings::inode>, PhantomData<T>);

// SAFETY: inode references may be dropped from any thread.
unsafe impl<T: RemoteFs> Send for InodeRef<T> {}

impl<T: RemoteFs> InodeRef<T> {
    /// Gives the reference away (to `d_splice_alias`, `d_instantiate`,
    /// `d_make_root`).
    pub(crate) fn into_raw(self) -> *mut bindings::inode {
        let me = core::mem::ManuallyDrop::new(self);
        me.0.as_ptr()
    }
}

impl<T: RemoteFs> core::ops::Deref for InodeRef<T> {
    type Target = Inode<T>;
    fn deref(&self) -> &Inode<T> {
        // SAFETY: referenced (invariant).
        unsafe { Inode::from_raw(self.0.as_ptr()) }
    }
}

impl<T: RemoteFs> Drop for InodeRef<T> {
    fn drop(&mut self) {
        // SAFETY: we own one reference (invariant).
        unsafe { bindings::iput(self.0.as_ptr()) };
    }
}

/// An inode of file system `T`.
///
/// # Invariants
///
/// Referenced by the VFS for the borrow's lifetime, with `i_private`
/// pointing to a live `InodeBox<T>`.
#[repr(transparent)]
pub(crate) struct Inode<T: RemoteFs>(Opaque<bindings::inode>, PhantomData<T>);

impl<T: RemoteFs> Inode<T> {
    /// # Safety
    ///
    /// `p` must be a live inode of a `T` super block with `i_private` set
    /// by [`SuperBlock::get_inode`], valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(p: *mut bindings::inode) -> &'a Self {
        // SAFETY: transparent wrapper; validity per the contract.
        unsafe { &*p.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::inode {
        self.0.get()
    }

    fn boxed(&self) -> &InodeBox<T> {
        // SAFETY: `i_private` is a live `InodeBox<T>` (invariant), freed
        // only after the last reference is gone and an RCU grace period.
        unsafe { &*qtfs_shim_inode_private(self.as_ptr()).cast::<InodeBox<T>>() }
    }

    /// The file system's data of this inode.
    pub(crate) fn data(&self) -> &T::Node {
        &self.boxed().data
    }

    /// Its identity on the HOST.
    pub(crate) fn key(&self) -> InodeKey {
        self.boxed().key
    }

    /// Its super block.
    pub(crate) fn sb(&self) -> &SuperBlock<T> {
        // SAFETY: an inode's super block outlives it.
        unsafe { SuperBlock::from_raw(qtfs_shim_inode_sb(self.as_ptr())) }
    }

    /// `i_mode`.
    pub(crate) fn mode(&self) -> u32 {
        // SAFETY: valid inode (invariant).
        unsafe { qtfs_shim_inode_mode(self.as_ptr()) }
    }

    /// `i_ino`.
    pub(crate) fn ino(&self) -> u64 {
        // SAFETY: valid inode (invariant).
        unsafe { qtfs_shim_inode_ino(self.as_ptr()) }
    }

    /// `i_size`.
    pub(crate) fn size(&self) -> i64 {
        // SAFETY: valid inode (invariant).
        unsafe { qtfs_shim_inode_size(self.as_ptr()) }
    }

    pub(crate) fn kind(&self) -> Kind {
        kind_of(self.mode())
    }

    /// Copies the server's attributes in (the type bits are kept); the size
    /// too when `set_size`.
    pub(crate) fn set_attr(&self, attr: &Attr, generation: u32, set_size: bool) {
        // SAFETY: valid inode (invariant); the shim writes plain fields.
        unsafe { qtfs_shim_inode_set_attr(self.as_ptr(), attr, generation, c_int::from(set_size)) };
    }

    /// Takes `i_rwsem` exclusively (as `write(2)` on a local file does)
    /// until the guard drops. Not while the VFS already holds it.
    pub(crate) fn lock(&self) -> InodeLock<'_, T> {
        // SAFETY: valid inode (invariant); a sleeping lock in process
        // context, released by the guard.
        unsafe { qtfs_shim_inode_lock(self.as_ptr()) };
        InodeLock(self)
    }

    /// Takes `i_rwsem` shared until the guard drops: excludes [`Self::lock`]
    /// holders (a write in progress), not other readers. Not while the VFS
    /// already holds it.
    pub(crate) fn lock_shared(&self) -> InodeSharedLock<'_, T> {
        // SAFETY: valid inode (invariant); a sleeping lock in process
        // context, released by the guard.
        unsafe { qtfs_shim_inode_lock_shared(self.as_ptr()) };
        InodeSharedLock(self)
    }

    /// `i_size_write`.
    pub(crate) fn set_size(&self, size: i64) {
        // SAFETY: valid inode (invariant).
        unsafe { qtfs_shim_inode_set_size(self.as_ptr(), size) };
    }

    /// One link fewer (after an unlink).
    pub(crate) fn drop_nlink(&self) {
        // SAFETY: valid inode (invariant).
        unsafe { qtfs_shim_inode_drop_nlink(self.as_ptr()) };
    }

    /// Writes back the cached pages of bytes `start..=end`, waits.
    pub(crate) fn write_and_wait(&self, start: i64, end: i64) -> Result {
        // SAFETY: valid inode (invariant).
        kernel::error::to_result(unsafe { qtfs_shim_write_and_wait(self.as_ptr(), start, end) })
    }

    /// Drops the cached pages of bytes `start..=end`.
    pub(crate) fn invalidate_pages(&self, start: i64, end: i64) -> Result {
        // SAFETY: valid inode (invariant).
        kernel::error::to_result(unsafe { qtfs_shim_invalidate_range(self.as_ptr(), start, end) })
    }

    /// Records a write-back error in the mapping (`mapping_set_error`):
    /// the next `fsync` or `close` of each open file reports it (errseq).
    pub(crate) fn record_wb_err(&self, err: Error) {
        // SAFETY: valid inode (invariant); `mapping_set_error` only updates
        // the mapping's errseq atomically.
        unsafe { qtfs_shim_inode_set_wb_err(self.as_ptr(), err.to_errno()) };
    }

    /// A dentry of this inode (`d_find_alias`: a hashed one; a directory's
    /// only one), or `None` when it has none (an unlinked open file).
    pub(crate) fn alias(&self) -> Option<DentryRef<T>> {
        // SAFETY: valid inode (invariant); `d_find_alias` takes its own
        // locks and returns a referenced dentry or NULL.
        let d = unsafe { bindings::d_find_alias(self.as_ptr()) };
        // INVARIANT: the reference from `d_find_alias` is ours; an alias of
        // our inode is a dentry of our super block.
        NonNull::new(d).map(|d| DentryRef(d, PhantomData))
    }

    /// `truncate_setsize`: new size, cached pages beyond it dropped.
    pub(crate) fn truncate_pagecache(&self, size: i64) {
        // SAFETY: valid inode (invariant); callers hold i_rwsem (setattr).
        unsafe { qtfs_shim_truncate_pagecache(self.as_ptr(), size) };
    }
}

/// `i_rwsem` held by this thread (see [`Inode::lock`]).
pub(crate) struct InodeLock<'a, T: RemoteFs>(&'a Inode<T>);

impl<T: RemoteFs> Drop for InodeLock<'_, T> {
    fn drop(&mut self) {
        // SAFETY: taken by `Inode::lock` on this thread.
        unsafe { qtfs_shim_inode_unlock(self.0.as_ptr()) };
    }
}

/// `i_rwsem` held shared by this thread ([`Inode::lock_shared`]).
pub(crate) struct InodeSharedLock<'a, T: RemoteFs>(&'a Inode<T>);

impl<T: RemoteFs> Drop for InodeSharedLock<'_, T> {
    fn drop(&mut self) {
        // SAFETY: taken by `Inode::lock_shared` on this thread.
        unsafe { qtfs_shim_inode_unlock_shared(self.0.as_ptr()) };
    }
}

/// A dentry of file system `T`.
///
/// # Invariants
///
/// Referenced by the VFS for the borrow's lifetime.
#[repr(transparent)]
pub(crate) struct Dentry<T: RemoteFs>(Opaque<bindings::dentry>, PhantomData<T>);

impl<T: RemoteFs> Dentry<T> {
    /// # Safety
    ///
    /// `p` must be a live dentry of a `T` super block, valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(p: *mut bindings::dentry) -> &'a Self {
        // SAFETY: transparent wrapper; validity per the contract.
        unsafe { &*p.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::dentry {
        self.0.get()
    }

    /// Its name. Stable while the caller holds the parent's lock or the
    /// VFS otherwise pins it (every callback that gets a name does).
    pub(crate) fn name(&self) -> &[u8] {
        let mut len = 0u32;
        // SAFETY: valid dentry (invariant).
        let p = unsafe { qtfs_shim_dentry_name(self.as_ptr(), &mut len) };
        // SAFETY: `d_name` points to `len` bytes, stable per the above.
        unsafe { core::slice::from_raw_parts(p, len as usize) }
    }

    /// Its inode, if positive.
    pub(crate) fn inode(&self) -> Option<&Inode<T>> {
        // SAFETY: valid dentry (invariant).
        let i = unsafe { qtfs_shim_dentry_inode(self.as_ptr()) };
        // SAFETY: a dentry's inode of our super block, set up by us.
        (!i.is_null()).then(|| unsafe { Inode::from_raw(i) })
    }

    /// When it was last checked with the server (jiffies).
    pub(crate) fn checked_at(&self) -> usize {
        // SAFETY: valid dentry (invariant).
        unsafe { qtfs_shim_dentry_time(self.as_ptr()) }
    }

    /// Records that it was just checked.
    pub(crate) fn mark_checked(&self) {
        // SAFETY: valid dentry (invariant); `d_time` is the file system's.
        unsafe { qtfs_shim_dentry_set_time(self.as_ptr(), now()) };
    }

    /// Its parent (a counted reference); `dget_parent` never fails, the
    /// `None` only keeps a null pointer from ever becoming a reference.
    pub(crate) fn parent(&self) -> Option<DentryRef<T>> {
        // SAFETY: valid dentry (invariant); `dget_parent` returns a
        // referenced dentry.
        let p = unsafe { bindings::dget_parent(self.as_ptr()) };
        // INVARIANT: the reference from `dget_parent` is ours.
        NonNull::new(p).map(|p| DentryRef(p, PhantomData))
    }

    /// Its path from the super block's root (`dentry_path_raw`: `/` for
    /// the root, else `/a/b`), written at the end of `buf`; consistent
    /// against concurrent renames (the rename seqlock). `ENAMETOOLONG` if
    /// `buf` is too small.
    pub(crate) fn path_in_sb<'b>(&self, buf: &'b mut [u8]) -> Result<&'b [u8]> {
        let len = c_int::try_from(buf.len()).map_err(|_| kernel::error::code::EINVAL)?;
        let start = buf.as_mut_ptr();
        // SAFETY: valid dentry (invariant); `buf` is valid for writes of
        // `len` bytes for the whole call. The result is an `ERR_PTR` or a
        // pointer into `buf` to a NUL-terminated string ending at its last
        // byte.
        let p = unsafe { bindings::dentry_path_raw(self.as_ptr(), start.cast(), len) };
        let p = kernel::error::from_err_ptr(p)?;
        let off = (p as usize).wrapping_sub(start as usize);
        // `off..len - 1` is the path (the last byte is its NUL); checked
        // rather than trusted.
        buf.get(off..buf.len().saturating_sub(1)).ok_or(kernel::error::code::EIO)
    }

    /// Forces the next use to revalidate.
    pub(crate) fn mark_stale(&self) {
        // SAFETY: valid dentry (invariant).
        unsafe { qtfs_shim_dentry_set_time(self.as_ptr(), now().wrapping_sub(1 << 30)) };
    }
}

/// A counted dentry reference (`dput` on drop).
///
/// # Invariants
///
/// `self.0` is a dentry of a `T` super block with one reference owned by
/// this value.
pub(crate) struct DentryRef<T: RemoteFs>(NonNull<bindings::dentry>, PhantomData<T>);

impl<T: RemoteFs> core::ops::Deref for DentryRef<T> {
    type Target = Dentry<T>;
    fn deref(&self) -> &Dentry<T> {
        // SAFETY: referenced (invariant).
        unsafe { Dentry::from_raw(self.0.as_ptr()) }
    }
}

impl<T: RemoteFs> Drop for DentryRef<T> {
    fn drop(&mut self) {
        // SAFETY: we own one reference (invariant).
        unsafe { bindings::dput(self.0.as_ptr()) };
    }
}

/// Jiffies now.
pub(crate) fn now() -> usize {
    // SAFETY: reads `jiffies`.
    unsafe { qtfs_shim_jiffies() }
}

/// Whether `since + ms` is still in the future.
pub(crate) fn fresh(since: usize, ms: u32) -> bool {
    // SAFETY: pure arithmetic helpers.
    unsafe { qtfs_shim_time_before(now(), since.wrapping_add(qtfs_shim_ms_to_jiffies(ms))) != 0 }
}

/// An open file of file system `T`.
///
/// # Invariants
///
/// Referenced by the VFS for the borrow's lifetime; after `->open`
/// succeeded, `private_data` is a `KBox<T::Open>` until `->release`.
#[repr(transparent)]
pub(crate) struct File<T: RemoteFs>(Opaque<bindings::file>, PhantomData<T>);

impl<T: RemoteFs> File<T> {
    /// # Safety
    ///
    /// `p` must be a live file of a `T` inode, valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(p: *mut bindings::file) -> &'a Self {
        // SAFETY: transparent wrapper; validity per the contract.
        unsafe { &*p.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::file {
        self.0.get()
    }

    /// The open state made by `->open`, if any.
    pub(crate) fn open(&self) -> Option<&T::Open> {
        // SAFETY: valid file (invariant).
        let p = unsafe { qtfs_shim_file_private(self.as_ptr()) };
        // SAFETY: null or our `KBox<T::Open>` (invariant).
        (!p.is_null()).then(|| unsafe { &*p.cast::<T::Open>() })
    }

    /// `f_flags`.
    pub(crate) fn flags(&self) -> u32 {
        // SAFETY: valid file (invariant).
        unsafe { qtfs_shim_file_flags(self.as_ptr()) }
    }

    /// Its inode.
    pub(crate) fn inode(&self) -> &Inode<T> {
        // SAFETY: an open file pins its inode, which is one of ours.
        unsafe { Inode::from_raw(qtfs_shim_file_inode(self.as_ptr())) }
    }

    /// The inode number of its parent directory (for `..`).
    pub(crate) fn parent_ino(&self) -> u64 {
        // SAFETY: valid file (invariant); `parent_ino` takes its own locks.
        unsafe { qtfs_shim_file_parent_ino(self.as_ptr()) }
    }

    /// Makes it a stream (`stream_open`): no `lseek`, `pread` or
    /// `pwrite`, and reads and writes ignore the file position, as for a
    /// local pipe.
    pub(crate) fn set_stream(&self) {
        // SAFETY: valid file (invariant), being opened by our `->open`;
        // `stream_open` only changes `f_mode` and always succeeds.
        unsafe { bindings::stream_open(qtfs_shim_file_inode(self.as_ptr()), self.as_ptr()) };
    }

    /// Reports (once per open file) a write-back error since the last check.
    pub(crate) fn check_wb_err(&self) -> Result {
        // SAFETY: valid file (invariant).
        kernel::error::to_result(unsafe { qtfs_shim_file_check_wb_err(self.as_ptr()) })
    }
}

/// An I/O request (`struct kiocb`) and its data (`struct iov_iter`).
pub(crate) struct Io<'a, T: RemoteFs> {
    kiocb: *mut bindings::kiocb,
    iter: *mut bindings::iov_iter,
    _p: PhantomData<&'a T>,
}

impl<'a, T: RemoteFs> Io<'a, T> {
    /// # Safety
    ///
    /// Both must be the pointers of one `read_iter`/`write_iter` call on a
    /// `T` file, valid for `'a`, and used by this thread only.
    pub(crate) unsafe fn from_raw(kiocb: *mut bindings::kiocb, iter: *mut bindings::iov_iter) -> Self {
        Io {
            kiocb,
            iter,
            _p: PhantomData,
        }
    }

    pub(crate) fn raw(&self) -> (*mut bindings::kiocb, *mut bindings::iov_iter) {
        (self.kiocb, self.iter)
    }

    pub(crate) fn file(&self) -> &'a File<T> {
        // SAFETY: the kiocb's file is live for the call (contract).
        unsafe { File::from_raw(qtfs_shim_kiocb_file(self.kiocb)) }
    }

    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: valid kiocb (contract).
        unsafe { qtfs_shim_kiocb_pos(self.kiocb) }
    }

    pub(crate) fn set_pos(&mut self, pos: i64) {
        // SAFETY: valid kiocb (contract), ours for the call.
        unsafe { qtfs_shim_kiocb_set_pos(self.kiocb, pos) };
    }

    /// `O_DIRECT`.
    pub(crate) fn direct(&self) -> bool {
        // SAFETY: valid kiocb (contract).
        unsafe { qtfs_shim_kiocb_flags(self.kiocb) & 1 != 0 }
    }

    /// `O_APPEND`.
    pub(crate) fn append(&self) -> bool {
        // SAFETY: valid kiocb (contract).
        unsafe { qtfs_shim_kiocb_flags(self.kiocb) & 2 != 0 }
    }

    /// `RWF_NOWAIT` (or an `O_NONBLOCK` file): do not wait.
    pub(crate) fn nowait(&self) -> bool {
        // SAFETY: valid kiocb (contract).
        unsafe { qtfs_shim_kiocb_flags(self.kiocb) & 8 != 0 }
    }

    /// `O_SYNC`/`O_DSYNC` semantics.
    pub(crate) fn sync(&self) -> bool {
        // SAFETY: valid kiocb (contract).
        unsafe { qtfs_shim_kiocb_flags(self.kiocb) & 4 != 0 }
    }

    /// The page cache read (`generic_file_read_iter`).
    pub(crate) fn read_cached(&mut self) -> Result<usize> {
        // SAFETY: the pointers of this `read_iter` call (contract).
        let n = unsafe { bindings::generic_file_read_iter(self.kiocb, self.iter) };
        if n < 0 {
            return Err(kernel::error::Error::from_errno(n as i32));
        }
        Ok(n as usize)
    }

    /// Bytes left in the iterator.
    pub(crate) fn remaining(&self) -> usize {
        // SAFETY: valid iterator (contract).
        unsafe { qtfs_shim_iter_count(self.iter) }
    }

    /// Copies `data` to the caller; how much went (less on a fault).
    pub(crate) fn copy_out(&mut self, data: &[u8]) -> usize {
        // SAFETY: valid iterator (contract); `data` is readable.
        unsafe { qtfs_shim_copy_to_iter(data.as_ptr().cast(), data.len(), self.iter) }
    }

    /// Fills `buf` from the caller; how much came (less on a fault).
    pub(crate) fn copy_in(&mut self, buf: &mut [u8]) -> usize {
        // SAFETY: valid iterator (contract); `buf` is writable.
        unsafe { qtfs_shim_copy_from_iter(buf.as_mut_ptr().cast(), buf.len(), self.iter) }
    }
}

/// A directory listing in progress (`struct dir_context`).
pub(crate) struct DirContext<'a> {
    ctx: *mut bindings::dir_context,
    _p: PhantomData<&'a ()>,
}

impl DirContext<'_> {
    /// # Safety
    ///
    /// `ctx` is the context of one `iterate_shared` call, valid for `'a`.
    pub(crate) unsafe fn from_raw(ctx: *mut bindings::dir_context) -> Self {
        DirContext {
            ctx,
            _p: PhantomData,
        }
    }

    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: valid context (contract).
        unsafe { qtfs_shim_dir_pos(self.ctx) }
    }

    pub(crate) fn set_pos(&mut self, pos: i64) {
        // SAFETY: valid context (contract).
        unsafe { qtfs_shim_dir_set_pos(self.ctx, pos) };
    }

    /// Hands one entry to the reader; `false` when its buffer is full.
    pub(crate) fn emit(&mut self, name: &[u8], ino: u64, d_type: u8) -> bool {
        let len = c_int::try_from(name.len()).unwrap_or(c_int::MAX);
        // SAFETY: valid context (contract); `name` is readable for `len`.
        unsafe { qtfs_shim_dir_emit(self.ctx, name.as_ptr().cast(), len, ino, d_type.into()) != 0 }
    }
}

/// A locked folio to fill from the server (`read_folio`, readahead).
///
/// # Invariants
///
/// `self.0` is locked and not up to date; [`Self::done`] (or the drop,
/// with an error) unlocks it exactly once.
pub(crate) struct ReadFolio(NonNull<bindings::folio>);

impl ReadFolio {
    /// # Safety
    ///
    /// `f` must be a locked folio handed to `read_folio` or readahead.
    pub(crate) unsafe fn from_raw(f: *mut bindings::folio) -> Option<Self> {
        NonNull::new(f).map(ReadFolio)
    }

    /// Its byte offset in the file.
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: valid folio (invariant).
        unsafe { qtfs_shim_folio_pos(self.0.as_ptr()) }
    }

    /// Its size in bytes.
    pub(crate) fn size(&self) -> usize {
        // SAFETY: valid folio (invariant).
        unsafe { qtfs_shim_folio_size(self.0.as_ptr()) }
    }

    /// Copies `data` in (zeroing the rest), marks it up to date, unlocks.
    pub(crate) fn done(self, data: &[u8]) {
        let me = core::mem::ManuallyDrop::new(self);
        // SAFETY: locked folio (invariant); unlocked exactly once here.
        unsafe { qtfs_shim_folio_fill_done(me.0.as_ptr(), data.as_ptr().cast(), data.len(), 0) };
    }
}

impl Drop for ReadFolio {
    fn drop(&mut self) {
        // SAFETY: locked folio (invariant): unlocked, not up to date (the
        // reader sees EIO).
        unsafe { qtfs_shim_folio_fill_done(self.0.as_ptr(), core::ptr::null(), 0, -5) };
    }
}

/// A readahead window: contiguous bytes whose folios are handed out one
/// by one, locked.
pub(crate) struct Readahead<'a> {
    ractl: *mut bindings::readahead_control,
    _p: PhantomData<&'a ()>,
}

impl Readahead<'_> {
    /// # Safety
    ///
    /// `ractl` is the control of one `->readahead` call, valid for `'a`.
    pub(crate) unsafe fn from_raw(ractl: *mut bindings::readahead_control) -> Self {
        Readahead {
            ractl,
            _p: PhantomData,
        }
    }

    /// Start of what is left of the window, in bytes.
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: valid control (contract).
        unsafe { qtfs_shim_readahead_pos(self.ractl) }
    }

    /// Bytes left in the window.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: valid control (contract).
        unsafe { qtfs_shim_readahead_length(self.ractl) }
    }

    /// The next folio, locked; every folio not taken is unlocked (not up
    /// to date) by the VFS after `->readahead` returns.
    pub(crate) fn next_folio(&mut self) -> Option<ReadFolio> {
        // SAFETY: valid control (contract); the folio comes locked.
        unsafe { ReadFolio::from_raw(qtfs_shim_readahead_next(self.ractl)) }
    }
}

extern "C" {
    fn qtfs_shim_waitq_new() -> *mut bindings::wait_queue_head;
    fn qtfs_shim_waitq_wake(q: *mut bindings::wait_queue_head, mask: c_uint);
    fn qtfs_shim_waitq_free(q: *mut bindings::wait_queue_head);
    fn qtfs_shim_poll_wait(f: *mut c_void, q: *mut bindings::wait_queue_head, pt: *mut bindings::poll_table_struct);
    fn qtfs_shim_poll_requested(pt: *mut bindings::poll_table_struct) -> c_uint;
}

/// A wait queue that pollers of an open file wait on.
///
/// # Invariants
///
/// `raw` is an initialised `wait_queue_head_t` allocated by the shim, owned
/// by this value. It is freed on drop; the owner drops it no earlier than
/// the open file's `->release`, when no poller waits on it any more (epoll
/// drops its entries at the file's last `fput`, poll/select before they
/// return).
pub(crate) struct WaitQueue {
    raw: NonNull<bindings::wait_queue_head>,
}

// SAFETY: A wait queue head is used from any thread (it has its own lock).
unsafe impl Send for WaitQueue {}
// SAFETY: As above.
unsafe impl Sync for WaitQueue {}

impl WaitQueue {
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: plain allocation and initialisation.
        let raw = unsafe { qtfs_shim_waitq_new() };
        // INVARIANT: non-null is a new initialised head we own.
        Ok(WaitQueue {
            raw: NonNull::new(raw).ok_or(ENOMEM)?,
        })
    }

    /// Wakes the pollers waiting for any of `mask`.
    pub(crate) fn wake(&self, mask: u32) {
        // SAFETY: `raw` is a live head (invariant).
        unsafe { qtfs_shim_waitq_wake(self.raw.as_ptr(), mask) }
    }
}

impl Drop for WaitQueue {
    fn drop(&mut self) {
        // SAFETY: ours (invariant), with no waiter left (see the type).
        unsafe { qtfs_shim_waitq_free(self.raw.as_ptr()) }
    }
}

/// The poll table `->poll` is given.
///
/// # Invariants
///
/// `file` is the open file being polled and `pt` null or the caller's poll
/// table, both valid for `'a`.
pub(crate) struct PollTable<'a> {
    file: *mut bindings::file,
    pt: *mut bindings::poll_table_struct,
    _p: PhantomData<&'a ()>,
}

impl PollTable<'_> {
    /// # Safety
    ///
    /// As the type's invariants, for the duration of the `->poll` call.
    pub(crate) unsafe fn from_raw(file: *mut bindings::file, pt: *mut bindings::poll_table_struct) -> Self {
        // INVARIANT: per the contract.
        PollTable {
            file,
            pt,
            _p: PhantomData,
        }
    }

    /// Adds the caller to `q`'s waiters (nothing if it does not wait).
    /// `q` must live until the open file is released (a [`WaitQueue`]
    /// owned by the open file does).
    pub(crate) fn wait(&mut self, q: &WaitQueue) {
        // SAFETY: `file` and `pt` are valid (invariant); `q` is a live head
        // that outlives the waiters, per the contract of this method.
        unsafe { qtfs_shim_poll_wait(self.file.cast(), q.raw.as_ptr(), self.pt) }
    }

    /// The events the caller asked for (all of them for a plain check).
    pub(crate) fn requested(&self) -> u32 {
        // SAFETY: `pt` is null or valid (invariant).
        unsafe { qtfs_shim_poll_requested(self.pt) }
    }
}

/// A directory of the DPU's own file systems (its procfs), open for
/// listing with the caller's credentials and root.
///
/// # Invariants
///
/// `self.0` is an open file owned by this value (one reference), put on
/// drop.
pub(crate) struct LocalDir(NonNull<bindings::file>);

// SAFETY: an open file may be used and put from any thread.
unsafe impl Send for LocalDir {}
// SAFETY: listing takes the file's own locks (`iterate_dir`); the caller
// serialises listings of one open directory as the VFS does.
unsafe impl Sync for LocalDir {}

/// `path` with a NUL, for the C side.
fn c_path(path: &[u8]) -> Result<KVec<u8>> {
    if path.contains(&0) {
        return Err(EINVAL);
    }
    let mut v = KVec::with_capacity(path.len() + 1, GFP_KERNEL)?;
    v.extend_from_slice(path, GFP_KERNEL)?;
    v.push(0, GFP_KERNEL)?;
    Ok(v)
}

impl LocalDir {
    /// Opens the absolute `path`, as the current task would.
    pub(crate) fn open(path: &[u8]) -> Result<LocalDir> {
        let p = c_path(path)?;
        // SAFETY: `p` is NUL-terminated; the result is a file we own or
        // an `ERR_PTR`.
        let f = unsafe { qtfs_shim_local_dir_open(p.as_ptr().cast()) };
        if f.is_null() {
            return Err(EINVAL);
        }
        let addr = f as isize;
        if (-4095..0).contains(&addr) {
            return Err(kernel::error::Error::from_errno(addr as c_int));
        }
        // INVARIANT: a new open file, ours.
        Ok(LocalDir(NonNull::new(f).ok_or(EINVAL)?))
    }

    /// Lists it into `ctx` from `ctx`'s position, each entry but `.` and
    /// `..` with type `d_type`.
    pub(crate) fn relay(&self, ctx: &mut DirContext<'_>, d_type: u8) -> Result {
        // SAFETY: `self.0` is open (invariant); `ctx.ctx` is the live
        // context of the caller's `iterate_shared` (its contract).
        kernel::error::to_result(unsafe { qtfs_shim_local_dir_relay(self.0.as_ptr(), ctx.ctx, c_uint::from(d_type)) })
    }
}

impl Drop for LocalDir {
    fn drop(&mut self) {
        // SAFETY: ours (invariant), not used after this.
        unsafe { qtfs_shim_local_file_put(self.0.as_ptr()) };
    }
}

/// If the absolute `path` of the DPU's own file systems is a symlink,
/// what `readlink(2)` of it gives (for a procfs magic link, the path of
/// what it leads to), else `None`.
pub(crate) fn local_link_target(path: &[u8]) -> Result<Option<KVec<u8>>> {
    const MAX: usize = 4096;
    let p = c_path(path)?;
    let mut buf = KVec::from_elem(0u8, MAX, GFP_KERNEL)?;
    // SAFETY: `p` is NUL-terminated; `buf` has room for `MAX` bytes.
    let n = unsafe { qtfs_shim_local_link_target(p.as_ptr().cast(), buf.as_mut_ptr().cast(), MAX as c_int) };
    if n < 0 {
        return Err(kernel::error::Error::from_errno(n));
    }
    if n == 0 {
        return Ok(None);
    }
    let mut t = KVec::with_capacity(n as usize, GFP_KERNEL)?;
    t.extend_from_slice(buf.get(..n as usize).unwrap_or(&[]), GFP_KERNEL)?;
    Ok(Some(t))
}
