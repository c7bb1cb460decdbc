//! Whole frames: header plus body, for requests, replies, events and the
//! handshake.
//!
//! Receiving: read [`HEADER_LEN`] bytes, [`FrameHeader::decode`] them (this
//! bounds `total_len` by `MAX_FRAME_SIZE`), read `body_len()` more bytes,
//! then call the decoder for the direction and phase: [`decode_handshake`],
//! [`decode_request`], [`decode_reply`] or [`decode_event`]. With the whole
//! frame in one slice, [`split_frame`] does the first step.
//!
//! Sending: `encode_*` write the whole frame into a caller buffer and
//! return its length.

use super::creds::Credentials;
use super::errno::Errno;
use super::handshake::{ClientAuth, Hello, ServerHello};
use super::header::{FrameFlags, FrameHeader, HEADER_LEN};
use super::limits::MAX_FRAME_SIZE;
use super::opcode::Opcode;
use super::replies::*;
use super::requests::*;
use super::wire::{Codec, DecodeError, Describe, EncodeError, Field, Reader, Writer};

/// Documentation layout of one operation.
#[derive(Clone, Copy, Debug)]
pub struct OperationLayout {
    /// The opcode.
    pub opcode: Opcode,
    /// Request struct name.
    pub request: &'static str,
    /// Request fields after the credentials.
    pub request_fields: &'static [Field],
    /// Reply struct name.
    pub reply: &'static str,
    /// Reply fields.
    pub reply_fields: &'static [Field],
    /// Request doc attributes.
    pub request_doc: &'static str,
    /// Reply doc attributes.
    pub reply_doc: &'static str,
}

macro_rules! operations {
    ($( $op:ident => $req:ident $(<$rl:lifetime>)?, $rep:ident $(<$pl:lifetime>)?; )*) => {
        /// A file-operation request (the part after the credentials).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Request<'a> {
            $(
                #[doc = concat!("Opcode `", stringify!($op), "`.")]
                $op($req $(<$rl>)?),
            )*
        }

        /// The body of a successful reply, by opcode.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Reply<'a> {
            $(
                #[doc = concat!("Reply to `", stringify!($op), "`.")]
                $op($rep $(<$pl>)?),
            )*
        }

        impl<'a> Request<'a> {
            /// The opcode of this request.
            pub fn opcode(&self) -> Opcode {
                match self { $( Request::$op(_) => Opcode::$op, )* }
            }

            fn encode_body(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
                match self { $( Request::$op(m) => m.encode(w), )* }
            }

            fn decode_body(op: Opcode, r: &mut Reader<'a>) -> Result<Self, DecodeError> {
                match op {
                    $( Opcode::$op => Ok(Request::$op(Codec::decode(r)?)), )*
                    #[allow(unreachable_patterns)]
                    other => Err(DecodeError::UnexpectedOpcode(other.to_u16())),
                }
            }

            /// Calls `f` with the layout of every file operation, in opcode order.
            pub fn for_each_layout(mut f: impl FnMut(OperationLayout)) {
                $( f(OperationLayout {
                    opcode: Opcode::$op,
                    request: <$req $(<$rl>)? as Describe>::NAME,
                    request_fields: <$req $(<$rl>)? as Describe>::FIELDS,
                    reply: <$rep $(<$pl>)? as Describe>::NAME,
                    reply_fields: <$rep $(<$pl>)? as Describe>::FIELDS,
                    request_doc: <$req $(<$rl>)? as Describe>::DOC,
                    reply_doc: <$rep $(<$pl>)? as Describe>::DOC,
                }); )*
            }
        }

        impl<'a> Reply<'a> {
            /// The opcode this reply answers.
            pub fn opcode(&self) -> Opcode {
                match self { $( Reply::$op(_) => Opcode::$op, )* }
            }

            fn encode_body(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
                match self { $( Reply::$op(m) => m.encode(w), )* }
            }

            fn decode_body(op: Opcode, r: &mut Reader<'a>) -> Result<Self, DecodeError> {
                match op {
                    $( Opcode::$op => Ok(Reply::$op(Codec::decode(r)?)), )*
                    #[allow(unreachable_patterns)]
                    other => Err(DecodeError::UnexpectedOpcode(other.to_u16())),
                }
            }
        }
    };
}

operations! {
    Ping => PingRequest, EmptyReply;
    Attach => AttachRequest<'a>, EntryReply;
    Forget => ForgetRequest, EmptyReply;
    Lookup => LookupRequest<'a>, EntryReply;
    Getattr => GetattrRequest, AttrReply;
    Setattr => SetattrRequest, AttrReply;
    Open => OpenRequest, OpenReply;
    Create => CreateRequest<'a>, CreateReply;
    Read => ReadRequest, ReadReply<'a>;
    Write => WriteRequest<'a>, WriteReply;
    Fsync => FsyncRequest, EmptyReply;
    Release => ReleaseRequest, EmptyReply;
    Readdir => ReaddirRequest, ReaddirReply<'a>;
    Mkdir => MkdirRequest<'a>, NewEntryReply;
    Rmdir => RmdirRequest<'a>, RemoveReply;
    Unlink => UnlinkRequest<'a>, RemoveReply;
    Rename => RenameRequest<'a>, RenameReply;
    Link => LinkRequest<'a>, NewEntryReply;
    Symlink => SymlinkRequest<'a>, NewEntryReply;
    Readlink => ReadlinkRequest, ReadlinkReply<'a>;
    Mknod => MknodRequest<'a>, NewEntryReply;
    Statfs => StatfsRequest, StatfsReply;
    GetXattr => GetXattrRequest<'a>, GetXattrReply<'a>;
    SetXattr => SetXattrRequest<'a>, EmptyReply;
    ListXattr => ListXattrRequest, ListXattrReply<'a>;
    RemoveXattr => RemoveXattrRequest<'a>, EmptyReply;
    Llseek => LlseekRequest, LlseekReply;
    PollRegister => PollRegisterRequest, PollRegisterReply;
    PollCancel => PollCancelRequest, EmptyReply;
    ReadFile => ReadFileRequest, ReadFileReply<'a>;
    RemoteMount => RemoteMountRequest<'a>, EmptyReply;
    RemoteUmount => RemoteUmountRequest, EmptyReply;
    RemoteKill => RemoteKillRequest, EmptyReply;
    Cancel => CancelRequest, EmptyReply;
    Fallocate => FallocateRequest, AttrReply;
}

/// A decoded request frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncomingRequest<'a> {
    /// Id to echo in the reply.
    pub request_id: u64,
    /// Who is asking.
    pub creds: Credentials<'a>,
    /// What is asked.
    pub request: Request<'a>,
}

/// A decoded reply frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncomingReply<'a> {
    /// Id of the request answered.
    pub request_id: u64,
    /// Raw opcode echoed from the request (may be unknown for an error).
    pub opcode: u16,
    /// The body, or the errno of a failed request.
    pub result: Result<Reply<'a>, Errno>,
}

/// A server-initiated event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A poll registration fired.
    Poll(PollEventBody),
}

/// A handshake frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeMessage {
    /// Client, opcode `Hello`, request.
    Hello(Hello),
    /// Server, opcode `Hello`, reply.
    ServerHello(ServerHello),
    /// Client, opcode `Auth`, request.
    ClientAuth(ClientAuth),
    /// Server, opcode `Auth`, reply with status 0 and no body.
    AuthOk,
    /// Server, a `Hello` or `Auth` reply with an errno; the server closes.
    Refused(Opcode, Errno),
}

fn write_frame(
    buf: &mut [u8],
    opcode: u16,
    flags: FrameFlags,
    request_id: u64,
    status: u32,
    body: impl FnOnce(&mut Writer<'_>) -> Result<(), EncodeError>,
) -> Result<usize, EncodeError> {
    let mut w = Writer::new(buf);
    let header = FrameHeader {
        total_len: 0,
        opcode,
        flags,
        request_id,
        status,
    };
    header.encode(&mut w)?;
    body(&mut w)?;
    let total = w.position();
    let total_u32 = u32::try_from(total).map_err(|_| EncodeError::FrameTooLarge)?;
    if total_u32 > MAX_FRAME_SIZE {
        return Err(EncodeError::FrameTooLarge);
    }
    w.patch(0, &total_u32.to_le_bytes())?;
    Ok(total)
}

/// Splits a complete frame into its validated header and its body.
pub fn split_frame(frame: &[u8]) -> Result<(FrameHeader, &[u8]), DecodeError> {
    let header = FrameHeader::decode(frame)?;
    if header.total_len as usize != frame.len() {
        return Err(DecodeError::BadFrameLength);
    }
    let body = frame.get(HEADER_LEN..).ok_or(DecodeError::Truncated)?;
    Ok((header, body))
}

fn body_reader<'a>(header: &FrameHeader, body: &'a [u8]) -> Result<Reader<'a>, DecodeError> {
    if body.len() != header.body_len() {
        return Err(DecodeError::BadFrameLength);
    }
    Ok(Reader::new(body))
}

fn is_file_operation(op: Opcode) -> bool {
    !matches!(op, Opcode::Hello | Opcode::Auth | Opcode::PollEvent)
}

/// Encodes a file-operation request. `request_id` must not be 0.
pub fn encode_request(
    buf: &mut [u8],
    request_id: u64,
    creds: &Credentials<'_>,
    request: &Request<'_>,
) -> Result<usize, EncodeError> {
    if request_id == 0 {
        return Err(EncodeError::BadValue);
    }
    write_frame(
        buf,
        request.opcode().to_u16(),
        FrameFlags::REQUEST,
        request_id,
        0,
        |w| {
            creds.encode(w)?;
            request.encode_body(w)
        },
    )
}

/// Decodes a file-operation request. An unknown opcode gives
/// [`DecodeError::UnknownOpcode`]: answer it with
/// [`encode_error_reply`] and `EOPNOTSUPP` (see [`DecodeError::errno`]).
pub fn decode_request<'a>(
    header: &FrameHeader,
    body: &'a [u8],
) -> Result<IncomingRequest<'a>, DecodeError> {
    if header.flags != FrameFlags::REQUEST {
        return Err(DecodeError::ReservedBits);
    }
    let op = header
        .opcode()
        .ok_or(DecodeError::UnknownOpcode(header.opcode))?;
    if !is_file_operation(op) {
        return Err(DecodeError::UnexpectedOpcode(header.opcode));
    }
    let mut r = body_reader(header, body)?;
    let creds = Credentials::decode(&mut r)?;
    let request = Request::decode_body(op, &mut r)?;
    r.finish()?;
    Ok(IncomingRequest {
        request_id: header.request_id,
        creds,
        request,
    })
}

/// Encodes the successful reply to request `request_id`.
pub fn encode_reply(
    buf: &mut [u8],
    request_id: u64,
    reply: &Reply<'_>,
) -> Result<usize, EncodeError> {
    if request_id == 0 {
        return Err(EncodeError::BadValue);
    }
    write_frame(
        buf,
        reply.opcode().to_u16(),
        FrameFlags::REPLY,
        request_id,
        0,
        |w| reply.encode_body(w),
    )
}

/// Encodes a failed reply: the request's raw opcode (known or not), its id,
/// and the errno; no body.
pub fn encode_error_reply(
    buf: &mut [u8],
    opcode: u16,
    request_id: u64,
    errno: Errno,
) -> Result<usize, EncodeError> {
    if request_id == 0 {
        return Err(EncodeError::BadValue);
    }
    write_frame(
        buf,
        opcode,
        FrameFlags::REPLY,
        request_id,
        errno.get(),
        |_| Ok(()),
    )
}

/// Decodes a reply to a file operation. The caller checks that the opcode
/// is the one it sent with this request id.
pub fn decode_reply<'a>(
    header: &FrameHeader,
    body: &'a [u8],
) -> Result<IncomingReply<'a>, DecodeError> {
    if header.flags != FrameFlags::REPLY {
        return Err(DecodeError::ReservedBits);
    }
    let mut r = body_reader(header, body)?;
    if let Some(errno) = header.errno() {
        r.finish()?;
        return Ok(IncomingReply {
            request_id: header.request_id,
            opcode: header.opcode,
            result: Err(errno),
        });
    }
    let op = header
        .opcode()
        .ok_or(DecodeError::UnknownOpcode(header.opcode))?;
    if !is_file_operation(op) {
        return Err(DecodeError::UnexpectedOpcode(header.opcode));
    }
    let reply = Reply::decode_body(op, &mut r)?;
    r.finish()?;
    Ok(IncomingReply {
        request_id: header.request_id,
        opcode: header.opcode,
        result: Ok(reply),
    })
}

/// Encodes a server-initiated event (request id 0, flag `EVENT`).
pub fn encode_event(buf: &mut [u8], event: &Event) -> Result<usize, EncodeError> {
    match event {
        Event::Poll(body) => write_frame(
            buf,
            Opcode::PollEvent.to_u16(),
            FrameFlags::EVENT,
            0,
            0,
            |w| body.encode(w),
        ),
    }
}

/// Decodes a server-initiated event.
pub fn decode_event(header: &FrameHeader, body: &[u8]) -> Result<Event, DecodeError> {
    if header.flags != FrameFlags::EVENT {
        return Err(DecodeError::ReservedBits);
    }
    let mut r = body_reader(header, body)?;
    let event = match header.opcode() {
        Some(Opcode::PollEvent) => Event::Poll(PollEventBody::decode(&mut r)?),
        Some(_) => return Err(DecodeError::UnexpectedOpcode(header.opcode)),
        None => return Err(DecodeError::UnknownOpcode(header.opcode)),
    };
    r.finish()?;
    Ok(event)
}

/// Encodes a handshake frame. Replies (`ServerHello`, `AuthOk`, `Refused`)
/// use the request id of the client frame they answer.
pub fn encode_handshake(
    buf: &mut [u8],
    request_id: u64,
    message: &HandshakeMessage,
) -> Result<usize, EncodeError> {
    if request_id == 0 {
        return Err(EncodeError::BadValue);
    }
    let hello = Opcode::Hello.to_u16();
    let auth = Opcode::Auth.to_u16();
    match message {
        HandshakeMessage::Hello(m) => {
            write_frame(buf, hello, FrameFlags::REQUEST, request_id, 0, |w| {
                m.encode(w)
            })
        }
        HandshakeMessage::ServerHello(m) => {
            write_frame(buf, hello, FrameFlags::REPLY, request_id, 0, |w| {
                m.encode(w)
            })
        }
        HandshakeMessage::ClientAuth(m) => {
            write_frame(buf, auth, FrameFlags::REQUEST, request_id, 0, |w| {
                m.encode(w)
            })
        }
        HandshakeMessage::AuthOk => {
            write_frame(buf, auth, FrameFlags::REPLY, request_id, 0, |_| Ok(()))
        }
        HandshakeMessage::Refused(op, errno) => {
            if is_file_operation(*op) {
                return Err(EncodeError::BadValue);
            }
            encode_error_reply(buf, op.to_u16(), request_id, *errno)
        }
    }
}

/// Decodes a handshake frame (opcode `Hello` or `Auth`, either direction).
pub fn decode_handshake(
    header: &FrameHeader,
    body: &[u8],
) -> Result<HandshakeMessage, DecodeError> {
    let mut r = body_reader(header, body)?;
    let op = header
        .opcode()
        .ok_or(DecodeError::UnknownOpcode(header.opcode))?;
    let message = match (op, header.flags) {
        (Opcode::Hello | Opcode::Auth, FrameFlags::REPLY) if header.status != 0 => {
            let errno = header.errno().ok_or(DecodeError::BadValue)?;
            HandshakeMessage::Refused(op, errno)
        }
        (Opcode::Hello, FrameFlags::REQUEST) => HandshakeMessage::Hello(Hello::decode(&mut r)?),
        (Opcode::Hello, FrameFlags::REPLY) => {
            HandshakeMessage::ServerHello(ServerHello::decode(&mut r)?)
        }
        (Opcode::Auth, FrameFlags::REQUEST) => {
            HandshakeMessage::ClientAuth(ClientAuth::decode(&mut r)?)
        }
        (Opcode::Auth, FrameFlags::REPLY) => HandshakeMessage::AuthOk,
        _ => return Err(DecodeError::UnexpectedOpcode(header.opcode)),
    };
    r.finish()?;
    Ok(message)
}
