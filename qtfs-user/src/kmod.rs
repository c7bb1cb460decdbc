//! Loading and unloading kernel modules with the `finit_module` and
//! `delete_module` system calls, so qtfsctl needs no insmod on the machine.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Which of the two modules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `qtfs.ko`, on the DPU.
    Client,
    /// `qtfs_server.ko`, on the HOST.
    Server,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Client, Role::Server];

    /// The module's name as the kernel knows it (`/sys/module/<name>`).
    pub fn module_name(self) -> &'static str {
        match self {
            Role::Client => "qtfs",
            Role::Server => "qtfs_server",
        }
    }
}

/// Load the module file `path` with the parameter string `args`.
pub fn load(path: &Path, args: &str) -> io::Result<()> {
    let file = File::open(path)?;
    let args = CString::new(args).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: the fd is open for the duration of the call and `args` is a
    // NUL-terminated string that outlives it; flags 0 asks for no special
    // behaviour.
    let rc = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), args.as_ptr(), 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Unload the module `name`; fails with EWOULDBLOCK/EBUSY while it is in use
/// rather than waiting.
pub fn unload(name: &str) -> io::Result<()> {
    let name = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    let rc = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
