//! Bounded integers: sizes a peer asks for, and signal numbers.
//!
//! A server sizes buffers from these (a read of `size` bytes, an xattr
//! query), so the decoder rejects values above the protocol's limits
//! ([`DecodeError::BadValue`], answered `EINVAL`) and the handler never
//! sees them.

use super::limits::{MAX_IO_SIZE, MAX_XATTR_LIST_LEN, MAX_XATTR_VALUE_LEN};
use super::wire::{Codec, DecodeError, Describe, EncodeError, Field, Reader, Writer};

/// Highest signal number of `RemoteKill` (Linux `_NSIG`).
pub const MAX_SIGNAL: u32 = 64;

macro_rules! bounded_u32 {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(u32);

        impl $name {
            /// Largest value.
            pub const MAX: u32 = $max;

            /// The value if it is at most [`Self::MAX`].
            pub const fn new(value: u32) -> Option<Self> {
                if value <= $max {
                    Some($name(value))
                } else {
                    None
                }
            }

            /// The value.
            pub const fn get(self) -> u32 {
                self.0
            }
        }

        impl<'a> Codec<'a> for $name {
            fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
                if self.0 > $max {
                    return Err(EncodeError::BadValue);
                }
                self.0.encode(w)
            }
            fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
                $name::new(u32::decode(r)?).ok_or(DecodeError::BadValue)
            }
        }

        impl Describe for $name {
            const NAME: &'static str = stringify!($name);
            const FIELDS: &'static [Field] = &[];
        }
    };
}

bounded_u32!(
    /// A byte count of one I/O: `0..=MAX_IO_SIZE`.
    IoSize, MAX_IO_SIZE
);
bounded_u32!(
    /// A size of an extended-attribute value: `0..=MAX_XATTR_VALUE_LEN`.
    XattrSize, MAX_XATTR_VALUE_LEN
);
bounded_u32!(
    /// A size of a list of extended-attribute names: `0..=MAX_XATTR_LIST_LEN`.
    XattrListSize, MAX_XATTR_LIST_LEN
);
bounded_u32!(
    /// A signal number: `0..=64` (0 only checks that the process exists).
    Signal, MAX_SIGNAL
);
