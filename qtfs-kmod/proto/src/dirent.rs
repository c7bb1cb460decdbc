//! Directory entries of a `Readdir` reply.
//!
//! A reply carries a packed array: `count u32` then `count` entries of
//! `ino u64, cookie u64, file_type u8, name Name`. An entry's `cookie` is
//! the value to send in the next `Readdir` to continue after that entry, so
//! a listing can be resumed at any entry.

use super::bytes::Name;
use super::wire::{Codec, DecodeError, Describe, EncodeError, Field, Reader, Writer};

/// Type of a directory entry (Linux `DT_*` values). Encoded as one byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FileType {
    /// Unknown; the client must `Getattr`.
    Unknown = 0,
    /// FIFO.
    Fifo = 1,
    /// Character device.
    CharDevice = 2,
    /// Directory.
    Directory = 4,
    /// Block device.
    BlockDevice = 6,
    /// Regular file.
    Regular = 8,
    /// Symbolic link.
    Symlink = 10,
    /// Socket.
    Socket = 12,
    /// Whiteout.
    Whiteout = 14,
}

impl FileType {
    /// Every value with its name, for the documentation test.
    pub const ALL: &'static [(&'static str, FileType)] = &[
        ("DT_UNKNOWN", FileType::Unknown),
        ("DT_FIFO", FileType::Fifo),
        ("DT_CHR", FileType::CharDevice),
        ("DT_DIR", FileType::Directory),
        ("DT_BLK", FileType::BlockDevice),
        ("DT_REG", FileType::Regular),
        ("DT_LNK", FileType::Symlink),
        ("DT_SOCK", FileType::Socket),
        ("DT_WHT", FileType::Whiteout),
    ];

    /// The value with wire byte `raw`.
    pub const fn from_u8(raw: u8) -> Option<FileType> {
        Some(match raw {
            0 => FileType::Unknown,
            1 => FileType::Fifo,
            2 => FileType::CharDevice,
            4 => FileType::Directory,
            6 => FileType::BlockDevice,
            8 => FileType::Regular,
            10 => FileType::Symlink,
            12 => FileType::Socket,
            14 => FileType::Whiteout,
            _ => return None,
        })
    }
}

impl<'a> Codec<'a> for FileType {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        (*self as u8).encode(w)
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        FileType::from_u8(u8::decode(r)?).ok_or(DecodeError::BadValue)
    }
}

impl Describe for FileType {
    const NAME: &'static str = "FileType";
    const FIELDS: &'static [Field] = &[];
}

wire_struct! {
    /// One directory entry.
    pub struct DirEntry<'a> {
        /// Inode number on the server.
        pub ino: u64,
        /// Cookie that resumes the listing after this entry.
        pub cookie: u64,
        /// Entry type.
        pub file_type: FileType,
        /// Entry name (`.` and `..` are not sent; the client synthesises them).
        pub name: Name<'a>,
    }
}

/// A validated packed array of entries, borrowed from a frame or from a
/// [`DirEntriesBuilder`]'s buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DirEntries<'a> {
    count: u32,
    packed: &'a [u8],
}

impl<'a> DirEntries<'a> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The packed entries (without the count).
    pub fn packed_bytes(&self) -> &'a [u8] {
        self.packed
    }

    /// Iterates over the entries.
    pub fn iter(&self) -> DirEntriesIter<'a> {
        DirEntriesIter {
            reader: Reader::new(self.packed),
            left: self.count,
        }
    }
}

/// Iterator over [`DirEntries`].
#[derive(Clone, Debug)]
pub struct DirEntriesIter<'a> {
    reader: Reader<'a>,
    left: u32,
}

impl<'a> Iterator for DirEntriesIter<'a> {
    type Item = DirEntry<'a>;
    fn next(&mut self) -> Option<DirEntry<'a>> {
        self.left = self.left.checked_sub(1)?;
        // The bytes were validated when the array was built or decoded.
        DirEntry::decode(&mut self.reader).ok()
    }
}

impl<'a> Codec<'a> for DirEntries<'a> {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.count.encode(w)?;
        w.put(self.packed)
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let count = u32::decode(r)?;
        let start = r.clone();
        let before = r.remaining();
        for _ in 0..count {
            DirEntry::decode(r)?;
        }
        let used = before.saturating_sub(r.remaining());
        let mut start = start;
        let packed = start.take(used)?;
        Ok(DirEntries { count, packed })
    }
}

impl Describe for DirEntries<'_> {
    const NAME: &'static str = "DirEntries";
    const FIELDS: &'static [Field] = &[];
}

/// Fills a buffer with entries for a `Readdir` reply, one at a time, until
/// the next one would not fit.
#[derive(Debug)]
pub struct DirEntriesBuilder<'b> {
    buf: &'b mut [u8],
    used: usize,
    count: u32,
}

impl<'b> DirEntriesBuilder<'b> {
    /// A builder writing into `buf`; its length bounds the packed size
    /// (use at most the request's `max_bytes` minus 4 for the count).
    pub fn new(buf: &'b mut [u8]) -> Self {
        DirEntriesBuilder {
            buf,
            used: 0,
            count: 0,
        }
    }

    /// Appends `entry`. On [`EncodeError::BufferTooSmall`] nothing was
    /// added and the listing should stop here (resume at the previous
    /// entry's cookie).
    pub fn push(&mut self, entry: &DirEntry<'_>) -> Result<(), EncodeError> {
        let count = self.count.checked_add(1).ok_or(EncodeError::TooLong)?;
        let tail = self
            .buf
            .get_mut(self.used..)
            .ok_or(EncodeError::BufferTooSmall)?;
        let mut w = Writer::new(tail);
        entry.encode(&mut w)?;
        self.used = self
            .used
            .checked_add(w.position())
            .ok_or(EncodeError::BufferTooSmall)?;
        self.count = count;
        Ok(())
    }

    /// Number of entries so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The finished array, borrowing the builder's buffer.
    pub fn finish(self) -> DirEntries<'b> {
        let buf: &'b [u8] = self.buf;
        DirEntries {
            count: self.count,
            packed: buf.get(..self.used).unwrap_or(&[]),
        }
    }
}
