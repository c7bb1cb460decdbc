//! Fuzzes the reply decoder (every opcode, success and error). Input:
//! opcode (2 bytes LE), status selector (1 byte), then the body. A reply
//! that decodes must re-encode to the identical frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qtfs_proto::{decode_reply, encode_error_reply, encode_reply, split_frame, MAX_FRAME_SIZE};

fuzz_target!(|data: &[u8]| {
    if let Ok((h, body)) = split_frame(data) {
        let _ = decode_reply(&h, body);
    }
    if data.len() < 3 || data.len() > MAX_FRAME_SIZE as usize - 20 {
        return;
    }
    let opcode = u16::from_le_bytes([data[0], data[1]]);
    // Mostly successes; sometimes an errno, sometimes an invalid status.
    let status: u32 = match data[2] {
        0..=199 => 0,
        200..=250 => u32::from(data[2]) - 199,
        _ => 4096,
    };
    let body = &data[3..];
    let mut f = Vec::with_capacity(20 + body.len());
    f.extend_from_slice(&((20 + body.len()) as u32).to_le_bytes());
    f.extend_from_slice(&opcode.to_le_bytes());
    f.extend_from_slice(&1u16.to_le_bytes());
    f.extend_from_slice(&9u64.to_le_bytes());
    f.extend_from_slice(&status.to_le_bytes());
    f.extend_from_slice(body);
    let Ok((h, body)) = split_frame(&f) else {
        return;
    };
    if let Ok(reply) = decode_reply(&h, body) {
        let mut out = vec![0u8; f.len()];
        let n = match reply.result {
            Ok(r) => encode_reply(&mut out, reply.request_id, &r),
            Err(e) => encode_error_reply(&mut out, reply.opcode, reply.request_id, e),
        }
        .expect("decoded reply re-encodes");
        assert_eq!(&out[..n], &f[..], "encoding is canonical");
    }
});
