// SPDX-License-Identifier: GPL-2.0
//! kbase: the thin layer of qtfs-kmod that owns the `unsafe`.
//!
//! Both modules pull this directory in as source (`#[path = "../kbase/mod.rs"]
//! mod kbase;`), so each gets its own copy; `shim/kbase_shim.c` is its C
//! half. Safe types over `kernel::bindings`, each `unsafe` block justified by
//! a `// SAFETY:` comment and each `unsafe fn` by a `# Safety` section; the
//! client and server logic is written against these types, in safe code.
//!
//! - [`config`]: validation of the module parameters (pure, unit-tested);
//! - [`param`]: reading the parameters from the shim;
//! - [`log`]: logging filtered by `qtfs_log_level`;
//! - [`net`]: TCP listener and stream, released on drop;
//! - [`kthread`]: kernel threads running a closure, stopped on drop;
//! - [`fs`]: file system type registration, undone on drop;
//! - [`sys`]: random bytes, a monotonic clock, a rate limit;
//! - [`vfs`]: paths and open files (lookup, getattr, statfs, readlink,
//!   read, readdir), released on drop;
//! - [`cred`]: running the current thread with a caller's credentials, and
//!   reading the current task's;
//! - [`completion`]: a killable, bounded one-shot wait;
//! - [`nofs`]: a scope whose allocations do not recurse into file systems;
//! - [`stats`]: per-operation counters and latency histograms (pure);
//! - [`status`]: the module's `/proc/fs/<module>/status` file;
//! - `vfsc` (client only): the VFS objects a file system is handed, its
//!   operation tables and its mount.
//!
//! A module uses only part of it, hence `dead_code` is allowed here.
#![allow(dead_code)]

pub(crate) mod completion;
pub(crate) mod config;
pub(crate) mod cred;
pub(crate) mod errno;
pub(crate) mod fs;
pub(crate) mod kthread;
pub(crate) mod log;
pub(crate) mod net;
pub(crate) mod nofs;
pub(crate) mod param;
pub(crate) mod stats;
pub(crate) mod status;
pub(crate) mod sys;
pub(crate) mod vfs;
/// The VFS seen from a file system (the client only: its C half is
/// `shim/client_vfs_shim.c`).
#[cfg(qtfs_client)]
pub(crate) mod vfsc;
