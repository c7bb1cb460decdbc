//! `journal`: writes that survive a server restart. Record SEQ goes to
//! file `j-(SEQ % files)` at offset `(SEQ / files) * record`, never
//! overwritten; three in four with `pwrite` + `fdatasync`, one in four
//! through a shared mapping + `msync(MS_SYNC)` (in a child process, so
//! that a `SIGBUS` while the server is away costs only the attempt). A
//! record is acknowledged, and its number appended to the journal file
//! (local, fsync'ed), only when both its write and its sync succeeded. Any
//! error (`EIO`, `ETIMEDOUT`, `ESTALE`, ...) drops every descriptor and
//! retries the same record after reopening, for up to `retry_for` seconds
//! of outage. `verify-journal` then checks that every acknowledged record
//! is there, whole, and that no other position holds anything but zeros
//! or its own record.
use crate::gen::{check_record, first_difference, record};
use crate::io::{mmap_write, read_all};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const PARAMS_FILE: &str = "journal.json";
/// The writer number journal records carry.
const WRITER: u32 = 0x4a;

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct JournalParams {
    pub seed: u64,
    pub files: u64,
    pub record: u64,
}

impl JournalParams {
    fn place(&self, dir: &Path, seq: u64) -> (PathBuf, u64) {
        (
            dir.join(format!("j-{}", seq % self.files)),
            (seq / self.files) * self.record,
        )
    }

    fn data(&self, seq: u64, offset: u64) -> Vec<u8> {
        record(self.seed, WRITER, seq, offset, self.record as usize)
    }
}

pub struct Options {
    pub ops: u64,
    pub stop_file: Option<PathBuf>,
    pub retry_for: Duration,
}

fn attempt(dir: &Path, p: &JournalParams, seq: u64, files: &mut [Option<File>]) -> Result<()> {
    let (path, offset) = p.place(dir, seq);
    let slot = (seq % p.files) as usize;
    if files[slot].is_none() {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("open {}", path.display()))?;
        files[slot] = Some(f);
    }
    let f = files[slot].as_ref().expect("opened above");
    let data = p.data(seq, offset);
    if seq % 4 == 3 {
        // The mapping needs the file to reach the record's end first.
        if f.metadata()?.len() < offset + p.record {
            f.set_len(offset + p.record).context("extend")?;
        }
        let exe = std::env::current_exe()?;
        let status = std::process::Command::new(exe)
            .arg("mmap-put")
            .arg(&path)
            .arg(offset.to_string())
            .arg(p.seed.to_string())
            .arg(seq.to_string())
            .arg(p.record.to_string())
            .status()?;
        if !status.success() {
            bail!("mmap write of record {seq}: {status}");
        }
        f.sync_data().context("fdatasync after msync")?;
    } else {
        f.write_all_at(&data, offset).context("pwrite")?;
        f.sync_data().context("fdatasync")?;
    }
    Ok(())
}

/// The child of a mapped write: maps, writes, `msync`s.
pub fn mmap_put(path: &Path, offset: u64, seed: u64, seq: u64, len: u64) -> Result<()> {
    let f = OpenOptions::new().read(true).write(true).open(path)?;
    mmap_write(&f, offset, &record(seed, WRITER, seq, offset, len as usize))
}

pub fn write(dir: &Path, journal: &Path, p: &JournalParams, o: &Options) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(PARAMS_FILE), serde_json::to_string_pretty(p)?)?;
    let mut log = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(journal)?;
    let mut files: Vec<Option<File>> = (0..p.files).map(|_| None).collect();
    let (mut seq, mut errors, mut outages) = (0u64, 0u64, 0u64);
    let mut longest = Duration::ZERO;
    let mut outage_since: Option<Instant> = None;
    let started = Instant::now();
    let more = |seq: u64| seq < o.ops || o.stop_file.as_ref().is_some_and(|s| !s.exists());
    while more(seq) {
        match attempt(dir, p, seq, &mut files) {
            Ok(()) => {
                writeln!(log, "{seq}")?;
                log.sync_all()?;
                if let Some(since) = outage_since.take() {
                    let t = since.elapsed();
                    longest = longest.max(t);
                    println!(
                        "journal: record {seq} acknowledged after an outage of {:.1}s",
                        t.as_secs_f64()
                    );
                }
                seq += 1;
            }
            Err(e) => {
                errors += 1;
                let since = *outage_since.get_or_insert_with(|| {
                    outages += 1;
                    Instant::now()
                });
                println!("journal: record {seq}: {e:#}; reopening and retrying");
                if since.elapsed() > o.retry_for {
                    bail!("record {seq}: no success for {:?}: {e:#}", o.retry_for);
                }
                files.iter_mut().for_each(|f| *f = None);
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    }
    println!(
        "journal: acked={seq} errors={errors} outages={outages} longest_outage={:.1}s seconds={:.1}",
        longest.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn verify(dir: &Path, journal: &Path) -> Result<()> {
    let text = std::fs::read_to_string(dir.join(PARAMS_FILE)).context("journal.json")?;
    let p: JournalParams = serde_json::from_str(&text)?;
    let mut acked = BTreeSet::new();
    for (i, line) in std::fs::read_to_string(journal)?.lines().enumerate() {
        let seq: u64 = line
            .trim()
            .parse()
            .with_context(|| format!("journal line {}: {line:?}", i + 1))?;
        acked.insert(seq);
    }
    let mut mismatches = Vec::new();
    let (mut present, mut unacked_present) = (0u64, 0u64);
    for f in 0..p.files {
        let path = dir.join(format!("j-{f}"));
        let data = match File::open(&path) {
            Ok(file) => read_all(&file)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("open {}", path.display())),
        };
        let positions = (data.len() as u64).div_ceil(p.record);
        let acked_here = acked
            .iter()
            .filter(|&&s| s % p.files == f)
            .map(|&s| s / p.files + 1)
            .max()
            .unwrap_or(0);
        for k in 0..positions.max(acked_here) {
            let seq = k * p.files + f;
            let offset = k * p.record;
            let want = p.data(seq, offset);
            let got = data
                .get(offset as usize..((offset + p.record) as usize).min(data.len()))
                .unwrap_or(&[]);
            if acked.contains(&seq) {
                match first_difference(offset, &want, got) {
                    None => present += 1,
                    Some(d) => mismatches.push(format!(
                        "{}: acknowledged record {seq}: {d}",
                        path.display()
                    )),
                }
            } else if got == want.as_slice() {
                unacked_present += 1;
            } else if got.iter().any(|&b| b != 0) {
                let why = check_record(p.seed, got).map_or_else(|e| e, |id| format!("{id:?}"));
                mismatches.push(format!(
                    "{}: offset {offset} (record {seq}, not acknowledged) holds {why}",
                    path.display()
                ));
            }
            if mismatches.len() > 20 {
                break;
            }
        }
    }
    for m in &mismatches {
        println!("MISMATCH {m}");
    }
    println!(
        "journal-verify: acked={} present={present} missing={} unacked_present={unacked_present} mismatches={}",
        acked.len(),
        acked.len() as u64 - present,
        mismatches.len()
    );
    if !mismatches.is_empty() || present != acked.len() as u64 {
        bail!(
            "{} acknowledged record(s) missing or damaged",
            mismatches.len()
        );
    }
    Ok(())
}
