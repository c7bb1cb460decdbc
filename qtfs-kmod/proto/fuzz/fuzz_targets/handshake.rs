//! Fuzzes the handshake decoders (Hello, ServerHello, ClientAuth, AuthOk,
//! Refused), the proof checks and the server state machine. Input:
//! selector byte (opcode Hello/Auth, request/reply, status) then the body.
//! The server state machine must never become ready from fuzzed frames
//! (that would need the key's MAC).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qtfs_proto::{
    decode_handshake, encode_handshake, split_frame, HandshakeMessage, ServerHandshake,
    ServerHello, ServerStep,
};

const KEY: &[u8] = b"fuzzing key, fuzzing key, fuzzing";

fuzz_target!(|data: &[u8]| {
    if let Ok((h, body)) = split_frame(data) {
        let _ = decode_handshake(&h, body);
    }
    if data.is_empty() || data.len() > 4096 {
        return;
    }
    let sel = data[0];
    let opcode: u16 = if sel & 1 == 0 { 1 } else { 2 };
    let flags: u16 = if sel & 2 == 0 { 0 } else { 1 };
    let status: u32 = if flags == 1 && sel & 4 != 0 {
        u32::from(sel >> 3)
    } else {
        0
    };
    let body = &data[1..];
    let mut f = Vec::with_capacity(20 + body.len());
    f.extend_from_slice(&((20 + body.len()) as u32).to_le_bytes());
    f.extend_from_slice(&opcode.to_le_bytes());
    f.extend_from_slice(&flags.to_le_bytes());
    f.extend_from_slice(&5u64.to_le_bytes());
    f.extend_from_slice(&status.to_le_bytes());
    f.extend_from_slice(body);
    let Ok((h, body)) = split_frame(&f) else {
        return;
    };
    // The state machine, fed this frame twice (as Hello, then as Auth).
    let mut server = ServerHandshake::new(Default::default(), [7; 32]);
    for _ in 0..2 {
        if let ServerStep::Accept(..) = server.on_frame(KEY, &h, body) {
            panic!("authenticated without the key");
        }
    }
    assert!(!server.is_ready());
    if let Ok(msg) = decode_handshake(&h, body) {
        let mut out = vec![0u8; f.len()];
        let n = encode_handshake(&mut out, 5, &msg).expect("decoded message re-encodes");
        assert_eq!(&out[..n], &f[..], "encoding is canonical");
        match msg {
            HandshakeMessage::Hello(hello) => {
                if let Ok(answer) = ServerHello::answer(KEY, &hello, Default::default(), [7; 32]) {
                    assert!(answer.verify(KEY, &hello).is_ok());
                }
            }
            HandshakeMessage::ServerHello(sh) => {
                let hello = qtfs_proto::Hello::new(Default::default(), [1; 32]);
                let _ = sh.verify(KEY, &hello);
            }
            _ => {}
        }
    }
});
