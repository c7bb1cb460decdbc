//! Reply bodies of successful requests. A failed request's reply has a
//! non-zero status in the header and an empty body.

use super::attr::{StatFs, WireAttr};
use super::bytes::{Data, Path, XattrNames, XattrValue};
use super::dirent::DirEntries;
use super::flags::PollEvents;
use super::sizes::{IoSize, XattrListSize, XattrSize};
use super::wire::{Codec, DecodeError, Describe, EncodeError, Field, Reader, Writer};

wire_struct! {
    /// No data: the operation succeeded.
    pub struct EmptyReply {}
}

wire_struct! {
    /// A node the client now holds one lookup reference to, with its attributes.
    pub struct EntryReply {
        /// Opaque node id.
        pub node: u64,
        /// Its attributes.
        pub attr: WireAttr,
    }
}

wire_struct! {
    /// Attributes of a node.
    pub struct AttrReply {
        /// The attributes.
        pub attr: WireAttr,
    }
}

wire_struct! {
    /// An open handle, with the node's attributes at open time (for
    /// close-to-open consistency).
    pub struct OpenReply {
        /// Opaque handle id.
        pub handle: u64,
        /// Attributes.
        pub attr: WireAttr,
    }
}

wire_struct! {
    /// A created and opened file.
    pub struct CreateReply {
        /// Opaque node id (one lookup reference).
        pub node: u64,
        /// Opaque handle id.
        pub handle: u64,
        /// Attributes.
        pub attr: WireAttr,
        /// The parent directory's attributes after the operation.
        pub parent: WireAttr,
    }
}

wire_struct! {
    /// A new entry (mkdir, mknod, symlink, link): the node, as in
    /// [`EntryReply`], and its directory after the change.
    pub struct NewEntryReply {
        /// Opaque node id (one lookup reference).
        pub node: u64,
        /// Its attributes.
        pub attr: WireAttr,
        /// The parent directory's attributes after the operation.
        pub parent: WireAttr,
    }
}

wire_struct! {
    /// An entry removed (unlink, rmdir): the directory after the change.
    pub struct RemoveReply {
        /// The parent directory's attributes after the operation.
        pub parent: WireAttr,
    }
}

wire_struct! {
    /// A rename: both directories after the change (the same attributes
    /// twice when they are one directory).
    pub struct RenameReply {
        /// The source directory's attributes.
        pub old_parent: WireAttr,
        /// The target directory's attributes.
        pub new_parent: WireAttr,
    }
}

wire_struct! {
    /// Data read; shorter than asked at end of file.
    pub struct ReadReply<'a> {
        /// The bytes.
        pub data: Data<'a>,
    }
}

wire_struct! {
    /// Result of a write.
    pub struct WriteReply {
        /// Bytes written.
        pub written: IoSize,
        /// The file's attributes after the write (size, times).
        pub attr: WireAttr,
    }
}

wire_struct! {
    /// Directory entries.
    pub struct ReaddirReply<'a> {
        /// Entries, at most the request's `max_bytes` packed.
        pub entries: DirEntries<'a>,
        /// No entries follow the last one.
        pub eof: bool,
    }
}

wire_struct! {
    /// Contents of a symbolic link.
    pub struct ReadlinkReply<'a> {
        /// Link target.
        pub target: Path<'a>,
    }
}

wire_struct! {
    /// File-system statistics.
    pub struct StatfsReply {
        /// The statistics.
        pub stat: StatFs,
    }
}

wire_struct! {
    /// An extended attribute's value.
    pub struct GetXattrReply<'a> {
        /// Size of the whole value.
        pub size: XattrSize,
        /// The value; empty when the request's `size` was 0.
        pub value: XattrValue<'a>,
    }
}

wire_struct! {
    /// Extended-attribute names.
    pub struct ListXattrReply<'a> {
        /// Size of the whole list.
        pub size: XattrListSize,
        /// The names; empty when the request's `size` was 0.
        pub names: XattrNames<'a>,
    }
}

wire_struct! {
    /// New file offset.
    pub struct LlseekReply {
        /// Offset from the start of the file.
        pub offset: u64,
    }
}

wire_struct! {
    /// Readiness at registration time.
    pub struct PollRegisterReply {
        /// Events ready now. If any requested event is ready, the
        /// registration is already over and no `PollEvent` follows.
        pub revents: PollEvents,
    }
}

wire_struct! {
    /// A whole small file.
    pub struct ReadFileReply<'a> {
        /// The bytes from offset 0.
        pub data: Data<'a>,
        /// The file ended within `max_size` bytes.
        pub eof: bool,
    }
}

wire_struct! {
    /// Body of a `PollEvent` frame sent by the server.
    pub struct PollEventBody {
        /// The registration that fired (it is now over).
        pub poll_id: u64,
        /// Ready events.
        pub revents: PollEvents,
    }
}
