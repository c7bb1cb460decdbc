//! Fuzzes the event decoder. Input: opcode (2 bytes LE) then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qtfs_proto::{decode_event, encode_event, split_frame};

fuzz_target!(|data: &[u8]| {
    if let Ok((h, body)) = split_frame(data) {
        let _ = decode_event(&h, body);
    }
    if data.len() < 2 || data.len() > 4096 {
        return;
    }
    let opcode = u16::from_le_bytes([data[0], data[1]]);
    let body = &data[2..];
    let mut f = Vec::with_capacity(20 + body.len());
    f.extend_from_slice(&((20 + body.len()) as u32).to_le_bytes());
    f.extend_from_slice(&opcode.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&0u64.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(body);
    let (h, body) = split_frame(&f).expect("valid header");
    if let Ok(event) = decode_event(&h, body) {
        let mut out = vec![0u8; f.len()];
        let n = encode_event(&mut out, &event).expect("decoded event re-encodes");
        assert_eq!(&out[..n], &f[..], "encoding is canonical");
    }
});
