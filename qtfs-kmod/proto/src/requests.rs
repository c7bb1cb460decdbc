//! Request bodies, one struct per operation.
//!
//! On the wire a request body is the caller's
//! [`Credentials`](super::creds::Credentials) followed by the fields of one
//! of these structs in order. Nodes (`node`, `parent`) are opaque ids the
//! server returned from `Attach`, `Lookup`, `Create`, ...; handles
//! (`handle`) are opaque ids of open files returned by `Open` and `Create`.
//! Neither is ever a pointer; the server checks both against its
//! per-session tables and answers `ESTALE` or `EBADF` for unknown ones.

use super::attr::{FileMode, Permissions, TimeUpdate};
use super::bytes::{Data, FsType, MountData, Name, Path, XattrName, XattrValue};
use super::flags::{
    FallocFlags, MountFlags, OpenFlags, PollEvents, RenameFlags, SetAttrMask, UmountFlags, Whence,
    XattrFlags,
};
use super::sizes::{IoSize, Signal, XattrListSize, XattrSize};
use super::wire::{Codec, DecodeError, Describe, EncodeError, Field, Reader, Writer};

wire_struct! {
    /// Liveness check; answered with an empty reply.
    pub struct PingRequest {}
}

wire_struct! {
    /// Gets the root node of an export configured on the server.
    pub struct AttachRequest<'a> {
        /// Export path as configured on the server (the mount "device").
        pub export: Path<'a>,
    }
}

wire_struct! {
    /// Drops `count` lookup references to a node (each `Lookup`, `Create`,
    /// `Mkdir`, `Mknod`, `Symlink`, `Link` and `Attach` reply adds one).
    pub struct ForgetRequest {
        /// The node.
        pub node: u64,
        /// References to drop.
        pub count: u64,
    }
}

wire_struct! {
    /// Looks `name` up in directory `parent`.
    pub struct LookupRequest<'a> {
        /// Directory node.
        pub parent: u64,
        /// Entry name.
        pub name: Name<'a>,
    }
}

wire_struct! {
    /// Gets the attributes of a node.
    pub struct GetattrRequest {
        /// The node.
        pub node: u64,
    }
}

wire_struct! {
    /// Changes attributes: the fields selected by `mask`, and the times
    /// unless [`TimeUpdate::Omit`].
    pub struct SetattrRequest {
        /// The node.
        pub node: u64,
        /// An open handle to use (ftruncate), or 0.
        pub handle: u64,
        /// Which of mode, uid, gid and size to change.
        pub mask: SetAttrMask,
        /// New permission bits (if `MODE`).
        pub mode: Permissions,
        /// New owner (if `UID`).
        pub uid: u32,
        /// New group (if `GID`).
        pub gid: u32,
        /// New size (if `SIZE`).
        pub size: u64,
        /// New access time.
        pub atime: TimeUpdate,
        /// New modification time.
        pub mtime: TimeUpdate,
    }
}

wire_struct! {
    /// Opens a node (file or directory).
    pub struct OpenRequest {
        /// The node.
        pub node: u64,
        /// Open flags (`O_CREAT` and `O_EXCL` have no effect here; use `Create`).
        pub flags: OpenFlags,
    }
}

wire_struct! {
    /// Creates a regular file `name` in `parent` and opens it. `O_EXCL`
    /// fails with `EEXIST` if it exists; `O_TRUNC` truncates an existing one.
    pub struct CreateRequest<'a> {
        /// Directory node.
        pub parent: u64,
        /// New entry name.
        pub name: Name<'a>,
        /// Open flags (`O_CREAT` implied).
        pub flags: OpenFlags,
        /// Permission bits as the caller asked, before the umask.
        pub mode: Permissions,
        /// The caller's umask, applied by the server as a local file system
        /// would (not where the directory's default ACL replaces it).
        pub umask: Permissions,
    }
}

wire_struct! {
    /// Reads up to `size` bytes at `offset`.
    pub struct ReadRequest {
        /// Open handle.
        pub handle: u64,
        /// Byte offset.
        pub offset: u64,
        /// Bytes wanted, at most `MAX_IO_SIZE`.
        pub size: IoSize,
    }
}

wire_struct! {
    /// Writes `data` at `offset` (at the end with `O_APPEND`).
    pub struct WriteRequest<'a> {
        /// Open handle.
        pub handle: u64,
        /// Byte offset.
        pub offset: u64,
        /// Bytes to write.
        pub data: Data<'a>,
    }
}

wire_struct! {
    /// Flushes an open file to stable storage.
    pub struct FsyncRequest {
        /// Open handle.
        pub handle: u64,
        /// Data only (`fdatasync`).
        pub datasync: bool,
    }
}

wire_struct! {
    /// Closes an open handle. Pending poll registrations on it end.
    pub struct ReleaseRequest {
        /// Open handle.
        pub handle: u64,
    }
}

wire_struct! {
    /// Reads entries of an open directory after `cookie` (0 = from the start).
    pub struct ReaddirRequest {
        /// Open directory handle.
        pub handle: u64,
        /// Resume point: 0, or the cookie of the last entry received.
        pub cookie: u64,
        /// Largest packed size of the reply's entries, at most `MAX_IO_SIZE`.
        pub max_bytes: IoSize,
    }
}

wire_struct! {
    /// Makes a directory.
    pub struct MkdirRequest<'a> {
        /// Directory node.
        pub parent: u64,
        /// New entry name.
        pub name: Name<'a>,
        /// Permission bits as the caller asked, before the umask.
        pub mode: Permissions,
        /// The caller's umask (see `CreateRequest`).
        pub umask: Permissions,
    }
}

wire_struct! {
    /// Removes an empty directory.
    pub struct RmdirRequest<'a> {
        /// Directory node.
        pub parent: u64,
        /// Entry name.
        pub name: Name<'a>,
    }
}

wire_struct! {
    /// Removes a non-directory entry.
    pub struct UnlinkRequest<'a> {
        /// Directory node.
        pub parent: u64,
        /// Entry name.
        pub name: Name<'a>,
    }
}

wire_struct! {
    /// Renames `old_parent/old_name` to `new_parent/new_name`.
    pub struct RenameRequest<'a> {
        /// Source directory.
        pub old_parent: u64,
        /// Source name.
        pub old_name: Name<'a>,
        /// Target directory.
        pub new_parent: u64,
        /// Target name.
        pub new_name: Name<'a>,
        /// `RENAME_NOREPLACE`, `RENAME_EXCHANGE` (not both), `RENAME_WHITEOUT`.
        pub flags: RenameFlags,
    }
}

wire_struct! {
    /// Makes a hard link to `node` as `new_parent/new_name`.
    pub struct LinkRequest<'a> {
        /// Existing node.
        pub node: u64,
        /// Directory of the new link.
        pub new_parent: u64,
        /// Name of the new link.
        pub new_name: Name<'a>,
    }
}

wire_struct! {
    /// Makes a symbolic link `parent/name` pointing to `target`.
    pub struct SymlinkRequest<'a> {
        /// Directory node.
        pub parent: u64,
        /// New entry name.
        pub name: Name<'a>,
        /// Link contents.
        pub target: Path<'a>,
    }
}

wire_struct! {
    /// Reads a symbolic link.
    pub struct ReadlinkRequest {
        /// The link's node.
        pub node: u64,
    }
}

wire_struct! {
    /// Makes a FIFO, socket, character or block device, or regular file.
    /// Other file types are answered `EINVAL`.
    pub struct MknodRequest<'a> {
        /// Directory node.
        pub parent: u64,
        /// New entry name.
        pub name: Name<'a>,
        /// File type and permission bits, before the umask.
        pub mode: FileMode,
        /// The caller's umask (see `CreateRequest`).
        pub umask: Permissions,
        /// Device major number (devices only, else 0).
        pub rdev_major: u32,
        /// Device minor number (devices only, else 0).
        pub rdev_minor: u32,
    }
}

wire_struct! {
    /// File-system statistics of the file system holding `node`.
    pub struct StatfsRequest {
        /// Any node of the file system.
        pub node: u64,
    }
}

wire_struct! {
    /// Gets an extended attribute. With `size` 0 only its size is returned.
    pub struct GetXattrRequest<'a> {
        /// The node.
        pub node: u64,
        /// Attribute name.
        pub name: XattrName<'a>,
        /// Caller's buffer size (0: ask for the size); too small is `ERANGE`.
        pub size: XattrSize,
    }
}

wire_struct! {
    /// Sets an extended attribute.
    pub struct SetXattrRequest<'a> {
        /// The node.
        pub node: u64,
        /// Attribute name.
        pub name: XattrName<'a>,
        /// Attribute value.
        pub value: XattrValue<'a>,
        /// `XATTR_CREATE` or `XATTR_REPLACE` or neither.
        pub flags: XattrFlags,
    }
}

wire_struct! {
    /// Lists extended-attribute names. With `size` 0 only the size is returned.
    pub struct ListXattrRequest {
        /// The node.
        pub node: u64,
        /// Caller's buffer size (0: ask for the size); too small is `ERANGE`.
        pub size: XattrListSize,
    }
}

wire_struct! {
    /// Removes an extended attribute.
    pub struct RemoveXattrRequest<'a> {
        /// The node.
        pub node: u64,
        /// Attribute name.
        pub name: XattrName<'a>,
    }
}

wire_struct! {
    /// Repositions an open handle; returns the new offset.
    pub struct LlseekRequest {
        /// Open handle.
        pub handle: u64,
        /// Offset relative to `whence`.
        pub offset: i64,
        /// Origin, including `SEEK_DATA` and `SEEK_HOLE`.
        pub whence: Whence,
    }
}

wire_struct! {
    /// Registers interest in readiness of an open handle. The reply carries
    /// the current readiness; if none of `events` is ready, the server sends
    /// one `PollEvent` with `poll_id` when one becomes ready (one-shot: the
    /// registration ends with the event, a `PollCancel`, or `Release`).
    pub struct PollRegisterRequest {
        /// Open handle.
        pub handle: u64,
        /// Id chosen by the client, unique among its live registrations.
        pub poll_id: u64,
        /// Events of interest (`POLLERR` and `POLLHUP` are always reported).
        pub events: PollEvents,
    }
}

wire_struct! {
    /// Ends a poll registration (no event is sent after the reply).
    pub struct PollCancelRequest {
        /// The registration.
        pub poll_id: u64,
    }
}

wire_struct! {
    /// Opens `node` read-only, reads up to `max_size` bytes from offset 0
    /// and closes it, in one round trip (for /proc, /sys and cgroup files).
    pub struct ReadFileRequest {
        /// The node.
        pub node: u64,
        /// Most bytes to return, at most `MAX_IO_SIZE`.
        pub max_size: IoSize,
    }
}

wire_struct! {
    /// Mounts a file system on the server at directory `node`.
    pub struct RemoteMountRequest<'a> {
        /// Mount-point directory.
        pub node: u64,
        /// Source (device, directory for a bind mount, or a name).
        pub source: Path<'a>,
        /// File-system type.
        pub fstype: FsType<'a>,
        /// `MS_*` flags.
        pub flags: MountFlags,
        /// Option string.
        pub data: MountData<'a>,
    }
}

wire_struct! {
    /// Unmounts the file system mounted at directory `node` on the server.
    pub struct RemoteUmountRequest {
        /// Mount point.
        pub node: u64,
        /// `umount2` flags.
        pub flags: UmountFlags,
    }
}

wire_struct! {
    /// Sends `signal` to process `pid` on the server (`kill(2)` semantics,
    /// checked against the caller's credentials and the server's policy).
    pub struct RemoteKillRequest {
        /// Process id (negative: process group).
        pub pid: i32,
        /// Signal number, 0..=64 (0 checks existence).
        pub signal: Signal,
    }
}

wire_struct! {
    /// Tells the server that the client stopped waiting for request
    /// `target` (its caller was killed or timed out). A request still
    /// queued is dropped and answered `ECANCELED`; one being performed is
    /// interrupted where the operation allows it (a blocked FIFO open or
    /// read). The reply to `Cancel` itself is empty and comes whether or
    /// not `target` was found.
    pub struct CancelRequest {
        /// The request id to cancel.
        pub target: u64,
    }
}

wire_struct! {
    /// Allocates, deallocates or zeroes a byte range of an open file
    /// (`fallocate(2)`, where the server's file system supports it).
    pub struct FallocateRequest {
        /// Open handle (written to).
        pub handle: u64,
        /// `FALLOC_FL_*` mode (0: allocate, extending the size).
        pub mode: FallocFlags,
        /// Start of the range.
        pub offset: u64,
        /// Length of the range (not 0).
        pub len: u64,
    }
}
