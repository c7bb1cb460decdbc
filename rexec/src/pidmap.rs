//! The client's pid map: `<dir>/<local rexec pid>` holds the remote pid and
//! the server address, so that helpers (e.g. `remote_kill`) can find the
//! remote process of a local rexec.
//!
//! File format (text): line 1 the remote pid, line 2 the server address.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An entry that removes itself when dropped.
pub struct PidMapEntry {
    path: PathBuf,
}

impl PidMapEntry {
    /// Record `local -> remote` in `dir` (created if missing, mode 0755).
    pub fn create(dir: &Path, local: u32, remote: u32, addr: &str) -> std::io::Result<PidMapEntry> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)?;
        let path = dir.join(local.to_string());
        let tmp = dir.join(format!(".{local}.tmp"));
        {
            let mut f = fs::File::create(&tmp)?;
            writeln!(f, "{remote}")?;
            writeln!(f, "{addr}")?;
        }
        fs::rename(&tmp, &path)?;
        Ok(PidMapEntry { path })
    }

    /// Remove the entry now.
    pub fn remove(self) {}
}

impl Drop for PidMapEntry {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// A looked-up entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub remote_pid: u32,
    pub addr: String,
}

/// Look up the remote pid of local rexec `local`. Stale entries (the local
/// process is gone) are removed and reported as missing.
pub fn lookup(dir: &Path, local: u32) -> Option<Mapping> {
    let path = dir.join(local.to_string());
    let text = fs::read_to_string(&path).ok()?;
    if !Path::new(&format!("/proc/{local}")).exists() {
        let _ = fs::remove_file(&path);
        return None;
    }
    let mut lines = text.lines();
    let remote_pid = lines.next()?.trim().parse().ok()?;
    let addr = lines.next().unwrap_or("").trim().to_string();
    Some(Mapping { remote_pid, addr })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_lookup_remove() {
        let d = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let e = PidMapEntry::create(d.path(), me, 4242, "tcp://1.2.3.4:5").unwrap();
        assert_eq!(
            lookup(d.path(), me),
            Some(Mapping {
                remote_pid: 4242,
                addr: "tcp://1.2.3.4:5".into()
            })
        );
        e.remove();
        assert_eq!(lookup(d.path(), me), None);
    }
}
