//! Opcodes: the header field that says which message a frame carries.
//!
//! A reply carries the opcode of its request. Values never change once
//! released; new operations get new values and a capability bit.

use super::handshake::Capabilities;

macro_rules! opcodes {
    ($($(#[$doc:meta])* $name:ident = $value:expr, $cap:expr;)*) => {
        /// Every opcode of this protocol version.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum Opcode {
            $( $(#[$doc])* $name = $value, )*
        }

        impl Opcode {
            /// All opcodes, in numeric order.
            pub const ALL: &'static [Opcode] = &[ $( Opcode::$name ),* ];

            /// The opcode with wire value `value`, if known. An unknown value
            /// is answered with `EOPNOTSUPP`.
            pub const fn from_u16(value: u16) -> Option<Opcode> {
                match value {
                    $( $value => Some(Opcode::$name), )*
                    _ => None,
                }
            }

            /// The name used in `docs/protocol.md`.
            pub const fn name(self) -> &'static str {
                match self { $( Opcode::$name => stringify!($name), )* }
            }

            /// The capability both peers must have negotiated before this
            /// opcode may be sent (empty: always allowed).
            pub const fn required_capability(self) -> Capabilities {
                match self { $( Opcode::$name => $cap, )* }
            }
        }
    };
}

opcodes! {
    /// Handshake step 1: client `Hello`, server `ServerHello`.
    Hello = 0x0001, Capabilities::NONE;
    /// Handshake step 2: client `ClientAuth`, server empty reply.
    Auth = 0x0002, Capabilities::NONE;
    /// Liveness check.
    Ping = 0x0010, Capabilities::NONE;
    /// Get the root node of an export.
    Attach = 0x0011, Capabilities::NONE;
    /// Drop lookup references to a node.
    Forget = 0x0012, Capabilities::NONE;
    /// Look a name up in a directory.
    Lookup = 0x0013, Capabilities::NONE;
    /// Get attributes.
    Getattr = 0x0014, Capabilities::NONE;
    /// Set attributes (chmod, chown, truncate, utimes).
    Setattr = 0x0015, Capabilities::NONE;
    /// Open a node.
    Open = 0x0016, Capabilities::NONE;
    /// Create and open a regular file.
    Create = 0x0017, Capabilities::NONE;
    /// Read from an open file.
    Read = 0x0018, Capabilities::NONE;
    /// Write to an open file.
    Write = 0x0019, Capabilities::NONE;
    /// Flush an open file to stable storage.
    Fsync = 0x001A, Capabilities::NONE;
    /// Close an open file or directory handle.
    Release = 0x001B, Capabilities::NONE;
    /// Read directory entries from a cookie.
    Readdir = 0x001C, Capabilities::NONE;
    /// Make a directory.
    Mkdir = 0x001D, Capabilities::NONE;
    /// Remove a directory.
    Rmdir = 0x001E, Capabilities::NONE;
    /// Remove a non-directory.
    Unlink = 0x001F, Capabilities::NONE;
    /// Rename, with RENAME_* flags.
    Rename = 0x0020, Capabilities::NONE;
    /// Make a hard link.
    Link = 0x0021, Capabilities::NONE;
    /// Make a symbolic link.
    Symlink = 0x0022, Capabilities::NONE;
    /// Read a symbolic link.
    Readlink = 0x0023, Capabilities::NONE;
    /// Make a FIFO, socket, device or regular file node.
    Mknod = 0x0024, Capabilities::NONE;
    /// File-system statistics.
    Statfs = 0x0025, Capabilities::NONE;
    /// Get an extended attribute.
    GetXattr = 0x0026, Capabilities::XATTR;
    /// Set an extended attribute.
    SetXattr = 0x0027, Capabilities::XATTR;
    /// List extended attribute names.
    ListXattr = 0x0028, Capabilities::XATTR;
    /// Remove an extended attribute.
    RemoveXattr = 0x0029, Capabilities::XATTR;
    /// Reposition an open file (SEEK_SET/CUR/END/DATA/HOLE).
    Llseek = 0x002A, Capabilities::NONE;
    /// Register interest in readiness of an open file; answered now and by
    /// a later `PollEvent`.
    PollRegister = 0x002B, Capabilities::POLL_EVENTS;
    /// Cancel a poll registration.
    PollCancel = 0x002C, Capabilities::POLL_EVENTS;
    /// Open, read and close a small (pseudo-)file in one round trip.
    ReadFile = 0x002D, Capabilities::WHOLE_FILE_READ;
    /// Mount a file system on the server.
    RemoteMount = 0x002E, Capabilities::REMOTE_MOUNT;
    /// Unmount a file system on the server.
    RemoteUmount = 0x002F, Capabilities::REMOTE_MOUNT;
    /// Send a signal to a process on the server.
    RemoteKill = 0x0030, Capabilities::REMOTE_KILL;
    /// Stop waiting for a request (see `CancelRequest`).
    Cancel = 0x0031, Capabilities::NONE;
    /// Allocate or deallocate a range of an open file.
    Fallocate = 0x0032, Capabilities::NONE;
    /// Server-initiated readiness event (flag EVENT, request id 0).
    PollEvent = 0x0100, Capabilities::POLL_EVENTS;
}

impl Opcode {
    /// The wire value.
    pub const fn to_u16(self) -> u16 {
        self as u16
    }
}
