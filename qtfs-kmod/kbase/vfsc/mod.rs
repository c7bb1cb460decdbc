// SPDX-License-Identifier: GPL-2.0
//! The VFS seen from a file system that the kernel calls into: a network
//! file system's side of `struct super_block`, `inode`, `dentry`, `file`
//! and `folio`, in the manner of the out-of-tree "rust: fs" series.
//!
//! - [`RemoteFs`] (in [`ops`]) is what a file system implements: one
//!   method per VFS operation it supports, written in safe code against the
//!   wrapper types here.
//! - [`tables`] builds the C operation tables (`super_operations`,
//!   `inode_operations`, `file_operations`, `address_space_operations`,
//!   `dentry_operations`) as constants whose entries are trampolines that
//!   turn the raw pointers into these wrappers and call the trait.
//! - [`mount`] is the `fs_context` side: parameters and `fill_super`.
//!
//! Ownership: each inode's private data (`i_private`) is a
//! `KBox<InodeBox<T>>` installed when the inode is created by
//! [`SuperBlock::get_inode`] and freed in `->free_inode` (after an RCU
//! grace period, so RCU path walk never sees it freed). A super block's
//! `s_fs_info` is a `KBox<T::Super>` freed after `kill_anon_super`. An open
//! file's `private_data` is a `KBox<T::Open>` freed in `->release`.
//!
//! C half: `shim/client_vfs_shim.c`.
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h),
//! [`include/linux/fs_context.h`](srctree/include/linux/fs_context.h).

pub(crate) mod mount;
pub(crate) mod ops;
pub(crate) mod tables;
pub(crate) mod types;

pub(crate) use ops::{Created, RemoteFs};
pub(crate) use types::*;
