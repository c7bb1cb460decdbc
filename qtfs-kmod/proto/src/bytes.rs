//! Bounded byte strings: names, paths, data, xattr names and values.
//!
//! Each is encoded as a `u32` length followed by that many bytes, with no
//! terminating NUL. Each type has a maximum length and validity rules that
//! both the encoder and the decoder enforce, so a value that decodes is
//! always one that could have been encoded.

use super::limits::{
    MAX_FSTYPE_LEN, MAX_IO_SIZE, MAX_MOUNT_DATA_LEN, MAX_NAME_LEN, MAX_PATH_LEN,
    MAX_XATTR_LIST_LEN, MAX_XATTR_NAME_LEN, MAX_XATTR_VALUE_LEN,
};
use super::wire::{Codec, DecodeError, Describe, EncodeError, Field, Reader, Writer};

/// Why bytes are not a valid value of a bounded type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Invalid {
    TooLong,
    BadName,
}

fn no_nul(bytes: &[u8]) -> bool {
    !bytes.contains(&0)
}

fn check_len(bytes: &[u8], max: u32) -> Result<(), Invalid> {
    if bytes.len() > max as usize {
        Err(Invalid::TooLong)
    } else {
        Ok(())
    }
}

fn valid_name(bytes: &[u8]) -> Result<(), Invalid> {
    check_len(bytes, MAX_NAME_LEN)?;
    let ok = !bytes.is_empty()
        && no_nul(bytes)
        && !bytes.contains(&b'/')
        && bytes != b"."
        && bytes != b"..";
    if ok {
        Ok(())
    } else {
        Err(Invalid::BadName)
    }
}

fn valid_path(bytes: &[u8]) -> Result<(), Invalid> {
    check_len(bytes, MAX_PATH_LEN)?;
    if !bytes.is_empty() && no_nul(bytes) {
        Ok(())
    } else {
        Err(Invalid::BadName)
    }
}

fn valid_xattr_name(bytes: &[u8]) -> Result<(), Invalid> {
    check_len(bytes, MAX_XATTR_NAME_LEN)?;
    if !bytes.is_empty() && no_nul(bytes) {
        Ok(())
    } else {
        Err(Invalid::BadName)
    }
}

fn valid_xattr_names(bytes: &[u8]) -> Result<(), Invalid> {
    check_len(bytes, MAX_XATTR_LIST_LEN)?;
    // Empty, or NUL-terminated names, none of them empty.
    if bytes.is_empty() {
        return Ok(());
    }
    if bytes.last() != Some(&0)
        || bytes.first() == Some(&0)
        || bytes.windows(2).any(|w| w == [0, 0])
    {
        return Err(Invalid::BadName);
    }
    Ok(())
}

fn valid_fstype(bytes: &[u8]) -> Result<(), Invalid> {
    check_len(bytes, MAX_FSTYPE_LEN)?;
    if !bytes.is_empty() && no_nul(bytes) {
        Ok(())
    } else {
        Err(Invalid::BadName)
    }
}

fn valid_data(bytes: &[u8]) -> Result<(), Invalid> {
    check_len(bytes, MAX_IO_SIZE)
}

fn valid_xattr_value(bytes: &[u8]) -> Result<(), Invalid> {
    check_len(bytes, MAX_XATTR_VALUE_LEN)
}

fn valid_mount_data(bytes: &[u8]) -> Result<(), Invalid> {
    check_len(bytes, MAX_MOUNT_DATA_LEN)
}

macro_rules! bounded_bytes {
    ($(#[$doc:meta])* $name:ident, $max:expr, $check:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name<'a>(&'a [u8]);

        impl<'a> $name<'a> {
            /// Largest length in bytes.
            pub const MAX_LEN: u32 = $max;

            /// Wraps `bytes` if they satisfy this type's rules.
            pub fn new(bytes: &'a [u8]) -> Option<Self> {
                $check(bytes).ok().map(|()| $name(bytes))
            }

            /// The bytes (no terminating NUL).
            pub fn as_bytes(&self) -> &'a [u8] {
                self.0
            }

            /// Length in bytes.
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// Whether the value is empty.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl<'a> Codec<'a> for $name<'a> {
            fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
                $check(self.0).map_err(|e| match e {
                    Invalid::TooLong => EncodeError::TooLong,
                    Invalid::BadName => EncodeError::BadValue,
                })?;
                let len = u32::try_from(self.0.len()).map_err(|_| EncodeError::TooLong)?;
                len.encode(w)?;
                w.put(self.0)
            }
            fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
                let len = u32::decode(r)?;
                if len > $max {
                    return Err(DecodeError::TooLong);
                }
                let bytes = r.take(len as usize)?;
                $check(bytes).map_err(|e| match e {
                    Invalid::TooLong => DecodeError::TooLong,
                    Invalid::BadName => DecodeError::BadName,
                })?;
                Ok($name(bytes))
            }
        }

        impl<'a> Describe for $name<'a> {
            const NAME: &'static str = stringify!($name);
            const FIELDS: &'static [Field] = &[];
        }
    };
}

bounded_bytes!(
    /// A directory-entry name: 1..=255 bytes, no NUL, no `/`, not `.` or `..`.
    Name, MAX_NAME_LEN, valid_name
);
bounded_bytes!(
    /// A path or symlink target: 1..=4096 bytes, no NUL.
    Path, MAX_PATH_LEN, valid_path
);
bounded_bytes!(
    /// File data: 0..=1 MiB of any bytes.
    Data, MAX_IO_SIZE, valid_data
);
bounded_bytes!(
    /// An extended-attribute name with its namespace (`user.foo`): 1..=255
    /// bytes, no NUL.
    XattrName, MAX_XATTR_NAME_LEN, valid_xattr_name
);
bounded_bytes!(
    /// An extended-attribute value: 0..=65536 bytes.
    XattrValue, MAX_XATTR_VALUE_LEN, valid_xattr_value
);
bounded_bytes!(
    /// A list of extended-attribute names as `listxattr(2)` returns it: empty,
    /// or non-empty names each followed by a NUL; at most 65536 bytes.
    XattrNames, MAX_XATTR_LIST_LEN, valid_xattr_names
);
bounded_bytes!(
    /// A file-system type name for a remote mount: 1..=255 bytes, no NUL.
    FsType, MAX_FSTYPE_LEN, valid_fstype
);
bounded_bytes!(
    /// Mount options of a remote mount: 0..=4096 bytes.
    MountData, MAX_MOUNT_DATA_LEN, valid_mount_data
);

impl<'a> XattrNames<'a> {
    /// Iterates over the names (without their NULs).
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> {
        let bytes = self.0;
        bytes.split(|b| *b == 0).filter(|n| !n.is_empty())
    }
}
