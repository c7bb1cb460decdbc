// SPDX-License-Identifier: GPL-2.0
//! The C operation tables of a [`RemoteFs`], as constants.
//!
//! Each entry is either a kernel helper used as is (`generic_file_mmap`,
//! `filemap_dirty_folio`, `generic_read_dir`, ...) or a trampoline that
//! wraps its raw arguments (valid for the call, per the VFS's contract for
//! that entry) and calls the trait. Unused entries are zero, as in a C
//! static initialiser. `&Tables::<T>::X` is promoted to a `'static`
//! reference: the tables live in the module's read-only data.

use super::ops::{Created, RemoteFs, SetAttr};
use super::types::{Dentry, DirContext, File, Inode, InodeBox, Io, PollTable, ReadFolio, Readahead, SuperBlock};
use kernel::alloc::KBox;
use kernel::bindings;
use kernel::error::Result;
use kernel::ffi::{c_char, c_int, c_uint, c_void};

/// `LOOKUP_RCU` of `include/linux/namei.h`.
const LOOKUP_RCU: c_uint = 0x0040;
const ECHILD: c_int = 10;

/// What `qtfs_shim_iattr_read` fills.
#[repr(C)]
struct RawIattr {
    valid: c_uint,
    mode: c_uint,
    uid: u32,
    gid: u32,
    size: i64,
    atime_sec: i64,
    atime_nsec: u32,
    mtime_sec: i64,
    mtime_nsec: u32,
    file: *mut bindings::file,
}

#[allow(improper_ctypes)]
extern "C" {
    fn qtfs_shim_iattr_read(ia: *const bindings::iattr, out: *mut RawIattr);
    fn qtfs_shim_fillattr(
        idmap: *mut bindings::mnt_idmap,
        mask: u32,
        inode: *mut bindings::inode,
        stat: *mut bindings::kstat,
        blksize: u32,
    );
    fn qtfs_shim_set_link(done: *mut bindings::delayed_call, buf: *mut c_char);
    fn qtfs_shim_file_set_private(f: *mut bindings::file, p: *mut c_void);
    fn qtfs_shim_inode_private(inode: *const bindings::inode) -> *mut c_void;
    fn qtfs_shim_truncate_final(inode: *mut bindings::inode);
    fn qtfs_shim_readahead_inode(ractl: *mut bindings::readahead_control) -> *mut bindings::inode;
    fn qtfs_shim_readahead_file(ractl: *mut bindings::readahead_control) -> *mut bindings::file;
    fn qtfs_shim_writepages(
        mapping: *mut bindings::address_space,
        wbc: *mut bindings::writeback_control,
        priv_: *mut c_void,
    ) -> c_int;
    fn qtfs_shim_folio_inode(folio: *mut bindings::folio) -> *mut bindings::inode;
    fn qtfs_shim_dentry_inode(d: *const bindings::dentry) -> *mut bindings::inode;
    fn qtfs_shim_d_in_lookup(d: *const bindings::dentry) -> c_int;
    fn qtfs_shim_file_set_created(f: *mut bindings::file);
}

fn ret(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

fn ret_len(r: Result<usize>) -> isize {
    match r {
        Ok(n) => n as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// A table that holds raw pointers (`owner`) yet is only read.
#[repr(transparent)]
pub(crate) struct SyncTable<T>(pub(crate) T);
// SAFETY: the tables are constants nobody writes to; the VFS only reads
// them (the `owner` pointer is the module's, read by `fops_get`).
unsafe impl<T> Sync for SyncTable<T> {}

/// The tables of `T`.
pub(crate) struct Tables<T: RemoteFs>(core::marker::PhantomData<T>);

impl<T: RemoteFs> Tables<T> {
    pub(crate) const SUPER_OPS: bindings::super_operations = bindings::super_operations {
        free_inode: Some(free_inode_cb::<T>),
        evict_inode: Some(evict_inode_cb::<T>),
        statfs: Some(statfs_cb::<T>),
        show_options: Some(show_options_cb::<T>),
        // SAFETY: all-zero is a valid `super_operations` (no callbacks).
        ..unsafe { core::mem::zeroed() }
    };

    pub(crate) const DENTRY_OPS: bindings::dentry_operations = bindings::dentry_operations {
        d_revalidate: Some(revalidate_cb::<T>),
        // SAFETY: as above.
        ..unsafe { core::mem::zeroed() }
    };

    pub(crate) const DIR_IOPS: bindings::inode_operations = bindings::inode_operations {
        lookup: Some(lookup_cb::<T>),
        atomic_open: Some(atomic_open_cb::<T>),
        create: Some(create_cb::<T>),
        mkdir: Some(mkdir_cb::<T>),
        mknod: Some(mknod_cb::<T>),
        symlink: Some(symlink_cb::<T>),
        link: Some(link_cb::<T>),
        unlink: Some(unlink_cb::<T>),
        rmdir: Some(rmdir_cb::<T>),
        rename: Some(rename_cb::<T>),
        setattr: Some(setattr_cb::<T>),
        getattr: Some(getattr_cb::<T>),
        listxattr: Some(listxattr_cb::<T>),
        // SAFETY: as above.
        ..unsafe { core::mem::zeroed() }
    };

    /// A directory the file system makes itself (`finish_made_dir`).
    pub(crate) const MADE_DIR_IOPS: bindings::inode_operations = bindings::inode_operations {
        lookup: Some(lookup_cb::<T>),
        getattr: Some(getattr_cb::<T>),
        // SAFETY: as above.
        ..unsafe { core::mem::zeroed() }
    };

    pub(crate) const FILE_IOPS: bindings::inode_operations = bindings::inode_operations {
        setattr: Some(setattr_cb::<T>),
        getattr: Some(getattr_cb::<T>),
        listxattr: Some(listxattr_cb::<T>),
        // SAFETY: as above.
        ..unsafe { core::mem::zeroed() }
    };

    pub(crate) const SYMLINK_IOPS: bindings::inode_operations = bindings::inode_operations {
        get_link: Some(get_link_cb::<T>),
        setattr: Some(setattr_cb::<T>),
        getattr: Some(getattr_cb::<T>),
        listxattr: Some(listxattr_cb::<T>),
        // SAFETY: as above.
        ..unsafe { core::mem::zeroed() }
    };

    pub(crate) const SPECIAL_IOPS: bindings::inode_operations = Self::FILE_IOPS;

    pub(crate) const DIR_FOPS: SyncTable<bindings::file_operations> =
        SyncTable(bindings::file_operations {
            open: Some(open_cb::<T>),
            release: Some(release_cb::<T>),
            iterate_shared: Some(iterate_cb::<T>),
            read: Some(bindings::generic_read_dir),
            llseek: Some(bindings::generic_file_llseek),
            fsync: Some(fsync_cb::<T>),
            // SAFETY: all-zero is a valid `file_operations`.
            ..unsafe { core::mem::zeroed() }
        });

    pub(crate) const FILE_FOPS: SyncTable<bindings::file_operations> =
        SyncTable(bindings::file_operations {
            open: Some(open_cb::<T>),
            release: Some(release_cb::<T>),
            flush: Some(flush_cb::<T>),
            read_iter: Some(read_iter_cb::<T>),
            write_iter: Some(write_iter_cb::<T>),
            mmap: Some(bindings::generic_file_mmap),
            fsync: Some(fsync_cb::<T>),
            fallocate: Some(fallocate_cb::<T>),
            poll: Some(poll_cb::<T>),
            llseek: Some(bindings::generic_file_llseek),
            splice_read: Some(splice_read_cb::<T>),
            splice_write: Some(bindings::iter_file_splice_write),
            // SAFETY: all-zero is a valid `file_operations`.
            ..unsafe { core::mem::zeroed() }
        });

    /// A FIFO of the HOST: no page cache, no position (the open makes it
    /// a stream), poll through the server.
    pub(crate) const FIFO_FOPS: SyncTable<bindings::file_operations> =
        SyncTable(bindings::file_operations {
            open: Some(open_cb::<T>),
            release: Some(release_cb::<T>),
            read_iter: Some(read_iter_cb::<T>),
            write_iter: Some(write_iter_cb::<T>),
            poll: Some(poll_cb::<T>),
            splice_read: Some(bindings::copy_splice_read),
            splice_write: Some(bindings::iter_file_splice_write),
            // SAFETY: all-zero is a valid `file_operations`.
            ..unsafe { core::mem::zeroed() }
        });

    pub(crate) const AOPS: bindings::address_space_operations =
        bindings::address_space_operations {
            read_folio: Some(read_folio_cb::<T>),
            readahead: Some(readahead_cb::<T>),
            writepages: Some(writepages_cb::<T>),
            dirty_folio: Some(bindings::filemap_dirty_folio),
            // SAFETY: all-zero is a valid `address_space_operations`.
            ..unsafe { core::mem::zeroed() }
        };
}

// ---- super block ----

/// # Safety
///
/// `->free_inode`: `inode` is dead, after an RCU grace period.
unsafe extern "C" fn free_inode_cb<T: RemoteFs>(inode: *mut bindings::inode) {
    // SAFETY: dead inode, ours to free; `i_private` is null (never set up)
    // or the box `get_inode` installed.
    let p = unsafe { qtfs_shim_inode_private(inode) }.cast::<InodeBox<T>>();
    if !p.is_null() {
        // SAFETY: the box from `KBox::into_raw`, freed once, here.
        drop(unsafe { KBox::from_raw(p) });
    }
    // SAFETY: allocated by the default `alloc_inode`.
    unsafe { bindings::free_inode_nonrcu(inode) };
}

/// # Safety
///
/// `->evict_inode`: `inode` is being evicted.
unsafe extern "C" fn evict_inode_cb<T: RemoteFs>(inode: *mut bindings::inode) {
    // SAFETY: per the contract.
    unsafe { qtfs_shim_truncate_final(inode) };
    // SAFETY: `i_private` is set on every inode that finished set-up; an
    // inode whose set-up failed (`iget_failed`) has it set too (set_cb).
    if !unsafe { qtfs_shim_inode_private(inode) }.is_null() {
        // SAFETY: as above.
        T::evict(unsafe { Inode::from_raw(inode) });
    }
    // SAFETY: pages are gone; the VFS expects `clear_inode` here.
    unsafe { bindings::clear_inode(inode) };
}

/// # Safety
///
/// `->statfs`.
/// `->show_options`: the mount's own options in /proc/mounts.
unsafe extern "C" fn show_options_cb<T: RemoteFs>(
    m: *mut bindings::seq_file,
    root: *mut bindings::dentry,
) -> c_int {
    // SAFETY: per the contract `root` is the mount's root dentry, alive
    // (the mount is referenced) with its super block.
    let d = unsafe { Dentry::<T>::from_raw(root) };
    let Some(inode) = d.inode() else { return 0 };
    // SAFETY: `m` is the seq_file this show call fills.
    unsafe { crate::kbase::status::write_seq(m.cast(), |out| T::show_options(inode.sb(), out)) };
    0
}

unsafe extern "C" fn statfs_cb<T: RemoteFs>(
    d: *mut bindings::dentry,
    buf: *mut bindings::kstatfs,
) -> c_int {
    // SAFETY: per the contract.
    let d = unsafe { Dentry::<T>::from_raw(d) };
    match T::statfs(d) {
        Ok(s) => {
            SuperBlock::<T>::fill_statfs(buf, &s, T::MAGIC);
            0
        }
        Err(e) => e.to_errno(),
    }
}

// ---- dentries ----

/// # Safety
///
/// `->d_revalidate` (6.12: dentry and flags).
unsafe extern "C" fn revalidate_cb<T: RemoteFs>(d: *mut bindings::dentry, flags: c_uint) -> c_int {
    if flags & LOOKUP_RCU != 0 {
        return -ECHILD;
    }
    // SAFETY: per the contract (ref-walk: the dentry is referenced).
    match T::revalidate(unsafe { Dentry::from_raw(d) }, flags) {
        Ok(valid) => c_int::from(valid),
        Err(e) => e.to_errno(),
    }
}

// ---- directories ----

/// # Safety
///
/// `->lookup`: `dir` locked, `d` a new hashed-negative dentry.
unsafe extern "C" fn lookup_cb<T: RemoteFs>(
    dir: *mut bindings::inode,
    d: *mut bindings::dentry,
    _flags: c_uint,
) -> *mut bindings::dentry {
    // SAFETY: per the contract.
    let (dir_i, dent) = unsafe { (Inode::<T>::from_raw(dir), Dentry::<T>::from_raw(d)) };
    match T::lookup(dir_i, dent) {
        Ok(found) => {
            dent.mark_checked();
            let inode = found.map_or(core::ptr::null_mut(), |i| i.into_raw());
            // SAFETY: `d` is the VFS's dentry; `inode` null or a reference
            // we give away.
            unsafe { bindings::d_splice_alias(inode, d) }
        }
        Err(e) => crate::kbase::errno::err_ptr(e),
    }
}

/// `O_CREAT` of `include/uapi/asm-generic/fcntl.h`.
const O_CREAT: c_uint = 0o100;

/// The `open` that `finish_open` calls: the file was opened by
/// `create_open` already.
unsafe extern "C" fn opened_already(_inode: *mut bindings::inode, _file: *mut bindings::file) -> c_int {
    0
}

/// # Safety
///
/// `->atomic_open`: `dir` locked (shared, or exclusive with `O_CREAT`),
/// `d` a dentry of it (perhaps still in lookup), `file` being opened.
unsafe extern "C" fn atomic_open_cb<T: RemoteFs>(
    dir: *mut bindings::inode,
    d: *mut bindings::dentry,
    file: *mut bindings::file,
    open_flag: c_uint,
    mode: bindings::umode_t,
) -> c_int {
    // SAFETY: per the contract.
    let dir_i = unsafe { Inode::<T>::from_raw(dir) };
    // A dentry of our own from `d_splice_alias`, referenced: dropped at
    // the end, or given to `finish_no_open`.
    let mut alias: *mut bindings::dentry = core::ptr::null_mut();
    // SAFETY: `d` is valid for the call.
    if unsafe { qtfs_shim_d_in_lookup(d) } != 0 {
        // SAFETY: as above.
        let dent = unsafe { Dentry::<T>::from_raw(d) };
        let found = match T::lookup(dir_i, dent) {
            Ok(f) => f,
            Err(e) => return e.to_errno(),
        };
        dent.mark_checked();
        let inode = found.map_or(core::ptr::null_mut(), |i| i.into_raw());
        // SAFETY: `d` is in lookup; the inode reference moves in.
        let r = unsafe { bindings::d_splice_alias(inode, d) };
        if (r as isize) < 0 && (r as isize) >= -4095 {
            return r as isize as c_int;
        }
        alias = r;
    }
    let target = if alias.is_null() { d } else { alias };
    // SAFETY: `target` is `d` or our referenced alias.
    let tdent = unsafe { Dentry::<T>::from_raw(target) };
    if open_flag & O_CREAT == 0 || tdent.inode().is_some() {
        // SAFETY: `alias` (null or ours) is consumed by `finish_no_open`.
        return unsafe { bindings::finish_no_open(file, alias) };
    }
    let r = match T::create_open(dir_i, tdent, open_flag, mode.into()) {
        Err(e) => Err(e),
        Ok(Created::Exists(inode)) => {
            // SAFETY: `target` is negative and ours to fill; the
            // reference moves in. The ordinary open follows.
            unsafe { bindings::d_instantiate(target, inode.into_raw()) };
            tdent.mark_checked();
            // SAFETY: as above (consumes `alias`).
            return unsafe { bindings::finish_no_open(file, alias) };
        }
        Ok(Created::Opened(inode, open)) => {
            // SAFETY: as for `Exists`.
            unsafe { bindings::d_instantiate(target, inode.into_raw()) };
            tdent.mark_checked();
            // SAFETY: `file` is being opened by us; its private data is
            // ours from here (taken back below if the open fails).
            unsafe {
                qtfs_shim_file_set_created(file);
                qtfs_shim_file_set_private(file, KBox::into_raw(open).cast());
            }
            // SAFETY: `file` and `target` are valid; `opened_already`
            // matches the `open` signature.
            let err = unsafe { bindings::finish_open(file, target, Some(opened_already)) };
            if err != 0 {
                // SAFETY: `file` was not opened: `->release` will not run.
                let f = unsafe { File::<T>::from_raw(file) };
                if let Some(o) = f.open() {
                    let p = (o as *const T::Open).cast_mut();
                    // SAFETY: set just above from `KBox::into_raw`.
                    unsafe { qtfs_shim_file_set_private(file, core::ptr::null_mut()) };
                    // SAFETY: as above, taken back once.
                    let boxed = unsafe { KBox::from_raw(p) };
                    // SAFETY: `target` is positive now.
                    if let Some(i) = unsafe { Dentry::<T>::from_raw(target) }.inode() {
                        T::release(i, boxed);
                    }
                }
            }
            if err == 0 { Ok(()) } else { Err(kernel::error::Error::from_errno(err)) }
        }
    };
    if !alias.is_null() {
        // SAFETY: our reference from `d_splice_alias`.
        unsafe { bindings::dput(alias) };
    }
    ret(r)
}

fn instantiate<T: RemoteFs>(d: *mut bindings::dentry, r: Result<super::InodeRef<T>>) -> c_int {
    match r {
        Ok(inode) => {
            // SAFETY: `d` is the negative dentry of this create-like call;
            // the reference moves into it.
            unsafe { bindings::d_instantiate(d, inode.into_raw()) };
            // SAFETY: same dentry, still referenced by the caller.
            unsafe { Dentry::<T>::from_raw(d) }.mark_checked();
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// `->create`.
unsafe extern "C" fn create_cb<T: RemoteFs>(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    d: *mut bindings::dentry,
    mode: bindings::umode_t,
    excl: bool,
) -> c_int {
    // SAFETY: per the contract.
    let r = T::create(unsafe { Inode::from_raw(dir) }, unsafe { Dentry::from_raw(d) }, mode.into(), excl);
    instantiate::<T>(d, r)
}

/// # Safety
///
/// `->mkdir`.
unsafe extern "C" fn mkdir_cb<T: RemoteFs>(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    d: *mut bindings::dentry,
    mode: bindings::umode_t,
) -> c_int {
    // SAFETY: per the contract.
    let r = T::mkdir(unsafe { Inode::from_raw(dir) }, unsafe { Dentry::from_raw(d) }, mode.into());
    instantiate::<T>(d, r)
}

/// # Safety
///
/// `->mknod`.
unsafe extern "C" fn mknod_cb<T: RemoteFs>(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    d: *mut bindings::dentry,
    mode: bindings::umode_t,
    rdev: bindings::dev_t,
) -> c_int {
    // MAJOR/MINOR of a kernel dev_t (20 minor bits).
    let (major, minor) = (rdev >> 20, rdev & 0xfffff);
    // SAFETY: per the contract.
    let r = T::mknod(unsafe { Inode::from_raw(dir) }, unsafe { Dentry::from_raw(d) }, mode.into(), major, minor);
    instantiate::<T>(d, r)
}

/// # Safety
///
/// `->symlink`: `target` a NUL-terminated string.
unsafe extern "C" fn symlink_cb<T: RemoteFs>(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    d: *mut bindings::dentry,
    target: *const c_char,
) -> c_int {
    // SAFETY: a NUL-terminated string for the call (contract).
    let t = unsafe { kernel::str::CStr::from_char_ptr(target) };
    // SAFETY: per the contract.
    let r = T::symlink(unsafe { Inode::from_raw(dir) }, unsafe { Dentry::from_raw(d) }, t.as_bytes());
    instantiate::<T>(d, r)
}

/// # Safety
///
/// `->link`.
unsafe extern "C" fn link_cb<T: RemoteFs>(
    old: *mut bindings::dentry,
    dir: *mut bindings::inode,
    d: *mut bindings::dentry,
) -> c_int {
    // SAFETY: per the contract.
    let r = T::link(unsafe { Dentry::from_raw(old) }, unsafe { Inode::from_raw(dir) }, unsafe { Dentry::from_raw(d) });
    instantiate::<T>(d, r)
}

/// # Safety
///
/// `->unlink`.
unsafe extern "C" fn unlink_cb<T: RemoteFs>(dir: *mut bindings::inode, d: *mut bindings::dentry) -> c_int {
    // SAFETY: per the contract.
    ret(T::unlink(unsafe { Inode::from_raw(dir) }, unsafe { Dentry::from_raw(d) }))
}

/// # Safety
///
/// `->rmdir`.
unsafe extern "C" fn rmdir_cb<T: RemoteFs>(dir: *mut bindings::inode, d: *mut bindings::dentry) -> c_int {
    // SAFETY: per the contract.
    ret(T::rmdir(unsafe { Inode::from_raw(dir) }, unsafe { Dentry::from_raw(d) }))
}

/// # Safety
///
/// `->rename`.
unsafe extern "C" fn rename_cb<T: RemoteFs>(
    _idmap: *mut bindings::mnt_idmap,
    old_dir: *mut bindings::inode,
    old: *mut bindings::dentry,
    new_dir: *mut bindings::inode,
    new: *mut bindings::dentry,
    flags: c_uint,
) -> c_int {
    // SAFETY: per the contract.
    ret(unsafe {
        T::rename(
            Inode::from_raw(old_dir),
            Dentry::from_raw(old),
            Inode::from_raw(new_dir),
            Dentry::from_raw(new),
            flags,
        )
    })
}

/// # Safety
///
/// `->setattr`.
unsafe extern "C" fn setattr_cb<T: RemoteFs>(
    _idmap: *mut bindings::mnt_idmap,
    d: *mut bindings::dentry,
    ia: *mut bindings::iattr,
) -> c_int {
    let mut raw = core::mem::MaybeUninit::<RawIattr>::uninit();
    // SAFETY: `ia` valid for the call; the shim fills every field.
    let raw = unsafe {
        qtfs_shim_iattr_read(ia, raw.as_mut_ptr());
        raw.assume_init()
    };
    let a = SetAttr {
        valid: raw.valid,
        mode: raw.mode,
        uid: raw.uid,
        gid: raw.gid,
        size: raw.size,
        atime: (raw.atime_sec, raw.atime_nsec),
        mtime: (raw.mtime_sec, raw.mtime_nsec),
        file: raw.file,
    };
    // SAFETY: per the contract.
    ret(T::setattr(unsafe { Dentry::from_raw(d) }, &a))
}

/// # Safety
///
/// `->getattr`.
unsafe extern "C" fn getattr_cb<T: RemoteFs>(
    idmap: *mut bindings::mnt_idmap,
    path: *const bindings::path,
    stat: *mut bindings::kstat,
    mask: u32,
    flags: c_uint,
) -> c_int {
    // SAFETY: `path` valid for the call; its dentry is positive.
    let inode = unsafe { qtfs_shim_dentry_inode((*path).dentry) };
    // SAFETY: one of our inodes.
    let i = unsafe { Inode::<T>::from_raw(inode) };
    if let Err(e) = T::getattr(i, mask, flags) {
        return e.to_errno();
    }
    // SAFETY: all pointers valid for the call.
    unsafe { qtfs_shim_fillattr(idmap, mask, inode, stat, 0) };
    0
}

/// # Safety
///
/// `->listxattr`: `buf` null (size query) or writable for `size` bytes.
unsafe extern "C" fn listxattr_cb<T: RemoteFs>(d: *mut bindings::dentry, buf: *mut c_char, size: usize) -> isize {
    // SAFETY: per the contract.
    let Some(inode) = (unsafe { Dentry::<T>::from_raw(d) }).inode() else {
        return -2;
    };
    let buf = (!buf.is_null() && size > 0)
        // SAFETY: per the contract.
        .then(|| unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), size) });
    ret_len(T::listxattr(inode, buf))
}

/// # Safety
///
/// `->get_link`: `d` null in RCU walk.
unsafe extern "C" fn get_link_cb<T: RemoteFs>(
    d: *mut bindings::dentry,
    inode: *mut bindings::inode,
    done: *mut bindings::delayed_call,
) -> *const c_char {
    if d.is_null() {
        return crate::kbase::errno::err_ptr::<c_char>(crate::kbase::errno::echild()) as *const c_char;
    }
    // SAFETY: per the contract (not in RCU walk, so `d` is the link's
    // dentry, referenced by the walk).
    let target = match T::get_link(unsafe { Inode::from_raw(inode) }, unsafe { Dentry::from_raw(d) }) {
        Ok(t) => t,
        Err(e) => return crate::kbase::errno::err_ptr::<c_char>(e) as *const c_char,
    };
    // A kmalloc'ed NUL-terminated copy, freed by `kfree_link`.
    // SAFETY: plain allocation.
    let buf = unsafe { bindings::__kmalloc_noprof(target.len() + 1, bindings::GFP_KERNEL) }.cast::<u8>();
    if buf.is_null() {
        return crate::kbase::errno::err_ptr::<c_char>(kernel::error::code::ENOMEM) as *const c_char;
    }
    // SAFETY: `buf` has room for the target and a NUL.
    unsafe {
        core::ptr::copy_nonoverlapping(target.as_ptr(), buf, target.len());
        *buf.add(target.len()) = 0;
        qtfs_shim_set_link(done, buf.cast());
    }
    buf.cast()
}

// ---- files ----

/// # Safety
///
/// `->open`.
unsafe extern "C" fn open_cb<T: RemoteFs>(inode: *mut bindings::inode, f: *mut bindings::file) -> c_int {
    // SAFETY: per the contract.
    let (i, file) = unsafe { (Inode::<T>::from_raw(inode), File::<T>::from_raw(f)) };
    match T::open(i, file) {
        Ok(o) => {
            // SAFETY: the file is ours until release; the box is freed there.
            unsafe { qtfs_shim_file_set_private(f, KBox::into_raw(o).cast()) };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// `->release`: the last reference to `f` is gone.
unsafe extern "C" fn release_cb<T: RemoteFs>(inode: *mut bindings::inode, f: *mut bindings::file) -> c_int {
    // SAFETY: per the contract.
    let file = unsafe { File::<T>::from_raw(f) };
    if let Some(o) = file.open() {
        let p = (o as *const T::Open).cast_mut();
        // SAFETY: set in `open_cb` from `KBox::into_raw`; cleared now, so
        // it is taken back exactly once.
        unsafe { qtfs_shim_file_set_private(f, core::ptr::null_mut()) };
        // SAFETY: as above.
        let boxed = unsafe { KBox::from_raw(p) };
        // SAFETY: per the contract.
        T::release(unsafe { Inode::from_raw(inode) }, boxed);
    }
    0
}

/// # Safety
///
/// `->flush`.
unsafe extern "C" fn flush_cb<T: RemoteFs>(f: *mut bindings::file, _id: bindings::fl_owner_t) -> c_int {
    // SAFETY: per the contract.
    ret(T::flush(unsafe { File::from_raw(f) }))
}

/// # Safety
///
/// `->read_iter`.
unsafe extern "C" fn read_iter_cb<T: RemoteFs>(k: *mut bindings::kiocb, i: *mut bindings::iov_iter) -> isize {
    // SAFETY: per the contract.
    let mut io = unsafe { Io::<T>::from_raw(k, i) };
    ret_len(T::read_iter(&mut io))
}

/// # Safety
///
/// `->write_iter`.
unsafe extern "C" fn write_iter_cb<T: RemoteFs>(k: *mut bindings::kiocb, i: *mut bindings::iov_iter) -> isize {
    // SAFETY: per the contract.
    let mut io = unsafe { Io::<T>::from_raw(k, i) };
    ret_len(T::write_iter(&mut io))
}

/// # Safety
///
/// `->poll` (poll, select, epoll): the ready events.
unsafe extern "C" fn poll_cb<T: RemoteFs>(f: *mut bindings::file, pt: *mut bindings::poll_table_struct) -> bindings::__poll_t {
    // SAFETY: per the contract `f` is an open file of ours and `pt` null
    // or the caller's poll table, both valid for the call.
    let (file, mut table) = unsafe { (File::from_raw(f), PollTable::from_raw(f, pt)) };
    T::poll(file, &mut table)
}

/// # Safety
///
/// `->fsync`.
unsafe extern "C" fn fsync_cb<T: RemoteFs>(f: *mut bindings::file, start: i64, end: i64, datasync: c_int) -> c_int {
    // SAFETY: per the contract.
    ret(T::fsync(unsafe { File::from_raw(f) }, start, end, datasync != 0))
}

/// # Safety
///
/// `->splice_read` (`sendfile`, `splice`): from the page cache when the
/// file system caches this file, else through `->read_iter`.
unsafe extern "C" fn splice_read_cb<T: RemoteFs>(
    f: *mut bindings::file,
    ppos: *mut i64,
    pipe: *mut bindings::pipe_inode_info,
    len: usize,
    flags: c_uint,
) -> isize {
    // SAFETY: per the contract.
    let cached = T::uses_page_cache(unsafe { File::from_raw(f) });
    // SAFETY: the arguments of this call, passed on.
    unsafe {
        if cached {
            bindings::filemap_splice_read(f, ppos, pipe, len, flags)
        } else {
            bindings::copy_splice_read(f, ppos, pipe, len, flags)
        }
    }
}

/// # Safety
///
/// `->fallocate`.
unsafe extern "C" fn fallocate_cb<T: RemoteFs>(f: *mut bindings::file, mode: c_int, offset: i64, len: i64) -> kernel::ffi::c_long {
    // SAFETY: per the contract.
    ret(T::fallocate(unsafe { File::from_raw(f) }, mode as u32, offset, len)) as kernel::ffi::c_long
}

/// # Safety
///
/// `->iterate_shared`.
unsafe extern "C" fn iterate_cb<T: RemoteFs>(f: *mut bindings::file, ctx: *mut bindings::dir_context) -> c_int {
    // SAFETY: per the contract.
    let mut c = unsafe { DirContext::from_raw(ctx) };
    // SAFETY: per the contract.
    ret(T::iterate(unsafe { File::from_raw(f) }, &mut c))
}

// ---- address space ----

/// # Safety
///
/// `->read_folio`: `folio` locked; `f` the file or null.
unsafe extern "C" fn read_folio_cb<T: RemoteFs>(f: *mut bindings::file, folio: *mut bindings::folio) -> c_int {
    // SAFETY: a folio of one of our inodes.
    let inode = unsafe { Inode::<T>::from_raw(qtfs_shim_folio_inode(folio)) };
    // SAFETY: a live file of that inode, if given.
    let file = (!f.is_null()).then(|| unsafe { File::<T>::from_raw(f) });
    // SAFETY: locked folio handed to us.
    let Some(rf) = (unsafe { ReadFolio::from_raw(folio) }) else {
        return -22;
    };
    ret(T::read_folio(inode, file, rf))
}

/// # Safety
///
/// `->readahead`.
unsafe extern "C" fn readahead_cb<T: RemoteFs>(ractl: *mut bindings::readahead_control) {
    // SAFETY: valid readahead control of one of our inodes.
    let inode = unsafe { Inode::<T>::from_raw(qtfs_shim_readahead_inode(ractl)) };
    // SAFETY: as above.
    let f = unsafe { qtfs_shim_readahead_file(ractl) };
    // SAFETY: a live file of that inode, if given.
    let file = (!f.is_null()).then(|| unsafe { File::<T>::from_raw(f) });
    // SAFETY: the control of this call, used only here.
    let mut ra = unsafe { Readahead::from_raw(ractl) };
    T::readahead(inode, file, &mut ra);
}

#[repr(C)]
struct WbThunk {
    cb: unsafe extern "C" fn(*mut bindings::inode, *const c_void, usize, i64) -> c_int,
}

/// # Safety
///
/// Called by `qtfs_shim_writepages` with its `WbThunk`, a mapped folio of
/// `len` bytes at `data`.
#[no_mangle]
unsafe extern "C" fn qtfs_rs_write_folio_cb(
    priv_: *mut c_void,
    inode: *mut bindings::inode,
    data: *const c_void,
    len: usize,
    pos: i64,
) -> c_int {
    // SAFETY: per the contract.
    let t = unsafe { &*priv_.cast::<WbThunk>() };
    // SAFETY: as above.
    unsafe { (t.cb)(inode, data, len, pos) }
}

/// # Safety
///
/// `inode` one of ours, `data` readable for `len` bytes.
unsafe extern "C" fn wb_folio_cb<T: RemoteFs>(
    inode: *mut bindings::inode,
    data: *const c_void,
    len: usize,
    pos: i64,
) -> c_int {
    // SAFETY: per the contract.
    let (i, bytes) = unsafe {
        (
            Inode::<T>::from_raw(inode),
            core::slice::from_raw_parts(data.cast::<u8>(), len),
        )
    };
    ret(T::write_folio(i, bytes, pos))
}

/// # Safety
///
/// `->writepages`.
unsafe extern "C" fn writepages_cb<T: RemoteFs>(
    mapping: *mut bindings::address_space,
    wbc: *mut bindings::writeback_control,
) -> c_int {
    let mut thunk = WbThunk {
        cb: wb_folio_cb::<T>,
    };
    // SAFETY: per the contract; `thunk` outlives the call.
    unsafe { qtfs_shim_writepages(mapping, wbc, (&mut thunk as *mut WbThunk).cast()) }
}
