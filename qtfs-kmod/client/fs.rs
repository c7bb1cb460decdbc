// SPDX-License-Identifier: GPL-2.0
//! The file system type `qtfs`: the [`RemoteFs`] implementation, each
//! operation handed to the module that does that job (`vfs_super`,
//! `vfs_inode`, `vfs_dentry`, `vfs_dir`, `vfs_file`).
#![forbid(unsafe_code)]

use crate::kbase::vfs::FsStat;
use crate::kbase::vfsc::ops::SetAttr;
use crate::kbase::vfsc::{
    Created,    Dentry, DirContext, File, Inode, InodeRef, Io, ReadFolio, Readahead, RemoteFs, SuperBlock,
};
use crate::node::{forget_all, Node};
use crate::options::Options;
use crate::vfs_file::Open;
use crate::vfs_super::{MountOpts, SuperInfo};
use crate::{vfs_dentry, vfs_dir, vfs_file, vfs_inode, vfs_super, vfs_xattr};
use kernel::alloc::KVec;
use kernel::prelude::*;

/// The file system type.
pub(crate) struct Qtfs;

impl RemoteFs for Qtfs {
    type Mount = MountOpts;
    type Super = SuperInfo;
    type Node = Node;
    type Open = Open;
    /// "QTFS" in ASCII.
    const MAGIC: usize = 0x5154_4653;

    fn new_mount() -> Result<MountOpts> {
        Ok(MountOpts {
            opts: Options::default(),
        })
    }
    fn mount_param(m: &mut MountOpts, key: &[u8], value: Option<&[u8]>) -> Result {
        vfs_super::param(m, key, value)
    }
    fn new_super(m: &mut MountOpts, source: &[u8]) -> Result<(KBox<SuperInfo>, bool)> {
        vfs_super::new_super(m, source)
    }
    fn root(sb: &SuperBlock<Self>) -> Result<InodeRef<Self>> {
        vfs_super::root(sb)
    }
    fn reconfigure(sb: &SuperBlock<Self>, m: &mut MountOpts) -> Result {
        vfs_super::reconfigure(sb, m)
    }
    fn statfs(d: &Dentry<Self>) -> Result<FsStat> {
        vfs_super::statfs(d)
    }
    fn show_options(sb: &SuperBlock<Self>, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        vfs_super::show_options(sb, out)
    }
    fn evict(inode: &Inode<Self>) {
        forget_all(inode.data());
    }
    fn lookup(dir: &Inode<Self>, d: &Dentry<Self>) -> Result<Option<InodeRef<Self>>> {
        vfs_inode::lookup(dir, d)
    }
    fn revalidate(d: &Dentry<Self>, flags: u32) -> Result<bool> {
        vfs_dentry::revalidate(d, flags)
    }
    fn create(dir: &Inode<Self>, d: &Dentry<Self>, mode: u32, excl: bool) -> Result<InodeRef<Self>> {
        vfs_inode::create(dir, d, mode, excl)
    }
    fn create_open(dir: &Inode<Self>, d: &Dentry<Self>, flags: u32, mode: u32) -> Result<Created<Self>> {
        vfs_file::create_open(dir, d, flags, mode)
    }
    fn mkdir(dir: &Inode<Self>, d: &Dentry<Self>, mode: u32) -> Result<InodeRef<Self>> {
        vfs_inode::mkdir(dir, d, mode)
    }
    fn mknod(dir: &Inode<Self>, d: &Dentry<Self>, mode: u32, major: u32, minor: u32) -> Result<InodeRef<Self>> {
        vfs_inode::mknod(dir, d, mode, major, minor)
    }
    fn symlink(dir: &Inode<Self>, d: &Dentry<Self>, target: &[u8]) -> Result<InodeRef<Self>> {
        vfs_inode::symlink(dir, d, target)
    }
    fn link(old: &Dentry<Self>, dir: &Inode<Self>, d: &Dentry<Self>) -> Result<InodeRef<Self>> {
        vfs_inode::link(old, dir, d)
    }
    fn unlink(dir: &Inode<Self>, d: &Dentry<Self>) -> Result {
        vfs_inode::unlink(dir, d)
    }
    fn rmdir(dir: &Inode<Self>, d: &Dentry<Self>) -> Result {
        vfs_inode::rmdir(dir, d)
    }
    fn rename(od: &Inode<Self>, o: &Dentry<Self>, nd: &Inode<Self>, n: &Dentry<Self>, flags: u32) -> Result {
        vfs_inode::rename(od, o, nd, n, flags)
    }
    fn setattr(d: &Dentry<Self>, a: &SetAttr) -> Result {
        vfs_inode::setattr(d, a)
    }
    fn getattr(inode: &Inode<Self>, mask: u32, flags: u32) -> Result {
        vfs_inode::getattr(inode, mask, flags)
    }
    fn get_link(inode: &Inode<Self>, d: &Dentry<Self>) -> Result<KVec<u8>> {
        vfs_inode::get_link(inode, d)
    }
    fn open(inode: &Inode<Self>, file: &File<Self>) -> Result<KBox<Open>> {
        vfs_file::open(inode, file)
    }
    fn release(inode: &Inode<Self>, open: KBox<Open>) {
        vfs_file::release(inode, open)
    }
    fn flush(file: &File<Self>) -> Result {
        vfs_file::flush(file)
    }
    fn read_iter(io: &mut Io<'_, Self>) -> Result<usize> {
        vfs_file::read_iter(io)
    }
    fn uses_page_cache(file: &File<Self>) -> bool {
        vfs_file::uses_page_cache(file)
    }
    fn write_iter(io: &mut Io<'_, Self>) -> Result<usize> {
        vfs_file::write_iter(io)
    }
    fn fsync(file: &File<Self>, start: i64, end: i64, datasync: bool) -> Result {
        vfs_file::fsync(file, start, end, datasync)
    }
    fn poll(file: &File<Self>, table: &mut crate::kbase::vfsc::PollTable<'_>) -> u32 {
        vfs_file::poll(file, table)
    }
    fn fallocate(file: &File<Self>, mode: u32, offset: i64, len: i64) -> Result {
        vfs_file::fallocate(file, mode, offset, len)
    }
    fn iterate(file: &File<Self>, ctx: &mut DirContext<'_>) -> Result {
        vfs_dir::iterate(file, ctx)
    }
    fn getxattr(inode: &Inode<Self>, name: &[u8], buf: Option<&mut [u8]>) -> Result<usize> {
        vfs_xattr::get(inode, name, buf)
    }
    fn setxattr(inode: &Inode<Self>, name: &[u8], value: Option<&[u8]>, flags: u32) -> Result {
        vfs_xattr::set(inode, name, value, flags)
    }
    fn listxattr(inode: &Inode<Self>, buf: Option<&mut [u8]>) -> Result<usize> {
        vfs_xattr::list(inode, buf)
    }
    fn read_folio(inode: &Inode<Self>, file: Option<&File<Self>>, folio: ReadFolio) -> Result {
        vfs_file::read_folio(inode, file, folio)
    }
    fn readahead(inode: &Inode<Self>, file: Option<&File<Self>>, ra: &mut Readahead<'_>) {
        vfs_file::readahead(inode, file, ra)
    }
    fn write_folio(inode: &Inode<Self>, data: &[u8], pos: i64) -> Result {
        vfs_file::write_folio(inode, data, pos)
    }
}
