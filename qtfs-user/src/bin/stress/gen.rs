//! Deterministic data: the random generator, checksums, the self-describing
//! records of the shared files and the journal, and the blocks of `fill`.
//! Everything the tools write is a function of the seed, so `verify` can
//! recompute it anywhere (on the HOST too) without a copy of the data.

/// splitmix64: small, fast, and good enough to pick operations and bytes.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// One seed from several numbers (worker, sequence, ...).
pub fn mix(parts: &[u64]) -> u64 {
    let mut r = Rng::new(0x51_7466_7354);
    let mut h = 0u64;
    for &p in parts {
        r.0 ^= p.wrapping_add(h);
        h = r.next_u64();
    }
    h
}

/// FNV-1a, 64 bits: detects torn and shifted data, not an adversary.
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in data {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A record: a 32-byte header (magic, writer, sequence number, the offset
/// it was written at, checksum of the payload) and a payload that is a
/// function of (seed, writer, sequence). Torn, shifted or misplaced data,
/// or data of another writer, fails [`check_record`].
pub const RECORD_MAGIC: u32 = 0x5254_5351; // "QSTR"
pub const HEADER: usize = 32;
/// The offset field of records whose place is not known in advance
/// (appends).
pub const ANY_OFFSET: u64 = u64::MAX;

pub fn record(seed: u64, writer: u32, seq: u64, offset: u64, len: usize) -> Vec<u8> {
    assert!(len > HEADER);
    let mut out = vec![0u8; len];
    Rng::new(mix(&[seed, writer as u64, seq, len as u64])).fill(&mut out[HEADER..]);
    let sum = fnv1a(&out[HEADER..]);
    out[0..4].copy_from_slice(&RECORD_MAGIC.to_le_bytes());
    out[4..8].copy_from_slice(&writer.to_le_bytes());
    out[8..16].copy_from_slice(&seq.to_le_bytes());
    out[16..24].copy_from_slice(&offset.to_le_bytes());
    out[24..32].copy_from_slice(&sum.to_le_bytes());
    out
}

/// What a record says about itself, once it checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordId {
    pub writer: u32,
    pub seq: u64,
    pub offset: u64,
}

/// Checks `data` (one record's length) as a record: its header, its
/// checksum and that its payload is exactly what (seed, writer, seq)
/// gives. `Err` says what is wrong.
pub fn check_record(seed: u64, data: &[u8]) -> Result<RecordId, String> {
    if data.len() <= HEADER {
        return Err(format!("{} bytes: shorter than a record", data.len()));
    }
    let u32_at = |i: usize| u32::from_le_bytes(data[i..i + 4].try_into().unwrap());
    let u64_at = |i: usize| u64::from_le_bytes(data[i..i + 8].try_into().unwrap());
    if u32_at(0) != RECORD_MAGIC {
        return Err(format!("bad magic {:#010x}", u32_at(0)));
    }
    let id = RecordId {
        writer: u32_at(4),
        seq: u64_at(8),
        offset: u64_at(16),
    };
    if fnv1a(&data[HEADER..]) != u64_at(24) {
        return Err(format!("checksum mismatch in the record of {id:?} (torn?)"));
    }
    let want = record(seed, id.writer, id.seq, id.offset, data.len());
    if want[HEADER..] != data[HEADER..] {
        return Err(format!("payload of {id:?} is not the one its writer wrote"));
    }
    Ok(id)
}

/// `fill`'s content: 4 KiB blocks, each starting with its own index, the
/// rest a function of (seed, index).
pub const BLOCK: usize = 4096;

pub fn block(seed: u64, index: u64, out: &mut [u8]) {
    Rng::new(mix(&[seed, index])).fill(out);
    out[..8].copy_from_slice(&index.to_le_bytes());
}

/// Where two byte strings first differ, with up to 16 bytes of each from
/// there, for failure messages ("offset N: expected .. found ..").
pub fn first_difference(base: u64, want: &[u8], got: &[u8]) -> Option<String> {
    let n = want.len().min(got.len());
    let at = (0..n)
        .find(|&i| want[i] != got[i])
        .or(if want.len() != got.len() {
            Some(n)
        } else {
            None
        })?;
    let hex = |s: &[u8]| {
        let end = (at + 16).min(s.len());
        let mut out = String::new();
        for b in s.get(at..end).unwrap_or(&[]) {
            out.push_str(&format!("{b:02x}"));
        }
        if out.is_empty() {
            out.push_str("(end of data)");
        }
        out
    };
    Some(format!(
        "offset {}: expected {} found {} (expected {} bytes, found {})",
        base + at as u64,
        hex(want),
        hex(got),
        want.len(),
        got.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_check_and_detect_damage() {
        let r = record(7, 3, 42, 1000, 200);
        assert_eq!(
            check_record(7, &r),
            Ok(RecordId {
                writer: 3,
                seq: 42,
                offset: 1000
            })
        );
        let mut torn = r.clone();
        torn[150] ^= 1;
        assert!(check_record(7, &torn).is_err());
        assert!(check_record(8, &r).is_err(), "another seed's data passed");
        let mut forged = r.clone();
        forged[8] = 43; // another sequence number, same payload
        assert!(check_record(7, &forged).is_err());
        assert!(check_record(7, &[0u8; 200]).is_err());
    }

    #[test]
    fn differences_name_the_offset() {
        assert_eq!(first_difference(0, b"abc", b"abc"), None);
        let d = first_difference(100, b"abcd", b"abxd").unwrap();
        assert!(d.starts_with("offset 102: expected 6364 found 7864"), "{d}");
        let d = first_difference(0, b"ab", b"a").unwrap();
        assert!(d.starts_with("offset 1:"), "{d}");
    }

    #[test]
    fn generator_is_deterministic() {
        let mut a = Rng::new(5);
        let mut b = Rng::new(5);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(mix(&[1, 2]), mix(&[2, 1]));
    }
}
