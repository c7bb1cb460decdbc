// SPDX-License-Identifier: GPL-2.0
//! Mounts: options, the connection a super block uses, the root, statfs.
#![forbid(unsafe_code)]

use crate::fs::Qtfs;
use crate::kbase::log::{qerr, qinfo};
use crate::kbase::vfs::FsStat;
use crate::kbase::vfsc::{Dentry, InodeKey, InodeRef, SuperBlock};
use crate::node::{inode_for, key_of};
use crate::options::Options;
use crate::proto::{AttachRequest, NodeFlags, Path, Reply, Request, StatfsRequest, WireAttr};
use crate::transport::{Conn, Creds};
use kernel::error::code::{EINVAL, EIO, ENOTDIR};
use kernel::alloc::KVec;
use kernel::prelude::*;
use kernel::sync::Arc;

/// A mount being set up.
pub(crate) struct MountOpts {
    pub(crate) opts: Options,
}

/// Per super block: the options, the export's root and what attaching it
/// again in a new session takes.
pub(crate) struct SuperInfo {
    pub(crate) opts: Options,
    /// The HOST path mounted (attached again after a reconnect).
    source: KVec<u8>,
    /// Whoever mounted it (the re-`Attach` runs as them).
    mount_creds: Creds,
    /// The root's node in the session that mounted it (the root inode
    /// takes it; after that the inode holds the current one).
    root_node: u64,
    root_generation: u64,
    root_attr: WireAttr,
}

impl SuperInfo {
    /// The shared connection for a request of this mount (made again if
    /// it died: `client::connection`).
    pub(crate) fn conn(&self) -> Result<Arc<Conn>> {
        crate::client::connection()
    }

    /// The HOST identity of the mount's root.
    pub(crate) fn root_key(&self) -> InodeKey {
        key_of(&self.root_attr)
    }

    /// The root's attributes when it was mounted.
    pub(crate) fn root_attr(&self) -> &WireAttr {
        &self.root_attr
    }

    pub(crate) fn source(&self) -> &[u8] {
        &self.source
    }

    pub(crate) fn mount_creds(&self) -> &Creds {
        &self.mount_creds
    }
}

/// `-o key[=value]`.
pub(crate) fn param(m: &mut MountOpts, key: &[u8], value: Option<&[u8]>) -> Result {
    m.opts.apply(key, value).map_err(|e| {
        let k = core::str::from_utf8(key).unwrap_or("(not UTF-8)");
        qerr!("mount option {}: {}", k, e.why());
        EINVAL
    })
}

/// Attaches to `source` (a HOST path: an export or beneath one).
pub(crate) fn new_super(m: &mut MountOpts, source: &[u8]) -> Result<(KBox<SuperInfo>, bool)> {
    let conn = crate::client::mount_connection()?;
    let creds = Creds::current();
    let export = Path::new(source).ok_or_else(|| {
        qerr!("mount: bad source (a HOST path of at most 4096 bytes)");
        EINVAL
    })?;
    let (node, attr) = conn.call(
        &creds,
        &Request::Attach(AttachRequest { export }),
        |r| match r {
            Reply::Attach(e) => Ok((e.node, e.attr)),
            _ => Err(EIO),
        },
    ).inspect_err(|e| {
        qerr!(
            "mount {}: the server refused it: error {}",
            core::str::from_utf8(source).unwrap_or("?"),
            e.to_errno()
        );
    })?;
    if attr.mode.bits() & 0o170000 != 0o040000 {
        crate::node::forget(&conn, node, 1);
        return Err(ENOTDIR);
    }
    let mut saved = KVec::with_capacity(source.len(), GFP_KERNEL)?;
    saved.extend_from_slice(source, GFP_KERNEL)?;
    let read_only = attr.flags.contains(NodeFlags::READ_ONLY);
    qinfo!(
        "mounted {} from {}",
        core::str::from_utf8(source).unwrap_or("?"),
        conn.server()
    );
    let info = KBox::new(
        SuperInfo {
            opts: m.opts,
            source: saved,
            mount_creds: creds,
            root_node: node,
            root_generation: conn.generation(),
            root_attr: attr,
        },
        GFP_KERNEL,
    )?;
    Ok((info, read_only))
}

pub(crate) fn root(sb: &SuperBlock<Qtfs>) -> Result<InodeRef<Qtfs>> {
    let info: &SuperInfo = sb.info();
    let Some(conn) = crate::client::session(info.root_generation) else {
        // The connection died between `Attach` and now.
        return Err(EIO);
    };
    inode_for(sb, &conn, info.root_node, &info.root_attr)
}

/// `actimeo` and `cache` when not the default; with `proc`, the procfs
/// path and every rule (escaped as /proc/mounts requires).
pub(crate) fn show_options(sb: &SuperBlock<Qtfs>, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
    let o = &sb.info().opts;
    let d = Options::default();
    if o.actimeo_ms != d.actimeo_ms {
        write!(out, ",actimeo={}", o.actimeo_ms / 1000)?;
    }
    if !o.page_cache {
        out.write_str(",cache=none")?;
    }
    if !o.splice.enabled {
        return Ok(());
    }
    out.write_str(",proc,localproc=")?;
    escaped(out, o.splice.local_proc.as_bytes())?;
    for (_, rule) in o.splice.rules() {
        out.write_str(",splice=")?;
        escaped(out, rule.name.as_bytes())?;
        out.write_str(":")?;
        match &rule.action {
            crate::options::splice::Action::Host => out.write_str("host")?,
            crate::options::splice::Action::Local => out.write_str("local")?,
            crate::options::splice::Action::Link(t) => {
                out.write_str("link=")?;
                escaped(out, t.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// Bytes as /proc/mounts shows them: space, tab, newline, backslash,
/// comma and anything not printable ASCII as `\ooo`.
fn escaped(out: &mut dyn core::fmt::Write, v: &[u8]) -> core::fmt::Result {
    for &c in v {
        if c.is_ascii_graphic() && c != b'\\' && c != b',' {
            out.write_char(c as char)?;
        } else {
            write!(out, "\\{:03o}", c)?;
        }
    }
    Ok(())
}

/// A remount may change nothing of ours (the VFS applies `ro`/`rw`).
pub(crate) fn reconfigure(sb: &SuperBlock<Qtfs>, m: &mut MountOpts) -> Result {
    if m.opts != sb.info().opts {
        qerr!("remount: qtfs options cannot change on a mounted file system");
        return Err(EINVAL);
    }
    Ok(())
}

pub(crate) fn statfs(d: &Dentry<Qtfs>) -> Result<FsStat> {
    let inode = d.inode().ok_or(EIO)?;
    let info: &SuperInfo = inode.sb().info();
    let conn = info.conn()?;
    conn.call(
        &Creds::current(),
        &Request::Statfs(StatfsRequest { node: crate::node::id(inode, &conn)? }),
        |r| match r {
            Reply::Statfs(s) => Ok(FsStat {
                blocks: s.stat.blocks,
                bfree: s.stat.bfree,
                bavail: s.stat.bavail,
                files: s.stat.files,
                ffree: s.stat.ffree,
                fsid: s.stat.fsid,
                flags: s.stat.flags,
                bsize: s.stat.bsize,
                frsize: s.stat.frsize,
                namelen: s.stat.namelen,
                fs_type: s.stat.fs_type,
            }),
            _ => Err(EIO),
        },
    )
}
