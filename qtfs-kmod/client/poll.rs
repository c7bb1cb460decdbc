// SPDX-License-Identifier: GPL-2.0
//! poll, select and epoll on remote files, as FUSE does them: `->poll`
//! asks the server once (`PollRegister`, one round trip) and waits on the
//! open file's local queue; the server's `PollEvent` (handled by the
//! receive thread) wakes that queue, and the next `->poll` returns the
//! events it brought. A registration is one-shot: the next `->poll` after
//! an event asks again, so level-triggered waiters keep seeing a state
//! that stays ready (a FIFO with data, a kernfs file not read since it
//! changed) and see nothing once it is consumed. No polling loop runs
//! anywhere: without an event nothing is sent.
#![forbid(unsafe_code)]

use crate::kbase::vfsc::{PollTable, WaitQueue};
use crate::proto::{PollEvents, PollRegisterRequest, Reply, Request};
use crate::transport::{Conn, Creds};
use kernel::error::code::{EIO, ERESTARTSYS};
use kernel::new_condvar;
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::{Arc, CondVar, CondVarTimeoutResult, SpinLock};
use kernel::time::msecs_to_jiffies;

/// Longest single sleep of a blocked FIFO read or write between checks
/// of the connection (an event or a signal ends it at once).
const IO_WAIT_SLICE_MS: u32 = 1000;

/// What `->poll` returns when the server cannot be asked.
pub(crate) const POLL_FAILED: u32 = PollEvents::POLLERR.bits() | PollEvents::POLLHUP.bits();

/// The poll state of one open file.
#[pin_data]
pub(crate) struct PollSlot {
    /// Where pollers of the file wait.
    pub(crate) waitq: WaitQueue,
    /// Where tasks blocked in a FIFO read or write wait ([`wait_for`]).
    #[pin]
    blocked: CondVar,
    #[pin]
    state: SpinLock<SlotState>,
}

struct SlotState {
    /// The registration waiting on the server, or 0.
    active: u64,
    /// Events an event frame brought that no `->poll` returned yet.
    ready: u32,
}

impl PollSlot {
    pub(crate) fn new() -> Result<Arc<PollSlot>> {
        let waitq = WaitQueue::new()?;
        Arc::pin_init(
            pin_init!(PollSlot {
                waitq,
                blocked <- new_condvar!(),
                state <- new_spinlock!(SlotState { active: 0, ready: 0 }),
            }),
            GFP_KERNEL,
        )
    }

    /// Registration `poll_id` reported `revents` (from the receive
    /// thread, or when the connection died).
    pub(crate) fn on_event(&self, poll_id: u64, revents: u32) {
        {
            let mut st = self.state.lock();
            if st.active != poll_id {
                return;
            }
            st.active = 0;
            st.ready |= revents;
        }
        self.blocked.notify_all();
        self.waitq.wake(revents);
    }

    /// The registration still waiting on the server, taken (at release).
    pub(crate) fn take_active(&self) -> u64 {
        core::mem::replace(&mut self.state.lock().active, 0)
    }
}

/// `->poll` of an open file with server handle `handle`.
pub(crate) fn poll(conn: &Conn, slot: &Arc<PollSlot>, handle: u64, creds: &Creds, table: &mut PollTable<'_>) -> u32 {
    table.wait(&slot.waitq);
    let id = {
        let mut st = slot.state.lock();
        if st.ready != 0 {
            return core::mem::replace(&mut st.ready, 0);
        }
        if st.active != 0 {
            return 0;
        }
        st.active = conn.new_poll_id();
        st.active
    };
    let events = PollEvents::from_bits(table.requested() & PollEvents::KNOWN).unwrap_or(PollEvents::POLLIN);
    match register(conn, slot, id, handle, creds, events) {
        // Waiting on the server, unless its event came first.
        Ok(0) => core::mem::replace(&mut slot.state.lock().ready, 0),
        Ok(revents) => revents,
        Err(_) => POLL_FAILED,
    }
}

/// Sends registration `id` (already the slot's `active` one) for `events`
/// on `handle`: 0 while it waits on the server, or the events ready now
/// (with any an event frame brought meanwhile), the registration then
/// over. On an error it is over too.
fn register(conn: &Conn, slot: &Arc<PollSlot>, id: u64, handle: u64, creds: &Creds, events: PollEvents) -> Result<u32> {
    let end = || {
        conn.remove_poll(id);
        let mut st = slot.state.lock();
        if st.active == id {
            st.active = 0;
        }
    };
    if let Err(e) = conn.add_poll(id, slot.clone()) {
        end();
        return Err(e);
    }
    let r = conn.call(
        creds,
        &Request::PollRegister(PollRegisterRequest {
            handle,
            poll_id: id,
            events,
        }),
        |r| match r {
            Reply::PollRegister(p) => Ok(p.revents.bits()),
            _ => Err(EIO),
        },
    );
    match r {
        Ok(0) => Ok(0),
        Ok(revents) => {
            end();
            Ok(revents | core::mem::replace(&mut slot.state.lock().ready, 0))
        }
        Err(e) => {
            end();
            Err(e)
        }
    }
}

/// The open file goes: its registration (ended on the server by the
/// release of its handle) is forgotten here.
pub(crate) fn release(slot: &PollSlot) {
    let id = slot.take_active();
    if id != 0 {
        // Only the live connection can hold it (a dead one's registrations
        // were all ended when it died).
        if let Ok(conn) = crate::client::live() {
            conn.remove_poll(id);
        }
    }
}

/// Waits until the HOST reports one of `events` on `handle` (a blocked
/// FIFO read or write, each direction with its own slot); the events, 0
/// when another waiter of the slot took them (the caller just tries
/// again). Any signal ends the wait with `ERESTARTSYS`, as a local pipe's
/// does; the registration then stays for the next wait. A lost
/// connection wakes it (`POLLERR|POLLHUP`), so it never outlives the
/// connection.
pub(crate) fn wait_for(
    conn: &Conn,
    slot: &Arc<PollSlot>,
    handle: u64,
    creds: &Creds,
    events: PollEvents,
) -> Result<u32> {
    let id = {
        let mut st = slot.state.lock();
        if st.ready != 0 {
            return Ok(core::mem::replace(&mut st.ready, 0));
        }
        if st.active == 0 {
            st.active = conn.new_poll_id();
            st.active
        } else {
            // Another task of this open file registered already.
            0
        }
    };
    if id != 0 {
        let now = register(conn, slot, id, handle, creds, events)?;
        if now != 0 {
            return Ok(now);
        }
    }
    let mut st = slot.state.lock();
    loop {
        if st.ready != 0 {
            return Ok(core::mem::replace(&mut st.ready, 0));
        }
        if st.active == 0 {
            return Ok(0);
        }
        match slot.blocked.wait_interruptible_timeout(&mut st, msecs_to_jiffies(IO_WAIT_SLICE_MS)) {
            CondVarTimeoutResult::Signal { .. } => return Err(ERESTARTSYS),
            _ if conn.is_dead() => return Err(EIO),
            _ => {}
        }
    }
}
