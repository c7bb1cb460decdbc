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

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::alloc::{flags::GFP_KERNEL, KBox};
use kernel::bindings;
use kernel::error::{from_err_ptr, Result};
use kernel::ffi::{c_int, c_void};
use kernel::str::CStr;

extern "C" {
    fn qtfs_shim_allow_sigint();
    fn qtfs_shim_flush_signals();
    fn qtfs_shim_send_sigint(t: *mut c_void);
}

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

    /// Lets other threads interrupt this thread's interruptible waits
    /// (allows `SIGINT`) and returns the handle they do it with.
    pub(crate) fn interrupter(&self) -> Interrupter {
        // SAFETY: Acts on `current`, a kernel thread (StopToken invariant):
        // it will receive SIGINT instead of ignoring it.
        unsafe { qtfs_shim_allow_sigint() };
        // SAFETY: `get_current` returns the running task, valid here.
        let task = unsafe { bindings::get_current() };
        // SAFETY: `task` is valid (it is us); the reference taken is
        // dropped by `Interrupter::drop`.
        unsafe { bindings::get_task_struct(task) };
        // INVARIANT: a referenced kernel thread that allows SIGINT.
        Interrupter {
            // SAFETY: `current` is never null.
            task: unsafe { NonNull::new_unchecked(task) },
        }
    }

    /// Clears an interruption ([`Interrupter::interrupt`]) that may be
    /// pending (`flush_signals`); a stop request stays (it is not a signal).
    pub(crate) fn clear_interrupt(&self) {
        // SAFETY: Flushes the signals of `current`, a kernel thread.
        unsafe { qtfs_shim_flush_signals() };
    }

    /// Sleeps up to `ms` milliseconds; returns early when the thread is
    /// asked to stop. Interruptible (no hung-task report).
    pub(crate) fn sleep_ms(&self, ms: u32) {
        // SAFETY: Plain sleep of the current task; no preconditions beyond a
        // sleepable context, which a kernel thread's main function is.
        unsafe { bindings::msleep_interruptible(ms) };
    }
}

/// Interrupts the interruptible waits (a blocked FIFO open or read, a
/// socket wait) of the kernel thread that created it, by sending it
/// `SIGINT`; the thread later clears it ([`StopToken::clear_interrupt`]).
///
/// # Invariants
///
/// `task` is a kernel thread that allowed SIGINT (`allow_signal`), with a
/// reference held by this value and dropped once on drop.
pub(crate) struct Interrupter {
    task: NonNull<bindings::task_struct>,
}

// SAFETY: A counted task reference; `send_sig` may be called from any
// thread.
unsafe impl Send for Interrupter {}
// SAFETY: `interrupt` only sends a signal, which the kernel serialises.
unsafe impl Sync for Interrupter {}

impl Interrupter {
    /// Sends the thread `SIGINT` (nothing happens if it has exited).
    pub(crate) fn interrupt(&self) {
        // SAFETY: `task` is valid while we hold our reference (invariant).
        unsafe { qtfs_shim_send_sigint(self.task.as_ptr().cast()) };
    }
}

impl Drop for Interrupter {
    fn drop(&mut self) {
        // SAFETY: Drops the reference taken in `StopToken::interrupter`.
        unsafe { bindings::put_task_struct(self.task.as_ptr()) };
    }
}

/// The closure of a thread, shared by the thread and its [`Kthread`].
///
/// The thread takes the closure out when its function starts; the
/// `Kthread` frees the allocation once the thread has exited (after
/// `kthread_stop_put`). A thread stopped before its function ever ran
/// (`kthread()` then exits without calling it) leaves the closure inside,
/// and it is dropped with the allocation: nothing leaks either way.
struct Slot<F> {
    f: UnsafeCell<Option<F>>,
}

/// Frees a `KBox<Slot<F>>` given as its raw pointer.
///
/// # Safety
///
/// `p` must come from `KBox::into_raw` of a `KBox<Slot<F>>`, the thread
/// using it must have exited, and `p` must not be used afterwards.
unsafe fn free_slot<F>(p: NonNull<c_void>) {
    // SAFETY: Per the contract, `p` is the unique owner pointer of a
    // `KBox<Slot<F>>` nobody uses any more.
    drop(unsafe { KBox::from_raw(p.as_ptr().cast::<Slot<F>>()) });
}

/// A running (or finished) kernel thread.
///
/// # Invariants
///
/// `task` is a kernel thread created by `kthread_create_on_node` and woken;
/// this value holds one reference on it (`get_task_struct`) that is dropped
/// exactly once, by `kthread_stop_put`. `slot` is the thread's `KBox<Slot<F>>`
/// (as a raw pointer) and `free` the matching [`free_slot`]; it is freed
/// exactly once, after `kthread_stop_put` (when the thread has exited).
pub(crate) struct Kthread {
    task: NonNull<bindings::task_struct>,
    slot: NonNull<c_void>,
    free: unsafe fn(NonNull<c_void>),
}

// SAFETY: The handle is a counted task reference and the pointer to a slot
// whose closure is `Send`; `kthread_stop_put` and the freeing may happen on
// any thread.
unsafe impl Send for Kthread {}
// SAFETY: No method takes `&self` to act on the task or the slot.
unsafe impl Sync for Kthread {}

/// Runs the closure that `spawn` stored; the thread's main function.
///
/// # Safety
///
/// `data` must be the `Slot<F>` of this thread (from `spawn`), alive until
/// the thread exits, and this function called once, by the new thread.
unsafe extern "C" fn trampoline<F>(data: *mut c_void) -> c_int
where
    F: FnOnce(&StopToken) -> i32 + Send + 'static,
{
    // SAFETY: Per this function's contract `data` is our live `Slot<F>`;
    // only this thread touches `f` until it exits (the `Kthread` reads it
    // only after `kthread_stop_put`, which waits for the exit).
    let f = unsafe { (*(*data.cast::<Slot<F>>()).f.get()).take() };
    let token = StopToken {
        _not_send: PhantomData,
    };
    match f {
        Some(f) => f(&token),
        None => -(bindings::EINVAL as c_int),
    }
}

impl Kthread {
    /// Starts a kernel thread named `name` (at most 15 bytes are shown in
    /// `/proc/<pid>/comm`) running `f`. The value `f` returns is what
    /// [`Self::stop`] returns (`-EINTR` if the thread was stopped before
    /// `f` started; `f` is then dropped unrun).
    pub(crate) fn spawn<F>(name: &CStr, f: F) -> Result<Self>
    where
        F: FnOnce(&StopToken) -> i32 + Send + 'static,
    {
        let slot = KBox::new(
            Slot {
                f: UnsafeCell::new(Some(f)),
            },
            GFP_KERNEL,
        )?;
        let data = KBox::into_raw(slot);
        // SAFETY: `trampoline::<F>` has the signature of a thread function
        // and its contract holds: `data` is the thread's `Slot<F>`, freed
        // only after the thread exits. `"%s"` with `name` (a valid
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
        let Some(task) = NonNull::new(task) else {
            // Not reachable (a null is not an ERR_PTR and kthread_create
            // never returns it); the slot is leaked rather than freed
            // while a thread might use it.
            return Err(kernel::error::code::ENOMEM);
        };
        // SAFETY: `task` is a new, not yet woken kernel thread: valid. The
        // extra reference keeps it valid even if `f` returns before `stop`.
        unsafe { bindings::get_task_struct(task.as_ptr()) };
        // SAFETY: `task` is valid (reference held above).
        unsafe { bindings::wake_up_process(task.as_ptr()) };
        // INVARIANT: created, woken, one reference held; `slot` is the
        // thread's and `free_slot::<F>` frees exactly that type.
        Ok(Kthread {
            task,
            // SAFETY: `KBox::into_raw` never returns null.
            slot: unsafe { NonNull::new_unchecked(data.cast()) },
            free: free_slot::<F>,
        })
    }

    /// Asks the thread to stop, waits until it has exited and returns the
    /// closure's result.
    pub(crate) fn stop(self) -> i32 {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: Called once for this value (`ManuallyDrop` keeps `drop`
        // from running).
        unsafe { this.stop_and_free() }
    }

    /// # Safety
    ///
    /// At most once per value, which must not be used afterwards.
    unsafe fn stop_and_free(&self) -> i32 {
        // SAFETY: `task` is a kernel thread with a reference we own (type
        // invariant), put exactly once here per the contract.
        let ret = unsafe { bindings::kthread_stop_put(self.task.as_ptr()) };
        // SAFETY: The thread has exited (kthread_stop waits for it), so the
        // slot is unused; `free` matches its type (invariant).
        unsafe { (self.free)(self.slot) };
        ret
    }
}

impl Drop for Kthread {
    fn drop(&mut self) {
        // SAFETY: Drop runs once and the value is not used afterwards.
        unsafe { self.stop_and_free() };
    }
}
