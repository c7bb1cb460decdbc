//! A userspace protocol peer: the client half of the handshake and the
//! file operations, over any byte stream (a `TcpStream` in `qtfsctl
//! probe`, an in-process fake in the tests). Built on `qtfs-proto`, like the
//! kernel modules.

use std::io::{Read, Write};

use anyhow::{anyhow, bail, Context, Result};
use qtfs_proto::{
    decode_reply, encode_handshake, encode_request, split_frame, AttachRequest, Capabilities,
    ClientHandshake, CreateRequest, Credentials, Data, Errno, FileMode, FrameHeader, FsyncRequest,
    GetXattrRequest, GetattrRequest, Groups, LinkRequest, ListXattrRequest, LlseekRequest,
    LookupRequest, MkdirRequest, MknodRequest, Name, Negotiated, OpenFlags, OpenRequest, Path,
    Permissions, PingRequest, ReadRequest, ReaddirRequest, ReadlinkRequest, ReleaseRequest,
    RemoveXattrRequest, RenameFlags, RenameRequest, Reply, Request, RmdirRequest, SetXattrRequest,
    SetattrRequest, StatFs, StatfsRequest, SymlinkRequest, UnlinkRequest, Whence, WireAttr,
    WriteRequest, XattrFlags, XattrListSize, XattrName, XattrSize, XattrValue, HEADER_LEN,
    MAX_FRAME_SIZE,
};

/// Largest read or readdir the peer asks for at once.
pub const CHUNK: u32 = 64 << 10;

/// A failed operation: the server's errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remote(pub Errno);

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", errno_name(self.0))
    }
}

impl std::error::Error for Remote {}

/// `ENOENT (No such file or directory)`-style name of an errno.
pub fn errno_name(e: Errno) -> String {
    let name = qtfs_proto::errno::ALL_ERRNOS
        .iter()
        .find(|(_, v)| *v == e)
        .map(|(n, _)| (*n).to_string())
        .unwrap_or_else(|| format!("errno {}", e.get()));
    let text = std::io::Error::from_raw_os_error(e.get() as i32).to_string();
    let text = text.split(" (os error").next().unwrap_or("").to_string();
    format!("{name} ({text})")
}

/// Parses a key file's content: 64 hex digits (32 bytes), surrounding
/// whitespace ignored — the format of the `qtfs_auth_key` parameter.
pub fn parse_key(text: &str) -> Result<Vec<u8>> {
    let t = text.trim();
    if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("the key must be exactly 64 hex digits (32 bytes)");
    }
    (0..32)
        .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).context("hex digit"))
        .collect()
}

/// Fresh random bytes from the OS.
pub fn random_nonce() -> Result<[u8; 32]> {
    let mut n = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut n))
        .context("reading /dev/urandom")?;
    Ok(n)
}

/// Reads one frame (header checked first, body bounded by MAX_FRAME_SIZE).
/// `Ok(None)` on a clean end of stream before the header.
pub fn read_frame(s: &mut impl Read) -> Result<Option<Vec<u8>>> {
    let mut head = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        let n = s.read(&mut head[got..]).context("receiving")?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            bail!("the server closed the connection in the middle of a frame");
        }
        got += n;
    }
    let h =
        FrameHeader::decode(&head).map_err(|e| anyhow!("bad frame header from the server: {e}"))?;
    debug_assert!(h.total_len <= MAX_FRAME_SIZE);
    let mut frame = head.to_vec();
    frame.resize(h.total_len as usize, 0);
    s.read_exact(&mut frame[HEADER_LEN..])
        .context("receiving a frame body")?;
    Ok(Some(frame))
}

/// A frame from raw header fields and a body (any values, for malformed
/// frames); `total_len` is the real length.
pub fn raw_frame(opcode: u16, flags: u16, id: u64, status: u32, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(HEADER_LEN + body.len());
    f.extend_from_slice(&((HEADER_LEN + body.len()) as u32).to_le_bytes());
    f.extend_from_slice(&opcode.to_le_bytes());
    f.extend_from_slice(&flags.to_le_bytes());
    f.extend_from_slice(&id.to_le_bytes());
    f.extend_from_slice(&status.to_le_bytes());
    f.extend_from_slice(body);
    f
}

/// Whether an error is the peer resetting or aborting the connection.
pub fn is_reset(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
            )
        })
    })
}

/// The caller's identity, sent with every request.
#[derive(Clone, Debug)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl Ids {
    /// The calling process's ids (from `/proc/self/status`: real uid and
    /// gid, supplementary groups, at most `MAX_GROUPS`).
    pub fn current() -> Result<Ids> {
        let status =
            std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
        Self::from_status(&status)
    }

    fn from_status(status: &str) -> Result<Ids> {
        let field = |name: &str| -> Result<Vec<u32>> {
            let line = status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .with_context(|| format!("no {name} in /proc/self/status"))?;
            line.split_whitespace()
                .map(|v| v.parse::<u32>().context("bad id"))
                .collect()
        };
        let uid = *field("Uid:")?.first().context("no uid")?;
        let gid = *field("Gid:")?.first().context("no gid")?;
        let mut groups = field("Groups:")?;
        groups.truncate(qtfs_proto::MAX_GROUPS as usize);
        Ok(Ids { uid, gid, groups })
    }
}

/// A directory entry as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: Vec<u8>,
    pub ino: u64,
    pub cookie: u64,
}

/// An authenticated connection.
pub struct Peer<S> {
    stream: S,
    next_id: u64,
    ids: Ids,
    pub negotiated: Negotiated,
}

/// Runs the client handshake on `stream` with `key`. A refusal by the
/// server is a [`Remote`] error (EACCES for a wrong key).
pub fn handshake<S: Read + Write>(mut stream: S, key: &[u8], ids: Ids) -> Result<Peer<S>> {
    let wanted = Capabilities::XATTR.union(Capabilities::WHOLE_FILE_READ);
    let mut hs = ClientHandshake::new(wanted, random_nonce()?);
    let mut buf = vec![0u8; 512];
    let n = encode_handshake(&mut buf, 1, &hs.hello()).map_err(|e| anyhow!("{e:?}"))?;
    stream.write_all(&buf[..n]).context("sending Hello")?;
    let f = read_frame(&mut stream)?.context("the server closed the connection after Hello")?;
    let (h, body) = split_frame(&f).map_err(|e| anyhow!("bad ServerHello frame: {e}"))?;
    let auth = hs.on_server_hello(key, &h, body).map_err(Remote)?;
    let n = encode_handshake(&mut buf, 2, &auth).map_err(|e| anyhow!("{e:?}"))?;
    stream.write_all(&buf[..n]).context("sending Auth")?;
    let f = read_frame(&mut stream)?.context("the server closed the connection after Auth")?;
    let (h, body) = split_frame(&f).map_err(|e| anyhow!("bad Auth reply frame: {e}"))?;
    let negotiated = hs.on_auth_reply(&h, body).map_err(Remote)?;
    Ok(Peer {
        stream,
        next_id: 3,
        ids,
        negotiated,
    })
}

impl<S: Read + Write> Peer<S> {
    /// The underlying stream (for hand-made frames).
    pub fn stream(&mut self) -> &mut S {
        &mut self.stream
    }

    /// A fresh request id.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Sends `req` and returns the raw reply frame (checked to be the reply
    /// to this request).
    pub fn call(&mut self, req: &Request<'_>) -> Result<Vec<u8>> {
        let id = self.next_id();
        let groups = Groups::from_ids(&self.ids.groups);
        let creds = Credentials::new(self.ids.uid, self.ids.gid, groups);
        let mut buf = vec![0u8; MAX_FRAME_SIZE as usize];
        let n =
            encode_request(&mut buf, id, &creds, req).map_err(|e| anyhow!("encoding: {e:?}"))?;
        self.stream
            .write_all(&buf[..n])
            .context("sending a request")?;
        let f = read_frame(&mut self.stream)?.context("the server closed the connection")?;
        let (h, _) = split_frame(&f).map_err(|e| anyhow!("{e}"))?;
        if h.request_id != id || h.opcode != req.opcode().to_u16() {
            bail!(
                "reply for request {} opcode {:#x}, expected {} {:#x}",
                h.request_id,
                h.opcode,
                id,
                req.opcode().to_u16()
            );
        }
        Ok(f)
    }

    fn op<T>(&mut self, req: Request<'_>, take: impl FnOnce(Reply<'_>) -> Option<T>) -> Result<T> {
        let f = self.call(&req)?;
        let (h, body) = split_frame(&f).map_err(|e| anyhow!("{e}"))?;
        let r = decode_reply(&h, body).map_err(|e| anyhow!("undecodable reply: {e}"))?;
        let reply = r.result.map_err(Remote)?;
        take(reply).context("reply of the wrong kind")
    }

    pub fn ping(&mut self) -> Result<()> {
        self.op(Request::Ping(PingRequest {}), |r| {
            matches!(r, Reply::Ping(_)).then_some(())
        })
    }

    pub fn attach(&mut self, export: &str) -> Result<(u64, WireAttr)> {
        let export = Path::new(export.as_bytes()).context("bad export path")?;
        self.op(Request::Attach(AttachRequest { export }), |r| match r {
            Reply::Attach(e) => Some((e.node, e.attr)),
            _ => None,
        })
    }

    pub fn lookup(&mut self, parent: u64, name: &[u8]) -> Result<(u64, WireAttr)> {
        let name = Name::new(name)
            .with_context(|| format!("bad name {:?}", String::from_utf8_lossy(name)))?;
        self.op(
            Request::Lookup(LookupRequest { parent, name }),
            |r| match r {
                Reply::Lookup(e) => Some((e.node, e.attr)),
                _ => None,
            },
        )
    }

    pub fn getattr(&mut self, node: u64) -> Result<WireAttr> {
        self.op(Request::Getattr(GetattrRequest { node }), |r| match r {
            Reply::Getattr(a) => Some(a.attr),
            _ => None,
        })
    }

    pub fn open(&mut self, node: u64, flags: OpenFlags) -> Result<u64> {
        self.op(Request::Open(OpenRequest { node, flags }), |r| match r {
            Reply::Open(o) => Some(o.handle),
            _ => None,
        })
    }

    pub fn read(&mut self, handle: u64, offset: u64, size: u32) -> Result<Vec<u8>> {
        let size = qtfs_proto::IoSize::new(size).context("read size")?;
        self.op(
            Request::Read(ReadRequest {
                handle,
                offset,
                size,
            }),
            |r| match r {
                Reply::Read(d) => Some(d.data.as_bytes().to_vec()),
                _ => None,
            },
        )
    }

    pub fn readdir(&mut self, handle: u64, cookie: u64) -> Result<(Vec<Entry>, bool)> {
        let max_bytes = qtfs_proto::IoSize::new(CHUNK).context("size")?;
        self.op(
            Request::Readdir(ReaddirRequest {
                handle,
                cookie,
                max_bytes,
            }),
            |r| match r {
                Reply::Readdir(d) => Some((
                    d.entries
                        .iter()
                        .map(|e| Entry {
                            name: e.name.as_bytes().to_vec(),
                            ino: e.ino,
                            cookie: e.cookie,
                        })
                        .collect(),
                    d.eof,
                )),
                _ => None,
            },
        )
    }

    pub fn release(&mut self, handle: u64) -> Result<()> {
        self.op(Request::Release(ReleaseRequest { handle }), |r| {
            matches!(r, Reply::Release(_)).then_some(())
        })
    }

    pub fn readlink(&mut self, node: u64) -> Result<Vec<u8>> {
        self.op(Request::Readlink(ReadlinkRequest { node }), |r| match r {
            Reply::Readlink(l) => Some(l.target.as_bytes().to_vec()),
            _ => None,
        })
    }

    pub fn statfs(&mut self, node: u64) -> Result<StatFs> {
        self.op(Request::Statfs(StatfsRequest { node }), |r| match r {
            Reply::Statfs(s) => Some(s.stat),
            _ => None,
        })
    }

    pub fn forget(&mut self, node: u64, count: u64) -> Result<()> {
        self.op(
            Request::Forget(qtfs_proto::ForgetRequest { node, count }),
            |r| matches!(r, Reply::Forget(_)).then_some(()),
        )
    }

    pub fn mkdir(&mut self, parent: u64, name: &[u8]) -> Result<(u64, WireAttr)> {
        let name = Name::new(name).context("bad name")?;
        let mode = qtfs_proto::Permissions::new(0o755).context("mode")?;
        let umask = qtfs_proto::Permissions::new(0o022).context("umask")?;
        self.op(
            Request::Mkdir(qtfs_proto::MkdirRequest {
                parent,
                name,
                mode,
                umask,
            }),
            |r| match r {
                Reply::Mkdir(e) => Some((e.node, e.attr)),
                _ => None,
            },
        )
    }

    /// Sends `req` without waiting for its reply; returns its request id
    /// (for pipelining: replies come in any order, see [`Self::recv`]).
    pub fn send(&mut self, req: &Request<'_>) -> Result<u64> {
        let id = self.next_id();
        let groups = Groups::from_ids(&self.ids.groups);
        let creds = Credentials::new(self.ids.uid, self.ids.gid, groups);
        let mut buf = vec![0u8; MAX_FRAME_SIZE as usize];
        let n =
            encode_request(&mut buf, id, &creds, req).map_err(|e| anyhow!("encoding: {e:?}"))?;
        self.stream
            .write_all(&buf[..n])
            .context("sending a request")?;
        Ok(id)
    }

    /// The next reply frame, whichever request it answers: its request id
    /// and the result (the errno of a failed request).
    #[allow(clippy::type_complexity)]
    pub fn recv(&mut self) -> Result<(u64, std::result::Result<Vec<u8>, Errno>)> {
        let f = read_frame(&mut self.stream)?.context("the server closed the connection")?;
        let (h, body) = split_frame(&f).map_err(|e| anyhow!("{e}"))?;
        let r = decode_reply(&h, body).map_err(|e| anyhow!("undecodable reply: {e}"))?;
        Ok((h.request_id, r.result.map(|_| f.clone())))
    }

    /// The same ids with other credentials from now on.
    pub fn set_ids(&mut self, ids: Ids) {
        self.ids = ids;
    }

    pub fn create(
        &mut self,
        parent: u64,
        name: &[u8],
        flags: OpenFlags,
        mode: u32,
        umask: u32,
    ) -> Result<(u64, u64, WireAttr, WireAttr)> {
        let name = Name::new(name).context("bad name")?;
        let mode = Permissions::new(mode).context("mode")?;
        let umask = Permissions::new(umask).context("umask")?;
        self.op(
            Request::Create(CreateRequest {
                parent,
                name,
                flags,
                mode,
                umask,
            }),
            |r| match r {
                Reply::Create(c) => Some((c.node, c.handle, c.attr, c.parent)),
                _ => None,
            },
        )
    }

    pub fn write(&mut self, handle: u64, offset: u64, data: &[u8]) -> Result<(u32, WireAttr)> {
        let data = Data::new(data).context("data too long")?;
        self.op(
            Request::Write(WriteRequest {
                handle,
                offset,
                data,
            }),
            |r| match r {
                Reply::Write(w) => Some((w.written.get(), w.attr)),
                _ => None,
            },
        )
    }

    pub fn mkdir_mode(
        &mut self,
        parent: u64,
        name: &[u8],
        mode: u32,
        umask: u32,
    ) -> Result<(u64, WireAttr, WireAttr)> {
        let name = Name::new(name).context("bad name")?;
        let mode = Permissions::new(mode).context("mode")?;
        let umask = Permissions::new(umask).context("umask")?;
        self.op(
            Request::Mkdir(MkdirRequest {
                parent,
                name,
                mode,
                umask,
            }),
            |r| match r {
                Reply::Mkdir(e) => Some((e.node, e.attr, e.parent)),
                _ => None,
            },
        )
    }

    pub fn mknod(
        &mut self,
        parent: u64,
        name: &[u8],
        mode: u32,
        umask: u32,
        rdev: (u32, u32),
    ) -> Result<(u64, WireAttr)> {
        let name = Name::new(name).context("bad name")?;
        let mode = FileMode::new(mode).context("mode")?;
        let umask = Permissions::new(umask).context("umask")?;
        self.op(
            Request::Mknod(MknodRequest {
                parent,
                name,
                mode,
                umask,
                rdev_major: rdev.0,
                rdev_minor: rdev.1,
            }),
            |r| match r {
                Reply::Mknod(e) => Some((e.node, e.attr)),
                _ => None,
            },
        )
    }

    pub fn symlink(&mut self, parent: u64, name: &[u8], target: &[u8]) -> Result<(u64, WireAttr)> {
        let name = Name::new(name).context("bad name")?;
        let target = Path::new(target).context("bad target")?;
        self.op(
            Request::Symlink(SymlinkRequest {
                parent,
                name,
                target,
            }),
            |r| match r {
                Reply::Symlink(e) => Some((e.node, e.attr)),
                _ => None,
            },
        )
    }

    pub fn link(&mut self, node: u64, new_parent: u64, new_name: &[u8]) -> Result<(u64, WireAttr)> {
        let new_name = Name::new(new_name).context("bad name")?;
        self.op(
            Request::Link(LinkRequest {
                node,
                new_parent,
                new_name,
            }),
            |r| match r {
                Reply::Link(e) => Some((e.node, e.attr)),
                _ => None,
            },
        )
    }

    pub fn unlink(&mut self, parent: u64, name: &[u8]) -> Result<WireAttr> {
        let name = Name::new(name).context("bad name")?;
        self.op(
            Request::Unlink(UnlinkRequest { parent, name }),
            |r| match r {
                Reply::Unlink(e) => Some(e.parent),
                _ => None,
            },
        )
    }

    pub fn rmdir(&mut self, parent: u64, name: &[u8]) -> Result<WireAttr> {
        let name = Name::new(name).context("bad name")?;
        self.op(Request::Rmdir(RmdirRequest { parent, name }), |r| match r {
            Reply::Rmdir(e) => Some(e.parent),
            _ => None,
        })
    }

    pub fn rename(
        &mut self,
        old_parent: u64,
        old_name: &[u8],
        new_parent: u64,
        new_name: &[u8],
        flags: RenameFlags,
    ) -> Result<()> {
        let old_name = Name::new(old_name).context("bad name")?;
        let new_name = Name::new(new_name).context("bad name")?;
        self.op(
            Request::Rename(RenameRequest {
                old_parent,
                old_name,
                new_parent,
                new_name,
                flags,
            }),
            |r| matches!(r, Reply::Rename(_)).then_some(()),
        )
    }

    pub fn setattr(&mut self, req: SetattrRequest) -> Result<WireAttr> {
        self.op(Request::Setattr(req), |r| match r {
            Reply::Setattr(a) => Some(a.attr),
            _ => None,
        })
    }

    pub fn fsync(&mut self, handle: u64, datasync: bool) -> Result<()> {
        self.op(Request::Fsync(FsyncRequest { handle, datasync }), |r| {
            matches!(r, Reply::Fsync(_)).then_some(())
        })
    }

    pub fn llseek(&mut self, handle: u64, offset: i64, whence: Whence) -> Result<u64> {
        self.op(
            Request::Llseek(LlseekRequest {
                handle,
                offset,
                whence,
            }),
            |r| match r {
                Reply::Llseek(l) => Some(l.offset),
                _ => None,
            },
        )
    }

    pub fn setxattr(
        &mut self,
        node: u64,
        name: &[u8],
        value: &[u8],
        flags: XattrFlags,
    ) -> Result<()> {
        let name = XattrName::new(name).context("bad xattr name")?;
        let value = XattrValue::new(value).context("bad xattr value")?;
        self.op(
            Request::SetXattr(SetXattrRequest {
                node,
                name,
                value,
                flags,
            }),
            |r| matches!(r, Reply::SetXattr(_)).then_some(()),
        )
    }

    /// The value of xattr `name` (`size` 0: only its size, as the length
    /// of an empty vector's... see the returned size).
    pub fn getxattr(&mut self, node: u64, name: &[u8], size: u32) -> Result<(u32, Vec<u8>)> {
        let name = XattrName::new(name).context("bad xattr name")?;
        let size = XattrSize::new(size).context("size")?;
        self.op(
            Request::GetXattr(GetXattrRequest { node, name, size }),
            |r| match r {
                Reply::GetXattr(g) => Some((g.size.get(), g.value.as_bytes().to_vec())),
                _ => None,
            },
        )
    }

    pub fn listxattr(&mut self, node: u64, size: u32) -> Result<(u32, Vec<u8>)> {
        let size = XattrListSize::new(size).context("size")?;
        self.op(
            Request::ListXattr(ListXattrRequest { node, size }),
            |r| match r {
                Reply::ListXattr(l) => Some((l.size.get(), l.names.as_bytes().to_vec())),
                _ => None,
            },
        )
    }

    pub fn removexattr(&mut self, node: u64, name: &[u8]) -> Result<()> {
        let name = XattrName::new(name).context("bad xattr name")?;
        self.op(
            Request::RemoveXattr(RemoveXattrRequest { node, name }),
            |r| matches!(r, Reply::RemoveXattr(_)).then_some(()),
        )
    }

    /// Resolves `path` (relative to the export root `root`) one component
    /// at a time; empty components are skipped.
    pub fn resolve(&mut self, root: u64, path: &str) -> Result<(u64, WireAttr)> {
        let mut cur = (root, self.getattr(root)?);
        for c in path.split('/').filter(|c| !c.is_empty()) {
            cur = self
                .lookup(cur.0, c.as_bytes())
                .with_context(|| c.to_string())?;
        }
        Ok(cur)
    }

    /// Every entry of the directory `node`, resuming with cookies.
    pub fn list(&mut self, node: u64) -> Result<Vec<Entry>> {
        let h = self.open(node, OpenFlags::O_RDONLY)?;
        let mut all = Vec::new();
        let mut cookie = 0;
        let res = loop {
            match self.readdir(h, cookie) {
                Ok((entries, eof)) => {
                    if let Some(last) = entries.last() {
                        cookie = last.cookie;
                    }
                    let empty = entries.is_empty();
                    all.extend(entries);
                    if eof || empty {
                        break Ok(all);
                    }
                }
                Err(e) => break Err(e),
            }
        };
        self.release(h)?;
        res
    }

    /// The whole content of the file `node`.
    pub fn read_all(&mut self, node: u64) -> Result<Vec<u8>> {
        let h = self.open(node, OpenFlags::O_RDONLY)?;
        let mut data = Vec::new();
        let res = loop {
            match self.read(h, data.len() as u64, CHUNK) {
                Ok(d) if d.is_empty() => break Ok(data),
                Ok(d) => data.extend_from_slice(&d),
                Err(e) => break Err(e),
            }
        };
        self.release(h)?;
        res
    }
}

/// The error status of a reply frame, if it has one.
pub fn error_of(f: &[u8]) -> Option<Errno> {
    split_frame(f).ok().and_then(|(h, _)| h.errno())
}

/// What a peer answered, for a failure message: a frame (its opcode and
/// status), a closed connection or an error.
pub fn describe(got: &anyhow::Result<Option<Vec<u8>>>) -> String {
    match got {
        Ok(None) => "the connection closed".into(),
        Ok(Some(f)) => match split_frame(f) {
            Ok((h, _)) => format!(
                "a frame: opcode {:#x} status {}",
                h.opcode,
                h.errno().map(errno_name).unwrap_or_else(|| "0".into())
            ),
            Err(e) => format!("a bad frame ({e})"),
        },
        Err(e) => format!("an error: {e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let k = parse_key(&format!("  {}\n", "0f".repeat(32))).unwrap();
        assert_eq!(k, vec![0x0f; 32]);
        assert!(parse_key("abc").is_err());
        assert!(parse_key(&"zz".repeat(32)).is_err());
        assert!(parse_key(&"00".repeat(33)).is_err());
    }

    #[test]
    fn ids_from_status() {
        let s =
            "Name:\tx\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\nGroups:\t10 20 \n";
        let ids = Ids::from_status(s).unwrap();
        assert_eq!((ids.uid, ids.gid, ids.groups), (1000, 100, vec![10, 20]));
        let s = "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\n";
        assert!(Ids::from_status(s).unwrap().groups.is_empty());
    }

    /// A tiny in-process server: the protocol crate's `ServerHandshake`,
    /// then Ping and Getattr (ESTALE) over a socket pair.
    fn fake_server(mut s: std::os::unix::net::UnixStream, key: Vec<u8>) {
        use qtfs_proto::{
            decode_request, encode_error_reply, encode_reply, EmptyReply, ServerHandshake,
            ServerStep,
        };
        let mut hs = ServerHandshake::new(Capabilities::NONE, [7; 32]);
        let mut out = vec![0u8; 4096];
        while let Ok(Some(f)) = read_frame(&mut s) {
            let (h, body) = split_frame(&f).unwrap();
            if !hs.is_ready() {
                let (m, close) = match hs.on_frame(&key, &h, body) {
                    ServerStep::Reply(m) | ServerStep::Accept(m, _) => (Some(m), false),
                    ServerStep::Close(m) => (m, true),
                };
                if let Some(m) = m {
                    let n = encode_handshake(&mut out, h.request_id, &m).unwrap();
                    s.write_all(&out[..n]).unwrap();
                }
                if close {
                    return;
                }
                continue;
            }
            let n = match decode_request(&h, body).map(|r| r.request) {
                Ok(Request::Ping(_)) => {
                    encode_reply(&mut out, h.request_id, &Reply::Ping(EmptyReply {})).unwrap()
                }
                Ok(_) => {
                    encode_error_reply(&mut out, h.opcode, h.request_id, Errno::ESTALE).unwrap()
                }
                Err(e) => encode_error_reply(&mut out, h.opcode, h.request_id, e.errno()).unwrap(),
            };
            s.write_all(&out[..n]).unwrap();
        }
    }

    fn ids() -> Ids {
        Ids {
            uid: 1000,
            gid: 1000,
            groups: vec![10],
        }
    }

    #[test]
    fn handshake_ping_and_errors_against_a_fake() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let key = vec![0x42; 32];
        let k = key.clone();
        let t = std::thread::spawn(move || fake_server(b, k));
        let mut p = handshake(a, &key, ids()).unwrap();
        assert_eq!(p.negotiated.version, qtfs_proto::PROTOCOL_VERSION);
        p.ping().unwrap();
        let e = p.getattr(5).unwrap_err();
        assert_eq!(e.downcast_ref::<Remote>(), Some(&Remote(Errno::ESTALE)));
        drop(p);
        t.join().unwrap();
    }

    #[test]
    fn wrong_key_is_refused_by_the_fake() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let t = std::thread::spawn(move || fake_server(b, vec![1; 32]));
        let e = handshake(a, &[2; 32], ids()).err().unwrap();
        assert!(e
            .chain()
            .any(|c| c.downcast_ref::<Remote>() == Some(&Remote(Errno::EACCES))));
        t.join().unwrap();
    }

    #[test]
    fn errno_names() {
        assert!(errno_name(Errno::EACCES).starts_with("EACCES (Permission denied"));
    }
}
