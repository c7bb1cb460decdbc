// SPDX-License-Identifier: GPL-2.0
//! The module parameters, read from the C shim.
//!
//! 6.12's `module!` macro has no parameters, so `shim/kbase_shim.c` declares
//! `qtfs_server_ip`, `qtfs_server_port` and `qtfs_log_level` with
//! `module_param(…, charp, 0444)` and exports accessors for them. This file
//! reads them once, at load, and hands them to [`super::config::validate`].
//!
//! C header: [`include/linux/moduleparam.h`](srctree/include/linux/moduleparam.h)

use super::config::{self, Config, Role, AUTH_KEY_LEN};
use kernel::alloc::{flags::GFP_KERNEL, KVec};
use kernel::error::{code::EINVAL, Result};
use kernel::ffi::c_char;
use kernel::str::CStr;

extern "C" {
    fn qtfs_shim_param_server_ip() -> *const c_char;
    fn qtfs_shim_param_server_port() -> *const c_char;
    fn qtfs_shim_param_log_level() -> *const c_char;
    fn qtfs_shim_param_auth_key() -> *const c_char;
    fn qtfs_shim_param_export() -> *const c_char;
    fn qtfs_shim_wipe_auth_key();
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

/// The server-only parameters, owned.
pub(crate) struct ServerParams {
    /// The pre-shared key, when `qtfs_auth_key` was given.
    pub(crate) auth_key: Option<[u8; AUTH_KEY_LEN]>,
    /// `qtfs_export` with a terminating NUL, when given.
    pub(crate) export: Option<KVec<u8>>,
}

/// Reads and validates `qtfs_auth_key` and `qtfs_export` (server only; the
/// client's shim has neither and this returns both unset), then wipes the
/// key string so that the hex digits do not stay in memory. Bad values are
/// reported like [`load`]'s (the key never echoed) and fail with `EINVAL`.
///
/// Must be called from the module's `init`.
pub(crate) fn load_server() -> Result<ServerParams> {
    // SAFETY: As in `load`: `qtfs_export` is `charp` 0444 (never written);
    // `qtfs_auth_key` is `charp` with mode 0, not in sysfs, so nothing but
    // `qtfs_shim_wipe_auth_key` below writes it, after the last use of `key`.
    let (key, export) =
        unsafe { (param_bytes(qtfs_shim_param_auth_key()), param_bytes(qtfs_shim_param_export())) };
    let result = match config::validate_server(key, export) {
        Ok(cfg) => {
            let export = match cfg.export {
                Some(e) => {
                    let mut v = KVec::with_capacity(e.len() + 1, GFP_KERNEL)?;
                    v.extend_from_slice(e, GFP_KERNEL)?;
                    v.push(0, GFP_KERNEL)?;
                    Some(v)
                }
                None => None,
            };
            Ok(ServerParams {
                auth_key: cfg.auth_key,
                export,
            })
        }
        Err(errors) => {
            for e in errors.iter().flatten() {
                kernel::pr_err!("{}\n", e);
            }
            Err(EINVAL)
        }
    };
    // SAFETY: Writes only the key parameter's own bytes (up to its NUL); the
    // slice `key` is not used after this point.
    unsafe { qtfs_shim_wipe_auth_key() };
    result
}

/// Reads and checks the client's `qtfs_auth_key`, then wipes the parameter
/// string. `None` when it is not set (mounts are then refused).
pub(crate) fn load_client_key() -> Result<Option<[u8; AUTH_KEY_LEN]>> {
    // SAFETY: the shim returns the parameter's pointer, NULL or a valid
    // NUL-terminated string that lives as long as the module.
    let key = unsafe { param_bytes(qtfs_shim_param_auth_key()) };
    let result = match config::validate_server(key, None) {
        Ok(cfg) => Ok(cfg.auth_key),
        Err(errors) => {
            for e in errors.iter().flatten() {
                kernel::pr_err!("{}\n", e);
            }
            Err(EINVAL)
        }
    };
    // SAFETY: overwrites the parameter string in place; nothing else reads
    // it after load.
    unsafe { qtfs_shim_wipe_auth_key() };
    result
}
