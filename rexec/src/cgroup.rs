//! A cgroup v2 of its own for each session, so that killing a session
//! reaches every process its command started, whatever they did: setsid,
//! double forks, a new environment. Cgroup membership is inherited and only
//! someone with write access to the cgroup tree can leave it; `cgroup.kill`
//! kills every member at once, including processes forked meanwhile.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Prefix of the session cgroups' directory names: `rexec-<server pid>-<n>`.
const PREFIX: &str = "rexec-";

/// Where session cgroups are created: below the server's own cgroup.
#[derive(Debug)]
pub struct SessionCgroups {
    base: PathBuf,
    seq: AtomicU64,
    /// Cgroups of ended sessions whose leftovers may keep running
    /// (`kill_leftovers = false`): removed once empty (`reap`).
    deferred: Mutex<Vec<PathBuf>>,
}

/// The mount point and root of the cgroup v2 hierarchy, from mountinfo.
fn cgroup2_mount(mountinfo: &str) -> Option<(PathBuf, PathBuf)> {
    mountinfo.lines().find_map(|l| {
        let (mount, fs) = l.split_once(" - ")?;
        if fs.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let f: Vec<&str> = mount.split_whitespace().collect();
        Some((PathBuf::from(f.get(4)?), PathBuf::from(f.get(3)?)))
    })
}

impl SessionCgroups {
    /// The server's own cgroup v2 directory, if the HOST has cgroup v2 with
    /// `cgroup.kill` (Linux 5.14+) and the server may create cgroups in it
    /// (root, or a systemd unit with `Delegate=yes`). The error says why not.
    pub fn detect() -> Result<SessionCgroups, String> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
        let (mount, root) = cgroup2_mount(&mountinfo).ok_or("no cgroup v2 hierarchy is mounted")?;
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        let own = own
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .ok_or("the server is in no cgroup v2")?;
        let rel = Path::new(own)
            .strip_prefix(&root)
            .map_err(|_| format!("own cgroup {own} is outside the mounted hierarchy"))?;
        let base = mount.join(rel);
        let cgroups = SessionCgroups {
            base,
            seq: AtomicU64::new(0),
            deferred: Mutex::new(Vec::new()),
        };
        // Create and remove one to know that it works (and that this kernel
        // has cgroup.kill).
        let probe = cgroups
            .create()
            .map_err(|e| format!("cannot create a cgroup in {}: {e}", cgroups.base.display()))?;
        if let Err(left) = probe.remove() {
            return Err(format!("cannot remove the cgroup {}", left.dir.display()));
        }
        Ok(cgroups)
    }

    /// The directory session cgroups are created in.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// A new, empty cgroup for one session.
    pub fn create(&self) -> io::Result<SessionCgroup> {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let dir = self
            .base
            .join(format!("{PREFIX}{}-{n}", std::process::id()));
        std::fs::create_dir(&dir)?;
        let opened = (|| {
            if !dir.join("cgroup.kill").exists() {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "no cgroup.kill (Linux older than 5.14)",
                ));
            }
            // The directory itself: clone3 creates the command inside it.
            File::open(&dir)
        })();
        match opened {
            Ok(handle) => Ok(SessionCgroup { dir, handle }),
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                Err(e)
            }
        }
    }

    /// Remove `cgroup` once its last process has gone (see `reap`).
    pub fn remove_when_empty(&self, cgroup: SessionCgroup) {
        self.deferred
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cgroup.dir);
    }

    /// Remove the deferred cgroups that are empty now.
    pub fn reap(&self) {
        self.deferred
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|dir| !(is_empty(dir) && std::fs::remove_dir(dir).is_ok()));
    }

    /// Kill and remove the session cgroups of earlier servers that are gone
    /// (a crash leaves them behind, with whatever still runs in them).
    pub fn remove_stale(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.base) else {
            return 0;
        };
        let mut removed = 0;
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(owner) = name
                .to_str()
                .and_then(|n| n.strip_prefix(PREFIX))
                .and_then(|n| n.split_once('-'))
                .and_then(|(pid, _)| pid.parse::<u32>().ok())
            else {
                continue;
            };
            if owner == std::process::id() || crate::process::is_alive(owner) {
                continue;
            }
            let dir = e.path();
            let _ = std::fs::write(dir.join("cgroup.kill"), "1");
            if wait_empty(&dir, Duration::from_secs(2)) && std::fs::remove_dir(&dir).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

/// True once no process is left in the cgroup at `dir` (or `within` passed).
fn wait_empty(dir: &Path, within: Duration) -> bool {
    let end = Instant::now() + within;
    loop {
        if is_empty(dir) {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("cgroup.events"))
        .map(|ev| ev.lines().any(|l| l == "populated 0"))
        .unwrap_or(true)
}

/// One session's cgroup.
#[derive(Debug)]
pub struct SessionCgroup {
    dir: PathBuf,
    /// The open directory, for clone3's CLONE_INTO_CGROUP.
    handle: File,
}

impl SessionCgroup {
    /// The directory descriptor a command is created in.
    pub fn dir_fd(&self) -> RawFd {
        self.handle.as_raw_fd()
    }

    /// Remove the cgroup now, for one no process ever joined.
    pub fn discard(self) {
        let _ = std::fs::remove_dir(&self.dir);
    }

    /// SIGKILL every process in the cgroup (atomically: forks racing with
    /// the kill are killed too).
    pub fn kill(&self) -> io::Result<()> {
        std::fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("cgroup.kill"))?
            .write_all(b"1")
    }

    /// Remove the cgroup once it is empty. Blocks for up to two seconds
    /// (killed processes take a moment to die); gives the cgroup back if it
    /// is still in use then.
    pub fn remove(self) -> Result<(), SessionCgroup> {
        if wait_empty(&self.dir, Duration::from_secs(2)) && std::fs::remove_dir(&self.dir).is_ok() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount() {
        let mi = "25 30 0:22 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n\
                  41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount(mi),
            Some(("/sys/fs/cgroup/unified".into(), "/".into()))
        );
        assert_eq!(
            cgroup2_mount("25 30 0:22 / /x rw - ext4 /dev/sda rw\n"),
            None
        );
    }
}
