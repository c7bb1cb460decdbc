//! Flag sets and small enumerations carried in requests.
//!
//! Every flag set has a mask of known bits; a decoder rejects any other bit
//! ([`DecodeError::ReservedBits`]), so a newer peer cannot slip in a flag an
//! older server would silently ignore. Values use the asm-generic numbering
//! (x86-64, arm64 and riscv share it except where noted).

use super::wire::{Codec, DecodeError, Describe, EncodeError, Field, Reader, Writer};

macro_rules! flag_set {
    (
        $(#[$doc:meta])* $name:ident($raw:ty) { $( $(#[$fdoc:meta])* $flag:ident = $value:expr; )* }
        $(extra_check = $check:expr;)?
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
        pub struct $name($raw);

        impl $name {
            $( $(#[$fdoc])* pub const $flag: $name = $name($value); )*

            /// Every named flag with its name, for the documentation test.
            pub const ALL: &'static [(&'static str, $name)] = &[ $( (stringify!($flag), $name::$flag) ),* ];

            /// Bits that may be set.
            pub const KNOWN: $raw = 0 $( | $value )*;

            /// The set with raw `bits`, if every bit is known and the
            /// combination is valid.
            pub fn from_bits(bits: $raw) -> Option<Self> {
                if bits & !Self::KNOWN != 0 {
                    return None;
                }
                let value = $name(bits);
                $( if !($check)(value) { return None; } )?
                Some(value)
            }

            /// The raw bits.
            pub const fn bits(self) -> $raw {
                self.0
            }

            /// Whether every bit of `other` is set.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// The union of both sets.
            #[must_use]
            pub const fn union(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }
        }

        impl<'a> Codec<'a> for $name {
            fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
                $name::from_bits(self.0).ok_or(EncodeError::BadValue)?;
                self.0.encode(w)
            }
            fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
                $name::from_bits(<$raw>::decode(r)?).ok_or(DecodeError::ReservedBits)
            }
        }

        impl Describe for $name {
            const NAME: &'static str = stringify!($name);
            const FIELDS: &'static [Field] = &[];
        }
    };
}

flag_set! {
    /// What the server knows about a node beyond its `stat` (in [`WireAttr`](super::attr::WireAttr)).
    NodeFlags(u32) {
        /// The node lives on a pseudo file system of the server (procfs,
        /// sysfs, cgroup, kernfs, debugfs, tracefs...): its size says
        /// nothing about its contents, which change on their own. A client
        /// caches neither its pages nor its size and sends every read and
        /// write to the server.
        PSEUDO = 1 << 0;
        /// The node is a mount point on the server that the export does
        /// not let clients cross (not `crossmnt`): it shows as an empty
        /// directory.
        MOUNTPOINT = 1 << 1;
        /// The export holding the node is read-only.
        READ_ONLY = 1 << 2;
    }
}

flag_set! {
    /// `fallocate(2)` modes (`FALLOC_FL_*`); 0 allocates and may extend.
    FallocFlags(u32) {
        /// Do not change the size.
        FALLOC_FL_KEEP_SIZE = 0x01;
        /// Deallocate the range (with `KEEP_SIZE`).
        FALLOC_FL_PUNCH_HOLE = 0x02;
        /// Remove the range, shifting the rest down.
        FALLOC_FL_COLLAPSE_RANGE = 0x08;
        /// Zero the range.
        FALLOC_FL_ZERO_RANGE = 0x10;
        /// Insert a hole, shifting the rest up.
        FALLOC_FL_INSERT_RANGE = 0x20;
        /// Unshare shared blocks.
        FALLOC_FL_UNSHARE_RANGE = 0x40;
    }
}

flag_set! {
    /// `open(2)` flags (asm-generic values; an arm64 or x86-64 client sends
    /// its own values unchanged, other architectures translate). The access
    /// mode is the low two bits: 0 read-only, 1 write-only, 2 read-write;
    /// 3 is rejected.
    OpenFlags(u32) {
        /// Write only (access mode 1).
        O_WRONLY = 0o1;
        /// Read and write (access mode 2).
        O_RDWR = 0o2;
        /// Create if missing.
        O_CREAT = 0o100;
        /// With `O_CREAT`: fail with `EEXIST` if it exists.
        O_EXCL = 0o200;
        /// Do not become the controlling terminal.
        O_NOCTTY = 0o400;
        /// Truncate to zero length.
        O_TRUNC = 0o1000;
        /// Append.
        O_APPEND = 0o2000;
        /// Non-blocking.
        O_NONBLOCK = 0o4000;
        /// Synchronised data writes.
        O_DSYNC = 0o10000;
        /// Signal-driven I/O.
        FASYNC = 0o20000;
        /// Direct I/O.
        O_DIRECT = 0o40000;
        /// Large file.
        O_LARGEFILE = 0o100000;
        /// Fail unless a directory.
        O_DIRECTORY = 0o200000;
        /// Do not follow a final symlink.
        O_NOFOLLOW = 0o400000;
        /// Do not update the access time.
        O_NOATIME = 0o1000000;
        /// Close on exec (meaningless remotely, accepted).
        O_CLOEXEC = 0o2000000;
        /// Synchronised writes (`O_SYNC` is `__O_SYNC | O_DSYNC`).
        __O_SYNC = 0o4000000;
        /// Path-only handle.
        O_PATH = 0o10000000;
        /// Unnamed temporary file (`O_TMPFILE` is `__O_TMPFILE | O_DIRECTORY`).
        __O_TMPFILE = 0o20000000;
    }
    extra_check = |f: OpenFlags| f.0 & 3 != 3;
}

impl OpenFlags {
    /// Read only (access mode 0).
    pub const O_RDONLY: OpenFlags = OpenFlags(0);
    /// `O_SYNC` as user space spells it.
    pub const O_SYNC: OpenFlags = OpenFlags(0o4010000);
    /// The access mode (0, 1 or 2).
    pub const fn access_mode(self) -> u32 {
        self.0 & 3
    }
}

flag_set! {
    /// `renameat2(2)` flags.
    RenameFlags(u32) {
        /// Fail with `EEXIST` if the target exists.
        RENAME_NOREPLACE = 1;
        /// Atomically exchange source and target.
        RENAME_EXCHANGE = 2;
        /// Leave a whiteout at the source (overlayfs).
        RENAME_WHITEOUT = 4;
    }
    extra_check = |f: RenameFlags| f.0 & 3 != 3;
}

flag_set! {
    /// Which of `mode`, `uid`, `gid` and `size` a `Setattr` changes (times
    /// are governed by [`TimeUpdate`](super::attr::TimeUpdate)).
    SetAttrMask(u32) {
        /// Change the permission bits.
        MODE = 1;
        /// Change the owner.
        UID = 2;
        /// Change the group.
        GID = 4;
        /// Truncate or extend.
        SIZE = 8;
    }
}

flag_set! {
    /// `setxattr(2)` flags.
    XattrFlags(u32) {
        /// Fail if the attribute exists.
        XATTR_CREATE = 1;
        /// Fail if the attribute does not exist.
        XATTR_REPLACE = 2;
    }
    extra_check = |f: XattrFlags| f.0 != 3;
}

flag_set! {
    /// `umount2(2)` flags.
    UmountFlags(u32) {
        /// Force.
        MNT_FORCE = 1;
        /// Lazy unmount.
        MNT_DETACH = 2;
        /// Mark for expiry.
        MNT_EXPIRE = 4;
        /// Do not follow a final symlink.
        UMOUNT_NOFOLLOW = 8;
    }
}

flag_set! {
    /// Poll events (asm-generic values).
    PollEvents(u32) {
        /// Data to read.
        POLLIN = 0x0001;
        /// Urgent data.
        POLLPRI = 0x0002;
        /// Writable.
        POLLOUT = 0x0004;
        /// Error.
        POLLERR = 0x0008;
        /// Hang-up.
        POLLHUP = 0x0010;
        /// Invalid handle.
        POLLNVAL = 0x0020;
        /// Normal data to read.
        POLLRDNORM = 0x0040;
        /// Priority band data to read.
        POLLRDBAND = 0x0080;
        /// Normal data writable.
        POLLWRNORM = 0x0100;
        /// Priority band writable.
        POLLWRBAND = 0x0200;
        /// Message.
        POLLMSG = 0x0400;
        /// Peer closed its writing half.
        POLLRDHUP = 0x2000;
    }
}

flag_set! {
    /// Remote mount flags (`MS_*`, identical on every architecture). The
    /// server applies its own policy on top.
    MountFlags(u64) {
        /// Read only.
        MS_RDONLY = 1;
        /// No set-user-id.
        MS_NOSUID = 2;
        /// No device files.
        MS_NODEV = 4;
        /// No execution.
        MS_NOEXEC = 8;
        /// Synchronous writes.
        MS_SYNCHRONOUS = 16;
        /// Remount.
        MS_REMOUNT = 32;
        /// Mandatory locking (ignored by modern kernels).
        MS_MANDLOCK = 64;
        /// Synchronous directory updates.
        MS_DIRSYNC = 128;
        /// Do not follow symlinks.
        MS_NOSYMFOLLOW = 256;
        /// No access-time updates.
        MS_NOATIME = 1024;
        /// No directory access-time updates.
        MS_NODIRATIME = 2048;
        /// Bind mount.
        MS_BIND = 4096;
        /// Move a mount.
        MS_MOVE = 8192;
        /// Recursive (with `MS_BIND` or propagation flags).
        MS_REC = 16384;
        /// Silent.
        MS_SILENT = 32768;
        /// Unbindable propagation.
        MS_UNBINDABLE = 1 << 17;
        /// Private propagation.
        MS_PRIVATE = 1 << 18;
        /// Slave propagation.
        MS_SLAVE = 1 << 19;
        /// Shared propagation.
        MS_SHARED = 1 << 20;
        /// Relative access times.
        MS_RELATIME = 1 << 21;
        /// Strict access times.
        MS_STRICTATIME = 1 << 24;
        /// Lazy time updates.
        MS_LAZYTIME = 1 << 25;
    }
}

/// `lseek(2)` origin. Encoded as one byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Whence {
    /// From the start.
    Set = 0,
    /// From the current position of the server-side handle.
    Cur = 1,
    /// From the end.
    End = 2,
    /// Next data at or after the offset.
    Data = 3,
    /// Next hole at or after the offset.
    Hole = 4,
}

impl Whence {
    /// Every value with its name, for the documentation test.
    pub const ALL: &'static [(&'static str, Whence)] = &[
        ("SEEK_SET", Whence::Set),
        ("SEEK_CUR", Whence::Cur),
        ("SEEK_END", Whence::End),
        ("SEEK_DATA", Whence::Data),
        ("SEEK_HOLE", Whence::Hole),
    ];

    /// The value with wire byte `raw`.
    pub const fn from_u8(raw: u8) -> Option<Whence> {
        match raw {
            0 => Some(Whence::Set),
            1 => Some(Whence::Cur),
            2 => Some(Whence::End),
            3 => Some(Whence::Data),
            4 => Some(Whence::Hole),
            _ => None,
        }
    }
}

impl<'a> Codec<'a> for Whence {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        (*self as u8).encode(w)
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Whence::from_u8(u8::decode(r)?).ok_or(DecodeError::BadValue)
    }
}

impl Describe for Whence {
    const NAME: &'static str = "Whence";
    const FIELDS: &'static [Field] = &[];
}
