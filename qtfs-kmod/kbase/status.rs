// SPDX-License-Identifier: GPL-2.0
//! The module's status file, `/proc/fs/<module>/status`: a text file
//! written afresh by a [`StatusSource`] at each open (`single_open`), read
//! by `qtfsctl status`. The format is specified in `docs/status.md`.
//!
//! C headers: [`include/linux/proc_fs.h`](srctree/include/linux/proc_fs.h),
//! [`include/linux/seq_file.h`](srctree/include/linux/seq_file.h); the
//! entry and the show callback live in `shim/kbase_shim.c`.

use core::ffi::c_void;
use core::fmt::{self, Write};
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;
use kernel::str::CStr;

extern "C" {
    fn qtfs_shim_status_create(dir: *const c_char, show: unsafe extern "C" fn(*mut c_void) -> c_int) -> c_int;
    fn qtfs_shim_status_remove();
    fn qtfs_shim_seq_write(m: *mut c_void, buf: *const u8, len: usize) -> c_int;
}

/// What writes the status text.
pub(crate) trait StatusSource {
    /// Writes the whole text (may be called more than once per read if the
    /// first buffer was too small: it must not change anything).
    fn write_status(out: &mut dyn Write) -> fmt::Result;
}

/// A `fmt::Write` into the `seq_file` being filled.
///
/// # Invariants
///
/// `m` is the `seq_file` of the show callback running now.
struct SeqWriter {
    m: *mut c_void,
}

impl Write for SeqWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: By the invariant `m` is the live `seq_file` of this show
        // call; `s` is valid for reads of `s.len()` bytes. `seq_write`
        // copies them (or marks the buffer overflowed and returns -1, in
        // which case the seq_file core calls show again with more room).
        if unsafe { qtfs_shim_seq_write(self.m, s.as_ptr(), s.len()) } != 0 {
            return Err(fmt::Error);
        }
        Ok(())
    }
}

/// Runs `f` with a writer into the `seq_file` `m` (for other show
/// callbacks, such as a super block's `show_options`).
///
/// # Safety
///
/// `m` is a `seq_file` being filled by the caller's show callback, valid
/// for the duration of this call.
pub(crate) unsafe fn write_seq(m: *mut c_void, f: impl FnOnce(&mut dyn Write) -> fmt::Result) {
    // INVARIANT: `m` is the live `seq_file` of this show call.
    let mut w = SeqWriter { m };
    let _ = f(&mut w);
}

/// The show callback the shim's `single_open` calls.
///
/// # Safety
///
/// `m` is the `seq_file` being filled, valid for this call.
unsafe extern "C" fn show<S: StatusSource>(m: *mut c_void) -> c_int {
    // INVARIANT: `m` is this show call's `seq_file`, per the safety contract.
    let mut w = SeqWriter { m };
    // An overflow is retried by seq_file with a bigger buffer; no error.
    let _ = S::write_status(&mut w);
    0
}

/// The registered status file; removed on drop (waiting for readers).
///
/// # Invariants
///
/// At most one exists per module (the shim keeps one entry).
pub(crate) struct StatusFile(());

impl StatusFile {
    /// Creates `/proc/<dir>/status` (for example `dir` = `fs/qtfs`).
    pub(crate) fn create<S: StatusSource>(dir: &'static CStr) -> Result<StatusFile> {
        // SAFETY: `dir` is a NUL-terminated string that lives forever;
        // `show::<S>` matches the callback type and stays valid for the
        // module's life, and the entry is removed (by `Drop`) before the
        // module's text goes away.
        let r = unsafe { qtfs_shim_status_create(dir.as_char_ptr(), show::<S>) };
        if r != 0 {
            return Err(Error::from_errno(r));
        }
        Ok(StatusFile(()))
    }
}

impl Drop for StatusFile {
    fn drop(&mut self) {
        // SAFETY: The entry was created by `create` (the invariant: this is
        // the only one); `proc_remove` waits for readers in the callback.
        unsafe { qtfs_shim_status_remove() };
    }
}
