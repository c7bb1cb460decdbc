//! Fuzzes the request decoder (every opcode). Input: opcode (2 bytes LE)
//! then the body; the header around it is built valid so the fuzzer spends
//! its time in the body decoders. A request that decodes must re-encode to
//! the identical frame. Raw input is also tried as a whole frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qtfs_proto::{decode_request, encode_request, split_frame, MAX_FRAME_SIZE};

fn frame(opcode: u16, flags: u16, status: u32, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(20 + body.len());
    f.extend_from_slice(&((20 + body.len()) as u32).to_le_bytes());
    f.extend_from_slice(&opcode.to_le_bytes());
    f.extend_from_slice(&flags.to_le_bytes());
    f.extend_from_slice(&9u64.to_le_bytes());
    f.extend_from_slice(&status.to_le_bytes());
    f.extend_from_slice(body);
    f
}

fuzz_target!(|data: &[u8]| {
    if let Ok((h, body)) = split_frame(data) {
        let _ = decode_request(&h, body);
    }
    if data.len() < 2 || data.len() > MAX_FRAME_SIZE as usize - 20 {
        return;
    }
    let opcode = u16::from_le_bytes([data[0], data[1]]);
    let f = frame(opcode, 0, 0, &data[2..]);
    let (h, body) = split_frame(&f).expect("valid header");
    if let Ok(req) = decode_request(&h, body) {
        let mut out = vec![0u8; f.len()];
        let n = encode_request(&mut out, req.request_id, &req.creds, &req.request)
            .expect("decoded request re-encodes");
        assert_eq!(&out[..n], &f[..], "encoding is canonical");
    }
});
