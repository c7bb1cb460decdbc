// SPDX-License-Identifier: GPL-2.0
//! The text of `/proc/fs/qtfs_server/status` (format: `docs/status.md`):
//! where the server listens, how many connections it serves, and its
//! per-operation counters.
#![forbid(unsafe_code)]

use crate::kbase::config::SockAddr;
use core::fmt::Write;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Connections being served now (set by the accept thread).
pub(crate) static SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// What the status file shows that only the module's init knows.
pub(crate) struct StatusInfo {
    pub(crate) listen: SockAddr,
}

pub(crate) static INFO: crate::kbase::sys::ModuleGlobal<StatusInfo> = crate::kbase::sys::ModuleGlobal::new();

pub(crate) struct Status;

impl crate::kbase::status::StatusSource for Status {
    fn write_status(out: &mut dyn Write) -> core::fmt::Result {
        writeln!(out, "qtfs-status 1")?;
        writeln!(out, "module server")?;
        writeln!(out, "log_level {}", crate::kbase::log::level().name())?;
        if let Some(i) = INFO.get() {
            writeln!(out, "listen {}", i.listen)?;
        }
        writeln!(out, "sessions {}", SESSIONS.load(Ordering::Relaxed))?;
        crate::dispatch::STATS.render(out, |op| {
            crate::proto::Opcode::from_u16(op).map_or("unknown", |o| o.name())
        })
    }
}
