//! Handshake: magic, version and capability negotiation, and mutual
//! authentication with a pre-shared key.
//!
//! ```text
//! client                                          server
//!   Hello {magic, min/max version, caps, client_nonce}  ->
//!        <- ServerHello {magic, version, caps, server_nonce, server_proof}
//!   (client checks version, caps and server_proof; else drops)
//!   ClientAuth {client_proof}                           ->
//!        <- empty reply, status 0   (or status EACCES, then close)
//! ```
//! Both frames of the client are requests with opcode `Hello` / `Auth`; the
//! server answers each with a reply of the same opcode and request id. A
//! server accepts nothing but `Hello` and then `Auth` until the client has
//! proved the key; any other frame, a bad proof, or a bad magic drops the
//! connection before any file operation.
//!
//! The proofs are HMAC-SHA256 under the pre-shared key of the transcript
//! ([`transcript`]): a 16-byte role label, then every negotiated value and
//! both nonces. The labels differ, so a server proof cannot be reflected
//! as a client proof; the client's offer is in the transcript, so a
//! man-in-the-middle that lowers the version or strips capabilities makes
//! the server proof fail; fresh nonces on both sides defeat replay.

use super::auth::{constant_time_eq, hmac_sha256, MAC_LEN};
use super::errno::Errno;
use super::wire::{Codec, DecodeError, Describe, EncodeError, Field, Reader, Writer};

/// First field of `Hello` and `ServerHello`: the bytes `"QTFS"`
/// (0x53465451 little-endian).
pub const MAGIC: u32 = u32::from_le_bytes(*b"QTFS");
/// The newest protocol version this crate speaks.
pub const PROTOCOL_VERSION: u16 = 2;
/// The oldest protocol version this crate speaks.
pub const MIN_PROTOCOL_VERSION: u16 = 2;
/// Length of each nonce.
pub const NONCE_LEN: usize = 32;
/// Shortest pre-shared key a peer should accept.
pub const MIN_KEY_LEN: usize = 16;
/// Label that starts the transcript the server proves.
pub const SERVER_LABEL: [u8; 16] = *b"QTFS server auth";
/// Label that starts the transcript the client proves.
pub const CLIENT_LABEL: [u8; 16] = *b"QTFS client auth";
/// Length of the transcript in bytes.
pub const TRANSCRIPT_LEN: usize = 106;

/// Optional features, negotiated as the intersection of both sides' bits.
/// A peer ignores bits it does not know in an offer; an answer may not
/// contain a bit that was not offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Capabilities(u64);

impl Capabilities {
    /// Nothing optional.
    pub const NONE: Capabilities = Capabilities(0);
    /// `PollRegister`, `PollCancel` and `PollEvent` frames.
    pub const POLL_EVENTS: Capabilities = Capabilities(1 << 0);
    /// `ReadFile`.
    pub const WHOLE_FILE_READ: Capabilities = Capabilities(1 << 1);
    /// `RemoteMount` and `RemoteUmount`.
    pub const REMOTE_MOUNT: Capabilities = Capabilities(1 << 2);
    /// `RemoteKill`.
    pub const REMOTE_KILL: Capabilities = Capabilities(1 << 3);
    /// Extended-attribute operations.
    pub const XATTR: Capabilities = Capabilities(1 << 4);

    /// Every named capability, for the documentation test.
    pub const ALL: &'static [(&'static str, Capabilities)] = &[
        ("POLL_EVENTS", Capabilities::POLL_EVENTS),
        ("WHOLE_FILE_READ", Capabilities::WHOLE_FILE_READ),
        ("REMOTE_MOUNT", Capabilities::REMOTE_MOUNT),
        ("REMOTE_KILL", Capabilities::REMOTE_KILL),
        ("XATTR", Capabilities::XATTR),
    ];

    /// Every capability this crate knows.
    pub const KNOWN: Capabilities = Capabilities(0x1f);

    /// From raw bits (unknown bits are kept).
    pub const fn from_bits(bits: u64) -> Self {
        Capabilities(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Capabilities) -> bool {
        self.0 & other.0 == other.0
    }

    /// Bits set in both.
    #[must_use]
    pub const fn intersection(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 & other.0)
    }

    /// Bits set in either.
    #[must_use]
    pub const fn union(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 | other.0)
    }
}

impl<'a> Codec<'a> for Capabilities {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.0.encode(w)
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Capabilities(u64::decode(r)?))
    }
}

impl Describe for Capabilities {
    const NAME: &'static str = "Capabilities";
    const FIELDS: &'static [Field] = &[];
}

/// The magic number, checked on decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Magic;

impl<'a> Codec<'a> for Magic {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        MAGIC.encode(w)
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        if u32::decode(r)? == MAGIC {
            Ok(Magic)
        } else {
            Err(DecodeError::BadMagic)
        }
    }
}

impl Describe for Magic {
    const NAME: &'static str = "Magic";
    const FIELDS: &'static [Field] = &[];
}

wire_struct! {
    /// The client's first frame.
    pub struct Hello {
        /// Always [`MAGIC`].
        pub magic: Magic,
        /// Oldest version the client speaks.
        pub min_version: u16,
        /// Newest version the client speaks (`>= min_version`).
        pub max_version: u16,
        /// Capabilities the client offers.
        pub capabilities: Capabilities,
        /// Fresh random bytes.
        pub client_nonce: [u8; 32],
    }
}

wire_struct! {
    /// The server's answer to `Hello`: its choices and its proof.
    pub struct ServerHello {
        /// Always [`MAGIC`].
        pub magic: Magic,
        /// Chosen version, within the client's range.
        pub version: u16,
        /// Negotiated capabilities, a subset of the client's offer.
        pub capabilities: Capabilities,
        /// Fresh random bytes.
        pub server_nonce: [u8; 32],
        /// HMAC-SHA256(key, transcript(SERVER_LABEL)).
        pub server_proof: [u8; 32],
    }
}

wire_struct! {
    /// The client's proof of the key.
    pub struct ClientAuth {
        /// HMAC-SHA256(key, transcript(CLIENT_LABEL)).
        pub client_proof: [u8; 32],
    }
}

impl Hello {
    /// A hello offering every version this crate speaks.
    pub fn new(capabilities: Capabilities, client_nonce: [u8; NONCE_LEN]) -> Self {
        Hello {
            magic: Magic,
            min_version: MIN_PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
            capabilities,
            client_nonce,
        }
    }
}

/// Version rule: the highest version both sides speak. `None` (answer
/// `EPROTONOSUPPORT` and close) if the ranges do not overlap or the
/// client's range is empty.
pub fn negotiate_version(hello: &Hello) -> Option<u16> {
    if hello.min_version > hello.max_version {
        return None;
    }
    let chosen = hello.max_version.min(PROTOCOL_VERSION);
    if chosen >= hello.min_version && chosen >= MIN_PROTOCOL_VERSION {
        Some(chosen)
    } else {
        None
    }
}

/// The exact bytes a proof covers ([`TRANSCRIPT_LEN`] bytes):
/// `label[16], magic u32, min_version u16, max_version u16,
/// client_caps u64, client_nonce[32], version u16, server_caps u64,
/// server_nonce[32]`, integers little-endian. `server_hello.server_proof`
/// is not part of it.
pub fn transcript(
    label: &[u8; 16],
    hello: &Hello,
    server_hello: &ServerHello,
) -> [u8; TRANSCRIPT_LEN] {
    let mut out = [0u8; TRANSCRIPT_LEN];
    let mut w = Writer::new(&mut out);
    // Fixed sizes that add up to TRANSCRIPT_LEN: these writes cannot fail
    // (the golden test checks every byte).
    let _ = (|| -> Result<(), EncodeError> {
        w.put(label)?;
        MAGIC.encode(&mut w)?;
        hello.min_version.encode(&mut w)?;
        hello.max_version.encode(&mut w)?;
        hello.capabilities.encode(&mut w)?;
        w.put(&hello.client_nonce)?;
        server_hello.version.encode(&mut w)?;
        server_hello.capabilities.encode(&mut w)?;
        w.put(&server_hello.server_nonce)
    })();
    out
}

/// The server's proof for this exchange.
pub fn server_proof(key: &[u8], hello: &Hello, server_hello: &ServerHello) -> [u8; MAC_LEN] {
    hmac_sha256(key, &transcript(&SERVER_LABEL, hello, server_hello))
}

/// The client's proof for this exchange.
pub fn client_proof(key: &[u8], hello: &Hello, server_hello: &ServerHello) -> [u8; MAC_LEN] {
    hmac_sha256(key, &transcript(&CLIENT_LABEL, hello, server_hello))
}

impl ServerHello {
    /// Server side: negotiates with `hello` and signs the result.
    /// Fails with `EPROTONOSUPPORT` if no version is shared.
    pub fn answer(
        key: &[u8],
        hello: &Hello,
        server_capabilities: Capabilities,
        server_nonce: [u8; NONCE_LEN],
    ) -> Result<ServerHello, Errno> {
        let version = negotiate_version(hello).ok_or(Errno::EPROTONOSUPPORT)?;
        let capabilities = hello
            .capabilities
            .intersection(server_capabilities)
            .intersection(Capabilities::KNOWN);
        let mut answer = ServerHello {
            magic: Magic,
            version,
            capabilities,
            server_nonce,
            server_proof: [0; MAC_LEN],
        };
        answer.server_proof = server_proof(key, hello, &answer);
        Ok(answer)
    }

    /// Client side: checks the answer to `hello` (version in range,
    /// capabilities offered, nonce not an echo, proof valid) and returns
    /// the client's proof to send in [`ClientAuth`]. Any error means: drop
    /// the connection.
    pub fn verify(&self, key: &[u8], hello: &Hello) -> Result<ClientAuth, Errno> {
        if self.version < hello.min_version
            || self.version > hello.max_version
            || self.version < MIN_PROTOCOL_VERSION
            || self.version > PROTOCOL_VERSION
        {
            return Err(Errno::EPROTONOSUPPORT);
        }
        if !hello.capabilities.contains(self.capabilities) {
            return Err(Errno::EPROTO);
        }
        if constant_time_eq(&self.server_nonce, &hello.client_nonce) {
            return Err(Errno::EACCES);
        }
        if !constant_time_eq(&self.server_proof, &server_proof(key, hello, self)) {
            return Err(Errno::EACCES);
        }
        Ok(ClientAuth {
            client_proof: client_proof(key, hello, self),
        })
    }
}

impl ClientAuth {
    /// Server side: whether the client proved the key for this exchange.
    pub fn verify(&self, key: &[u8], hello: &Hello, server_hello: &ServerHello) -> bool {
        constant_time_eq(&self.client_proof, &client_proof(key, hello, server_hello))
    }
}
