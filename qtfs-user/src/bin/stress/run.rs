//! `run`: the coordinator starts the workers (separate processes, each
//! with its own descriptors and mappings), sums their counts and finally
//! compares every file with the model; `worker`: one worker's plan,
//! executed and checked operation by operation.
use crate::gen::{check_record, first_difference, record, ANY_OFFSET};
use crate::io::{mmap_write, pread_full, read_all, write_once};
use crate::model::{bytes, mapped_file, Kind, Model, Op, Params, Planner, SLOT_FILES};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub const PARAMS_FILE: &str = "stress.json";
pub const LOG_FILE: &str = "shared-log";
/// Reads of another worker's bad-looking slot before it counts as a
/// mismatch (its owner may have been writing it).
const FOREIGN_REREADS: usize = 10;

pub fn private_file(dir: &Path, worker: u32) -> PathBuf {
    dir.join(format!("private-{worker}"))
}

pub fn load_params(dir: &Path) -> Result<Params> {
    let path = dir.join(PARAMS_FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))
}

/// Sets up the directory, runs the workers, checks everything at the end.
pub fn coordinate(dir: &Path, p: &Params) -> Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(dir).with_context(|| format!("mkdir {}", dir.display()))?;
    for w in 0..p.workers {
        File::create(private_file(dir, w))?;
    }
    for name in SLOT_FILES {
        File::create(dir.join(name))?.set_len(p.slots() * p.slot_size)?;
    }
    File::create(dir.join(LOG_FILE))?;
    std::fs::write(dir.join(PARAMS_FILE), serde_json::to_string_pretty(p)?)?;
    println!(
        "stress: seed={} workers={} ops={} per worker, dir {}",
        p.seed,
        p.workers,
        p.ops,
        dir.display()
    );

    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for w in 0..p.workers {
        let child = Command::new(&exe)
            .arg("worker")
            .arg(dir)
            .arg(w.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .context("start a worker")?;
        children.push((w, child));
    }
    let mut totals: BTreeMap<Kind, u64> = BTreeMap::new();
    let mut failed = Vec::new();
    for (w, child) in children {
        let out = child.wait_with_output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            failed.push(format!("worker {w}: {}", out.status));
            continue;
        }
        let counts: BTreeMap<String, u64> = serde_json::from_str(text.trim())
            .with_context(|| format!("worker {w} printed {text:?}"))?;
        for k in Kind::ALL {
            *totals.entry(k).or_default() += counts.get(k.name()).copied().unwrap_or(0);
        }
    }
    let total: u64 = totals.values().sum();
    let by_kind: Vec<String> = totals
        .iter()
        .map(|(k, n)| format!("{}={n}", k.name()))
        .collect();
    println!("stress: ops total={total} {}", by_kind.join(" "));
    if !failed.is_empty() {
        println!("stress: mismatches>=1 ({})", failed.join("; "));
        bail!("{} worker(s) failed: {}", failed.len(), failed.join("; "));
    }
    crate::verify::verify(dir)?;
    println!(
        "stress: ops={total} mismatches=0 seconds={:.1}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

struct Files {
    private: File,
    private_append: File,
    /// `shared-slots` and `shared-mapped`.
    slots: [File; 2],
    log_append: File,
}

impl Files {
    fn open(dir: &Path, worker: u32) -> Result<Files> {
        let rw = |p: PathBuf| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(&p)
                .with_context(|| format!("open {}", p.display()))
        };
        let append = |p: PathBuf| {
            OpenOptions::new()
                .read(true)
                .append(true)
                .open(&p)
                .with_context(|| format!("open {} O_APPEND", p.display()))
        };
        Ok(Files {
            private: rw(private_file(dir, worker))?,
            private_append: append(private_file(dir, worker))?,
            slots: [rw(dir.join(SLOT_FILES[0]))?, rw(dir.join(SLOT_FILES[1]))?],
            log_append: append(dir.join(LOG_FILE))?,
        })
    }
}

/// A failed check: zero tolerance, the worker stops at the first one.
fn mismatch(worker: u32, index: u64, op: &Op, what: String) -> anyhow::Error {
    eprintln!("MISMATCH worker {worker} op #{index} {:?}: {what}", op);
    anyhow::anyhow!("mismatch in worker {worker} at op #{index}: {what}")
}

struct Worker<'a> {
    p: &'a Params,
    dir: &'a Path,
    id: u32,
}

impl Worker<'_> {
    fn check_private(&self, f: &File, model: &Model) -> Result<(), String> {
        let got = read_all(f).map_err(|e| format!("read private: {e}"))?;
        if let Some(d) = first_difference(0, &model.private, &got) {
            return Err(format!("private-{}: {d}", self.id));
        }
        let size = f.metadata().map_err(|e| e.to_string())?.len();
        if size != model.private.len() as u64 {
            return Err(format!(
                "private-{}: size {size}, model {}",
                self.id,
                model.private.len()
            ));
        }
        Ok(())
    }

    fn check_slots(
        &self,
        files: &Files,
        model: &Model,
        file: usize,
        first: u64,
        count: u64,
    ) -> Result<(), String> {
        let r = self.p.slot_size;
        let (f, name) = (&files.slots[file], SLOT_FILES[file]);
        let got = pread_full(f, first * r, count * r).map_err(|e| format!("read {name}: {e}"))?;
        if got.len() as u64 != count * r {
            return Err(format!(
                "{name}: read {} of {} bytes at {}",
                got.len(),
                count * r,
                first * r
            ));
        }
        for (i, data) in got.chunks(r as usize).enumerate() {
            let slot = first + i as u64;
            let owner = (slot % self.p.workers as u64) as u32;
            if owner == self.id {
                let want = model.slot_record(self.p, self.id, file, slot);
                if let Some(d) = first_difference(slot * r, &want, data) {
                    return Err(format!("{name}, own slot {slot}: {d}"));
                }
            } else {
                self.check_foreign_slot(f, name, slot, owner, data)?;
            }
        }
        Ok(())
    }

    /// Another worker's slot must be zero (never written) or a whole, valid
    /// record of that worker at that offset. A read that overlaps the
    /// owner's write may legitimately see it half done (Linux reads are not
    /// atomic against writes, locally either), so a bad slot is read again
    /// a few times: only one that stays bad is a mismatch.
    fn check_foreign_slot(
        &self,
        f: &File,
        name: &str,
        slot: u64,
        owner: u32,
        first: &[u8],
    ) -> Result<(), String> {
        let r = self.p.slot_size;
        let judge = |data: &[u8]| -> Result<(), String> {
            if data.iter().all(|&b| b == 0) {
                return Ok(());
            }
            match check_record(self.p.seed, data) {
                Ok(id) if id.writer == owner && id.offset == slot * r => Ok(()),
                Ok(id) => Err(format!(
                    "{name}, slot {slot} (offset {}) of worker {owner} holds {id:?}",
                    slot * r
                )),
                Err(e) => Err(format!(
                    "{name}, slot {slot} (offset {}) of worker {owner}: {e}",
                    slot * r
                )),
            }
        };
        let mut verdict = judge(first);
        for _ in 0..FOREIGN_REREADS {
            if verdict.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            let again = pread_full(f, slot * r, r).map_err(|e| format!("read {name}: {e}"))?;
            verdict = judge(&again);
        }
        verdict
    }

    /// The log as this worker sees it: every complete record valid, and
    /// its own records exactly those it appended, in order. The last
    /// record may be incomplete only while another worker's append is
    /// under way.
    fn check_log(&self, model: &Model) -> Result<(), String> {
        let path = self.dir.join(LOG_FILE);
        let f = File::open(&path).map_err(|e| format!("open log: {e}"))?;
        let data = read_all(&f).map_err(|e| format!("read log: {e}"))?;
        let n = self.p.log_record as usize;
        let mut own = Vec::new();
        for (i, rec) in data.chunks(n).enumerate() {
            if rec.len() < n {
                break;
            }
            match check_record(self.p.seed, rec) {
                Ok(id) if id.offset == ANY_OFFSET && id.writer < self.p.workers => {
                    if id.writer == self.id {
                        own.push(id.seq);
                    }
                }
                Ok(id) => return Err(format!("shared-log record {i} (offset {}): {id:?}", i * n)),
                Err(e) => return Err(format!("shared-log record {i} (offset {}): {e}", i * n)),
            }
        }
        if own != model.log {
            return Err(format!(
                "shared-log: worker {} finds {} of its records {:?}..., appended {} {:?}...",
                self.id,
                own.len(),
                &own[..own.len().min(5)],
                model.log.len(),
                &model.log[..model.log.len().min(5)]
            ));
        }
        Ok(())
    }

    /// Executes one operation (the model already reflects it) and checks
    /// what it read.
    fn execute(&self, files: &mut Files, op: &Op, model: &Model) -> Result<Result<(), String>> {
        let r = self.p.slot_size;
        match *op {
            Op::Write { off, len, data } => files.private.write_all_at(&bytes(data, len), off)?,
            Op::Read { off, len } => {
                let got = pread_full(&files.private, off, len)?;
                let size = model.private.len() as u64;
                let want = &model.private[off.min(size) as usize..(off + len).min(size) as usize];
                if let Some(d) = first_difference(off, want, &got) {
                    return Ok(Err(format!("private-{}: {d}", self.id)));
                }
            }
            Op::Truncate { size } => files.private.set_len(size)?,
            Op::Append { len, data } => {
                write_once(&files.private_append, &bytes(data, len))?;
                let size = files.private_append.metadata()?.len();
                if size != model.private.len() as u64 {
                    return Ok(Err(format!(
                        "private-{}: size {size} after append, model {}",
                        self.id,
                        model.private.len()
                    )));
                }
            }
            Op::MmapWrite { off, len, data } => mmap_write(&files.private, off, &bytes(data, len))?,
            Op::Fsync => {
                files.private.sync_all()?;
                files.slots[0].sync_all()?;
                files.slots[1].sync_all()?;
            }
            Op::Reopen => *files = Files::open(self.dir, self.id)?,
            Op::Check => return Ok(self.check_private(&files.private, model)),
            Op::SlotWrite { slot, seq } => files.slots[0].write_all_at(
                &record(self.p.seed, self.id, seq, slot * r, r as usize),
                slot * r,
            )?,
            Op::SlotMmap { slot, seq } => mmap_write(
                &files.slots[mapped_file(self.p)],
                slot * r,
                &record(self.p.seed, self.id, seq, slot * r, r as usize),
            )?,
            Op::SlotRead { file, slot } => return Ok(self.check_slots(files, model, file, slot, 1)),
            Op::SlotScan { file, first, count } => {
                return Ok(self.check_slots(files, model, file, first, count))
            }
            Op::LogAppend { seq } => write_once(
                &files.log_append,
                &record(
                    self.p.seed,
                    self.id,
                    seq,
                    ANY_OFFSET,
                    self.p.log_record as usize,
                ),
            )?,
            Op::LogRead => return Ok(self.check_log(model)),
        }
        Ok(Ok(()))
    }
}

/// One worker: its plan, each operation checked at once, then its files
/// checked whole. Prints its counts by kind as one JSON object.
pub fn work(dir: &Path, worker: u32) -> Result<()> {
    let p = load_params(dir)?;
    if worker >= p.workers {
        bail!("worker {worker} of {}", p.workers);
    }
    let w = Worker {
        p: &p,
        dir,
        id: worker,
    };
    let mut files = Files::open(dir, worker)?;
    let mut planner = Planner::new(&p, worker);
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for index in 0..p.ops {
        let op = planner.next_op();
        match w.execute(&mut files, &op, &planner.model) {
            Ok(Ok(())) => {}
            Ok(Err(what)) => return Err(mismatch(worker, index, &op, what)),
            Err(e) => {
                eprintln!("ERROR worker {worker} op #{index} {op:?}: {e:#}");
                return Err(e.context(format!("worker {worker} op #{index} {op:?}")));
            }
        }
        *counts.entry(op.kind().name()).or_default() += 1;
    }
    let end = Op::Check;
    let model = &planner.model;
    let checks = [
        w.check_private(&files.private, model),
        w.check_slots(&files, model, 0, 0, p.slots()),
        w.check_slots(&files, model, 1, 0, p.slots()),
        w.check_log(model),
    ];
    for c in checks {
        if let Err(what) = c {
            return Err(mismatch(worker, p.ops, &end, what));
        }
    }
    println!("{}", serde_json::to_string(&counts)?);
    Ok(())
}
