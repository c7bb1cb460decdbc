// SPDX-License-Identifier: GPL-2.0
//! The server side of the protocol handshake (docs/protocol.md section 3),
//! driven by the protocol crate's `ServerHandshake`, bounded in time.
#![forbid(unsafe_code)]

use crate::frame_io::{End, FrameIo};
use crate::kbase::kthread::StopToken;
use crate::kbase::net::TcpStream;
use crate::kbase::sys::{monotonic_ms, random_bytes};
use crate::proto::{
    encode_handshake, Capabilities, Errno, HandshakeMessage, Negotiated, Opcode, ServerHandshake,
    ServerStep,
};

/// Longest time a connection may spend in the handshake.
pub(crate) const HANDSHAKE_TIMEOUT_MS: u64 = 30_000;

/// What this server offers: the xattr operations, `ReadFile` and poll
/// events (not remote mounts or remote kill).
const SERVER_CAPABILITIES: Capabilities = Capabilities::XATTR
    .union(Capabilities::WHOLE_FILE_READ)
    .union(Capabilities::POLL_EVENTS);

/// Runs the handshake with `key`; on success the peer is authenticated.
/// Any failure ends the session before a file operation is read.
pub(crate) fn run(
    io: &mut FrameIo,
    stream: &TcpStream,
    stop: &StopToken,
    key: &[u8],
) -> Result<Negotiated, End> {
    let mut nonce = [0u8; 32];
    random_bytes(&mut nonce);
    let mut hs = ServerHandshake::new(SERVER_CAPABILITIES, nonce);
    let deadline = monotonic_ms().saturating_add(HANDSHAKE_TIMEOUT_MS);
    loop {
        let header = io.read_frame(stream, stop, Some(deadline))?;
        let (body, _) = io.split(&header);
        let step = hs.on_frame(key, &header, body);
        let (answer, result) = match step {
            ServerStep::Reply(m) => (Some(m), None),
            ServerStep::Accept(m, n) => (Some(m), Some(Ok(n))),
            ServerStep::Close(m) => (m, Some(Err(End::HandshakeFailed(why(m))))),
        };
        if let Some(m) = answer {
            // request_id is non-zero on every valid request; a zero one
            // (an event) only reaches here with `Close(None)`.
            if let Ok(len) = encode_handshake(io.tx(), header.request_id, &m) {
                io.send(stream, len)?;
            }
        }
        if let Some(r) = result {
            return r;
        }
    }
}

fn why(answer: Option<HandshakeMessage>) -> &'static str {
    match answer {
        Some(HandshakeMessage::Refused(Opcode::Auth, _)) => "wrong key (bad client proof)",
        Some(HandshakeMessage::Refused(_, e)) if e == Errno::EPROTONOSUPPORT => {
            "no common protocol version"
        }
        Some(HandshakeMessage::Refused(..)) => "hello refused",
        _ => "unexpected or malformed frame",
    }
}
