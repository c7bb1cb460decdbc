//! The workload of `run` and its model. Each worker's operations are a
//! function of (seed, worker) and of the model alone, never of what a read
//! returned, so the expected final state of every file can be computed
//! again anywhere by replaying the plan (`verify` on the HOST does).
//!
//! The model is exact despite the concurrency because nothing two workers
//! do can legitimately interfere:
//! - `private-W`: worker W's own file (writes, reads, truncates, appends,
//!   shared-mmap writes, fsync, reopen, whole-file checks); exact bytes.
//! - `shared-slots` and `shared-mapped`: files of fixed-size slots, slot S
//!   owned by worker `S % workers`; a worker writes records only into its
//!   own slots (of `shared-slots` with `pwrite`, of `shared-mapped`
//!   through a shared mapping and `msync`), but slots of different
//!   workers share pages, and it reads any slot: its own must be exactly
//!   its last record, another's must be zero or a whole, valid record of
//!   that slot's owner at that offset. With `mixed`, both kinds of write
//!   go to `shared-slots`, so that one process's `pwrite` and another's
//!   mapped stores meet in the same page (see docs/client.md, "Not done
//!   yet": qtfs loses such writes today).
//! - `shared-log`: `O_APPEND` records of every worker; each complete
//!   record must be valid, and a worker's own records must be all there,
//!   in order, exactly once.
use crate::gen::{mix, record, Rng};
use serde::{Deserialize, Serialize};

/// Everything that decides a run; `run` stores it as `stress.json` in the
/// directory so that `verify` needs nothing else.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Params {
    pub seed: u64,
    pub workers: u32,
    pub ops: u64,
    /// Largest size of a private file.
    pub max_size: u64,
    /// Size of a slot (and its record) in `shared-slots`; not a divisor of
    /// the page size, so records straddle pages.
    pub slot_size: u64,
    pub slots_per_worker: u64,
    /// Size of a record of `shared-log`.
    pub log_record: u64,
    /// Kinds of operation left out of the plan (to narrow a failure down).
    #[serde(default)]
    pub without: Vec<Kind>,
    /// Mapped slot writes go to `shared-slots` too, beside `pwrite`s.
    #[serde(default)]
    pub mixed: bool,
}

impl Params {
    pub fn slots(&self) -> u64 {
        self.slots_per_worker * self.workers as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Write,
    Read,
    Truncate,
    Append,
    MmapWrite,
    Fsync,
    Reopen,
    Check,
    SlotWrite,
    SlotMmap,
    SlotRead,
    SlotScan,
    LogAppend,
    LogRead,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::Write,
        Kind::Read,
        Kind::Truncate,
        Kind::Append,
        Kind::MmapWrite,
        Kind::Fsync,
        Kind::Reopen,
        Kind::Check,
        Kind::SlotWrite,
        Kind::SlotMmap,
        Kind::SlotRead,
        Kind::SlotScan,
        Kind::LogAppend,
        Kind::LogRead,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Write => "write",
            Kind::Read => "read",
            Kind::Truncate => "truncate",
            Kind::Append => "append",
            Kind::MmapWrite => "mmap_write",
            Kind::Fsync => "fsync",
            Kind::Reopen => "reopen",
            Kind::Check => "check",
            Kind::SlotWrite => "slot_write",
            Kind::SlotMmap => "slot_mmap",
            Kind::SlotRead => "slot_read",
            Kind::SlotScan => "slot_scan",
            Kind::LogAppend => "log_append",
            Kind::LogRead => "log_read",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Relative frequency in the plan.
    fn weight(self) -> u64 {
        match self {
            Kind::Write => 16,
            Kind::Read => 14,
            Kind::Truncate => 5,
            Kind::Append => 7,
            Kind::MmapWrite => 8,
            Kind::Fsync => 3,
            Kind::Reopen => 3,
            Kind::Check => 3,
            Kind::SlotWrite => 10,
            Kind::SlotMmap => 8,
            Kind::SlotRead => 8,
            Kind::SlotScan => 6,
            Kind::LogAppend => 6,
            Kind::LogRead => 3,
        }
    }
}

/// One operation of a worker. Data to write is named by its seed
/// (`bytes(data, len)`).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Write { off: u64, len: u64, data: u64 },
    Read { off: u64, len: u64 },
    Truncate { size: u64 },
    Append { len: u64, data: u64 },
    MmapWrite { off: u64, len: u64, data: u64 },
    Fsync,
    Reopen,
    Check,
    SlotWrite { slot: u64, seq: u64 },
    SlotMmap { slot: u64, seq: u64 },
    SlotRead { file: usize, slot: u64 },
    SlotScan { file: usize, first: u64, count: u64 },
    LogAppend { seq: u64 },
    LogRead,
}

impl Op {
    pub fn kind(&self) -> Kind {
        match self {
            Op::Write { .. } => Kind::Write,
            Op::Read { .. } => Kind::Read,
            Op::Truncate { .. } => Kind::Truncate,
            Op::Append { .. } => Kind::Append,
            Op::MmapWrite { .. } => Kind::MmapWrite,
            Op::Fsync => Kind::Fsync,
            Op::Reopen => Kind::Reopen,
            Op::Check => Kind::Check,
            Op::SlotWrite { .. } => Kind::SlotWrite,
            Op::SlotMmap { .. } => Kind::SlotMmap,
            Op::SlotRead { .. } => Kind::SlotRead,
            Op::SlotScan { .. } => Kind::SlotScan,
            Op::LogAppend { .. } => Kind::LogAppend,
            Op::LogRead => Kind::LogRead,
        }
    }
}

pub fn bytes(data: u64, len: u64) -> Vec<u8> {
    let mut v = vec![0u8; len as usize];
    Rng::new(data).fill(&mut v);
    v
}

/// What one worker's files must hold.
/// The slot file mapped slot writes go to: 1 (`shared-mapped`), or 0
/// (`shared-slots`) with `mixed`.
pub fn mapped_file(p: &Params) -> usize {
    if p.mixed {
        0
    } else {
        1
    }
}

pub const SLOT_FILES: [&str; 2] = ["shared-slots", "shared-mapped"];

#[derive(Debug, Clone)]
pub struct Model {
    pub params: Params,
    pub private: Vec<u8>,
    /// The last record sequence number written into each of the
    /// worker's slots (index: file * slots + slot number, file 0
    /// `shared-slots`, 1 `shared-mapped`; `None`: never written, zeros).
    pub slots: Vec<Option<u64>>,
    /// Record sequence numbers given out so far (slots and log share them).
    pub next_seq: u64,
    /// The sequence numbers of this worker's log records, in order.
    pub log: Vec<u64>,
}

impl Model {
    pub fn slot_record(&self, p: &Params, worker: u32, file: usize, slot: u64) -> Vec<u8> {
        match self.slots[file * p.slots() as usize + slot as usize] {
            Some(seq) => record(
                p.seed,
                worker,
                seq,
                slot * p.slot_size,
                p.slot_size as usize,
            ),
            None => vec![0u8; p.slot_size as usize],
        }
    }

    pub fn apply(&mut self, op: &Op) {
        match *op {
            Op::Write { off, len, data } | Op::MmapWrite { off, len, data } => {
                let end = (off + len) as usize;
                if self.private.len() < end {
                    self.private.resize(end, 0);
                }
                self.private[off as usize..end].copy_from_slice(&bytes(data, len));
            }
            Op::Truncate { size } => self.private.resize(size as usize, 0),
            Op::Append { len, data } => self.private.extend_from_slice(&bytes(data, len)),
            Op::SlotWrite { slot, seq } => self.slots[slot as usize] = Some(seq),
            Op::SlotMmap { slot, seq } => {
                let file = mapped_file(&self.params);
                self.slots[file * self.params.slots() as usize + slot as usize] = Some(seq);
            }
            Op::LogAppend { seq } => self.log.push(seq),
            Op::Read { .. }
            | Op::Fsync
            | Op::Reopen
            | Op::Check
            | Op::SlotRead { .. }
            | Op::SlotScan { .. }
            | Op::LogRead => {}
        }
    }
}

/// The plan of one worker: an endless, deterministic sequence of
/// operations, each applied to the model as it is handed out.
pub struct Planner {
    p: Params,
    worker: u32,
    rng: Rng,
    index: u64,
    pub model: Model,
}

impl Planner {
    pub fn new(p: &Params, worker: u32) -> Self {
        Planner {
            p: p.clone(),
            worker,
            rng: Rng::new(mix(&[p.seed, worker as u64, 0x706c_616e])),
            index: 0,
            model: Model {
                slots: vec![None; 2 * p.slots() as usize],
                params: p.clone(),
                private: Vec::new(),
                next_seq: 0,
                log: Vec::new(),
            },
        }
    }

    /// One of this worker's own slots.
    fn own_slot(&mut self) -> u64 {
        self.rng.below(self.p.slots_per_worker) * self.p.workers as u64 + self.worker as u64
    }

    /// A write length: mostly small, sometimes several pages.
    fn len(&mut self) -> u64 {
        match self.rng.below(8) {
            0 => self.rng.range(8192, 65536),
            1 | 2 => self.rng.range(1024, 8192),
            _ => self.rng.range(1, 1024),
        }
    }

    pub fn next_op(&mut self) -> Op {
        self.index += 1;
        let data = mix(&[self.p.seed, self.worker as u64, self.index, 0x6461_7461]);
        let weight = |k: Kind| {
            if self.p.without.contains(&k) {
                0
            } else {
                k.weight()
            }
        };
        let total: u64 = Kind::ALL.iter().map(|&k| weight(k)).sum();
        let mut pick = self.rng.below(total.max(1));
        let mut kind = Kind::Write;
        for k in Kind::ALL {
            if pick < weight(k) {
                kind = k;
                break;
            }
            pick -= weight(k);
        }
        let size = self.model.private.len() as u64;
        let max = self.p.max_size;
        let op = match kind {
            Kind::Write => {
                let len = self.len().min(max);
                // Now and then past the end of file, leaving a hole.
                let off = self.rng.below(max - len + 1);
                Op::Write { off, len, data }
            }
            Kind::Read => {
                let off = self.rng.below(size + 4096);
                Op::Read {
                    off,
                    len: self.rng.range(1, 40000),
                }
            }
            Kind::Truncate => Op::Truncate {
                size: self.rng.below(max + 1),
            },
            Kind::Append if size < max => Op::Append {
                len: self.len().min(max - size),
                data,
            },
            Kind::Append => Op::Truncate { size: size / 2 },
            Kind::MmapWrite if size > 0 => {
                let off = self.rng.below(size);
                let len = self.len().min(size - off);
                Op::MmapWrite { off, len, data }
            }
            Kind::MmapWrite => Op::Write {
                off: 0,
                len: self.len(),
                data,
            },
            Kind::Fsync => Op::Fsync,
            Kind::Reopen => Op::Reopen,
            Kind::Check => Op::Check,
            Kind::SlotWrite | Kind::SlotMmap => {
                let slot = self.own_slot();
                let seq = self.model.next_seq;
                self.model.next_seq += 1;
                if kind == Kind::SlotWrite {
                    Op::SlotWrite { slot, seq }
                } else {
                    Op::SlotMmap { slot, seq }
                }
            }
            Kind::SlotRead => Op::SlotRead {
                file: self.rng.below(2) as usize,
                slot: self.own_slot(),
            },
            Kind::SlotScan => {
                let slots = self.p.slots();
                let count = self.rng.range(1, 12).min(slots);
                Op::SlotScan {
                    file: self.rng.below(2) as usize,
                    first: self.rng.below(slots - count + 1),
                    count,
                }
            }
            Kind::LogAppend => {
                let seq = self.model.next_seq;
                self.model.next_seq += 1;
                Op::LogAppend { seq }
            }
            Kind::LogRead => Op::LogRead,
        };
        self.model.apply(&op);
        op
    }
}

/// Each worker's model after its whole plan (what the files must hold at
/// the end of `run`).
pub fn replay(p: &Params) -> Vec<Model> {
    (0..p.workers)
        .map(|w| {
            let mut planner = Planner::new(p, w);
            for _ in 0..p.ops {
                planner.next_op();
            }
            planner.model
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            seed: 1,
            workers: 3,
            ops: 500,
            max_size: 65536,
            slot_size: 1000,
            slots_per_worker: 4,
            log_record: 200,
            without: vec![],
            mixed: false,
        }
    }

    #[test]
    fn plans_are_deterministic_and_per_worker() {
        let p = params();
        let a: Vec<Op> = {
            let mut pl = Planner::new(&p, 1);
            (0..200).map(|_| pl.next_op()).collect()
        };
        let mut pl = Planner::new(&p, 1);
        let b: Vec<Op> = (0..200).map(|_| pl.next_op()).collect();
        assert_eq!(a, b);
        let mut other = Planner::new(&p, 2);
        let c: Vec<Op> = (0..200).map(|_| other.next_op()).collect();
        assert_ne!(a, c);
    }

    #[test]
    fn every_kind_is_planned_and_slots_are_owned() {
        let p = params();
        let mut pl = Planner::new(&p, 2);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..3000 {
            let op = pl.next_op();
            if let Op::SlotWrite { slot, .. } | Op::SlotMmap { slot, .. } = op {
                assert_eq!(slot % 3, 2, "a worker wrote another's slot");
            }
            if let Op::MmapWrite { off, len, .. } = op {
                assert!(off + len <= pl.model.private.len() as u64);
            }
            assert!(pl.model.private.len() as u64 <= p.max_size);
            seen.insert(op.kind());
        }
        assert_eq!(seen.len(), Kind::ALL.len(), "kinds planned: {seen:?}");
    }

    #[test]
    fn replay_matches_the_planner() {
        let p = params();
        let models = replay(&p);
        let mut pl = Planner::new(&p, 0);
        for _ in 0..p.ops {
            pl.next_op();
        }
        assert_eq!(models[0].private, pl.model.private);
        assert_eq!(models[0].log, pl.model.log);
    }
}
