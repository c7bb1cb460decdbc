// SPDX-License-Identifier: GPL-2.0
//! Extended attributes (`user.`, `trusted.`, `security.`): each get, set,
//! remove and list goes to the server, as the caller (the HOST decides who
//! may read or write which name space). Values are not cached.
#![forbid(unsafe_code)]

use crate::fs::Qtfs;
use crate::kbase::errno::enametoolong;
use crate::kbase::vfsc::Inode;
use crate::proto::{
    GetXattrRequest, ListXattrRequest, RemoveXattrRequest, Reply, Request, SetXattrRequest,
    XattrFlags, XattrListSize, XattrName, XattrSize, XattrValue,
};
use crate::transport::Creds;
use crate::vfs_super::SuperInfo;
use kernel::error::code::{E2BIG, EINVAL, EIO, ERANGE};
use kernel::prelude::*;

fn info(i: &Inode<Qtfs>) -> &SuperInfo {
    i.sb().info()
}

pub(crate) fn get(inode: &Inode<Qtfs>, name: &[u8], buf: Option<&mut [u8]>) -> Result<usize> {
    if inode.data().spliced.is_some() {
        return Err(crate::kbase::errno::eopnotsupp());
    }
    let name = XattrName::new(name).ok_or_else(enametoolong)?;
    let want = buf.as_ref().map_or(0, |b| b.len()).min(crate::proto::MAX_XATTR_VALUE_LEN as usize);
    let size = XattrSize::new(want as u32).ok_or(EINVAL)?;
    let conn = info(inode).conn()?;
    let req = Request::GetXattr(GetXattrRequest {
        node: crate::node::id(inode, &conn)?,
        name,
        size,
    });
    conn.call(&Creds::current(), &req, |r| match r {
        Reply::GetXattr(x) => {
            let v = x.value.as_bytes();
            match buf {
                None => Ok(x.size.get() as usize),
                Some(b) => {
                    let dst = b.get_mut(..v.len()).ok_or(ERANGE)?;
                    dst.copy_from_slice(v);
                    Ok(v.len())
                }
            }
        }
        _ => Err(EIO),
    })
}

pub(crate) fn set(inode: &Inode<Qtfs>, name: &[u8], value: Option<&[u8]>, flags: u32) -> Result {
    if inode.data().spliced.is_some() {
        return Err(crate::kbase::errno::eopnotsupp());
    }
    let name = XattrName::new(name).ok_or_else(enametoolong)?;
    let creds = Creds::current();
    let conn = info(inode).conn()?;
    let node = crate::node::id(inode, &conn)?;
    let req = match value {
        Some(v) => Request::SetXattr(SetXattrRequest {
            node,
            name,
            value: XattrValue::new(v).ok_or(E2BIG)?,
            flags: XattrFlags::from_bits(flags).ok_or(EINVAL)?,
        }),
        None => Request::RemoveXattr(RemoveXattrRequest {
            node,
            name,
        }),
    };
    conn.call(&creds, &req, |r| match r {
        Reply::SetXattr(_) | Reply::RemoveXattr(_) => Ok(()),
        _ => Err(EIO),
    })?;
    crate::node::expire(inode);
    Ok(())
}

pub(crate) fn list(inode: &Inode<Qtfs>, buf: Option<&mut [u8]>) -> Result<usize> {
    if inode.data().spliced.is_some() {
        return Ok(0);
    }
    let want = buf.as_ref().map_or(0, |b| b.len()).min(crate::proto::MAX_XATTR_LIST_LEN as usize);
    let size = XattrListSize::new(want as u32).ok_or(EINVAL)?;
    let conn = info(inode).conn()?;
    let req = Request::ListXattr(ListXattrRequest {
        node: crate::node::id(inode, &conn)?,
        size,
    });
    conn.call(&Creds::current(), &req, |r| match r {
        Reply::ListXattr(x) => {
            let names = x.names.as_bytes();
            match buf {
                None => Ok(x.size.get() as usize),
                Some(b) => {
                    let dst = b.get_mut(..names.len()).ok_or(ERANGE)?;
                    dst.copy_from_slice(names);
                    Ok(names.len())
                }
            }
        }
        _ => Err(EIO),
    })
}
