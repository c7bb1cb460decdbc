//! File attributes and file-system statistics as they travel on the wire.
//!
//! These are the protocol's own structures, never a kernel `struct kstat`
//! or `struct iattr`: fixed-width little-endian fields, device numbers split
//! into major and minor, times as seconds and nanoseconds.

use super::flags::NodeFlags;
use super::wire::{Codec, DecodeError, Describe, EncodeError, Field, Reader, Writer};

/// Nanosecond value that asks `Setattr` to use the server's current time
/// (Linux `UTIME_NOW`).
pub const UTIME_NOW: u32 = (1 << 30) - 1;
/// Nanosecond value that asks `Setattr` to leave a time unchanged (Linux
/// `UTIME_OMIT`).
pub const UTIME_OMIT: u32 = (1 << 30) - 2;
const NSEC_PER_SEC: u32 = 1_000_000_000;

/// A point in time: seconds since the epoch and nanoseconds (`< 10^9`).
/// Encoded as `sec i64, nsec u32` (12 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct Timestamp {
    /// Seconds since 1970-01-01 UTC (may be negative).
    pub sec: i64,
    /// Nanoseconds, `0..=999_999_999`.
    pub nsec: u32,
}

impl<'a> Codec<'a> for Timestamp {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if self.nsec >= NSEC_PER_SEC {
            return Err(EncodeError::BadValue);
        }
        self.sec.encode(w)?;
        self.nsec.encode(w)
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let sec = i64::decode(r)?;
        let nsec = u32::decode(r)?;
        if nsec >= NSEC_PER_SEC {
            return Err(DecodeError::BadValue);
        }
        Ok(Timestamp { sec, nsec })
    }
}

impl Describe for Timestamp {
    const NAME: &'static str = "Timestamp";
    const FIELDS: &'static [Field] = &[
        Field {
            name: "sec",
            ty: "i64",
            doc: "doc = \" Seconds since the epoch.\"",
        },
        Field {
            name: "nsec",
            ty: "u32",
            doc: "doc = \" Nanoseconds (or UTIME_NOW / UTIME_OMIT in a TimeUpdate).\"",
        },
    ];
}

/// How `Setattr` changes a time. Encoded like a [`Timestamp`] (12 bytes):
/// `Omit` is `(0, UTIME_OMIT)`, `Now` is `(0, UTIME_NOW)`, `Set(t)` is `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeUpdate {
    /// Leave unchanged.
    Omit,
    /// Set to the server's current time.
    Now,
    /// Set to this time.
    Set(Timestamp),
}

impl<'a> Codec<'a> for TimeUpdate {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        match self {
            TimeUpdate::Omit => {
                0i64.encode(w)?;
                UTIME_OMIT.encode(w)
            }
            TimeUpdate::Now => {
                0i64.encode(w)?;
                UTIME_NOW.encode(w)
            }
            TimeUpdate::Set(t) => t.encode(w),
        }
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let sec = i64::decode(r)?;
        let nsec = u32::decode(r)?;
        match (sec, nsec) {
            (0, UTIME_OMIT) => Ok(TimeUpdate::Omit),
            (0, UTIME_NOW) => Ok(TimeUpdate::Now),
            (sec, nsec) if nsec < NSEC_PER_SEC => Ok(TimeUpdate::Set(Timestamp { sec, nsec })),
            _ => Err(DecodeError::BadValue),
        }
    }
}

impl Describe for TimeUpdate {
    const NAME: &'static str = "TimeUpdate";
    const FIELDS: &'static [Field] = &[
        Field {
            name: "sec",
            ty: "i64",
            doc: "doc = \" Seconds since the epoch.\"",
        },
        Field {
            name: "nsec",
            ty: "u32",
            doc: "doc = \" Nanoseconds (or UTIME_NOW / UTIME_OMIT in a TimeUpdate).\"",
        },
    ];
}

/// Permission bits only (`0..=0o7777`: rwx, setuid, setgid, sticky).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct Permissions(u32);

impl Permissions {
    /// Largest value.
    pub const MAX: u32 = 0o7777;

    /// Permission bits if `bits <= 0o7777`.
    pub const fn new(bits: u32) -> Option<Self> {
        if bits <= Self::MAX {
            Some(Permissions(bits))
        } else {
            None
        }
    }

    /// The bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
}

impl<'a> Codec<'a> for Permissions {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if self.0 > Self::MAX {
            return Err(EncodeError::BadValue);
        }
        self.0.encode(w)
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Permissions::new(u32::decode(r)?).ok_or(DecodeError::BadValue)
    }
}

impl Describe for Permissions {
    const NAME: &'static str = "Permissions";
    const FIELDS: &'static [Field] = &[];
}

/// File-type bits of a mode (Linux `S_IFMT`).
pub const S_IFMT: u32 = 0o170000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Block device.
pub const S_IFBLK: u32 = 0o060000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;
/// FIFO.
pub const S_IFIFO: u32 = 0o010000;

/// A full mode: one of the seven file types plus permission bits
/// (Linux numbering, which is the same on every architecture).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileMode(u32);

impl FileMode {
    /// A mode if the type is one of the seven and no other bit is set.
    pub const fn new(bits: u32) -> Option<Self> {
        let kind = bits & S_IFMT;
        let known = matches!(
            kind,
            S_IFSOCK | S_IFLNK | S_IFREG | S_IFBLK | S_IFDIR | S_IFCHR | S_IFIFO
        );
        if known && bits & !(S_IFMT | Permissions::MAX) == 0 {
            Some(FileMode(bits))
        } else {
            None
        }
    }

    /// The raw mode.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The type bits (`mode & S_IFMT`).
    pub const fn file_type_bits(self) -> u32 {
        self.0 & S_IFMT
    }

    /// The permission bits.
    pub const fn permissions(self) -> Permissions {
        Permissions(self.0 & Permissions::MAX)
    }
}

impl<'a> Codec<'a> for FileMode {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        FileMode::new(self.0).ok_or(EncodeError::BadValue)?;
        self.0.encode(w)
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        FileMode::new(u32::decode(r)?).ok_or(DecodeError::BadValue)
    }
}

impl Describe for FileMode {
    const NAME: &'static str = "FileMode";
    const FIELDS: &'static [Field] = &[];
}

wire_struct! {
    /// Attributes of a node, as the server's `getattr` sees them.
    pub struct WireAttr {
        /// Inode number on the server.
        pub ino: u64,
        /// Opaque id of the server file system holding the node; the client
        /// hashes inodes by `(dev, ino)`.
        pub dev: u64,
        /// Type and permissions.
        pub mode: FileMode,
        /// Hard-link count.
        pub nlink: u32,
        /// Owner (server's numbering).
        pub uid: u32,
        /// Group (server's numbering).
        pub gid: u32,
        /// Device major number of a device node, else 0.
        pub rdev_major: u32,
        /// Device minor number of a device node, else 0.
        pub rdev_minor: u32,
        /// Size in bytes.
        pub size: u64,
        /// Allocated 512-byte blocks.
        pub blocks: u64,
        /// Preferred I/O size.
        pub blksize: u32,
        /// Last access.
        pub atime: Timestamp,
        /// Last modification of the data.
        pub mtime: Timestamp,
        /// Last change of the inode.
        pub ctime: Timestamp,
        /// Generation of the inode (`i_generation`): with `(dev, ino)` it
        /// names one file for the life of the server's file system; an
        /// inode number reused for a new file comes with another one.
        pub generation: u32,
        /// The file system's change cookie (`i_version`) when it keeps one,
        /// else 0: any change of data or metadata changes it, even within
        /// one timestamp tick. With 0, clients compare `mtime`, `ctime` and
        /// `size`.
        pub change: u64,
        /// What kind of node this is for caching (`PSEUDO`, ...).
        pub flags: NodeFlags,
    }
}

wire_struct! {
    /// File-system statistics (`statfs(2)`).
    pub struct StatFs {
        /// Total blocks (of `frsize` bytes).
        pub blocks: u64,
        /// Free blocks.
        pub bfree: u64,
        /// Free blocks available to unprivileged users.
        pub bavail: u64,
        /// Total inodes.
        pub files: u64,
        /// Free inodes.
        pub ffree: u64,
        /// File-system id.
        pub fsid: u64,
        /// Mount flags (`ST_*`).
        pub flags: u64,
        /// Optimal transfer block size.
        pub bsize: u32,
        /// Fragment size.
        pub frsize: u32,
        /// Longest file name.
        pub namelen: u32,
        /// File-system magic (`f_type`).
        pub fs_type: u32,
    }
}
