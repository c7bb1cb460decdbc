//! Size limits of the protocol.
//!
//! Every variable-length field has a bound, and every frame is at most
//! [`MAX_FRAME_SIZE`] bytes, so a receiver can size its buffers up front and
//! never allocates because a peer asked it to.

/// Largest payload of one read, write, readdir or whole-file read: 1 MiB
/// (256 pages). Larger I/O is split by the client.
pub const MAX_IO_SIZE: u32 = 1 << 20;

/// Largest frame, header included: 1 MiB of data plus 64 KiB for the header,
/// credentials and the other fields of the largest message (a 1 MiB write
/// needs about 300 bytes more). A receiver may keep one buffer of this size
/// per connection; anything larger is a protocol error and the connection is
/// dropped.
pub const MAX_FRAME_SIZE: u32 = MAX_IO_SIZE + (64 << 10);

/// Longest path (export root, mount source, symlink target), in bytes, like
/// Linux `PATH_MAX`. No NUL byte is allowed inside.
pub const MAX_PATH_LEN: u32 = 4096;

/// Longest directory-entry name, in bytes, like Linux `NAME_MAX`.
pub const MAX_NAME_LEN: u32 = 255;

/// Longest extended-attribute name, like Linux `XATTR_NAME_MAX`.
pub const MAX_XATTR_NAME_LEN: u32 = 255;

/// Largest extended-attribute value, like Linux `XATTR_SIZE_MAX`.
pub const MAX_XATTR_VALUE_LEN: u32 = 65536;

/// Largest list of extended-attribute names, like Linux `XATTR_LIST_MAX`.
pub const MAX_XATTR_LIST_LEN: u32 = 65536;

/// Most supplementary groups carried in the credentials of a request. A
/// caller with more is represented by its first 64 (the client may refuse).
pub const MAX_GROUPS: u32 = 64;

/// Longest file-system type name of a remote mount.
pub const MAX_FSTYPE_LEN: u32 = 255;

/// Largest option string of a remote mount (one page, like Linux).
pub const MAX_MOUNT_DATA_LEN: u32 = 4096;

/// Largest errno value carried in a reply status (Linux `MAX_ERRNO`).
pub const MAX_ERRNO: u32 = 4095;

/// Most `Open`s of FIFOs without `O_NONBLOCK` that one connection may
/// have waiting on the server at once, for reading and for writing each
/// (each holds a server worker until the other side of the FIFO opens;
/// an open of the other direction always finds room, so a reader and a
/// writer of the same FIFO, both from the client, still meet). The server
/// answers `EBUSY` to more; a client queues them itself instead.
pub const MAX_BLOCKING_OPENS: u32 = 8;

/// Every limit with its name, for the documentation test.
pub const ALL_LIMITS: &[(&str, u32)] = &[
    ("MAX_IO_SIZE", MAX_IO_SIZE),
    ("MAX_FRAME_SIZE", MAX_FRAME_SIZE),
    ("MAX_PATH_LEN", MAX_PATH_LEN),
    ("MAX_NAME_LEN", MAX_NAME_LEN),
    ("MAX_XATTR_NAME_LEN", MAX_XATTR_NAME_LEN),
    ("MAX_XATTR_VALUE_LEN", MAX_XATTR_VALUE_LEN),
    ("MAX_XATTR_LIST_LEN", MAX_XATTR_LIST_LEN),
    ("MAX_GROUPS", MAX_GROUPS),
    ("MAX_FSTYPE_LEN", MAX_FSTYPE_LEN),
    ("MAX_MOUNT_DATA_LEN", MAX_MOUNT_DATA_LEN),
    ("MAX_ERRNO", MAX_ERRNO),
    ("MAX_BLOCKING_OPENS", MAX_BLOCKING_OPENS),
];
