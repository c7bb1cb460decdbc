// SPDX-License-Identifier: GPL-2.0
//! A one-shot event to wait for, killable and bounded: `struct completion`.
//!
//! The client's callers wait for their reply on one of these. The wait is
//! `TASK_KILLABLE` (only a fatal signal ends it early, so an ordinary
//! signal never makes a half-done remote operation look undone) and always
//! has a timeout; only a FIFO open, which waits for the other side as a
//! local one does, waits interruptibly.
//!
//! C header: [`include/linux/completion.h`](srctree/include/linux/completion.h)

use kernel::bindings;
use kernel::init::PinInit;
use kernel::prelude::*;
use kernel::types::Opaque;

extern "C" {
    fn qtfs_shim_init_completion(c: *mut bindings::completion);
}

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitEnd {
    /// [`Completion::complete_all`] was called.
    Done,
    /// The timeout ran out first.
    TimedOut,
    /// The waiting task got a fatal signal (or, in an interruptible
    /// wait, any signal).
    Killed,
}

/// A completion.
///
/// # Invariants
///
/// `inner` was initialised by `init_completion` and is pinned.
#[pin_data]
pub(crate) struct Completion {
    #[pin]
    inner: Opaque<bindings::completion>,
}

// SAFETY: A completion is designed to be completed and waited for from
// different threads; its wait queue has its own lock.
unsafe impl Send for Completion {}
// SAFETY: As above: every operation on it takes the internal lock.
unsafe impl Sync for Completion {}

impl Completion {
    /// A new completion, not done.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Completion {
            // SAFETY: `init_completion` initialises the whole struct in
            // place; `slot` is valid for writes and pinned.
            inner <- Opaque::ffi_init(|slot| unsafe { qtfs_shim_init_completion(slot) }),
        })
    }

    /// Marks it done and wakes every waiter, now and later.
    pub(crate) fn complete_all(&self) {
        // SAFETY: `inner` is an initialised completion (type invariant).
        unsafe { bindings::complete_all(self.inner.get()) };
    }

    /// Waits until done, at most `ms` milliseconds; killable.
    pub(crate) fn wait_killable(&self, ms: u32) -> WaitEnd {
        // SAFETY: no preconditions.
        let jiffies = unsafe { bindings::__msecs_to_jiffies(ms) };
        // SAFETY: `inner` is an initialised completion (type invariant);
        // the caller is a task that may sleep (process context).
        let r = unsafe { bindings::wait_for_completion_killable_timeout(self.inner.get(), jiffies) };
        match r {
            r if r > 0 => WaitEnd::Done,
            0 => WaitEnd::TimedOut,
            _ => WaitEnd::Killed,
        }
    }

    /// Waits until done, at most `ms` milliseconds; any signal ends the
    /// wait (for waits that are, locally too, interruptible: a FIFO open).
    pub(crate) fn wait_interruptible(&self, ms: u32) -> WaitEnd {
        // SAFETY: no preconditions.
        let jiffies = unsafe { bindings::__msecs_to_jiffies(ms) };
        // SAFETY: as in `wait_killable`.
        let r = unsafe { bindings::wait_for_completion_interruptible_timeout(self.inner.get(), jiffies) };
        match r {
            r if r > 0 => WaitEnd::Done,
            0 => WaitEnd::TimedOut,
            _ => WaitEnd::Killed,
        }
    }
}
