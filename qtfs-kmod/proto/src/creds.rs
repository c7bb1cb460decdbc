//! Caller credentials, carried by every file-operation request.
//!
//! The server performs each request with these credentials (subject to its
//! own squashing policy), which is what makes permission checks on the HOST
//! match the caller on the DPU.
//!
//! Wire layout: `uid u32, gid u32, fsuid u32, fsgid u32, ngroups u32,
//! groups [u32; ngroups]` with `ngroups <= MAX_GROUPS`.

use core::fmt;

use super::limits::MAX_GROUPS;
use super::wire::{Codec, DecodeError, Describe, EncodeError, Field, Reader, Writer};

/// Supplementary group ids: either a native slice (when encoding) or the
/// packed little-endian array of a received frame (when decoding). Both
/// compare equal when they hold the same ids.
#[derive(Clone, Copy)]
pub enum Groups<'a> {
    /// Ids given by the sender.
    Ids(&'a [u32]),
    /// Packed little-endian ids from the wire; length is a multiple of 4.
    Packed(&'a [u8]),
}

impl<'a> Groups<'a> {
    /// No supplementary groups.
    pub const EMPTY: Groups<'static> = Groups::Ids(&[]);

    /// Groups from a slice of ids (at most [`MAX_GROUPS`] encode).
    pub fn from_ids(ids: &'a [u32]) -> Self {
        Groups::Ids(ids)
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        match self {
            Groups::Ids(ids) => ids.len(),
            Groups::Packed(bytes) => bytes.len() / 4,
        }
    }

    /// Whether there are no groups.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates over the ids.
    pub fn iter(&self) -> GroupsIter<'a> {
        match *self {
            Groups::Ids(ids) => GroupsIter::Ids(ids.iter()),
            Groups::Packed(bytes) => GroupsIter::Packed(bytes.chunks_exact(4)),
        }
    }

    /// Whether `gid` is one of the groups.
    pub fn contains(&self, gid: u32) -> bool {
        self.iter().any(|g| g == gid)
    }
}

/// Iterator over [`Groups`].
#[derive(Clone, Debug)]
pub enum GroupsIter<'a> {
    /// Over native ids.
    Ids(core::slice::Iter<'a, u32>),
    /// Over packed ids.
    Packed(core::slice::ChunksExact<'a, u8>),
}

impl Iterator for GroupsIter<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        match self {
            GroupsIter::Ids(it) => it.next().copied(),
            GroupsIter::Packed(it) => {
                let chunk = it.next()?;
                let arr: [u8; 4] = chunk.try_into().ok()?;
                Some(u32::from_le_bytes(arr))
            }
        }
    }
}

impl PartialEq for Groups<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Groups<'_> {}

impl fmt::Debug for Groups<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> Codec<'a> for Groups<'a> {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let count = u32::try_from(self.len()).map_err(|_| EncodeError::TooLong)?;
        if count > MAX_GROUPS {
            return Err(EncodeError::TooLong);
        }
        count.encode(w)?;
        for gid in self.iter() {
            gid.encode(w)?;
        }
        Ok(())
    }

    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let count = u32::decode(r)?;
        if count > MAX_GROUPS {
            return Err(DecodeError::TooLong);
        }
        // count <= 64, so count * 4 cannot overflow.
        let bytes = r.take((count as usize).saturating_mul(4))?;
        Ok(Groups::Packed(bytes))
    }
}

impl Describe for Groups<'_> {
    const NAME: &'static str = "Groups";
    const FIELDS: &'static [Field] = &[];
}

wire_struct! {
    /// Who is asking: the caller's ids on the client.
    pub struct Credentials<'a> {
        /// Real user id.
        pub uid: u32,
        /// Real group id.
        pub gid: u32,
        /// File-system user id (what permission checks use).
        pub fsuid: u32,
        /// File-system group id.
        pub fsgid: u32,
        /// Supplementary groups, at most [`MAX_GROUPS`].
        pub groups: Groups<'a>,
    }
}

impl<'a> Credentials<'a> {
    /// Credentials with `fsuid == uid` and `fsgid == gid`.
    pub fn new(uid: u32, gid: u32, groups: Groups<'a>) -> Self {
        Credentials {
            uid,
            gid,
            fsuid: uid,
            fsgid: gid,
            groups,
        }
    }

    /// Root with no supplementary groups (for tools and tests).
    pub const ROOT: Credentials<'static> = Credentials {
        uid: 0,
        gid: 0,
        fsuid: 0,
        fsgid: 0,
        groups: Groups::EMPTY,
    };
}
