// SPDX-License-Identifier: GPL-2.0
//! The module parameters, read from the C shim.
//!
//! 6.12's `module!` macro has no parameters, so `shim/kbase_shim.c` declares
//! `qtfs_server_ip`, `qtfs_server_port` and `qtfs_log_level` with
//! `module_param(…, charp, 0444)` and exports accessors for them. This file
//! reads them once, at load, and hands them to [`super::config::validate`];
//! the server's `qtfs_exports` has a handler for runtime writes
//! ([`ExportsHook`]) and `qtfs_root_squash` is read per request.
//!
//! C header: [`include/linux/moduleparam.h`](srctree/include/linux/moduleparam.h)

use super::config::{self, Config, Role, AUTH_KEY_LEN};

use kernel::error::{code::EINVAL, Result};
use kernel::ffi::{c_char, c_int, c_void};
use kernel::str::CStr;
use kernel::sync::Arc;

extern "C" {
    fn qtfs_shim_param_server_ip() -> *const c_char;
    fn qtfs_shim_param_server_port() -> *const c_char;
    fn qtfs_shim_param_log_level() -> *const c_char;
    fn qtfs_shim_param_auth_key() -> *const c_char;
    fn qtfs_shim_wipe_auth_key();
    fn qtfs_shim_exports_attach(ctx: *mut c_void, f: ExportsFn) -> c_int;
    fn qtfs_shim_exports_detach();
    fn qtfs_shim_param_root_squash() -> c_int;
}

/// Turns a `charp` parameter into its bytes (`None` when unset).
///
/// # Safety
///
/// `p` must be null or point to a NUL-terminated string that stays valid
/// and unchanged while the returned slice is used.
unsafe fn param_bytes<'a>(p: *const c_char) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` is non-null and, per this function's contract, a valid
    // NUL-terminated string that outlives `'a` and is not written meanwhile.
    Some(unsafe { CStr::from_char_ptr(p) }.as_bytes())
}

/// Reads and validates the parameters. Every refused parameter is reported
/// with `pr_err!` (whatever the log level: it is not known yet), naming the
/// parameter and the value; then the load fails with `EINVAL`.
///
/// Must be called from the module's `init`.
pub(crate) fn load(role: Role) -> Result<Config> {
    // SAFETY: The accessors only return the parameter pointers. The
    // parameters are `charp` with mode 0444, so nothing writes them after
    // the module's arguments were parsed, which happened before `init`; the
    // strings live until the module is freed, after `init` and `exit`, and
    // the slices are dropped before this function returns.
    let (ip, port, level) = unsafe {
        (
            param_bytes(qtfs_shim_param_server_ip()),
            param_bytes(qtfs_shim_param_server_port()),
            param_bytes(qtfs_shim_param_log_level()),
        )
    };
    match config::validate(role, ip, port, level) {
        Ok(cfg) => Ok(cfg),
        Err(errors) => {
            for e in errors.iter().flatten() {
                kernel::pr_err!("{}\n", e);
            }
            Err(EINVAL)
        }
    }
}

/// Reads and validates `qtfs_auth_key` (server only; the client's shim
/// has none and this returns `None`), then wipes the key string so that
/// the hex digits do not stay in memory. A bad key is reported without
/// echoing it and fails with `EINVAL`.
///
/// Must be called from the module's `init`.
pub(crate) fn load_key() -> Result<Option<[u8; AUTH_KEY_LEN]>> {
    // SAFETY: `qtfs_auth_key` is `charp` with mode 0, not in sysfs, so
    // nothing but `qtfs_shim_wipe_auth_key` below writes it, after the last
    // use of `key`.
    let key = unsafe { param_bytes(qtfs_shim_param_auth_key()) };
    let result = config::validate_key(key).map_err(|e| {
        kernel::pr_err!("{}\n", e);
        EINVAL
    });
    // SAFETY: Writes only the key parameter's own bytes (up to its NUL); the
    // slice `key` is not used after this point.
    unsafe { qtfs_shim_wipe_auth_key() };
    result
}

/// Whether `qtfs_root_squash` is set now (it may change at runtime).
pub(crate) fn root_squash() -> bool {
    // SAFETY: Reads a `bool` parameter with READ_ONCE; no preconditions.
    unsafe { qtfs_shim_param_root_squash() != 0 }
}

/// What handles a new `qtfs_exports` value: validates it and applies it
/// atomically, or refuses it (the error is what the writer sees, with
/// nothing changed). Called with the module's parameter lock held, in the
/// writer's process context (it may sleep; it must not touch parameters).
pub(crate) trait ExportsSink: Send + Sync {
    /// Applies `value` (the bytes written, perhaps with a newline).
    fn set(&self, value: &[u8]) -> Result;
}

type ExportsFn = unsafe extern "C" fn(ctx: *mut c_void, val: *const c_char, len: usize) -> c_int;

/// # Safety
///
/// `ctx` must be the `Arc<T>` (from `Arc::into_raw`) that an
/// [`ExportsHook`] keeps alive while attached, and `val` valid for reads of
/// `len` bytes during the call.
unsafe extern "C" fn exports_trampoline<T: ExportsSink>(
    ctx: *mut c_void,
    val: *const c_char,
    len: usize,
) -> c_int {
    // SAFETY: Per the contract, `ctx` points to a live `T` owned by the hook.
    let sink = unsafe { &*ctx.cast::<T>() };
    // SAFETY: Per the contract, `val` is valid for `len` bytes.
    let value = unsafe { core::slice::from_raw_parts(val.cast::<u8>(), len) };
    match sink.set(value) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The handler of `qtfs_exports` writes, attached until dropped.
///
/// # Invariants
///
/// `ctx` came from `Arc::into_raw` of an `Arc<T>` whose drop function is
/// `drop_ctx`; the shim may call the handler with it until `drop`, which
/// detaches it (under the parameter lock, so no call is running
/// afterwards) and only then releases the reference.
pub(crate) struct ExportsHook {
    ctx: *mut c_void,
    drop_ctx: unsafe fn(*mut c_void),
}

// SAFETY: The hook holds an `Arc<T>` with `T: Send + Sync`.
unsafe impl Send for ExportsHook {}
// SAFETY: No method acts through `&self`.
unsafe impl Sync for ExportsHook {}

/// # Safety
///
/// `p` must come from `Arc::<T>::into_raw` and not be used afterwards.
unsafe fn drop_arc<T>(p: *mut c_void) {
    // SAFETY: Per the contract.
    drop(unsafe { Arc::from_raw(p.cast::<T>().cast_const()) });
}

impl ExportsHook {
    /// Hands the current `qtfs_exports` value to `sink` (whose error fails
    /// this call) and, if accepted, routes every later write to it. Server
    /// only (the client's shim refuses with `EINVAL`).
    pub(crate) fn attach<T: ExportsSink + 'static>(sink: Arc<T>) -> Result<ExportsHook> {
        let ctx = Arc::into_raw(sink).cast_mut().cast::<c_void>();
        // SAFETY: `exports_trampoline::<T>`'s contract holds for `ctx`
        // while attached: the reference is released only after detaching
        // (in `drop`, or below on failure, when it was never kept).
        let err = unsafe { qtfs_shim_exports_attach(ctx, exports_trampoline::<T>) };
        if err != 0 {
            // SAFETY: Not attached: nobody else uses `ctx`.
            unsafe { drop_arc::<T>(ctx) };
            return Err(kernel::error::Error::from_errno(err));
        }
        // INVARIANT: attached; `drop_arc::<T>` matches the Arc's type.
        Ok(ExportsHook {
            ctx,
            drop_ctx: drop_arc::<T>,
        })
    }
}

impl Drop for ExportsHook {
    fn drop(&mut self) {
        // SAFETY: Takes the parameter lock and clears the handler.
        unsafe { qtfs_shim_exports_detach() };
        // SAFETY: Detached, so the shim no longer uses `ctx` (invariant).
        unsafe { (self.drop_ctx)(self.ctx) };
    }
}
