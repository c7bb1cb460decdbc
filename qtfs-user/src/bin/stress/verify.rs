//! `verify`: the files `run` left, compared with the replayed model. Runs
//! on the DPU through qtfs and on the HOST over its own copies.
use crate::gen::{check_record, first_difference, ANY_OFFSET};
use crate::io::read_all;
use crate::model::{replay, SLOT_FILES};
use crate::run::{load_params, private_file, LOG_FILE};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

fn read(path: &Path) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    read_all(&f).with_context(|| format!("read {}", path.display()))
}

/// Every file against the model; prints one line per mismatch and fails
/// if there is any.
pub fn verify(dir: &Path) -> Result<()> {
    let p = load_params(dir)?;
    let models = replay(&p);
    let mut mismatches = Vec::new();
    let mut bytes = 0u64;

    for (w, m) in models.iter().enumerate() {
        let got = read(&private_file(dir, w as u32))?;
        bytes += got.len() as u64;
        if let Some(d) = first_difference(0, &m.private, &got) {
            mismatches.push(format!("private-{w}: {d}"));
        }
    }

    for (file, name) in SLOT_FILES.iter().enumerate() {
        let slots = read(&dir.join(name))?;
        bytes += slots.len() as u64;
        let mut want = Vec::with_capacity(slots.len());
        for s in 0..p.slots() {
            let owner = (s % p.workers as u64) as usize;
            want.extend_from_slice(&models[owner].slot_record(&p, owner as u32, file, s));
        }
        if let Some(d) = first_difference(0, &want, &slots) {
            mismatches.push(format!("{name}: {d} (slot {})", d_slot(&d, p.slot_size)));
        }
    }

    let log = read(&dir.join(LOG_FILE))?;
    bytes += log.len() as u64;
    let n = p.log_record as usize;
    let expected_records: usize = models.iter().map(|m| m.log.len()).sum();
    if log.len() != expected_records * n {
        mismatches.push(format!(
            "{LOG_FILE}: {} bytes, expected {expected_records} records of {n} = {}",
            log.len(),
            expected_records * n
        ));
    }
    let mut seen: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for (i, rec) in log.chunks(n).enumerate() {
        match check_record(p.seed, rec) {
            Ok(id) if id.offset == ANY_OFFSET && id.writer < p.workers => {
                seen.entry(id.writer).or_default().push(id.seq)
            }
            Ok(id) => mismatches.push(format!("{LOG_FILE} record {i} (offset {}): {id:?}", i * n)),
            Err(e) => mismatches.push(format!("{LOG_FILE} record {i} (offset {}): {e}", i * n)),
        }
        if mismatches.len() > 20 {
            break;
        }
    }
    for (w, m) in models.iter().enumerate() {
        let got = seen.remove(&(w as u32)).unwrap_or_default();
        if got != m.log {
            mismatches.push(format!(
                "{LOG_FILE}: worker {w}'s records are {} {:?}..., it appended {} {:?}...",
                got.len(),
                &got[..got.len().min(5)],
                m.log.len(),
                &m.log[..m.log.len().min(5)]
            ));
        }
    }

    for m in &mismatches {
        println!("MISMATCH {m}");
    }
    println!(
        "verify: {} files, {bytes} bytes, {} log records, mismatches={}",
        p.workers as usize + 1 + SLOT_FILES.len(),
        expected_records,
        mismatches.len()
    );
    if !mismatches.is_empty() {
        bail!("{} mismatch(es) in {}", mismatches.len(), dir.display());
    }
    Ok(())
}

/// The slot of the offset a difference message names.
fn d_slot(d: &str, slot_size: u64) -> u64 {
    d.strip_prefix("offset ")
        .and_then(|s| s.split(':').next())
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(0, |o| o / slot_size)
}
