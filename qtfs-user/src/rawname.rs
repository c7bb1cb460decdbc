//! `qtfsctl probe --raw-name stat PATH` (hidden, for tests): resolves PATH
//! with one Lookup per component sent exactly as written, `.` and `..`
//! included, bypassing the name check that the protocol crate's `Name`
//! (and so every other probe action) applies before anything is sent. It
//! proves that the *server* refuses such names, not qtfsctl.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use qtfs_proto::{
    decode_reply, encode_request, split_frame, Credentials, Groups, LookupRequest, Name, Reply,
    Request, WireAttr,
};

use crate::peer::{self, read_frame, Ids, Remote};
use crate::probe::mode_string;

const TIMEOUT: Duration = Duration::from_secs(20);

/// A Lookup request frame for `name` under `parent`, with `name`'s bytes
/// written over an encodable placeholder of the same length (the name is
/// the last field of the body).
pub fn lookup_frame(id: u64, creds: &Credentials<'_>, parent: u64, name: &[u8]) -> Result<Vec<u8>> {
    let placeholder = vec![b'x'; name.len()];
    let ph = Name::new(&placeholder)
        .with_context(|| format!("a name of {} bytes cannot be encoded", name.len()))?;
    let mut buf = vec![0u8; 4096];
    let n = encode_request(
        &mut buf,
        id,
        creds,
        &Request::Lookup(LookupRequest { parent, name: ph }),
    )
    .map_err(|e| anyhow!("encoding a Lookup: {e:?}"))?;
    buf.truncate(n);
    buf[n - name.len()..].copy_from_slice(name);
    Ok(buf)
}

/// Attach `export`, then Lookup each component of `path` raw; prints the
/// final node like `probe stat`. A refusal is a [`Remote`] error naming the
/// component.
pub fn stat(server: SocketAddr, key: &[u8], export: &str, path: &str) -> Result<()> {
    let s = TcpStream::connect_timeout(&server, TIMEOUT)
        .with_context(|| format!("connecting to {server}"))?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.set_write_timeout(Some(TIMEOUT))?;
    let ids = Ids::current()?;
    let mut p = peer::handshake(s, key, ids.clone()).context("handshake")?;
    let creds = Credentials::new(ids.uid, ids.gid, Groups::from_ids(&ids.groups));
    let (mut node, mut attr): (u64, WireAttr) = p.attach(export).context("attach")?;
    for c in path.split('/').filter(|c| !c.is_empty()) {
        let id = p.next_id();
        let frame = lookup_frame(id, &creds, node, c.as_bytes())?;
        p.stream().write_all(&frame).context("sending a Lookup")?;
        let f = read_frame(p.stream())?
            .with_context(|| format!("lookup of {c:?}: the server closed the connection"))?;
        let (h, body) = split_frame(&f).map_err(|e| anyhow!("bad reply frame: {e}"))?;
        if h.request_id != id {
            bail!("reply for request {}, expected {id}", h.request_id);
        }
        let r = decode_reply(&h, body).map_err(|e| anyhow!("undecodable reply: {e}"))?;
        match r.result {
            Ok(Reply::Lookup(e)) => (node, attr) = (e.node, e.attr),
            Ok(_) => bail!("lookup of {c:?}: a reply of the wrong kind"),
            Err(errno) => {
                return Err(anyhow::Error::new(Remote(errno)))
                    .with_context(|| format!("lookup of {c:?} (sent raw): the server answered"))
            }
        }
    }
    println!("  File: {path}");
    println!("  Mode: {}", mode_string(attr.mode.bits()));
    println!("  Size: {}", attr.size);
    println!("   Uid: {}", attr.uid);
    println!("   Gid: {}", attr.gid);
    println!(" Inode: {}", attr.ino);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use qtfs_proto::{decode_request, DecodeError};

    #[test]
    fn raw_names_reach_the_wire_unchecked() {
        let creds = Credentials::ROOT;
        for name in [&b".."[..], b".", b"a/b"] {
            let f = lookup_frame(7, &creds, 42, name).unwrap();
            assert!(f.ends_with(name));
            let (h, body) = split_frame(&f).unwrap();
            assert_eq!((h.request_id, h.total_len as usize), (7, f.len()));
            // What a server's decoder makes of it: a bad name, not a panic.
            assert_eq!(decode_request(&h, body).err(), Some(DecodeError::BadName));
        }
        // An ordinary name decodes to the same Lookup an encoder would send.
        let f = lookup_frame(8, &creds, 42, b"sub").unwrap();
        let (h, body) = split_frame(&f).unwrap();
        match decode_request(&h, body).unwrap().request {
            Request::Lookup(l) => assert_eq!((l.parent, l.name.as_bytes()), (42, &b"sub"[..])),
            other => panic!("{other:?}"),
        }
        assert!(lookup_frame(9, &creds, 42, &[b'x'; 300]).is_err());
    }
}
