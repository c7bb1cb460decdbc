// SPDX-License-Identifier: GPL-2.0
//! Kernel threads that run a Rust closure and are stopped on drop.
//!
//! [`Kthread::spawn`] starts `kthread_create_on_node` + `wake_up_process`
//! with an extra reference on the task, so the thread may return on its own
//! at any time; dropping the [`Kthread`] (or [`Kthread::stop`]) calls
//! `kthread_stop_put`, which asks it to stop, wakes it (interruptible sleeps
//! return, see `TIF_NOTIFY_SIGNAL` in `kthread_stop`), waits until it has
//! exited and drops the reference. The closure polls
//! [`StopToken::should_stop`] between bounded waits.
//!
//! C header: [`include/linux/kthread.h`](srctree/include/linux/kthread.h)

use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::alloc::{flags::GFP_KERNEL, KBox};
use kernel::bindings;
use kernel::error::{from_err_ptr, Result};
use kernel::ffi::{c_int, c_void};
use kernel::str::CStr;

/// Given to a thread's closure; exists only on that thread.
pub(crate) struct StopToken {
    /// `!Send` and `!Sync`: `kthread_should_stop()` must be called by the
    /// kernel thread itself.
    _not_send: PhantomData<*mut ()>,
}

impl StopToken {
    /// Whether [`Kthread::stop`] (or the drop of the [`Kthread`]) asked this
    /// thread to finish.
    pub(crate) fn should_stop(&self) -> bool {
        // SAFETY: A `StopToken` only exists inside `trampoline`, i.e. on a
        // kernel thread created by `kthread_create_on_node`, which is what
        // `kthread_should_stop` requires of `current`.
        unsafe { bindings::kthread_should_stop() }
    }

    /// Sleeps up to `ms` milliseconds; returns early when the thread is
    /// asked to stop. Interruptible (no hung-task report).
    pub(crate) fn sleep_ms(&self, ms: u32) {
        // SAFETY: Plain sleep of the current task; no preconditions beyond a
        // sleepable context, which a kernel thread's main function is.
        unsafe { bindings::msleep_interruptible(ms) };
    }
}

/// A running (or finished) kernel thread.
///
/// # Invariants
///
/// `task` is a kernel thread created by `kthread_create_on_node` and woken;
/// this value holds one reference on it (`get_task_struct`) that is dropped
/// exactly once, by `kthread_stop_put`.
pub(crate) struct Kthread {
    task: NonNull<bindings::task_struct>,
}

// SAFETY: The handle is just a counted task reference; `kthread_stop_put`
// may be called from any thread.
unsafe impl Send for Kthread {}
// SAFETY: No method takes `&self` to act on the task.
unsafe impl Sync for Kthread {}

/// Runs the closure that `spawn` boxed; the thread's main function.
///
/// # Safety
///
/// `data` must come from `KBox::into_raw` of a `KBox<F>` and be passed to
/// this function once; the caller is the new kernel thread.
unsafe extern "C" fn trampoline<F>(data: *mut c_void) -> c_int
where
    F: FnOnce(&StopToken) -> i32 + Send + 'static,
{
    // SAFETY: Per this function's contract, `data` is the unique owner
    // pointer of a `KBox<F>` that nobody else will use.
    let f = unsafe { KBox::from_raw(data.cast::<F>()) };
    let token = StopToken {
        _not_send: PhantomData,
    };
    (KBox::into_inner(f))(&token)
}

impl Kthread {
    /// Starts a kernel thread named `name` (at most 15 bytes are shown in
    /// `/proc/<pid>/comm`) running `f`. The value `f` returns is what
    /// [`Self::stop`] returns.
    pub(crate) fn spawn<F>(name: &CStr, f: F) -> Result<Self>
    where
        F: FnOnce(&StopToken) -> i32 + Send + 'static,
    {
        let data = KBox::into_raw(KBox::new(f, GFP_KERNEL)?);
        // SAFETY: `trampoline::<F>` has the signature of a thread function
        // and its contract holds: `data` comes from `KBox::into_raw` and the
        // thread calls it exactly once. `"%s"` with `name` (a valid
        // NUL-terminated string, copied by the callee) builds the comm.
        // NUMA_NO_NODE is -1.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(trampoline::<F>),
                data.cast(),
                -1,
                c"%s".as_ptr().cast(),
                name.as_char_ptr(),
            )
        };
        let task = match from_err_ptr(task) {
            Ok(t) => t,
            Err(e) => {
                // SAFETY: On failure the thread function never runs (even on
                // a fatal signal, where kthreadd's thread exits without
                // calling it), so `data` is still ours, from `into_raw`.
                drop(unsafe { KBox::from_raw(data) });
                return Err(e);
            }
        };
        let task = NonNull::new(task).ok_or(kernel::error::code::ENOMEM)?;
        // SAFETY: `task` is a new, not yet woken kernel thread: valid. The
        // extra reference keeps it valid even if `f` returns before `stop`.
        unsafe { bindings::get_task_struct(task.as_ptr()) };
        // SAFETY: `task` is valid (reference held above).
        unsafe { bindings::wake_up_process(task.as_ptr()) };
        // INVARIANT: created, woken, one reference held.
        Ok(Kthread { task })
    }

    /// Asks the thread to stop, waits until it has exited and returns the
    /// closure's result.
    pub(crate) fn stop(self) -> i32 {
        let task = self.task;
        core::mem::forget(self);
        // SAFETY: `task` is a kernel thread with a reference we own (type
        // invariant); `forget` above guarantees `drop` won't put it again.
        unsafe { bindings::kthread_stop_put(task.as_ptr()) }
    }
}

impl Drop for Kthread {
    fn drop(&mut self) {
        // SAFETY: `task` is a kernel thread with a reference we own (type
        // invariant), put exactly once here.
        unsafe { bindings::kthread_stop_put(self.task.as_ptr()) };
    }
}
