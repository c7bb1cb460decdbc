// SPDX-License-Identifier: GPL-2.0
//! Paths and open files of the local VFS, owned and released on drop.
//!
//! The C half is `shim/vfs_shim.c` (kern_path, lookup_one_unlocked,
//! vfs_getattr, vfs_statfs, vfs_get_link, kernel_read, iterate_dir) and
//! `shim/vfs_write_shim.c` (the modifying helpers: vfs_mkdir, vfs_mknod,
//! vfs_symlink, vfs_link, vfs_unlink, vfs_rmdir, vfs_rename,
//! notify_change, dentry_open, file_open_root, kernel_write, the xattr and
//! ACL helpers), which hand plain structures over. Every operation runs
//! with the calling thread's current credentials (see [`super::cred`]).
//! Names given to the directory operations are single components, checked
//! here ([`check_name`]) before they reach C.
//!
//! C headers: [`include/linux/namei.h`](srctree/include/linux/namei.h),
//! [`include/linux/fs.h`](srctree/include/linux/fs.h).

use core::ffi::c_void;
use core::ptr::NonNull;
use kernel::alloc::{flags::GFP_KERNEL, KBox};
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
    /// The change cookie (`i_version`) if the file system keeps one, else 0.
    pub(crate) change: u64,
    /// `s_magic` of the file system holding the node.
    pub(crate) magic: u64,
    /// `i_generation`.
    pub(crate) generation: u32,
    /// Non-zero if something is mounted on the node (`d_mountpoint`).
    pub(crate) mounted: u32,
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
    fn qtfs_shim_path_child(
        dir: *const RawPath,
        name: *const c_char,
        cross: c_int,
        err: *mut c_int,
    ) -> *mut RawPath;
    fn qtfs_shim_path_is_under(p: *const RawPath, root: *const RawPath) -> c_int;
    fn qtfs_shim_path_unhashed(p: *const RawPath) -> c_int;
    fn qtfs_shim_path_mounted(p: *const RawPath) -> c_int;
    fn qtfs_shim_mkdir(
        dir: *const RawPath,
        name: *const c_char,
        mode: u32,
        err: *mut c_int,
    ) -> *mut RawPath;
    fn qtfs_shim_mknod(
        dir: *const RawPath,
        name: *const c_char,
        mode: u32,
        major: u32,
        minor: u32,
        err: *mut c_int,
    ) -> *mut RawPath;
    fn qtfs_shim_symlink(
        dir: *const RawPath,
        name: *const c_char,
        target: *const c_char,
        err: *mut c_int,
    ) -> *mut RawPath;
    fn qtfs_shim_link(
        old: *const RawPath,
        dir: *const RawPath,
        name: *const c_char,
        err: *mut c_int,
    ) -> *mut RawPath;
    fn qtfs_shim_remove(dir: *const RawPath, name: *const c_char, is_dir: c_int) -> c_int;
    fn qtfs_shim_rename(
        odir: *const RawPath,
        oname: *const c_char,
        ndir: *const RawPath,
        nname: *const c_char,
        flags: c_uint,
    ) -> c_int;
    fn qtfs_shim_open(p: *const RawPath, flags: c_int, err: *mut c_int) -> *mut RawFile;
    fn qtfs_shim_path_stale(p: *const RawPath) -> c_int;
    fn qtfs_shim_create(
        dir: *const RawPath,
        name: *const c_char,
        flags: c_int,
        mode: u32,
        err: *mut c_int,
    ) -> *mut RawFile;
    fn qtfs_shim_file_truncate(f: *mut RawFile, size: u64, open: c_int) -> c_int;
    fn qtfs_shim_truncate(p: *const RawPath, size: u64) -> c_int;
    fn qtfs_shim_setattr(
        p: *const RawPath,
        valid: u32,
        mode: u32,
        uid: u32,
        gid: u32,
        atime_sec: i64,
        atime_nsec: u32,
        mtime_sec: i64,
        mtime_nsec: u32,
    ) -> c_int;
    fn qtfs_shim_write(f: *mut RawFile, buf: *const c_void, len: usize, off: u64) -> c_long;
    fn qtfs_shim_fsync(f: *mut RawFile, datasync: c_int) -> c_int;
    fn qtfs_shim_fallocate(f: *mut RawFile, mode: c_int, off: u64, len: u64) -> c_int;
    fn qtfs_shim_llseek(f: *mut RawFile, offset: i64, whence: c_int) -> i64;
    fn qtfs_shim_file_path(f: *mut RawFile, err: *mut c_int) -> *mut RawPath;
    fn qtfs_shim_path_clone(p: *const RawPath, err: *mut c_int) -> *mut RawPath;
    fn qtfs_shim_getxattr(
        p: *const RawPath,
        name: *const c_char,
        buf: *mut c_void,
        size: usize,
    ) -> c_long;
    fn qtfs_shim_listxattr(p: *const RawPath, buf: *mut c_char, size: usize) -> c_long;
    fn qtfs_shim_setxattr(
        p: *const RawPath,
        name: *const c_char,
        val: *const c_void,
        size: usize,
        flags: c_int,
    ) -> c_int;
    fn qtfs_shim_removexattr(p: *const RawPath, name: *const c_char) -> c_int;
    fn qtfs_shim_unshare_fs() -> c_int;
    fn qtfs_shim_set_umask(umask: u32) -> u32;
    fn qtfs_shim_path_free(p: *mut RawPath);
    fn qtfs_shim_path_same(a: *const RawPath, b: *const RawPath) -> c_int;
    fn qtfs_shim_getattr(p: *const RawPath, a: *mut Attr) -> c_int;
    fn qtfs_shim_path_is_fifo(p: *const RawPath) -> c_int;
    fn qtfs_shim_statfs(p: *const RawPath, s: *mut FsStat) -> c_int;
    fn qtfs_shim_readlink(p: *const RawPath, buf: *mut c_char, len: c_int) -> c_int;
    fn qtfs_shim_file_put(f: *mut RawFile);
    fn qtfs_shim_file_put_sync(f: *mut RawFile);
    fn qtfs_shim_file_is_dir(f: *mut RawFile) -> c_int;
    fn qtfs_shim_file_is_fifo(f: *mut RawFile) -> c_int;
    fn qtfs_shim_file_set_nonblock(f: *mut RawFile);
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

fn long_result(n: c_long) -> Result<usize> {
    if n < 0 {
        return Err(Error::from_errno(i32::try_from(n).unwrap_or(-5)));
    }
    usize::try_from(n).map_err(|_| kernel::error::code::EIO)
}

/// A single path component, NUL-terminated, for the C side.
///
/// # Invariants
///
/// `buf[..len]` is 1..=NAME_MAX bytes with no `/` or NUL, not `.` or `..`,
/// and `buf[len]` is NUL.
pub(crate) struct CName {
    buf: [u8; NAME_MAX + 1],
    len: usize,
}

/// Checks that `name` is one component: 1..=NAME_MAX bytes with no `/` or
/// NUL and not `.` or `..` (else `EINVAL`).
pub(crate) fn check_name(name: &[u8]) -> Result<CName> {
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
    // INVARIANT: checked above; `buf[name.len()]` is still 0.
    Ok(CName {
        buf,
        len: name.len(),
    })
}

impl CName {
    fn ptr(&self) -> *const c_char {
        self.buf.as_ptr().cast()
    }

    /// The name without its NUL.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A NUL-terminated copy of a byte string of at most `N - 1` bytes
/// without NUL (xattr names, symlink targets), on the stack.
struct CBuf<const N: usize> {
    buf: [u8; N],
}

impl<const N: usize> CBuf<N> {
    fn new(s: &[u8]) -> Result<KBox<Self>> {
        if s.len() >= N || s.contains(&0) {
            return Err(kernel::error::code::EINVAL);
        }
        let mut b = KBox::new(CBuf { buf: [0u8; N] }, GFP_KERNEL)?;
        b.buf[..s.len()].copy_from_slice(s);
        Ok(b)
    }

    fn ptr(&self) -> *const c_char {
        self.buf.as_ptr().cast()
    }
}

/// Longest xattr name (XATTR_NAME_MAX) plus its NUL.
const XATTR_NAME_BUF: usize = 256;
/// Longest symlink target (PATH_MAX including the NUL).
const PATH_BUF: usize = 4096;

/// Which attributes [`Path::setattr`] changes (the shim's `QTFS_SA_*`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SetAttr {
    /// New permission bits.
    pub(crate) mode: Option<u32>,
    /// New owner.
    pub(crate) uid: Option<u32>,
    /// New group.
    pub(crate) gid: Option<u32>,
    /// New access and modification times as `utimensat` takes them
    /// (`(sec, nsec)`, nsec may be `UTIME_NOW` or `UTIME_OMIT`); `None`
    /// changes neither.
    pub(crate) times: Option<((i64, u32), (i64, u32))>,
}

fn path_result(p: *mut RawPath, err: c_int) -> Result<Path> {
    // INVARIANT: a non-null result of the shim is a new, referenced path we own.
    NonNull::new(p).map(Path).ok_or_else(|| err_of(err))
}

/// A referenced `struct path` (a dentry and its mount).
///
/// # Invariants
///
/// `self.0` was returned by one of the shim's path constructors
/// (`qtfs_shim_path_dir`, `_child`, `_mkdir`, `_mknod`, `_symlink`,
/// `_link`, `_file_path`, `_path_clone`): a kmalloc'ed `struct path` holding one reference
/// to its dentry and mount, owned by this value and freed (path_put, kfree)
/// exactly once on drop.
pub(crate) struct Path(NonNull<RawPath>);

// SAFETY: A `struct path` with its references may be used and released
// from any thread; the functions called on it take their own locks.
unsafe impl Send for Path {}
// SAFETY: Every method takes `&self` only to pass the path to VFS
// functions that do not modify the `struct path` (they lock the inode or
// the dentry themselves where needed), so sharing it is sound.
unsafe impl Sync for Path {}

impl Path {
    fn raw(&self) -> *const RawPath {
        self.0.as_ptr()
    }

    /// Resolves the absolute directory `name`, following symlinks, with the
    /// current credentials.
    pub(crate) fn dir(name: &CStr) -> Result<Path> {
        let mut err: c_int = 0;
        // SAFETY: `name` is a valid NUL-terminated string for the call;
        // `err` is a valid `int` to write.
        let p = unsafe { qtfs_shim_path_dir(name.as_char_ptr(), &mut err) };
        path_result(p, err)
    }

    /// Looks up the single component `name` in this directory
    /// (`lookup_one_unlocked`: search permission checked, a final symlink
    /// not followed, a negative entry `ENOENT`); the lookup cannot leave
    /// this directory. A mount on the result is crossed only if `cross`.
    pub(crate) fn child(&self, name: &[u8], cross: bool) -> Result<Path> {
        let name = check_name(name)?;
        let mut err: c_int = 0;
        // SAFETY: `self.0` is a valid path (invariant); `name` is a
        // NUL-terminated component (CName invariant); `err` is valid.
        let p =
            unsafe { qtfs_shim_path_child(self.raw(), name.ptr(), c_int::from(cross), &mut err) };
        path_result(p, err)
    }

    /// Another reference to the same dentry and mount.
    pub(crate) fn try_clone(&self) -> Result<Path> {
        let mut err: c_int = 0;
        // SAFETY: `self.0` is a valid path (invariant); `err` is valid.
        let p = unsafe { qtfs_shim_path_clone(self.raw(), &mut err) };
        path_result(p, err)
    }

    /// Whether both name the same dentry on the same mount.
    pub(crate) fn same(&self, other: &Path) -> bool {
        // SAFETY: Both are valid paths (invariant); only pointers are compared.
        unsafe { qtfs_shim_path_same(self.raw(), other.raw()) != 0 }
    }

    /// Whether this path is `root` or beneath it (`path_is_under`, across
    /// mounts).
    pub(crate) fn is_under(&self, root: &Path) -> bool {
        // SAFETY: Both are valid paths (invariant); `path_is_under` only
        // walks the dentry and mount trees under their locks.
        unsafe { qtfs_shim_path_is_under(self.raw(), root.raw()) != 0 }
    }

    /// Whether the dentry was unlinked or moved out of the dcache.
    pub(crate) fn unhashed(&self) -> bool {
        // SAFETY: `self.0` is a valid path (invariant); a flag is read.
        unsafe { qtfs_shim_path_unhashed(self.raw()) != 0 }
    }

    /// Whether something is mounted on this directory.
    pub(crate) fn mounted(&self) -> bool {
        // SAFETY: `self.0` is a valid path (invariant); a flag is read.
        unsafe { qtfs_shim_path_mounted(self.raw()) != 0 }
    }

    /// `vfs_getattr`.
    /// Whether it names a FIFO (whose open may wait for the other side).
    pub(crate) fn is_fifo(&self) -> bool {
        // SAFETY: `self.0` is a valid path (invariant), whose dentry is
        // pinned by it.
        unsafe { qtfs_shim_path_is_fifo(self.raw()) != 0 }
    }

    pub(crate) fn getattr(&self) -> Result<Attr> {
        let mut a = Attr::default();
        // SAFETY: `self.0` is a valid path (invariant); `a` is a valid
        // `struct qtfs_shim_attr` (same `repr(C)` layout) to write.
        to_result(unsafe { qtfs_shim_getattr(self.raw(), &mut a) })?;
        Ok(a)
    }

    /// `vfs_statfs` of the file system holding this path.
    pub(crate) fn statfs(&self) -> Result<FsStat> {
        let mut s = FsStat::default();
        // SAFETY: `self.0` is a valid path (invariant); `s` is a valid
        // `struct qtfs_shim_statfs` (same `repr(C)` layout) to write.
        to_result(unsafe { qtfs_shim_statfs(self.raw(), &mut s) })?;
        Ok(s)
    }

    /// The target of this symlink into `buf`; its length. `EINVAL` if not
    /// a symlink, `ENAMETOOLONG` if `buf` is too small.
    pub(crate) fn readlink(&self, buf: &mut [u8]) -> Result<usize> {
        let len = c_int::try_from(buf.len()).unwrap_or(c_int::MAX);
        // SAFETY: `self.0` is a valid path (invariant); `buf` is valid for
        // writes of `len <= buf.len()` bytes, borrowed mutably for the call.
        let n = unsafe { qtfs_shim_readlink(self.raw(), buf.as_mut_ptr().cast(), len) };
        to_result(n)?;
        // `n` is non-negative and at most `len` here.
        Ok(n as usize)
    }

    /// Opens this node as open(2) would with `flags` (kernel `O_*` values;
    /// `O_CREAT`/`O_EXCL` ignored): permission for the access mode, a
    /// symlink `ELOOP`, a directory not writable, `O_TRUNC` truncating a
    /// regular file. A FIFO open may block (interruptibly).
    /// Whether the file system says this name no longer stands for this
    /// file (its `d_revalidate` fails: a process that exited, a removed
    /// cgroup), as a local path walk would have found.
    pub(crate) fn is_stale(&self) -> bool {
        // SAFETY: `self.0` is a valid path (invariant); `d_revalidate`
        // may sleep, and this runs in a worker thread's process context.
        unsafe { qtfs_shim_path_stale(self.raw()) != 0 }
    }

    pub(crate) fn open(&self, flags: u32) -> Result<File> {
        let mut err: c_int = 0;
        // SAFETY: `self.0` is a valid path (invariant); `err` is valid.
        let f = unsafe { qtfs_shim_open(self.raw(), flags as c_int, &mut err) };
        // INVARIANT: a non-null result is a new file reference we own.
        NonNull::new(f).map(File).ok_or_else(|| err_of(err))
    }

    /// open(2) with `O_CREAT | O_NOFOLLOW` of `name` in this directory
    /// (`file_open_root`): `O_EXCL`, `O_TRUNC`, `O_APPEND`, the thread's
    /// umask and default ACLs as a local open.
    pub(crate) fn create(&self, name: &[u8], flags: u32, mode: u32) -> Result<File> {
        let name = check_name(name)?;
        let mut err: c_int = 0;
        // SAFETY: `self.0` is a valid path (invariant); `name` is a
        // NUL-terminated component; `err` is valid.
        let f = unsafe { qtfs_shim_create(self.raw(), name.ptr(), flags as c_int, mode, &mut err) };
        // INVARIANT: a non-null result is a new file reference we own.
        NonNull::new(f).map(File).ok_or_else(|| err_of(err))
    }

    /// mkdir(2) of `name` here (the thread's umask applies); the new path.
    pub(crate) fn mkdir(&self, name: &[u8], mode: u32) -> Result<Path> {
        let name = check_name(name)?;
        let mut err: c_int = 0;
        // SAFETY: valid path (invariant), NUL-terminated component, valid `err`.
        let p = unsafe { qtfs_shim_mkdir(self.raw(), name.ptr(), mode, &mut err) };
        path_result(p, err)
    }

    /// mknod(2) of `name` here: `mode` with its type (regular, FIFO,
    /// socket, character or block device), `major`/`minor` for devices.
    pub(crate) fn mknod(&self, name: &[u8], mode: u32, major: u32, minor: u32) -> Result<Path> {
        let name = check_name(name)?;
        let mut err: c_int = 0;
        // SAFETY: valid path (invariant), NUL-terminated component, valid `err`.
        let p = unsafe { qtfs_shim_mknod(self.raw(), name.ptr(), mode, major, minor, &mut err) };
        path_result(p, err)
    }

    /// symlink(2): `name` here pointing to `target` (1..4095 bytes, no NUL).
    pub(crate) fn symlink(&self, name: &[u8], target: &[u8]) -> Result<Path> {
        let name = check_name(name)?;
        if target.is_empty() {
            return Err(kernel::error::code::ENOENT);
        }
        let target = CBuf::<PATH_BUF>::new(target)?;
        let mut err: c_int = 0;
        // SAFETY: valid path (invariant), NUL-terminated component and
        // target (CBuf keeps a NUL after the bytes), valid `err`.
        let p = unsafe { qtfs_shim_symlink(self.raw(), name.ptr(), target.ptr(), &mut err) };
        path_result(p, err)
    }

    /// link(2): a new name `name` in this directory for `old`.
    pub(crate) fn link_from(&self, old: &Path, name: &[u8]) -> Result<Path> {
        let name = check_name(name)?;
        let mut err: c_int = 0;
        // SAFETY: both are valid paths (invariant), NUL-terminated
        // component, valid `err`.
        let p = unsafe { qtfs_shim_link(old.raw(), self.raw(), name.ptr(), &mut err) };
        path_result(p, err)
    }

    /// unlink(2) (`dir` false) or rmdir(2) (`dir` true) of `name` here.
    pub(crate) fn remove(&self, name: &[u8], dir: bool) -> Result {
        let name = check_name(name)?;
        // SAFETY: valid path (invariant), NUL-terminated component.
        to_result(unsafe { qtfs_shim_remove(self.raw(), name.ptr(), c_int::from(dir)) })
    }

    /// renameat2(2) of `name` here to `new_name` in `new_dir` with `flags`
    /// (`RENAME_*`, a valid combination).
    pub(crate) fn rename(
        &self,
        name: &[u8],
        new_dir: &Path,
        new_name: &[u8],
        flags: u32,
    ) -> Result {
        let name = check_name(name)?;
        let new_name = check_name(new_name)?;
        // SAFETY: both are valid paths (invariant), NUL-terminated components.
        to_result(unsafe {
            qtfs_shim_rename(self.raw(), name.ptr(), new_dir.raw(), new_name.ptr(), flags)
        })
    }

    /// truncate(2) (write permission checked, set-id bits dropped).
    pub(crate) fn truncate(&self, size: u64) -> Result {
        // SAFETY: valid path (invariant).
        to_result(unsafe { qtfs_shim_truncate(self.raw(), size) })
    }

    /// chmod, chown and utimensat in one `notify_change`, with the checks
    /// and set-id clearing of the system calls.
    pub(crate) fn setattr(&self, a: &SetAttr) -> Result {
        let mut valid = 0u32;
        if a.mode.is_some() {
            valid |= 1;
        }
        if a.uid.is_some() {
            valid |= 2;
        }
        if a.gid.is_some() {
            valid |= 4;
        }
        let ((asec, ansec), (msec, mnsec)) = match a.times {
            Some(t) => {
                valid |= 8;
                t
            }
            None => ((0, 0), (0, 0)),
        };
        // SAFETY: valid path (invariant); the rest are plain values.
        to_result(unsafe {
            qtfs_shim_setattr(
                self.raw(),
                valid,
                a.mode.unwrap_or(0),
                a.uid.unwrap_or(0),
                a.gid.unwrap_or(0),
                asec,
                ansec,
                msec,
                mnsec,
            )
        })
    }

    /// getxattr(2) of `name` into `buf` (empty: only the size); the size.
    pub(crate) fn getxattr(&self, name: &[u8], buf: &mut [u8]) -> Result<usize> {
        let name = CBuf::<XATTR_NAME_BUF>::new(name)?;
        // SAFETY: valid path (invariant); NUL-terminated name; `buf` valid
        // for writes of its length, borrowed mutably for the call.
        long_result(unsafe {
            qtfs_shim_getxattr(self.raw(), name.ptr(), buf.as_mut_ptr().cast(), buf.len())
        })
    }

    /// listxattr(2) into `buf` (empty: only the size); the size.
    pub(crate) fn listxattr(&self, buf: &mut [u8]) -> Result<usize> {
        // SAFETY: valid path (invariant); `buf` valid for writes of its length.
        long_result(unsafe { qtfs_shim_listxattr(self.raw(), buf.as_mut_ptr().cast(), buf.len()) })
    }

    /// setxattr(2) (`flags`: `XATTR_CREATE`, `XATTR_REPLACE`).
    pub(crate) fn setxattr(&self, name: &[u8], value: &[u8], flags: u32) -> Result {
        let name = CBuf::<XATTR_NAME_BUF>::new(name)?;
        // SAFETY: valid path (invariant); NUL-terminated name; `value`
        // valid for reads of its length.
        to_result(unsafe {
            qtfs_shim_setxattr(
                self.raw(),
                name.ptr(),
                value.as_ptr().cast(),
                value.len(),
                flags as c_int,
            )
        })
    }

    /// removexattr(2).
    pub(crate) fn removexattr(&self, name: &[u8]) -> Result {
        let name = CBuf::<XATTR_NAME_BUF>::new(name)?;
        // SAFETY: valid path (invariant); NUL-terminated name.
        to_result(unsafe { qtfs_shim_removexattr(self.raw(), name.ptr()) })
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
/// `self.0` was returned by `qtfs_shim_open` (`dentry_open`) or
/// `qtfs_shim_create` (`file_open_root`): one file reference owned by this
/// value and dropped (`fput`) exactly once on drop.
pub(crate) struct File(NonNull<RawFile>);

// SAFETY: A file reference may be used and put from any thread.
unsafe impl Send for File {}
// SAFETY: Every method passes the file to VFS calls that take their own
// locks (reads and writes at explicit positions, iterate_dir under the
// inode lock, llseek under f_pos_lock where the file needs it), as two
// threads sharing a file descriptor do.
unsafe impl Sync for File {}

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
    fn raw(&self) -> *mut RawFile {
        self.0.as_ptr()
    }

    /// Whether this is a directory.
    pub(crate) fn is_dir(&self) -> bool {
        // SAFETY: `self.0` is a valid open file (invariant).
        unsafe { qtfs_shim_file_is_dir(self.raw()) != 0 }
    }

    /// Whether this is a FIFO.
    pub(crate) fn is_fifo(&self) -> bool {
        // SAFETY: `self.0` is a valid open file (invariant).
        unsafe { qtfs_shim_file_is_fifo(self.raw()) != 0 }
    }

    /// From now on its reads and writes never wait (`O_NONBLOCK`, as
    /// `fcntl(F_SETFL)` sets it).
    pub(crate) fn set_nonblocking(&self) {
        // SAFETY: `self.0` is a valid open file (invariant); the shim
        // takes `f_lock` around the change, as `setfl()` does.
        unsafe { qtfs_shim_file_set_nonblock(self.raw()) }
    }

    /// The path this file was opened at.
    pub(crate) fn path(&self) -> Result<Path> {
        let mut err: c_int = 0;
        // SAFETY: `self.0` is a valid open file (invariant); `err` is valid.
        let p = unsafe { qtfs_shim_file_path(self.raw(), &mut err) };
        path_result(p, err)
    }

    /// Reads at most `buf.len()` bytes at `offset` (`kernel_read`); 0 at
    /// the end of the file.
    pub(crate) fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        // SAFETY: `self.0` is a valid open file (invariant); `buf` is
        // valid for writes of `buf.len()` bytes, borrowed mutably.
        let n = unsafe { qtfs_shim_read(self.raw(), buf.as_mut_ptr().cast(), buf.len(), offset) };
        long_result(n)
    }

    /// Writes `buf` at `offset` (at the end for an `O_APPEND` file;
    /// `kernel_write`, which drops set-id bits); the bytes written.
    pub(crate) fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        // SAFETY: `self.0` is a valid open file (invariant); `buf` is
        // valid for reads of `buf.len()` bytes.
        let n = unsafe { qtfs_shim_write(self.raw(), buf.as_ptr().cast(), buf.len(), offset) };
        long_result(n)
    }

    /// ftruncate(2): `EINVAL` unless a regular file open for writing.
    pub(crate) fn truncate(&self, size: u64) -> Result {
        // SAFETY: `self.0` is a valid open file (invariant).
        to_result(unsafe { qtfs_shim_file_truncate(self.raw(), size, 0) })
    }

    /// fallocate(2) with `FALLOC_FL_*` `mode` (checked by the VFS).
    pub(crate) fn fallocate(&self, mode: u32, offset: u64, len: u64) -> Result {
        let mode = c_int::try_from(mode).map_err(|_| kernel::error::code::EINVAL)?;
        // SAFETY: `self.0` is a valid open file (invariant).
        to_result(unsafe { qtfs_shim_fallocate(self.raw(), mode, offset, len) })
    }

    /// fsync(2) or fdatasync(2) (`vfs_fsync_range` over the whole file).
    pub(crate) fn fsync(&self, datasync: bool) -> Result {
        // SAFETY: `self.0` is a valid open file (invariant).
        to_result(unsafe { qtfs_shim_fsync(self.raw(), c_int::from(datasync)) })
    }

    /// lseek(2) (`whence` 0-4: SET, CUR, END, DATA, HOLE); the new offset.
    pub(crate) fn llseek(&self, offset: i64, whence: u8) -> Result<u64> {
        // SAFETY: `self.0` is a valid open file (invariant).
        let r = unsafe { qtfs_shim_llseek(self.raw(), offset, c_int::from(whence)) };
        if r < 0 {
            return Err(Error::from_errno(i32::try_from(r).unwrap_or(-5)));
        }
        Ok(r as u64)
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
                self.raw(),
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
        if self.is_fifo() {
            // A kernel thread's `fput` defers the release to a workqueue;
            // a FIFO's other end must see the close (EOF, EPIPE) before
            // the client's close returns, and a pipe's release takes only
            // the pipe's own lock, so it is done here and now.
            // SAFETY: as below; `__fput_sync` is for exactly this (a
            // kernel thread that knows the release cannot deadlock).
            unsafe { qtfs_shim_file_put_sync(self.0.as_ptr()) };
            return;
        }
        // SAFETY: `self.0` is owned by this value and put only here
        // (invariant); it is not used afterwards.
        unsafe { qtfs_shim_file_put(self.0.as_ptr()) };
    }
}

/// Proof that the current kernel thread has a `struct fs_struct` of its
/// own (`unshare_fs_struct`), so that its umask can be set without
/// touching init's, which every kernel thread shares by default.
///
/// # Invariants
///
/// Created on the thread that called `unshare_fs_struct` successfully and
/// never leaves it (`!Send`, `!Sync`).
pub(crate) struct PrivateFs {
    _not_send: core::marker::PhantomData<*mut ()>,
}

impl PrivateFs {
    /// `unshare_fs_struct()` for the calling thread.
    pub(crate) fn unshare() -> Result<PrivateFs> {
        // SAFETY: Acts on `current` only; callable from process context.
        to_result(unsafe { qtfs_shim_unshare_fs() })?;
        // INVARIANT: unshared on this thread just now.
        Ok(PrivateFs {
            _not_send: core::marker::PhantomData,
        })
    }

    /// Runs `f` with the thread's umask set to `umask` (permission bits),
    /// restoring the previous one afterwards.
    pub(crate) fn with_umask<R>(&self, umask: u32, f: impl FnOnce() -> R) -> R {
        // SAFETY: By the invariant this thread's fs_struct is its own, so
        // only this thread reads or writes its umask.
        let old = unsafe { qtfs_shim_set_umask(umask) };
        let r = f();
        // SAFETY: As above.
        unsafe { qtfs_shim_set_umask(old) };
        r
    }
}

/// The C poll watch of `shim/vfs_shim.c`.
#[repr(C)]
pub(crate) struct RawPollWatch {
    _private: [u8; 0],
}

extern "C" {
    fn qtfs_shim_poll_watch_new(
        fire: unsafe extern "C" fn(*mut c_void),
        ctx: *mut c_void,
    ) -> *mut RawPollWatch;
    fn qtfs_shim_poll_arm(w: *mut RawPollWatch, f: *mut RawFile, events: c_uint) -> c_uint;
    fn qtfs_shim_poll_now(f: *mut RawFile) -> c_uint;
    fn qtfs_shim_poll_disarm(w: *mut RawPollWatch);
    fn qtfs_shim_poll_watch_free(w: *mut RawPollWatch);
}

/// What a [`Watched`] value does when a watched file wakes its waiters.
pub(crate) trait PollFire: Sync + Send {
    /// Runs in process context (a workqueue), once or more per wake-up;
    /// `watch` can end the watch.
    fn fire(&self, watch: &PollWatch);
}

/// Waits on an open file's wait queues (`vfs_poll` with a queueing
/// callback, as epoll does).
///
/// # Invariants
///
/// `raw` is a watch made by `qtfs_shim_poll_watch_new`, owned by this
/// value and freed (disarmed, its work cancelled) on drop.
pub(crate) struct PollWatch {
    raw: NonNull<RawPollWatch>,
}

// SAFETY: The C watch is used from any thread: its entries are guarded by
// its own spinlock, its work by the workqueue.
unsafe impl Send for PollWatch {}
// SAFETY: As above.
unsafe impl Sync for PollWatch {}

impl PollWatch {
    /// Starts waiting on `file` for `events` (and errors and hang-ups);
    /// the events ready now. Call once per watch.
    pub(crate) fn arm(&self, file: &File, events: u32) -> u32 {
        // SAFETY: `self.raw` is a live watch (invariant), `file` an open
        // file that the watched value keeps open for the watch's life.
        unsafe { qtfs_shim_poll_arm(self.raw.as_ptr(), file.raw(), events) }
    }

    /// Stops waiting (no more wake-ups; a callback already queued still
    /// runs). May be called from the callback.
    pub(crate) fn disarm(&self) {
        // SAFETY: `self.raw` is a live watch (invariant).
        unsafe { qtfs_shim_poll_disarm(self.raw.as_ptr()) }
    }
}

impl Drop for PollWatch {
    fn drop(&mut self) {
        // SAFETY: `self.raw` is ours (invariant) and not used after this;
        // this waits for a running callback, so it must not be called
        // from one (a [`Watched`] is never dropped by its own callback:
        // `fire` only gets `&self`).
        unsafe { qtfs_shim_poll_watch_free(self.raw.as_ptr()) }
    }
}

/// The events of `file` ready now (`vfs_poll` without waiting).
pub(crate) fn poll_now(file: &File) -> u32 {
    // SAFETY: `file` is an open file (its invariant).
    unsafe { qtfs_shim_poll_now(file.raw()) }
}

/// A value whose [`PollFire::fire`] runs when a file it watches wakes.
///
/// # Invariants
///
/// `inner` is heap-allocated and never moved out; its `watch` (if any)
/// has `&inner` as its context, and is dropped (waiting for the callback)
/// before `inner.value`, by field order.
pub(crate) struct Watched<T: PollFire> {
    inner: KBox<WatchedInner<T>>,
}

struct WatchedInner<T> {
    watch: Option<PollWatch>,
    value: T,
}

/// The callback the shim's poll work runs.
///
/// # Safety
///
/// `ctx` is the `WatchedInner<T>` a [`Watched`] made its watch with; the
/// watch (and so this callback) ends before that value is freed.
unsafe extern "C" fn fire_trampoline<T: PollFire>(ctx: *mut c_void) {
    // SAFETY: `ctx` is the `WatchedInner<T>` the watch was made for, alive
    // until the watch is freed, which waits for this callback.
    let inner = unsafe { &*ctx.cast::<WatchedInner<T>>() };
    if let Some(w) = inner.watch.as_ref() {
        inner.value.fire(w);
    }
}

impl<T: PollFire> Watched<T> {
    /// `value` with a new (unarmed) watch.
    pub(crate) fn new(value: T) -> Result<Self> {
        let mut inner = KBox::new(WatchedInner { watch: None, value }, GFP_KERNEL)?;
        let ctx = (&*inner as *const WatchedInner<T>).cast_mut().cast::<c_void>();
        // SAFETY: `fire_trampoline::<T>` matches the callback type; `ctx`
        // points into the box, which outlives the watch (field order).
        let raw = unsafe { qtfs_shim_poll_watch_new(fire_trampoline::<T>, ctx) };
        // INVARIANT: a non-null result is a new watch we own.
        inner.watch = Some(PollWatch {
            raw: NonNull::new(raw).ok_or(kernel::error::code::ENOMEM)?,
        });
        Ok(Watched { inner })
    }

    pub(crate) fn value(&self) -> &T {
        &self.inner.value
    }

    pub(crate) fn watch(&self) -> Option<&PollWatch> {
        self.inner.watch.as_ref()
    }
}

extern "C" {
    fn qtfs_shim_server_vfs_init() -> c_int;
    fn qtfs_shim_server_vfs_exit();
}

/// What the server's VFS helpers keep for the module's life (see
/// `shim/vfs_shim.c`): the workqueue that poll watches send their events
/// from, and the loading process's address space, through which files
/// that only copy to user memory are read and written. Released on drop.
///
/// # Invariants
///
/// At most one exists, made in the module's init (the loading process's
/// context) and dropped after every worker and poll watch is gone.
pub(crate) struct ServerVfs(());

impl ServerVfs {
    pub(crate) fn init() -> Result<ServerVfs> {
        // SAFETY: called once, from module init, in process context.
        to_result(unsafe { qtfs_shim_server_vfs_init() })?;
        Ok(ServerVfs(()))
    }
}

impl Drop for ServerVfs {
    fn drop(&mut self) {
        // SAFETY: no worker or watch uses them any more (invariant).
        unsafe { qtfs_shim_server_vfs_exit() };
    }
}
