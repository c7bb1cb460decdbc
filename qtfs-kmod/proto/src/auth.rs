//! HMAC-SHA256 (RFC 2104) and a constant-time comparison, for the
//! handshake's mutual authentication. A kernel module may use these or the
//! kernel crypto API's `hmac(sha256)` over the same bytes.

use super::sha256::{Sha256, BLOCK_LEN, DIGEST_LEN};

/// Length of a MAC in bytes.
pub const MAC_LEN: usize = DIGEST_LEN;

/// An incremental HMAC-SHA256 computation.
#[derive(Clone, Debug)]
pub struct HmacSha256 {
    inner: Sha256,
    outer_pad: [u8; BLOCK_LEN],
}

impl HmacSha256 {
    /// Starts a MAC with `key` (any length; longer than 64 bytes is hashed).
    pub fn new(key: &[u8]) -> Self {
        let mut block = [0u8; BLOCK_LEN];
        if key.len() > BLOCK_LEN {
            let digest = super::sha256::sha256(key);
            for (dst, src) in block.iter_mut().zip(digest.iter()) {
                *dst = *src;
            }
        } else {
            for (dst, src) in block.iter_mut().zip(key.iter()) {
                *dst = *src;
            }
        }
        let mut inner_pad = [0u8; BLOCK_LEN];
        let mut outer_pad = [0u8; BLOCK_LEN];
        for ((i, o), k) in inner_pad
            .iter_mut()
            .zip(outer_pad.iter_mut())
            .zip(block.iter())
        {
            *i = k ^ 0x36;
            *o = k ^ 0x5c;
        }
        let mut inner = Sha256::new();
        inner.update(&inner_pad);
        HmacSha256 { inner, outer_pad }
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// Finishes and returns the MAC.
    pub fn finalize(self) -> [u8; MAC_LEN] {
        let inner_digest = self.inner.finalize();
        let mut outer = Sha256::new();
        outer.update(&self.outer_pad);
        outer.update(&inner_digest);
        outer.finalize()
    }
}

/// HMAC-SHA256 of `data` under `key` in one call.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; MAC_LEN] {
    let mut mac = HmacSha256::new(key);
    mac.update(data);
    mac.finalize()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| core::hint::black_box(acc | (x ^ y)));
    diff == 0
}
