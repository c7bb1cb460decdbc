// SPDX-License-Identifier: GPL-2.0
//! Small kernel services: random bytes, a monotonic clock, a rate limit.
//!
//! C headers: [`include/linux/random.h`](srctree/include/linux/random.h),
//! [`include/linux/timekeeping.h`](srctree/include/linux/timekeeping.h),
//! [`include/linux/ratelimit.h`](srctree/include/linux/ratelimit.h) (the
//! state lives in `shim/kbase_shim.c`).

use kernel::bindings;
use kernel::ffi::c_int;

extern "C" {
    fn qtfs_shim_ratelimit() -> c_int;
}

/// Fills `buf` from the kernel's CSPRNG (`get_random_bytes`).
pub(crate) fn random_bytes(buf: &mut [u8]) {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes and borrowed
    // mutably for the call; `get_random_bytes` never sleeps or fails.
    unsafe { bindings::get_random_bytes(buf.as_mut_ptr().cast(), buf.len()) };
}

/// Milliseconds on the monotonic clock (`ktime_get`), for deadlines.
pub(crate) fn monotonic_ms() -> u64 {
    // SAFETY: `ktime_get` has no preconditions (callable from any context
    // once timekeeping is up, long before modules load).
    let ns = unsafe { bindings::ktime_get() };
    u64::try_from(ns).unwrap_or(0) / 1_000_000
}

/// Whether a rate-limited line may be printed now: at most 10 per 5 s for
/// the whole module (`__ratelimit`).
pub(crate) fn ratelimit_ok() -> bool {
    // SAFETY: The shim takes its static state's lock (a raw spinlock, with
    // trylock) and returns; no preconditions.
    unsafe { qtfs_shim_ratelimit() != 0 }
}
