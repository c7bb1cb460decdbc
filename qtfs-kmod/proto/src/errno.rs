//! Error numbers.
//!
//! A failed request is answered with a Linux errno value (asm-generic
//! numbering, as on x86-64 and arm64) in the reply header's status field.
//! Any value from 1 to `MAX_ERRNO` may appear;
//! the named constants are the ones the protocol itself relies on or that
//! file operations commonly return.

use super::limits::MAX_ERRNO;

/// A Linux errno value, always in `1..=4095`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(u32);

macro_rules! errnos {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        impl Errno {
            $( $(#[$doc])* pub const $name: Errno = Errno($value); )*
        }
        /// Every named errno with its name, for the documentation test.
        pub const ALL_ERRNOS: &[(&str, Errno)] = &[ $( (stringify!($name), Errno::$name) ),* ];
    };
}

errnos! {
    /// Operation not permitted.
    EPERM = 1;
    /// No such file or directory.
    ENOENT = 2;
    /// No such process (remote kill).
    ESRCH = 3;
    /// Interrupted.
    EINTR = 4;
    /// I/O error.
    EIO = 5;
    /// No such device or address.
    ENXIO = 6;
    /// Argument list too long.
    E2BIG = 7;
    /// Bad file handle.
    EBADF = 9;
    /// Try again.
    EAGAIN = 11;
    /// Out of memory.
    ENOMEM = 12;
    /// Permission denied; also a failed handshake authentication.
    EACCES = 13;
    /// Device or resource busy.
    EBUSY = 16;
    /// File exists (O_EXCL, RENAME_NOREPLACE, mkdir, ...).
    EEXIST = 17;
    /// Cross-device link.
    EXDEV = 18;
    /// No such device.
    ENODEV = 19;
    /// Not a directory.
    ENOTDIR = 20;
    /// Is a directory.
    EISDIR = 21;
    /// Invalid argument; also a request body with a bad value or reserved bit.
    EINVAL = 22;
    /// Too many open files on the server.
    EMFILE = 24;
    /// Inappropriate ioctl.
    ENOTTY = 25;
    /// Text file busy.
    ETXTBSY = 26;
    /// File too large.
    EFBIG = 27;
    /// No space left on device.
    ENOSPC = 28;
    /// Illegal seek.
    ESPIPE = 29;
    /// Read-only file system.
    EROFS = 30;
    /// Too many links.
    EMLINK = 31;
    /// Broken pipe.
    EPIPE = 32;
    /// Result too large (a buffer too small for an xattr).
    ERANGE = 34;
    /// Name too long; also a field above its limit.
    ENAMETOOLONG = 36;
    /// Function not implemented.
    ENOSYS = 38;
    /// Directory not empty.
    ENOTEMPTY = 39;
    /// Too many symbolic links.
    ELOOP = 40;
    /// No data (missing xattr; SEEK_DATA past the last data).
    ENODATA = 61;
    /// Protocol error: a request body that does not decode.
    EPROTO = 71;
    /// Value too large for the data type.
    EOVERFLOW = 75;
    /// Protocol version not supported (handshake).
    EPROTONOSUPPORT = 93;
    /// Operation not supported: unknown opcode, or a capability not negotiated.
    EOPNOTSUPP = 95;
    /// Connection timed out.
    ETIMEDOUT = 110;
    /// Stale handle: the node or file handle is not known to the server.
    ESTALE = 116;
    /// Disk quota exceeded.
    EDQUOT = 122;
}

impl Errno {
    /// An errno from a raw value; `None` unless `1..=4095`.
    pub const fn new(value: u32) -> Option<Errno> {
        if value >= 1 && value <= MAX_ERRNO {
            Some(Errno(value))
        } else {
            None
        }
    }

    /// An errno from a negative kernel return value (`-ENOENT`, ...);
    /// `None` unless in `-4095..=-1`.
    pub const fn from_kernel(ret: i32) -> Option<Errno> {
        if ret < 0 && ret >= -4095 {
            Some(Errno(ret.unsigned_abs()))
        } else {
            None
        }
    }

    /// The positive errno value.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The negative value a kernel function returns (`-errno`).
    pub const fn to_kernel(self) -> i32 {
        // Always <= 4095, so the cast is lossless and nothing wraps.
        0i32.wrapping_sub(self.0 as i32)
    }
}
