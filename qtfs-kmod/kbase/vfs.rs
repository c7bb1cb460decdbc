// SPDX-License-Identifier: GPL-2.0
//! Paths and open files of the local VFS, owned and released on drop.
//!
//! The C half is `shim/vfs_shim.c` (kern_path, vfs_path_lookup,
//! vfs_getattr, vfs_statfs, vfs_get_link, dentry_open, kernel_read,
//! iterate_dir), which hands plain structures over. Every operation runs
//! with the calling thread's current credentials (see [`super::cred`]).
//!
//! C headers: [`include/linux/namei.h`](srctree/include/linux/namei.h),
//! [`include/linux/fs.h`](srctree/include/linux/fs.h).

use core::ffi::c_void;
use core::ptr::NonNull;
use kernel::error::{to_result, Error, Result};
use kernel::ffi::{c_char, c_int, c_long, c_uint};
use kernel::str::CStr;

/// Longest name [`Path::child`] takes (NAME_MAX).
pub(crate) const NAME_MAX: usize = 255;

/// Opaque `struct path`, only ever behind a pointer.
#[repr(C)]
pub(crate) struct RawPath {
    _private: [u8; 0],
}

/// Opaque `struct file`, only ever behind a pointer.
#[repr(C)]
pub(crate) struct RawFile {
    _private: [u8; 0],
}

/// Attributes of a node, as `vfs_getattr` reports them (ids in the
/// initial user namespace).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Attr {
    pub(crate) ino: u64,
    pub(crate) dev: u64,
    pub(crate) mode: u32,
    pub(crate) nlink: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) rdev_major: u32,
    pub(crate) rdev_minor: u32,
    pub(crate) size: u64,
    pub(crate) blocks: u64,
    pub(crate) blksize: u32,
    pub(crate) atime_sec: i64,
    pub(crate) atime_nsec: u32,
    pub(crate) mtime_sec: i64,
    pub(crate) mtime_nsec: u32,
    pub(crate) ctime_sec: i64,
    pub(crate) ctime_nsec: u32,
}

/// File-system statistics (`vfs_statfs`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FsStat {
    pub(crate) blocks: u64,
    pub(crate) bfree: u64,
    pub(crate) bavail: u64,
    pub(crate) files: u64,
    pub(crate) ffree: u64,
    pub(crate) fsid: u64,
    pub(crate) flags: u64,
    pub(crate) bsize: u32,
    pub(crate) frsize: u32,
    pub(crate) namelen: u32,
    pub(crate) fs_type: u32,
}

type Actor = unsafe extern "C" fn(
    priv_: *mut c_void,
    name: *const c_char,
    namlen: c_int,
    offset: i64,
    ino: u64,
    d_type: c_uint,
) -> bool;

extern "C" {
    fn qtfs_shim_path_dir(name: *const c_char, err: *mut c_int) -> *mut RawPath;
    fn qtfs_shim_path_child(dir: *const RawPath, name: *const c_char, err: *mut c_int)
        -> *mut RawPath;
    fn qtfs_shim_path_free(p: *mut RawPath);
    fn qtfs_shim_path_same(a: *const RawPath, b: *const RawPath) -> c_int;
    fn qtfs_shim_getattr(p: *const RawPath, a: *mut Attr) -> c_int;
    fn qtfs_shim_statfs(p: *const RawPath, s: *mut FsStat) -> c_int;
    fn qtfs_shim_readlink(p: *const RawPath, buf: *mut c_char, len: c_int) -> c_int;
    fn qtfs_shim_open_read(p: *const RawPath, err: *mut c_int) -> *mut RawFile;
    fn qtfs_shim_file_put(f: *mut RawFile);
    fn qtfs_shim_file_is_dir(f: *mut RawFile) -> c_int;
    fn qtfs_shim_read(f: *mut RawFile, buf: *mut c_void, len: usize, off: u64) -> c_long;
    fn qtfs_shim_iterate(
        f: *mut RawFile,
        cookie: u64,
        actor: Actor,
        priv_: *mut c_void,
        end: *mut i64,
    ) -> c_int;
}

fn err_of(e: c_int) -> Error {
    Error::from_errno(if e < 0 { e } else { -5 })
}

/// A referenced `struct path` (a dentry and its mount).
///
/// # Invariants
///
/// `self.0` was returned by `qtfs_shim_path_dir` or `qtfs_shim_path_child`:
/// a kmalloc'ed `struct path` holding one reference to its dentry and
/// mount, owned by this value and freed (path_put, kfree) exactly once on
/// drop.
pub(crate) struct Path(NonNull<RawPath>);

// SAFETY: A `struct path` with its references may be used and released
// from any thread; the functions called on it take their own locks.
unsafe impl Send for Path {}
// SAFETY: Every method takes `&self` only to pass the path to VFS
// functions that do not modify it.
unsafe impl Sync for Path {}

impl Path {
    /// Resolves the absolute directory `name`, following symlinks.
    pub(crate) fn dir(name: &CStr) -> Result<Path> {
        let mut err: c_int = 0;
        // SAFETY: `name` is a valid NUL-terminated string for the call;
        // `err` is a valid `int` to write.
        let p = unsafe { qtfs_shim_path_dir(name.as_char_ptr(), &mut err) };
        // INVARIANT: a non-null result is a new, referenced path we own.
        NonNull::new(p).map(Path).ok_or_else(|| err_of(err))
    }

    /// Looks up the single component `name` in this directory, without
    /// following a final symlink; the lookup cannot leave this directory.
    /// `name` must be 1..=NAME_MAX bytes with no `/` or NUL and not `.` or
    /// `..` (else `EINVAL`).
    pub(crate) fn child(&self, name: &[u8]) -> Result<Path> {
        if name.is_empty()
            || name.len() > NAME_MAX
            || name.contains(&b'/')
            || name.contains(&0)
            || name == b"."
            || name == b".."
        {
            return Err(kernel::error::code::EINVAL);
        }
        let mut buf = [0u8; NAME_MAX + 1];
        buf[..name.len()].copy_from_slice(name);
        let mut err: c_int = 0;
        // SAFETY: `self.0` is a valid path (invariant); `buf` holds `name`
        // and a NUL within its bounds; `err` is a valid `int` to write.
        let p = unsafe { qtfs_shim_path_child(self.0.as_ptr(), buf.as_ptr().cast(), &mut err) };
        // INVARIANT: a non-null result is a new, referenced path we own.
        NonNull::new(p).map(Path).ok_or_else(|| err_of(err))
    }

    /// Whether both name the same dentry on the same mount.
    pub(crate) fn same(&self, other: &Path) -> bool {
        // SAFETY: Both are valid paths (invariant); only pointers are compared.
        unsafe { qtfs_shim_path_same(self.0.as_ptr(), other.0.as_ptr()) != 0 }
    }

    /// `vfs_getattr`.
    pub(crate) fn getattr(&self) -> Result<Attr> {
        let mut a = Attr::default();
        // SAFETY: `self.0` is a valid path (invariant); `a` is a valid
        // `struct qtfs_shim_attr` (same `repr(C)` layout) to write.
        to_result(unsafe { qtfs_shim_getattr(self.0.as_ptr(), &mut a) })?;
        Ok(a)
    }

    /// `vfs_statfs` of the file system holding this path.
    pub(crate) fn statfs(&self) -> Result<FsStat> {
        let mut s = FsStat::default();
        // SAFETY: `self.0` is a valid path (invariant); `s` is a valid
        // `struct qtfs_shim_statfs` (same `repr(C)` layout) to write.
        to_result(unsafe { qtfs_shim_statfs(self.0.as_ptr(), &mut s) })?;
        Ok(s)
    }

    /// The target of this symlink into `buf`; its length. `EINVAL` if not
    /// a symlink, `ENAMETOOLONG` if `buf` is too small.
    pub(crate) fn readlink(&self, buf: &mut [u8]) -> Result<usize> {
        let len = c_int::try_from(buf.len()).unwrap_or(c_int::MAX);
        // SAFETY: `self.0` is a valid path (invariant); `buf` is valid for
        // writes of `len <= buf.len()` bytes, borrowed mutably for the call.
        let n = unsafe { qtfs_shim_readlink(self.0.as_ptr(), buf.as_mut_ptr().cast(), len) };
        to_result(n)?;
        // `n` is non-negative and at most `len` here.
        Ok(n as usize)
    }

    /// Opens this regular file or directory read-only (read permission
    /// checked with the current credentials); a symlink is `ELOOP`, any
    /// other type `EOPNOTSUPP`.
    pub(crate) fn open_read(&self) -> Result<File> {
        let mut err: c_int = 0;
        // SAFETY: `self.0` is a valid path (invariant); `err` is valid.
        let f = unsafe { qtfs_shim_open_read(self.0.as_ptr(), &mut err) };
        // INVARIANT: a non-null result is a new file reference we own.
        NonNull::new(f).map(File).ok_or_else(|| err_of(err))
    }
}

impl Drop for Path {
    fn drop(&mut self) {
        // SAFETY: `self.0` is owned by this value and released only here
        // (invariant); it is not used afterwards.
        unsafe { qtfs_shim_path_free(self.0.as_ptr()) };
    }
}

/// An open `struct file` reference.
///
/// # Invariants
///
/// `self.0` was returned by `qtfs_shim_open_read` (`dentry_open`): one file
/// reference owned by this value and dropped (`fput`) exactly once on drop.
pub(crate) struct File(NonNull<RawFile>);

// SAFETY: A file reference may be used and put from any thread.
unsafe impl Send for File {}

/// What [`File::read_dir`] hands each entry to: its name, type (`DT_*`),
/// inode number and position; returns `false` to stop before this entry.
pub(crate) type DirSink<'a> = &'a mut dyn FnMut(&[u8], u8, u64, i64) -> bool;

struct SinkBox<'a, 'b> {
    sink: &'b mut DirSink<'a>,
}

/// # Safety
///
/// `priv_` must point to a live `SinkBox` not otherwise borrowed, and
/// `name` to `namlen` readable bytes, for the duration of the call.
unsafe extern "C" fn dir_actor(
    priv_: *mut c_void,
    name: *const c_char,
    namlen: c_int,
    offset: i64,
    ino: u64,
    d_type: c_uint,
) -> bool {
    // SAFETY: Per the contract, `priv_` is the `SinkBox` passed by
    // `read_dir`, alive and unborrowed while `iterate_dir` runs.
    let b = unsafe { &mut *priv_.cast::<SinkBox<'_, '_>>() };
    let len = usize::try_from(namlen).unwrap_or(0);
    // SAFETY: Per the contract, `name` points to `namlen` readable bytes
    // (the directory entry's name, valid during the callback).
    let name = unsafe { core::slice::from_raw_parts(name.cast::<u8>(), len) };
    (b.sink)(name, d_type as u8, ino, offset)
}

impl File {
    /// Whether this is a directory.
    pub(crate) fn is_dir(&self) -> bool {
        // SAFETY: `self.0` is a valid open file (invariant).
        unsafe { qtfs_shim_file_is_dir(self.0.as_ptr()) != 0 }
    }

    /// Reads at most `buf.len()` bytes at `offset` (`kernel_read`); 0 at
    /// the end of the file.
    pub(crate) fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        // SAFETY: `self.0` is a valid open file (invariant); `buf` is
        // valid for writes of `buf.len()` bytes, borrowed mutably.
        let n = unsafe {
            qtfs_shim_read(self.0.as_ptr(), buf.as_mut_ptr().cast(), buf.len(), offset)
        };
        if n < 0 {
            return Err(Error::from_errno(i32::try_from(n).unwrap_or(-5)));
        }
        // `n` is non-negative and at most `buf.len()` here.
        Ok(n as usize)
    }

    /// Lists this directory from position `cookie` (0: the start), handing
    /// each entry to `sink` until it returns `false` or the end. Returns
    /// the position after the last entry `sink` accepted (where the next
    /// call resumes).
    pub(crate) fn read_dir(&self, cookie: u64, mut sink: DirSink<'_>) -> Result<i64> {
        let mut b = SinkBox { sink: &mut sink };
        let mut end: i64 = 0;
        // SAFETY: `self.0` is a valid open file (invariant). `dir_actor`'s
        // contract holds: `b` is alive and not otherwise borrowed during
        // the call, and `iterate_dir` passes valid names. `end` is valid.
        let err = unsafe {
            qtfs_shim_iterate(
                self.0.as_ptr(),
                cookie,
                dir_actor,
                (&mut b as *mut SinkBox<'_, '_>).cast(),
                &mut end,
            )
        };
        to_result(err)?;
        Ok(end)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // SAFETY: `self.0` is owned by this value and put only here
        // (invariant); it is not used afterwards.
        unsafe { qtfs_shim_file_put(self.0.as_ptr()) };
    }
}
