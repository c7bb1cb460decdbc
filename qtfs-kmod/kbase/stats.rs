// SPDX-License-Identifier: GPL-2.0
//! Per-operation counters and latency histograms, kept with atomics so
//! that every request can count itself without a lock, and rendered as
//! the text of the modules' status files (`docs/status.md` specifies the
//! format). Pure Rust on `core` only: unit-tested in userspace
//! (`make unit`).
#![forbid(unsafe_code)]

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, Ordering};

/// Opcodes counted: every protocol opcode is below this.
pub(crate) const MAX_OPCODE: usize = 64;
/// Latency buckets: bucket 0 is under 1 µs, bucket `i` is
/// `[2^(i-1), 2^i)` µs, the last one everything from `2^(BUCKETS-2)` µs
/// (about 0.5 s) up.
pub(crate) const BUCKETS: usize = 21;

/// The counters of one opcode.
pub(crate) struct OpCounter {
    /// Requests that got a reply (or, on the server, were answered).
    calls: AtomicU64,
    /// Of those, how many failed.
    errors: AtomicU64,
    /// Requests sent without waiting for a reply (`Forget`, `Release`...).
    oneway: AtomicU64,
    /// Sum of the latencies, in ns.
    total_ns: AtomicU64,
    hist: [AtomicU64; BUCKETS],
}

impl OpCounter {
    const fn new() -> Self {
        OpCounter {
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            oneway: AtomicU64::new(0),
            total_ns: AtomicU64::new(0),
            hist: [const { AtomicU64::new(0) }; BUCKETS],
        }
    }
}

/// The bucket of a latency.
pub(crate) fn bucket_of(ns: u64) -> usize {
    let us = ns / 1000;
    if us == 0 {
        return 0;
    }
    let b = (u64::BITS - us.leading_zeros()) as usize;
    b.min(BUCKETS - 1)
}

/// Counters of every opcode of one module.
pub(crate) struct OpStats {
    ops: [OpCounter; MAX_OPCODE],
}

impl Default for OpStats {
    fn default() -> Self {
        Self::new()
    }
}

impl OpStats {
    pub(crate) const fn new() -> Self {
        OpStats {
            ops: [const { OpCounter::new() }; MAX_OPCODE],
        }
    }

    /// Counts one answered request of `opcode` that took `ns`.
    pub(crate) fn record(&self, opcode: u16, ns: u64, ok: bool) {
        let Some(c) = self.ops.get(usize::from(opcode)) else {
            return;
        };
        c.calls.fetch_add(1, Ordering::Relaxed);
        if !ok {
            c.errors.fetch_add(1, Ordering::Relaxed);
        }
        c.total_ns.fetch_add(ns, Ordering::Relaxed);
        c.hist[bucket_of(ns)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request of `opcode` sent without awaiting a reply.
    pub(crate) fn record_oneway(&self, opcode: u16) {
        if let Some(c) = self.ops.get(usize::from(opcode)) {
            c.oneway.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests of `opcode` answered so far.
    pub(crate) fn calls(&self, opcode: u16) -> u64 {
        self.ops
            .get(usize::from(opcode))
            .map_or(0, |c| c.calls.load(Ordering::Relaxed))
    }

    /// Round trips so far: every answered request of every opcode.
    pub(crate) fn round_trips(&self) -> u64 {
        self.ops.iter().map(|c| c.calls.load(Ordering::Relaxed)).sum()
    }

    /// One `op` line per opcode that was used, named by `name`:
    /// `op <name> <calls> <errors> <oneway> <total_us> <bucket 0> ... <bucket 20>`.
    pub(crate) fn render(&self, out: &mut dyn Write, name: impl Fn(u16) -> &'static str) -> fmt::Result {
        writeln!(out, "round_trips {}", self.round_trips())?;
        for (i, c) in self.ops.iter().enumerate() {
            let calls = c.calls.load(Ordering::Relaxed);
            let oneway = c.oneway.load(Ordering::Relaxed);
            if calls == 0 && oneway == 0 {
                continue;
            }
            write!(
                out,
                "op {} {} {} {} {}",
                name(i as u16),
                calls,
                c.errors.load(Ordering::Relaxed),
                oneway,
                c.total_ns.load(Ordering::Relaxed) / 1000
            )?;
            for h in &c.hist {
                write!(out, " {}", h.load(Ordering::Relaxed))?;
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two_of_microseconds() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(999), 0);
        assert_eq!(bucket_of(1_000), 1);
        assert_eq!(bucket_of(1_999), 1);
        assert_eq!(bucket_of(2_000), 2);
        assert_eq!(bucket_of(3_000_000), 12);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn renders_only_used_opcodes() {
        let s = OpStats::new();
        s.record(0x13, 2_500, true);
        s.record(0x13, 1_500_000, false);
        s.record_oneway(0x12);
        s.record(200, 1, true); // out of range: ignored, no panic
        let mut out = String::new();
        s.render(&mut out, |op| if op == 0x13 { "Lookup" } else { "Forget" }).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "round_trips 2");
        assert!(lines[1].starts_with("op Forget 0 0 1 0 "), "{}", lines[1]);
        let f: Vec<&str> = lines[2].split(' ').collect();
        assert_eq!(&f[..6], ["op", "Lookup", "2", "1", "0", "1502"]);
        assert_eq!(f.len(), 6 + BUCKETS);
        assert_eq!(f[6 + 2], "1");
        assert_eq!(f[6 + 11], "1");
        assert_eq!(s.calls(0x13), 2);
    }
}
