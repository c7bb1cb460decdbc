// SPDX-License-Identifier: GPL-2.0
//! Poll registrations: `PollRegister` watches an open handle's file for
//! the events the client asks for. If one is ready at once the reply says
//! so and nothing is kept; otherwise the file's wait queues are watched
//! (`kbase::vfs::Watched`) and, when a wake-up finds an event ready, one
//! `PollEvent` frame is sent and the registration is over (one-shot). It
//! also ends with `PollCancel`, with the release of its handle and with
//! the session. A session holds at most [`MAX_POLLS`].
#![forbid(unsafe_code)]

use crate::kbase::vfs::{poll_now, PollFire, PollWatch, Watched};
use crate::proto::{encode_event, Errno, Event, PollEventBody, PollEvents};
use crate::session::Sender;
use crate::tables::HandleRef;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::alloc::KVec;
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNode};
use kernel::sync::Arc;

/// Most registrations a session holds (one per polled open file and
/// waiter is what clients need).
pub(crate) const MAX_POLLS: usize = 1024;

/// Errors and hang-ups are always reported.
const ALWAYS: u32 = PollEvents::POLLERR.bits() | PollEvents::POLLHUP.bits();

/// One registration.
pub(crate) struct PollReg {
    poll_id: u64,
    /// Events of interest, with [`ALWAYS`].
    events: u32,
    handle_id: u64,
    handle: Arc<HandleRef>,
    sender: Arc<Sender>,
    /// The event was sent (or the reply said "ready"): nothing more.
    fired: AtomicBool,
}

impl PollReg {
    /// Claims the one report of this registration.
    fn claim(&self) -> bool {
        !self.fired.swap(true, Ordering::AcqRel)
    }
}

impl PollFire for PollReg {
    fn fire(&self, watch: &PollWatch) {
        if self.fired.load(Ordering::Acquire) {
            return;
        }
        let ready = poll_now(&self.handle.file) & self.events;
        if ready == 0 || !self.claim() {
            return;
        }
        watch.disarm();
        let body = PollEventBody {
            poll_id: self.poll_id,
            revents: PollEvents::from_bits(ready & PollEvents::KNOWN).unwrap_or(PollEvents::POLLERR),
        };
        let mut buf = [0u8; 64];
        if let Ok(n) = encode_event(&mut buf, &Event::Poll(body)) {
            self.sender.send(&buf[..n]);
        }
    }
}

/// Starts a registration: the events ready now (the registration is then
/// already over), or 0 and the armed registration to keep.
pub(crate) fn register(
    poll_id: u64,
    events: PollEvents,
    handle_id: u64,
    handle: Arc<HandleRef>,
    sender: Arc<Sender>,
) -> Result<(u32, Option<Watched<PollReg>>), Errno> {
    let reg = Watched::new(PollReg {
        poll_id,
        events: events.bits() | ALWAYS,
        handle_id,
        handle,
        sender,
        fired: AtomicBool::new(false),
    })
    .map_err(|_| Errno::ENOMEM)?;
    let watch = reg.watch().ok_or(Errno::ENOMEM)?;
    let ready = watch.arm(&reg.value().handle.file, events.bits()) & reg.value().events;
    if ready != 0 {
        // Ready now; if a wake-up already sent the event, the reply says
        // nothing more.
        let now = if reg.value().claim() { ready } else { 0 };
        return Ok((now, None));
    }
    Ok((0, Some(reg)))
}

/// The registrations of a session, by the client's poll id.
pub(crate) struct Polls {
    regs: RBTree<u64, Watched<PollReg>>,
}

impl Polls {
    pub(crate) fn new() -> Self {
        Polls {
            regs: RBTree::new(),
        }
    }

    /// Keeps `reg`; the ones that already fired are handed back to be
    /// dropped outside the session's lock (dropping waits for a callback).
    pub(crate) fn add(
        &mut self,
        reg: Watched<PollReg>,
        gone: &mut KVec<Watched<PollReg>>,
    ) -> Result<(), Errno> {
        let fired: KVec<u64> = {
            let mut v = KVec::new();
            for (id, r) in self.regs.iter() {
                if r.value().fired.load(Ordering::Acquire) {
                    v.push(*id, GFP_KERNEL).map_err(|_| Errno::ENOMEM)?;
                }
            }
            v
        };
        for id in fired.iter() {
            if let Some(r) = self.regs.remove(id) {
                gone.push(r, GFP_KERNEL).map_err(|_| Errno::ENOMEM)?;
            }
        }
        let id = reg.value().poll_id;
        if self.regs.get(&id).is_some() {
            return Err(Errno::EEXIST);
        }
        let mut n = 0;
        for _ in self.regs.iter() {
            n += 1;
        }
        if n >= MAX_POLLS {
            return Err(Errno::ENOSPC);
        }
        let node = RBTreeNode::new(id, reg, GFP_KERNEL).map_err(|_| Errno::ENOMEM)?;
        self.regs.insert(node);
        Ok(())
    }

    /// Ends registration `id` (to be dropped outside the lock).
    pub(crate) fn cancel(&mut self, id: u64) -> Option<Watched<PollReg>> {
        self.regs.remove(&id)
    }

    /// Ends every registration on handle `handle_id`.
    pub(crate) fn release_handle(&mut self, handle_id: u64, gone: &mut KVec<Watched<PollReg>>) {
        loop {
            let id = self
                .regs
                .iter()
                .find(|(_, r)| r.value().handle_id == handle_id)
                .map(|(id, _)| *id);
            let Some(id) = id else { return };
            if let Some(r) = self.regs.remove(&id) {
                if gone.push(r, GFP_KERNEL).is_err() {
                    // Out of memory: dropped here, under the lock; the
                    // callback it may wait for takes no session lock.
                }
            }
        }
    }
}
