//! Primitive encoding: bounded readers and writers over byte slices,
//! the [`Codec`] trait, errors, and the `wire_struct!` macro that defines a
//! message as a sequence of fields.
//!
//! All integers are little-endian and fixed-width. A `bool` is one byte, 0 or
//! 1. Nothing here can panic: every access is checked against the slice.

use core::fmt;

/// Why a frame or a field could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended before the field did.
    Truncated,
    /// Bytes were left over after the last field of the message.
    TrailingBytes,
    /// The header's total length is below the header size or does not match
    /// the bytes given.
    BadFrameLength,
    /// The header's total length is above [`MAX_FRAME_SIZE`](super::limits::MAX_FRAME_SIZE).
    FrameTooLarge,
    /// A reserved bit or field is not zero, or flags are combined illegally.
    ReservedBits,
    /// The opcode is not known to this version of the protocol.
    UnknownOpcode(u16),
    /// The opcode is known but not valid in this direction or phase
    /// (for example a handshake opcode given to the request decoder).
    UnexpectedOpcode(u16),
    /// A value is outside its enumeration or range.
    BadValue,
    /// A length is above the limit of its field.
    TooLong,
    /// A name or path violates its rules (empty, NUL, `/` in a name, ...).
    BadName,
    /// The handshake magic is wrong.
    BadMagic,
}

impl DecodeError {
    /// The errno a server answers a request with when its body fails to
    /// decode (the header decoded, so the request id is known).
    pub fn errno(self) -> super::errno::Errno {
        use super::errno::Errno;
        match self {
            DecodeError::UnknownOpcode(_) | DecodeError::UnexpectedOpcode(_) => Errno::EOPNOTSUPP,
            DecodeError::TooLong => Errno::ENAMETOOLONG,
            DecodeError::BadName | DecodeError::BadValue | DecodeError::ReservedBits => {
                Errno::EINVAL
            }
            _ => Errno::EPROTO,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Why a message could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The output buffer is too small for the frame.
    BufferTooSmall,
    /// The frame would be larger than [`MAX_FRAME_SIZE`](super::limits::MAX_FRAME_SIZE).
    FrameTooLarge,
    /// A field is above its limit (for example more than 64 groups).
    TooLong,
    /// A value is not encodable (a status of 0 in an error reply, ...).
    BadValue,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// With the `std` feature (userspace only), the errors work with `?` into
/// `Box<dyn Error>`, `anyhow` and the like.
#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}

/// A cursor that reads fields from a received byte slice.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let head = self.rest.get(..n).ok_or(DecodeError::Truncated)?;
        let tail = self.rest.get(n..).ok_or(DecodeError::Truncated)?;
        self.rest = tail;
        Ok(head)
    }

    /// Takes the next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Fails with [`DecodeError::TrailingBytes`] unless everything was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }
}

/// A cursor that writes fields into a caller-provided buffer.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl<'b> Writer<'b> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Bytes written so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Appends `bytes`.
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .ok_or(EncodeError::BufferTooSmall)?;
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(EncodeError::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    /// Overwrites already written bytes at `at` (used to patch a length).
    pub fn patch(&mut self, at: usize, bytes: &[u8]) -> Result<(), EncodeError> {
        let end = at
            .checked_add(bytes.len())
            .ok_or(EncodeError::BufferTooSmall)?;
        if end > self.pos {
            return Err(EncodeError::BufferTooSmall);
        }
        let dst = self
            .buf
            .get_mut(at..end)
            .ok_or(EncodeError::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        Ok(())
    }
}

/// One field of a message, for the generated documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Field name as in the Rust struct.
    pub name: &'static str,
    /// Rust type of the field as written in the struct.
    pub ty: &'static str,
    /// The field's doc attributes as tokens (`doc = " text"`), for the
    /// generated documentation.
    pub doc: &'static str,
}

/// Names and fields of a wire structure, for the generated documentation.
pub trait Describe {
    /// Name of the structure.
    const NAME: &'static str;
    /// Fields in wire order. Empty for primitive types.
    const FIELDS: &'static [Field];
    /// The structure's doc attributes as tokens, for the generated
    /// documentation.
    const DOC: &'static str = "";
}

/// A value with a wire encoding. Decoding borrows from the input.
pub trait Codec<'a>: Sized {
    /// Appends the encoding of `self`.
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError>;
    /// Reads one value.
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError>;

    /// Decodes a value that must span all of `bytes`.
    fn decode_exact(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let value = Self::decode(&mut r)?;
        r.finish()?;
        Ok(value)
    }
}

macro_rules! int_codec {
    ($($t:ty),*) => {$(
        impl<'a> Codec<'a> for $t {
            fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
                w.put(&self.to_le_bytes())
            }
            fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_le_bytes(r.array()?))
            }
        }
    )*};
}
int_codec!(u8, u16, u32, u64, i32, i64);

impl<'a> Codec<'a> for bool {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.put(&[u8::from(*self)])
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        match u8::decode(r)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::BadValue),
        }
    }
}

impl<'a> Codec<'a> for [u8; 32] {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.put(self)
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        r.array()
    }
}

/// Defines a struct whose encoding is its fields in order, with
/// [`Codec`] and [`Describe`] implementations.
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident<$lt:lifetime> { $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name<$lt> { $( $(#[$fmeta])* pub $field: $ty ),* }
        wire_struct!(@impl $name, [$lt], [$name<$lt>], [<$lt>], [$($meta),*], $($field : $ty : [$($fmeta),*]),*);
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name { $( $(#[$fmeta])* pub $field: $ty ),* }
        wire_struct!(@impl $name, ['a], [$name], [], [$($meta),*], $($field : $ty : [$($fmeta),*]),*);
    };
    (@impl $name:ident, [$lt:lifetime], [$self_ty:ty], [$($dgen:tt)*], [$($meta:meta),*], $($field:ident : $ty:ty : [$($fmeta:meta),*]),*) => {
        impl<$lt> Codec<$lt> for $self_ty {
            #[allow(unused_variables)]
            fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
                $( Codec::encode(&self.$field, w)?; )*
                Ok(())
            }
            #[allow(unused_variables)]
            fn decode(r: &mut Reader<$lt>) -> Result<Self, DecodeError> {
                Ok($name { $( $field: <$ty as Codec<$lt>>::decode(r)? ),* })
            }
        }
        impl $($dgen)* Describe for $self_ty {
            const NAME: &'static str = stringify!($name);
            const DOC: &'static str = concat!($(stringify!($meta), "\n"),*);
            const FIELDS: &'static [Field] = &[ $( Field { name: stringify!($field), ty: stringify!($ty), doc: concat!($(stringify!($fmeta), "\n"),*) } ),* ];
        }
    };
}
