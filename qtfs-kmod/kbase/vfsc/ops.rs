// SPDX-License-Identifier: GPL-2.0
//! [`RemoteFs`]: the operations a file system built on [`super`] provides.
//!
//! Each method is called by a trampoline of [`super::tables`] with the VFS
//! objects wrapped; errors are returned as `Err` and reach the caller as
//! its errno. Locking is the VFS's: a method runs with the locks the
//! matching `inode_operations`/`file_operations` entry documents in
//! `Documentation/filesystems/locking.rst` (for example the parent's
//! `i_rwsem` in `lookup`, `create`, `unlink`).

use super::types::{Dentry, DirContext, File, Inode, InodeRef, Io, PollTable, ReadFolio, Readahead, SuperBlock};
use crate::kbase::vfs::FsStat;
use kernel::alloc::{KBox, KVec};
use kernel::error::Result;

/// What `setattr` is asked to change (`struct iattr`, flattened).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SetAttr {
    /// `ATTR_*` bits.
    pub(crate) valid: u32,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) size: i64,
    pub(crate) atime: (i64, u32),
    pub(crate) mtime: (i64, u32),
    /// `ATTR_FILE`: the open file (ftruncate), if any.
    pub(crate) file: *mut kernel::bindings::file,
}

impl SetAttr {
    /// The open file of an `ftruncate`/`futimens` (`ATTR_FILE`).
    pub(crate) fn open_file<T: RemoteFs>(&self) -> Option<&File<T>> {
        // SAFETY: with ATTR_FILE the VFS passes the open file whose inode
        // is being changed (one of ours), alive for the `setattr` call
        // that this value lives in.
        (!self.file.is_null()).then(|| unsafe { File::from_raw(self.file) })
    }
}

/// `ATTR_*` bits of `include/linux/fs.h`.
pub(crate) mod attr_bits {
    pub(crate) const MODE: u32 = 1 << 0;
    pub(crate) const UID: u32 = 1 << 1;
    pub(crate) const GID: u32 = 1 << 2;
    pub(crate) const SIZE: u32 = 1 << 3;
    pub(crate) const ATIME: u32 = 1 << 4;
    pub(crate) const MTIME: u32 = 1 << 5;
    pub(crate) const ATIME_SET: u32 = 1 << 7;
    pub(crate) const MTIME_SET: u32 = 1 << 8;
    pub(crate) const FILE: u32 = 1 << 13;
}

/// What [`RemoteFs::create_open`] did.
pub(crate) enum Created<T: RemoteFs> {
    /// Made and opened it.
    Opened(InodeRef<T>, KBox<T::Open>),
    /// It exists after all (made meanwhile by someone else, and `O_EXCL`
    /// was not asked for): the ordinary open path takes over.
    Exists(InodeRef<T>),
}

/// A file system whose inodes the kernel calls into.
pub(crate) trait RemoteFs: Sized + 'static {
    /// The options of a mount being set up (`fs_context`).
    type Mount: Send;
    /// Per super block.
    type Super: Send + Sync;
    /// Per inode.
    type Node: Send + Sync;
    /// Per open file.
    type Open: Send + Sync;
    /// `f_type` reported by `statfs(2)` and `s_magic`.
    const MAGIC: usize;

    /// A new mount's options, all defaults.
    fn new_mount() -> Result<Self::Mount>;
    /// One `-o` option (`key` or `key=value`); an unknown one is `EINVAL`.
    fn mount_param(m: &mut Self::Mount, key: &[u8], value: Option<&[u8]>) -> Result;
    /// Connects and resolves `source`; the super block's data and whether
    /// it must be read-only.
    fn new_super(m: &mut Self::Mount, source: &[u8]) -> Result<(KBox<Self::Super>, bool)>;
    /// The root inode, once the super block is set up.
    fn root(sb: &SuperBlock<Self>) -> Result<InodeRef<Self>>;
    /// A remount: refused unless nothing changes.
    fn reconfigure(sb: &SuperBlock<Self>, m: &mut Self::Mount) -> Result;

    fn statfs(d: &Dentry<Self>) -> Result<FsStat>;
    /// The mount's own options for /proc/mounts, each as `,key=value`.
    fn show_options(sb: &SuperBlock<Self>, out: &mut dyn core::fmt::Write) -> core::fmt::Result;
    /// The inode leaves the cache (its pages are already gone).
    fn evict(inode: &Inode<Self>);

    /// `None`: the name does not exist (a negative dentry is kept).
    fn lookup(dir: &Inode<Self>, d: &Dentry<Self>) -> Result<Option<InodeRef<Self>>>;
    /// Whether a cached dentry may still be used (never in RCU walk).
    fn revalidate(d: &Dentry<Self>, flags: u32) -> Result<bool>;
    fn create(dir: &Inode<Self>, d: &Dentry<Self>, mode: u32, excl: bool) -> Result<InodeRef<Self>>;
    /// `open(O_CREAT)` of a name that does not exist (as far as the cache
    /// knows): create it and open it in one step, the new file's
    /// permissions not checked (as `open(2)` does for a file it creates).
    fn create_open(
        dir: &Inode<Self>,
        d: &Dentry<Self>,
        flags: u32,
        mode: u32,
    ) -> Result<Created<Self>>;
    fn mkdir(dir: &Inode<Self>, d: &Dentry<Self>, mode: u32) -> Result<InodeRef<Self>>;
    fn mknod(dir: &Inode<Self>, d: &Dentry<Self>, mode: u32, major: u32, minor: u32)
        -> Result<InodeRef<Self>>;
    fn symlink(dir: &Inode<Self>, d: &Dentry<Self>, target: &[u8]) -> Result<InodeRef<Self>>;
    fn link(old: &Dentry<Self>, dir: &Inode<Self>, d: &Dentry<Self>) -> Result<InodeRef<Self>>;
    fn unlink(dir: &Inode<Self>, d: &Dentry<Self>) -> Result;
    fn rmdir(dir: &Inode<Self>, d: &Dentry<Self>) -> Result;
    fn rename(
        old_dir: &Inode<Self>,
        old: &Dentry<Self>,
        new_dir: &Inode<Self>,
        new: &Dentry<Self>,
        flags: u32,
    ) -> Result;
    fn setattr(d: &Dentry<Self>, attr: &SetAttr) -> Result;
    /// Brings the cached attributes up to date if `stat` needs it.
    fn getattr(inode: &Inode<Self>, request_mask: u32, flags: u32) -> Result;
    /// A symlink's target (`d` is the name it was reached by).
    fn get_link(inode: &Inode<Self>, d: &Dentry<Self>) -> Result<KVec<u8>>;

    fn open(inode: &Inode<Self>, file: &File<Self>) -> Result<KBox<Self::Open>>;
    fn release(inode: &Inode<Self>, open: KBox<Self::Open>);
    /// `close(2)` of one descriptor (write back, report errors).
    fn flush(file: &File<Self>) -> Result;
    fn read_iter(io: &mut Io<'_, Self>) -> Result<usize>;
    /// Whether reads of this open file go through the page cache (else
    /// `splice` and `sendfile` read through `read_iter` too).
    fn uses_page_cache(file: &File<Self>) -> bool;
    fn write_iter(io: &mut Io<'_, Self>) -> Result<usize>;
    fn fsync(file: &File<Self>, start: i64, end: i64, datasync: bool) -> Result;
    /// `->poll`: the events ready now; waits are registered on `table`.
    fn poll(file: &File<Self>, table: &mut PollTable<'_>) -> u32;
    /// `fallocate(2)`.
    fn fallocate(file: &File<Self>, mode: u32, offset: i64, len: i64) -> Result;
    /// Lists a directory from `ctx.pos()`.
    fn iterate(file: &File<Self>, ctx: &mut DirContext<'_>) -> Result;

    /// An extended attribute's value into `buf` (its size if `None`).
    fn getxattr(inode: &Inode<Self>, name: &[u8], buf: Option<&mut [u8]>) -> Result<usize>;
    /// Sets (`Some`) or removes (`None`) one; `flags` are `XATTR_CREATE`/`REPLACE`.
    fn setxattr(inode: &Inode<Self>, name: &[u8], value: Option<&[u8]>, flags: u32) -> Result;
    /// The names, NUL-separated, into `buf` (their size if `None`).
    fn listxattr(inode: &Inode<Self>, buf: Option<&mut [u8]>) -> Result<usize>;

    /// Fills one locked folio from the server (the open file, if known).
    fn read_folio(inode: &Inode<Self>, file: Option<&File<Self>>, folio: ReadFolio) -> Result;
    /// Fills as much of a readahead window as it can.
    fn readahead(inode: &Inode<Self>, file: Option<&File<Self>>, ra: &mut Readahead<'_>);
    /// Writes back `data`, the cached bytes at `pos`.
    fn write_folio(inode: &Inode<Self>, data: &[u8], pos: i64) -> Result;
}
