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

/// Nanoseconds on the monotonic clock (`ktime_get`), for latencies.
pub(crate) fn monotonic_ns() -> u64 {
    // SAFETY: As in `monotonic_ms`.
    let ns = unsafe { bindings::ktime_get() };
    u64::try_from(ns).unwrap_or(0)
}

/// Whether a rate-limited line may be printed now: at most 10 per 5 s for
/// the whole module (`__ratelimit`).
pub(crate) fn ratelimit_ok() -> bool {
    // SAFETY: The shim takes its static state's lock (a raw spinlock, with
    // trylock) and returns; no preconditions.
    unsafe { qtfs_shim_ratelimit() != 0 }
}


/// A global of the module: set once at init, read by callbacks that can
/// only run while the module is in use, cleared at exit.
///
/// # Invariants
///
/// `ptr` is null or points into the `Pin<KBox<T>>` owned by the live
/// [`GlobalGuard`]; the guard clears it before freeing the box.
pub(crate) struct ModuleGlobal<T> {
    ptr: core::sync::atomic::AtomicPtr<T>,
}

impl<T> ModuleGlobal<T> {
    pub(crate) const fn new() -> Self {
        ModuleGlobal {
            ptr: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// Publishes `value` until the guard drops.
    pub(crate) fn set(&'static self, value: core::pin::Pin<kernel::alloc::KBox<T>>) -> GlobalGuard<T> {
        let p = (&*value as *const T).cast_mut();
        self.ptr.store(p, core::sync::atomic::Ordering::Release);
        GlobalGuard {
            global: self,
            value: Some(value),
        }
    }

    /// The value, between `set` and the guard's drop.
    ///
    /// Only file system and module callbacks call this: the VFS holds a
    /// reference on the module for every mounted super block and while a
    /// mount is being made, so module exit (which drops the guard) cannot
    /// run concurrently with them.
    pub(crate) fn get(&self) -> Option<&T> {
        let p = self.ptr.load(core::sync::atomic::Ordering::Acquire);
        // SAFETY: non-null means the guard is alive (type invariant), and
        // per the above it outlives every caller.
        (!p.is_null()).then(|| unsafe { &*p })
    }
}

/// Keeps a [`ModuleGlobal`] set.
pub(crate) struct GlobalGuard<T: 'static> {
    global: &'static ModuleGlobal<T>,
    value: Option<core::pin::Pin<kernel::alloc::KBox<T>>>,
}

impl<T> GlobalGuard<T> {
    /// The value.
    pub(crate) fn value(&self) -> Option<&T> {
        self.value.as_deref()
    }
}

impl<T> Drop for GlobalGuard<T> {
    fn drop(&mut self) {
        self.global
            .ptr
            .store(core::ptr::null_mut(), core::sync::atomic::Ordering::Release);
        drop(self.value.take());
    }
}

/// `SIGPIPE` to the current task, as a local pipe's write with no reader
/// sends it (`pipe_write`).
pub(crate) fn raise_sigpipe() {
    /// `SIGPIPE` of `include/uapi/asm-generic/signal.h`.
    const SIGPIPE: c_int = 13;
    // SAFETY: `get_current` returns the running task, alive for the call;
    // `send_sig` takes the task's signal lock itself.
    unsafe { bindings::send_sig(SIGPIPE, bindings::get_current(), 0) };
}
