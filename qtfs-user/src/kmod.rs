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

/// The parameters a module file declares: the names of its `parmtype=`
/// entries in `.modinfo` (what `modinfo -p` lists). Each entry is a
/// NUL-terminated string `parmtype=<name>:<type>` there.
pub fn declared_params(module: &[u8]) -> Vec<String> {
    const TAG: &[u8] = b"parmtype=";
    let mut names = Vec::new();
    let mut i = 0;
    while let Some(at) = module[i..].windows(TAG.len()).position(|w| w == TAG) {
        let start = i + at;
        i = start + TAG.len();
        if start > 0 && module[start - 1] != 0 {
            continue;
        }
        let rest = &module[i..];
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        if let Some(colon) = rest[..end].iter().position(|&b| b == b':') {
            names.push(String::from_utf8_lossy(&rest[..colon]).into_owned());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_params_are_the_modinfo_parmtypes() {
        let modinfo = b"\x7fELF..junk\0license=GPL\0parmtype=qtfs_server_ip:charp\0parm=qtfs_server_ip:the address\0parmtype=qtfs_exports:charp\0xparmtype=fake:int\0parmtype=";
        assert_eq!(declared_params(modinfo), ["qtfs_server_ip", "qtfs_exports"]);
        assert!(declared_params(b"").is_empty());
    }
}
