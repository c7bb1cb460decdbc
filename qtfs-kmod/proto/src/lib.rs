//! qtfs wire protocol.
//!
//! One definition of every frame exchanged between the qtfs client module
//! (`qtfs.ko`, on the DPU), the server module (`qtfs_server.ko`, on the HOST),
//! the userspace tools and the tests. The normative description is
//! `docs/protocol.md`; tests keep it and this crate in agreement.
//!
//! Properties:
//! - `#![no_std]`, no dependencies, only safe code (the `forbid`
//!   attribute below), no allocation, no floats:
//!   the kernel modules include this source as
//!   `#[path = "../proto/src/lib.rs"] mod proto;`. Every path inside the crate
//!   is relative (`super::`), never `crate::`, so it works as a submodule.
//! - Decoding borrows from the received frame (`&[u8]` views), never panics,
//!   checks every length against the frame, rejects trailing bytes, reserved
//!   bits and unknown enum values.
//! - Encoding writes into a caller-provided `&mut [u8]` and returns the
//!   number of bytes written.
//!
//! Typical use, client side:
//! ```
//! use qtfs_proto::*;
//! let mut buf = [0u8; 256];
//! let creds = Credentials::new(1000, 1000, Groups::from_ids(&[10, 20]));
//! let name = Name::new(b"hello.txt").unwrap();
//! let req = Request::Lookup(LookupRequest { parent: 1, name });
//! let len = encode_request(&mut buf, 7, &creds, &req).unwrap();
//! // ... the server side:
//! let (header, body) = split_frame(&buf[..len]).unwrap();
//! let incoming = decode_request(&header, body).unwrap();
//! assert_eq!(incoming.request, req);
//! assert_eq!(incoming.request_id, 7);
//! ```
#![no_std]
#![deny(missing_docs)]
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]
#![deny(
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::float_arithmetic
)]

#[cfg(feature = "std")]
extern crate std;

#[macro_use]
mod wire;

pub mod attr;
pub mod auth;
pub mod bytes;
pub mod creds;
pub mod dirent;
pub mod errno;
pub mod flags;
pub mod frame;
pub mod handshake;
pub mod header;
pub mod limits;
pub mod opcode;
pub mod replies;
pub mod requests;
pub mod session;
pub mod sha256;
pub mod sizes;

pub use self::attr::{FileMode, Permissions, StatFs, TimeUpdate, Timestamp, WireAttr};
pub use self::bytes::{Data, FsType, MountData, Name, Path, XattrName, XattrNames, XattrValue};
pub use self::creds::{Credentials, Groups};
pub use self::dirent::{DirEntries, DirEntriesBuilder, DirEntry, FileType};
pub use self::errno::Errno;
pub use self::flags::{
    FallocFlags, MountFlags, NodeFlags, OpenFlags, PollEvents, RenameFlags, SetAttrMask,
    UmountFlags, Whence, XattrFlags,
};
pub use self::frame::{
    decode_event, decode_handshake, decode_reply, decode_request, encode_error_reply, encode_event,
    encode_handshake, encode_reply, encode_request, split_frame, Event, HandshakeMessage,
    IncomingReply, IncomingRequest, OperationLayout, Reply, Request,
};
pub use self::handshake::{
    Capabilities, ClientAuth, Hello, ServerHello, CLIENT_LABEL, MAGIC, PROTOCOL_VERSION,
    SERVER_LABEL,
};
pub use self::header::{FrameFlags, FrameHeader, HEADER_LEN};
pub use self::limits::*;
pub use self::opcode::Opcode;
pub use self::replies::*;
pub use self::requests::*;
pub use self::session::{ClientHandshake, Negotiated, ServerHandshake, ServerStep};
pub use self::sizes::{IoSize, Signal, XattrListSize, XattrSize, MAX_SIGNAL};
pub use self::wire::{Codec, DecodeError, Describe, EncodeError, Field, Reader, Writer};
