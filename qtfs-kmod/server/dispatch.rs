// SPDX-License-Identifier: GPL-2.0
//! After the handshake: read a request, perform it, answer it; repeat.
//!
//! Every frame that passes the header rules gets exactly one answer: an
//! unknown opcode, or one whose capability was not negotiated, or a
//! handshake opcode, `EOPNOTSUPP`; a body that does not decode, the errno
//! of its `DecodeError` (`EINVAL`, `ENAMETOOLONG`, `EPROTO`); the request is
//! then not performed. A frame that is not a request (a reply or an event
//! from the client) ends the session, as does a bad header (`frame_io`).
#![forbid(unsafe_code)]

use crate::frame_io::{End, FrameIo};
use crate::kbase::kthread::StopToken;
use crate::kbase::net::TcpStream;
use crate::ops::{self, Ctx};
use crate::proto::{
    decode_request, encode_error_reply, encode_reply, Errno, FrameFlags, FrameHeader, Negotiated,
};

/// Serves requests until the peer closes, a protocol error, or a stop.
pub(crate) fn serve(
    io: &mut FrameIo,
    stream: &TcpStream,
    stop: &StopToken,
    negotiated: Negotiated,
    ctx: &mut Ctx<'_>,
) -> End {
    loop {
        let header = match io.read_frame(stream, stop, None) {
            Ok(h) => h,
            Err(e) => return e,
        };
        if header.flags != FrameFlags::REQUEST {
            return End::NotARequest;
        }
        let (body, tx) = io.split(&header);
        let len = answer(&header, body, tx, negotiated, ctx);
        if len > 0 {
            if let Err(e) = io.send(stream, len) {
                return e;
            }
        }
    }
}

/// Performs one request and encodes its answer into `tx`; returns the
/// frame's length (0 only if even the error reply cannot be encoded,
/// which a 20-byte frame in a MAX_FRAME_SIZE buffer cannot).
fn answer(
    header: &FrameHeader,
    body: &[u8],
    tx: &mut [u8],
    negotiated: Negotiated,
    ctx: &mut Ctx<'_>,
) -> usize {
    let errno = match header.opcode() {
        None => Errno::EOPNOTSUPP,
        Some(op) if !negotiated.allows(op) => Errno::EOPNOTSUPP,
        Some(_) => match decode_request(header, body) {
            Err(e) => e.errno(),
            Ok(req) => {
                // The reply may borrow the session's scratch buffers
                // (read data, link targets), hence the closure.
                match ops::perform(ctx, &req, |reply| {
                    encode_reply(&mut *tx, header.request_id, reply).map_err(|_| Errno::EIO)
                }) {
                    Ok(len) => return len,
                    Err(e) => e,
                }
            }
        },
    };
    encode_error_reply(tx, header.opcode, header.request_id, errno).unwrap_or(0)
}
