//! Sample messages for the tests: every request, reply, event and
//! handshake message, built from a pool of owned bytes and a stream of
//! numbers. The property tests draw the pool at random; the golden test
//! uses a fixed pool.
#![allow(dead_code)]

use qtfs_proto::attr::{
    FileMode, Permissions, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK,
};
use qtfs_proto::flags::MountFlags;
use qtfs_proto::handshake::{ClientAuth, Magic, ServerHello};
use qtfs_proto::*;

/// Owned bytes that the sample messages borrow.
#[derive(Clone, Debug)]
pub struct Pool {
    pub names: [Vec<u8>; 2],
    pub path: Vec<u8>,
    pub data: Vec<u8>,
    pub xattr_name: Vec<u8>,
    pub xattr_value: Vec<u8>,
    pub xattr_names: Vec<u8>,
    pub fstype: Vec<u8>,
    pub mount_data: Vec<u8>,
    pub groups: Vec<u32>,
    pub words: Vec<u64>,
    /// `DirEntries` in wire form (count + entries).
    pub dir_wire: Vec<u8>,
}

/// Builds the wire form of a directory listing.
pub fn dir_wire(entries: &[(u64, u64, u8, Vec<u8>)]) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    let mut builder = DirEntriesBuilder::new(&mut buf);
    for (ino, cookie, ft, name) in entries {
        let file_type = FileType::ALL[*ft as usize % FileType::ALL.len()].1;
        let entry = DirEntry {
            ino: *ino,
            cookie: *cookie,
            file_type,
            name: Name::new(name).unwrap(),
        };
        builder.push(&entry).unwrap();
    }
    let entries = builder.finish();
    let mut out = vec![0u8; entries.packed_bytes().len() + 4];
    let mut w = Writer::new(&mut out);
    entries.encode(&mut w).unwrap();
    out
}

impl Pool {
    /// A fixed pool for golden vectors. Never change it: the golden
    /// vectors depend on every byte.
    pub fn fixed() -> Pool {
        Pool {
            names: [b"file.txt".to_vec(), b"new-name".to_vec()],
            path: b"/srv/export".to_vec(),
            data: b"hello, qtfs".to_vec(),
            xattr_name: b"user.k".to_vec(),
            xattr_value: b"v1".to_vec(),
            xattr_names: b"user.a\0user.bb\0".to_vec(),
            fstype: b"tmpfs".to_vec(),
            mount_data: b"size=1m".to_vec(),
            groups: vec![10, 20, 30],
            words: (1..=64u64)
                .map(|i| i.wrapping_mul(0x0101_0101_0101_0101) ^ (i << 56))
                .collect(),
            dir_wire: dir_wire(&[(11, 1, 8, b"a".to_vec()), (12, 2, 4, b"dir".to_vec())]),
        }
    }

    fn src(&self) -> Src<'_> {
        Src {
            words: &self.words,
            next: 0,
        }
    }
}

/// A stream of numbers from the pool.
pub struct Src<'p> {
    words: &'p [u64],
    next: usize,
}

impl Src<'_> {
    pub fn u64(&mut self) -> u64 {
        let w = if self.words.is_empty() {
            0
        } else {
            self.words[self.next % self.words.len()]
        };
        self.next += 1;
        w
    }
    pub fn u32(&mut self) -> u32 {
        self.u64() as u32
    }
    pub fn i64(&mut self) -> i64 {
        self.u64() as i64
    }
    pub fn bool(&mut self) -> bool {
        self.u64() & 1 == 1
    }
    pub fn nonzero(&mut self) -> u64 {
        self.u64().max(1)
    }
    pub fn timestamp(&mut self) -> Timestamp {
        Timestamp {
            sec: self.i64(),
            nsec: self.u32() % 1_000_000_000,
        }
    }
    pub fn time_update(&mut self) -> TimeUpdate {
        match self.u64() % 3 {
            0 => TimeUpdate::Omit,
            1 => TimeUpdate::Now,
            _ => TimeUpdate::Set(self.timestamp()),
        }
    }
    pub fn permissions(&mut self) -> Permissions {
        Permissions::new(self.u32() & 0o7777).unwrap()
    }
    pub fn file_mode(&mut self) -> FileMode {
        const TYPES: [u32; 7] = [
            S_IFSOCK, S_IFLNK, S_IFREG, S_IFBLK, S_IFDIR, S_IFCHR, S_IFIFO,
        ];
        let t = TYPES[(self.u64() % 7) as usize];
        FileMode::new(t | (self.u32() & 0o7777)).unwrap()
    }
    pub fn attr(&mut self) -> WireAttr {
        WireAttr {
            ino: self.u64(),
            dev: self.u64(),
            mode: self.file_mode(),
            nlink: self.u32(),
            uid: self.u32(),
            gid: self.u32(),
            rdev_major: self.u32(),
            rdev_minor: self.u32(),
            size: self.u64(),
            blocks: self.u64(),
            blksize: self.u32(),
            atime: self.timestamp(),
            mtime: self.timestamp(),
            ctime: self.timestamp(),
            generation: self.u32(),
            change: self.u64(),
            flags: NodeFlags::from_bits(self.u32() & NodeFlags::KNOWN).unwrap(),
        }
    }
    pub fn open_flags(&mut self) -> OpenFlags {
        let mut bits = self.u32() & OpenFlags::KNOWN;
        if bits & 3 == 3 {
            bits &= !1;
        }
        OpenFlags::from_bits(bits).unwrap()
    }
    pub fn rename_flags(&mut self) -> RenameFlags {
        let mut bits = self.u32() & RenameFlags::KNOWN;
        if bits & 3 == 3 {
            bits &= !2;
        }
        RenameFlags::from_bits(bits).unwrap()
    }
    pub fn xattr_flags(&mut self) -> XattrFlags {
        let bits = (self.u32() % 3) & XattrFlags::KNOWN;
        XattrFlags::from_bits(bits).unwrap()
    }
    pub fn poll_events(&mut self) -> PollEvents {
        PollEvents::from_bits(self.u32() & PollEvents::KNOWN).unwrap()
    }
    pub fn whence(&mut self) -> Whence {
        Whence::ALL[(self.u64() % Whence::ALL.len() as u64) as usize].1
    }
    pub fn statfs(&mut self) -> StatFs {
        StatFs {
            blocks: self.u64(),
            bfree: self.u64(),
            bavail: self.u64(),
            files: self.u64(),
            ffree: self.u64(),
            fsid: self.u64(),
            flags: self.u64(),
            bsize: self.u32(),
            frsize: self.u32(),
            namelen: self.u32(),
            fs_type: self.u32(),
        }
    }
    pub fn io_size(&mut self) -> IoSize {
        IoSize::new(self.u32() % (IoSize::MAX + 1)).unwrap()
    }
    pub fn xattr_size(&mut self) -> XattrSize {
        XattrSize::new(self.u32() % (XattrSize::MAX + 1)).unwrap()
    }
    pub fn xattr_list_size(&mut self) -> XattrListSize {
        XattrListSize::new(self.u32() % (XattrListSize::MAX + 1)).unwrap()
    }
    pub fn nonce(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.u64().to_le_bytes());
        }
        out
    }
}

pub fn creds(p: &Pool) -> Credentials<'_> {
    let mut s = p.src();
    s.next = 40;
    Credentials {
        uid: s.u32(),
        gid: s.u32(),
        fsuid: s.u32(),
        fsgid: s.u32(),
        groups: Groups::from_ids(&p.groups),
    }
}

/// One request per file-operation opcode, in opcode order.
pub fn requests(p: &Pool) -> Vec<Request<'_>> {
    let mut s = p.src();
    let name = Name::new(&p.names[0]).unwrap();
    let name2 = Name::new(&p.names[1]).unwrap();
    let path = Path::new(&p.path).unwrap();
    let data = Data::new(&p.data).unwrap();
    let xname = XattrName::new(&p.xattr_name).unwrap();
    let xvalue = XattrValue::new(&p.xattr_value).unwrap();
    vec![
        Request::Ping(PingRequest {}),
        Request::Attach(AttachRequest { export: path }),
        Request::Forget(ForgetRequest {
            node: s.u64(),
            count: s.u64(),
        }),
        Request::Lookup(LookupRequest {
            parent: s.u64(),
            name,
        }),
        Request::Getattr(GetattrRequest { node: s.u64() }),
        Request::Setattr(SetattrRequest {
            node: s.u64(),
            handle: s.u64(),
            mask: SetAttrMask::from_bits(s.u32() & SetAttrMask::KNOWN).unwrap(),
            mode: s.permissions(),
            uid: s.u32(),
            gid: s.u32(),
            size: s.u64(),
            atime: s.time_update(),
            mtime: s.time_update(),
        }),
        Request::Open(OpenRequest {
            node: s.u64(),
            flags: s.open_flags(),
        }),
        Request::Create(CreateRequest {
            parent: s.u64(),
            name,
            flags: s.open_flags(),
            mode: s.permissions(),
            umask: s.permissions(),
        }),
        Request::Read(ReadRequest {
            handle: s.u64(),
            offset: s.u64(),
            size: s.io_size(),
        }),
        Request::Write(WriteRequest {
            handle: s.u64(),
            offset: s.u64(),
            data,
        }),
        Request::Fsync(FsyncRequest {
            handle: s.u64(),
            datasync: s.bool(),
        }),
        Request::Release(ReleaseRequest { handle: s.u64() }),
        Request::Readdir(ReaddirRequest {
            handle: s.u64(),
            cookie: s.u64(),
            max_bytes: s.io_size(),
        }),
        Request::Mkdir(MkdirRequest {
            parent: s.u64(),
            name,
            mode: s.permissions(),
            umask: s.permissions(),
        }),
        Request::Rmdir(RmdirRequest {
            parent: s.u64(),
            name,
        }),
        Request::Unlink(UnlinkRequest {
            parent: s.u64(),
            name,
        }),
        Request::Rename(RenameRequest {
            old_parent: s.u64(),
            old_name: name,
            new_parent: s.u64(),
            new_name: name2,
            flags: s.rename_flags(),
        }),
        Request::Link(LinkRequest {
            node: s.u64(),
            new_parent: s.u64(),
            new_name: name2,
        }),
        Request::Symlink(SymlinkRequest {
            parent: s.u64(),
            name,
            target: path,
        }),
        Request::Readlink(ReadlinkRequest { node: s.u64() }),
        Request::Mknod(MknodRequest {
            parent: s.u64(),
            name,
            mode: s.file_mode(),
            umask: s.permissions(),
            rdev_major: s.u32(),
            rdev_minor: s.u32(),
        }),
        Request::Statfs(StatfsRequest { node: s.u64() }),
        Request::GetXattr(GetXattrRequest {
            node: s.u64(),
            name: xname,
            size: s.xattr_size(),
        }),
        Request::SetXattr(SetXattrRequest {
            node: s.u64(),
            name: xname,
            value: xvalue,
            flags: s.xattr_flags(),
        }),
        Request::ListXattr(ListXattrRequest {
            node: s.u64(),
            size: s.xattr_list_size(),
        }),
        Request::RemoveXattr(RemoveXattrRequest {
            node: s.u64(),
            name: xname,
        }),
        Request::Llseek(LlseekRequest {
            handle: s.u64(),
            offset: s.i64(),
            whence: s.whence(),
        }),
        Request::PollRegister(PollRegisterRequest {
            handle: s.u64(),
            poll_id: s.u64(),
            events: s.poll_events(),
        }),
        Request::PollCancel(PollCancelRequest { poll_id: s.u64() }),
        Request::ReadFile(ReadFileRequest {
            node: s.u64(),
            max_size: s.io_size(),
        }),
        Request::RemoteMount(RemoteMountRequest {
            node: s.u64(),
            source: path,
            fstype: FsType::new(&p.fstype).unwrap(),
            flags: MountFlags::from_bits(s.u64() & MountFlags::KNOWN).unwrap(),
            data: MountData::new(&p.mount_data).unwrap(),
        }),
        Request::RemoteUmount(RemoteUmountRequest {
            node: s.u64(),
            flags: UmountFlags::from_bits(s.u32() & UmountFlags::KNOWN).unwrap(),
        }),
        Request::RemoteKill(RemoteKillRequest {
            pid: s.u32() as i32,
            signal: Signal::new(s.u32() % 65).unwrap(),
        }),
        Request::Cancel(CancelRequest { target: s.u64() }),
        Request::Fallocate(FallocateRequest {
            handle: s.u64(),
            mode: FallocFlags::from_bits(s.u32() & FallocFlags::KNOWN).unwrap(),
            offset: s.u64(),
            len: s.u64(),
        }),
    ]
}

/// One reply per file-operation opcode, in opcode order.
pub fn replies(p: &Pool) -> Vec<Reply<'_>> {
    let mut s = p.src();
    s.next = 7;
    let data = Data::new(&p.data).unwrap();
    let entries = DirEntries::decode_exact(&p.dir_wire).unwrap();
    let entry = |s: &mut Src<'_>| EntryReply {
        node: s.u64(),
        attr: s.attr(),
    };
    let new_entry = |s: &mut Src<'_>| NewEntryReply {
        node: s.u64(),
        attr: s.attr(),
        parent: s.attr(),
    };
    vec![
        Reply::Ping(EmptyReply {}),
        Reply::Attach(entry(&mut s)),
        Reply::Forget(EmptyReply {}),
        Reply::Lookup(entry(&mut s)),
        Reply::Getattr(AttrReply { attr: s.attr() }),
        Reply::Setattr(AttrReply { attr: s.attr() }),
        Reply::Open(OpenReply {
            handle: s.u64(),
            attr: s.attr(),
        }),
        Reply::Create(CreateReply {
            node: s.u64(),
            handle: s.u64(),
            attr: s.attr(),
            parent: s.attr(),
        }),
        Reply::Read(ReadReply { data }),
        Reply::Write(WriteReply {
            written: s.io_size(),
            attr: s.attr(),
        }),
        Reply::Fsync(EmptyReply {}),
        Reply::Release(EmptyReply {}),
        Reply::Readdir(ReaddirReply {
            entries,
            eof: s.bool(),
        }),
        Reply::Mkdir(new_entry(&mut s)),
        Reply::Rmdir(RemoveReply { parent: s.attr() }),
        Reply::Unlink(RemoveReply { parent: s.attr() }),
        Reply::Rename(RenameReply {
            old_parent: s.attr(),
            new_parent: s.attr(),
        }),
        Reply::Link(new_entry(&mut s)),
        Reply::Symlink(new_entry(&mut s)),
        Reply::Readlink(ReadlinkReply {
            target: Path::new(&p.path).unwrap(),
        }),
        Reply::Mknod(new_entry(&mut s)),
        Reply::Statfs(StatfsReply { stat: s.statfs() }),
        Reply::GetXattr(GetXattrReply {
            size: s.xattr_size(),
            value: XattrValue::new(&p.xattr_value).unwrap(),
        }),
        Reply::SetXattr(EmptyReply {}),
        Reply::ListXattr(ListXattrReply {
            size: s.xattr_list_size(),
            names: XattrNames::new(&p.xattr_names).unwrap(),
        }),
        Reply::RemoveXattr(EmptyReply {}),
        Reply::Llseek(LlseekReply { offset: s.u64() }),
        Reply::PollRegister(PollRegisterReply {
            revents: s.poll_events(),
        }),
        Reply::PollCancel(EmptyReply {}),
        Reply::ReadFile(ReadFileReply {
            data,
            eof: s.bool(),
        }),
        Reply::RemoteMount(EmptyReply {}),
        Reply::RemoteUmount(EmptyReply {}),
        Reply::RemoteKill(EmptyReply {}),
        Reply::Cancel(EmptyReply {}),
        Reply::Fallocate(AttrReply { attr: s.attr() }),
    ]
}

pub fn events(p: &Pool) -> Vec<Event> {
    let mut s = p.src();
    s.next = 3;
    vec![Event::Poll(PollEventBody {
        poll_id: s.u64(),
        revents: s.poll_events(),
    })]
}

/// Every handshake message.
pub fn handshakes(p: &Pool) -> Vec<HandshakeMessage> {
    let mut s = p.src();
    s.next = 20;
    let (lo, hi) = (s.u32() as u16, s.u32() as u16);
    vec![
        HandshakeMessage::Hello(Hello {
            magic: Magic,
            min_version: lo.min(hi),
            max_version: lo.max(hi),
            capabilities: Capabilities::from_bits(s.u64()),
            client_nonce: s.nonce(),
        }),
        HandshakeMessage::ServerHello(ServerHello {
            magic: Magic,
            version: s.u32() as u16,
            capabilities: Capabilities::from_bits(s.u64()),
            server_nonce: s.nonce(),
            server_proof: s.nonce(),
        }),
        HandshakeMessage::ClientAuth(ClientAuth {
            client_proof: s.nonce(),
        }),
        HandshakeMessage::AuthOk,
        HandshakeMessage::Refused(Opcode::Hello, Errno::EPROTONOSUPPORT),
        HandshakeMessage::Refused(Opcode::Auth, Errno::EACCES),
    ]
}

/// Encodes into a fresh vector.
pub fn encode_with(f: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>) -> Vec<u8> {
    let mut buf = vec![0u8; MAX_FRAME_SIZE as usize];
    let n = f(&mut buf).expect("encode");
    buf.truncate(n);
    buf
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
