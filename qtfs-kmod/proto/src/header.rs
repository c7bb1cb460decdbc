//! The frame header: 20 bytes in front of every message.
//!
//! ```text
//! offset size field
//!  0      4   total_len   u32  header + body, HEADER_LEN..=MAX_FRAME_SIZE
//!  4      2   opcode      u16  see Opcode; kept raw so unknown ones can be answered
//!  6      2   flags       u16  REPLY (0x1) | EVENT (0x2); other bits reserved, zero
//!  8      8   request_id  u64  chosen by the client, echoed by the reply; 0 only in events
//! 16      4   status      u32  replies: 0 or an errno (1..=4095); otherwise 0
//! ```

use super::errno::Errno;
use super::limits::{MAX_ERRNO, MAX_FRAME_SIZE};
use super::opcode::Opcode;
use super::wire::{Codec, DecodeError, EncodeError, Reader, Writer};

/// Size of the frame header in bytes.
pub const HEADER_LEN: usize = 20;

/// The header flag bits. A frame is a request (no flag), a reply (`REPLY`)
/// or a server-initiated event (`EVENT`); both bits together is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameFlags(u16);

impl FrameFlags {
    /// A request (client to server).
    pub const REQUEST: FrameFlags = FrameFlags(0);
    /// A reply to the request with the same id.
    pub const REPLY: FrameFlags = FrameFlags(0x0001);
    /// An unsolicited event from the server.
    pub const EVENT: FrameFlags = FrameFlags(0x0002);

    /// Every named flag, for the documentation test.
    pub const ALL: &'static [(&'static str, FrameFlags)] =
        &[("REPLY", FrameFlags::REPLY), ("EVENT", FrameFlags::EVENT)];

    /// The raw bits.
    pub const fn bits(self) -> u16 {
        self.0
    }
}

/// The decoded header of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Length of the whole frame, header included.
    pub total_len: u32,
    /// Raw opcode; use [`FrameHeader::opcode`] to interpret it.
    pub opcode: u16,
    /// Request, reply or event.
    pub flags: FrameFlags,
    /// Matches a reply with its request.
    pub request_id: u64,
    /// 0, or the errno of a failed request (replies only).
    pub status: u32,
}

impl FrameHeader {
    /// The opcode, if this version knows it.
    pub fn opcode(&self) -> Option<Opcode> {
        Opcode::from_u16(self.opcode)
    }

    /// Length of the body that follows the header.
    pub fn body_len(&self) -> usize {
        // total_len >= HEADER_LEN is checked by decode.
        (self.total_len as usize).saturating_sub(HEADER_LEN)
    }

    /// The errno of an error reply.
    pub fn errno(&self) -> Option<Errno> {
        Errno::new(self.status)
    }

    /// Decodes and validates the first [`HEADER_LEN`] bytes of `bytes`
    /// (more may follow). Checks the length bounds, the flag combination,
    /// the status and the request id rules; the opcode is not checked
    /// here, so an unknown one can still be answered.
    pub fn decode(bytes: &[u8]) -> Result<FrameHeader, DecodeError> {
        let mut r = Reader::new(bytes);
        let total_len = u32::decode(&mut r)?;
        let opcode = u16::decode(&mut r)?;
        let flags = u16::decode(&mut r)?;
        let request_id = u64::decode(&mut r)?;
        let status = u32::decode(&mut r)?;
        if (total_len as usize) < HEADER_LEN {
            return Err(DecodeError::BadFrameLength);
        }
        if total_len > MAX_FRAME_SIZE {
            return Err(DecodeError::FrameTooLarge);
        }
        let flags = match flags {
            0 => FrameFlags::REQUEST,
            0x0001 => FrameFlags::REPLY,
            0x0002 => FrameFlags::EVENT,
            _ => return Err(DecodeError::ReservedBits),
        };
        let is_reply = flags == FrameFlags::REPLY;
        if status > MAX_ERRNO || (!is_reply && status != 0) {
            return Err(DecodeError::BadValue);
        }
        let is_event = flags == FrameFlags::EVENT;
        if is_event != (request_id == 0) {
            return Err(DecodeError::BadValue);
        }
        Ok(FrameHeader {
            total_len,
            opcode,
            flags,
            request_id,
            status,
        })
    }

    /// Writes the header (20 bytes). `total_len` is written as given.
    pub fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.total_len.encode(w)?;
        self.opcode.encode(w)?;
        self.flags.0.encode(w)?;
        self.request_id.encode(w)?;
        self.status.encode(w)
    }
}
