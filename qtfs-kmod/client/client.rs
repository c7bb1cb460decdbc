// SPDX-License-Identifier: GPL-2.0
//! The module-wide state: where the server is, the key, and the one
//! authenticated connection all mounts share (made by the first mount,
//! made again by the next mount after it failed).
#![forbid(unsafe_code)]

use crate::kbase::config::{SockAddr, AUTH_KEY_LEN};
use crate::kbase::log::{qerr, qwarn};
use crate::transport::Conn;
use crate::kbase::sys::{GlobalGuard, ModuleGlobal};
use kernel::error::code::{EACCES, ENODEV};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

#[pin_data]
pub(crate) struct Client {
    server: SockAddr,
    key: Option<[u8; AUTH_KEY_LEN]>,
    #[pin]
    conn: Mutex<Option<Arc<Conn>>>,
}

/// The module's [`Client`], set between init and exit.
static CLIENT: ModuleGlobal<Client> = ModuleGlobal::new();

/// Owns the [`Client`] for the module's lifetime.
pub(crate) struct Registration(GlobalGuard<Client>);

impl Registration {
    pub(crate) fn new(server: SockAddr, key: Option<[u8; AUTH_KEY_LEN]>) -> Result<Registration> {
        let c = KBox::pin_init(
            pin_init!(Client {
                server,
                key,
                conn <- new_mutex!(None),
            }),
            GFP_KERNEL,
        )?;
        let reg = Registration(CLIENT.set(c));
        reg.connect_at_load();
        Ok(reg)
    }

    /// With a key, connects and authenticates at once, so that a load
    /// says whether the server is there (a failure is only logged: the
    /// first mount tries again).
    fn connect_at_load(&self) {
        let Some(c) = self.0.value() else { return };
        if c.key.is_none() {
            return;
        }
        if let Err(e) = connection() {
            qwarn!(
                "cannot connect to {}: error {}; staying loaded without a connection",
                c.server,
                e.to_errno()
            );
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // No mount holds the connection any more: the module is unloading.
        if let Some(c) = self.0.value() {
            drop(c.conn.lock().take());
        }
    }
}

fn with_client<R>(f: impl FnOnce(&Client) -> Result<R>) -> Result<R> {
    f(CLIENT.get().ok_or(ENODEV)?)
}

/// The shared connection, made (or made again) as needed.
pub(crate) fn connection() -> Result<Arc<Conn>> {
    with_client(|c| {
        let Some(key) = c.key.as_ref() else {
            qerr!("mount refused: no qtfs_auth_key given to qtfs.ko");
            return Err(EACCES);
        };
        let mut slot = c.conn.lock();
        if let Some(conn) = slot.as_ref() {
            if !conn.is_dead() {
                return Ok(conn.clone());
            }
        }
        let conn = Conn::connect(c.server, key)?;
        *slot = Some(conn.clone());
        Ok(conn)
    })
}

/// The text of `/proc/fs/qtfs/status` (format: `docs/status.md`).
pub(crate) struct Status;

impl crate::kbase::status::StatusSource for Status {
    fn write_status(out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        writeln!(out, "qtfs-status 1")?;
        writeln!(out, "module client")?;
        writeln!(out, "log_level {}", crate::kbase::log::level().name())?;
        if let Some(c) = CLIENT.get() {
            writeln!(out, "server {}", c.server)?;
            let state = match c.conn.lock().as_ref() {
                None => "none",
                Some(conn) if conn.is_dead() => "dead",
                Some(_) => "connected",
            };
            writeln!(out, "connection {}", state)?;
        }
        crate::transport::STATS.render(out, |op| {
            crate::proto::Opcode::from_u16(op).map_or("unknown", |o| o.name())
        })
    }
}
