// SPDX-License-Identifier: GPL-2.0
//! Directory listing: `Readdir` on the open directory's handle, resumed
//! from the server's cookies. Positions 0 and 1 are `.` and `..`; the
//! server's listing starts at position 2 (cookie 0 on the wire) and each
//! entry's cookie is the position after it.
#![forbid(unsafe_code)]

use crate::fs::Qtfs;
use crate::kbase::vfsc::{DirContext, File};
use crate::proto::{IoSize, ReaddirRequest, Reply, Request};
use crate::transport::Creds;
use crate::vfs_super::SuperInfo;
use kernel::error::code::{EBADF, EIO};
use kernel::prelude::*;

/// Bytes of entries asked for per request.
const READDIR_BYTES: u32 = 32 << 10;

pub(crate) fn iterate(file: &File<Qtfs>, ctx: &mut DirContext<'_>) -> Result {
    let open = file.open().ok_or(EBADF)?;
    if let Some(dir) = open.local_dir.as_ref() {
        return crate::vfs_proc::list_own_dir(dir, ctx);
    }
    let inode = file.inode();
    if ctx.pos() == 0 {
        if !ctx.emit(b".", inode.ino(), 4) {
            return Ok(());
        }
        ctx.set_pos(1);
    }
    if ctx.pos() == 1 {
        if !ctx.emit(b"..", file.parent_ino(), 4) {
            return Ok(());
        }
        ctx.set_pos(2);
    }
    let info: &SuperInfo = inode.sb().info();
    let max_bytes = IoSize::new(READDIR_BYTES).ok_or(EIO)?;
    let conn = info.conn()?;
    loop {
        let pos = ctx.pos();
        let cookie = if pos == 2 { 0 } else { pos as u64 };
        let req = Request::Readdir(ReaddirRequest {
            handle: crate::vfs_file::handle_in(inode, &open.state, &conn)?,
            cookie,
            max_bytes,
        });
        let (eof, full) = conn.call(&Creds::current(), &req, |r| match r {
            Reply::Readdir(rd) => {
                let mut full = false;
                let mut any = false;
                for e in rd.entries.iter() {
                    if !ctx.emit(e.name.as_bytes(), e.ino, e.file_type as u8) {
                        full = true;
                        break;
                    }
                    any = true;
                    ctx.set_pos(e.cookie as i64);
                }
                // An empty, unfinished batch would loop for ever.
                Ok((rd.eof || (!any && !full), full))
            }
            _ => Err(EIO),
        })?;
        if eof || full {
            return Ok(());
        }
    }
}
