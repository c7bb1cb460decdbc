//! Spawning the remote process in its own session and killing its tree.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::config::Limits;

/// What to run.
pub struct SpawnSpec<'a> {
    pub exe: &'a Path,
    pub argv: &'a [Vec<u8>],
    pub env: &'a [(Vec<u8>, Vec<u8>)],
    pub cwd: &'a Path,
    pub limits: &'a Limits,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// Spawn the process with piped stdio, as leader of a new session (so its
/// process group id and session id equal its pid).
pub fn spawn(spec: &SpawnSpec<'_>) -> io::Result<Child> {
    let mut cmd = Command::new(spec.exe);
    if let Some(a0) = spec.argv.first() {
        cmd.arg0(OsStr::from_bytes(a0));
    }
    for a in spec.argv.iter().skip(1) {
        cmd.arg(OsStr::from_bytes(a));
    }
    cmd.env_clear();
    for (k, v) in spec.env {
        cmd.env(OsStr::from_bytes(k), OsStr::from_bytes(v));
    }
    cmd.current_dir(spec.cwd);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(g) = spec.gid {
        cmd.gid(g);
    }
    if let Some(u) = spec.uid {
        cmd.uid(u);
    }
    let rl: Vec<(_, u64)> = [
        (libc::RLIMIT_NOFILE, spec.limits.rlimit_nofile),
        (libc::RLIMIT_NPROC, spec.limits.rlimit_nproc),
        (libc::RLIMIT_CPU, spec.limits.rlimit_cpu_secs),
        (libc::RLIMIT_AS, spec.limits.rlimit_as_bytes),
        (libc::RLIMIT_CORE, spec.limits.rlimit_core_bytes),
    ]
    .into_iter()
    .filter_map(|(r, v)| v.map(|v| (r, v)))
    .collect();
    // SAFETY: the closure runs between fork and exec; it only calls
    // async-signal-safe functions (setsid, prctl, setrlimit) and does not allocate
    // (the limits vector was built before fork and is only read).
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            // If the server dies, its commands die with it (their clients
            // have lost the connection anyway).
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            );
            for &(res, val) in &rl {
                let lim = libc::rlimit {
                    rlim_cur: val as libc::rlim_t,
                    rlim_max: val as libc::rlim_t,
                };
                if libc::setrlimit(res, &lim) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    cmd.kill_on_drop(false);
    cmd.spawn()
}

/// The primary group of a user, from the passwd database.
pub fn primary_gid(uid: u32) -> Option<u32> {
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value to be filled in.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to live, writable memory of the stated
    // size; getpwuid_r writes only within `pw` and `buf`.
    let rc =
        unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut found) };
    (rc == 0 && !found.is_null()).then_some(pw.pw_gid)
}

/// Send `sig` to one process.
pub fn signal_pid(pid: u32, sig: i32) -> io::Result<()> {
    // SAFETY: kill(2) with a positive pid has no memory-safety preconditions.
    let r = unsafe { libc::kill(pid as libc::pid_t, sig) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Name of the variable that marks every process of a session.
pub const SESSION_ENV: &str = "REXEC_SESSION";

/// SIGKILL the process group led by `leader` (cheap, no /proc scan).
pub fn kill_group(leader: u32) {
    if leader > 1 {
        // SAFETY: kill(2) with a negative pid signals a process group; no memory involved.
        unsafe {
            libc::kill(-(leader as libc::pid_t), libc::SIGKILL);
        }
    }
}

/// SIGKILL everything that belongs to the session led by `leader`: its
/// process group; every process whose session id is `leader` (children that
/// moved to another process group); and every process whose environment
/// holds `REXEC_SESSION=<marker>` (descendants that started a session of
/// their own, e.g. daemons). Repeats the /proc scan until it finds nothing,
/// so that processes forked during the kill are caught too.
/// Returns the number of processes signalled through the scan.
pub fn kill_tree(leader: u32, marker: &str) -> usize {
    if leader <= 1 {
        return 0;
    }
    kill_group(leader);
    let needle = format!("{SESSION_ENV}={marker}").into_bytes();
    let me = std::process::id();
    let mut total = 0;
    for _ in 0..5 {
        let mut n = 0;
        let Ok(rd) = std::fs::read_dir("/proc") else {
            break;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if pid == me || !is_alive(pid) {
                continue;
            }
            let ours = session_of(pid) == Some(leader)
                || (!marker.is_empty()
                    && std::fs::read(format!("/proc/{pid}/environ"))
                        .map(|env| env.split(|&b| b == 0).any(|e| e == needle.as_slice()))
                        .unwrap_or(false));
            if ours {
                let _ = signal_pid(pid, libc::SIGKILL);
                n += 1;
            }
        }
        total += n;
        if n == 0 {
            break;
        }
    }
    total
}

/// Session id of a process, from /proc/<pid>/stat.
pub fn session_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and ')': fields start after the last ')'.
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    // Fields after comm: state ppid pgrp session ...
    rest.split_whitespace().nth(3)?.parse().ok()
}

/// True while a process with this pid exists and is not a zombie.
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let close = match stat.iter().rposition(|&b| b == b')') {
                Some(c) => c,
                None => return false,
            };
            !matches!(stat.get(close + 2), Some(b'Z') | Some(b'X'))
        }
        Err(_) => false,
    }
}

/// Enlarge a pipe's buffer to `size` (best effort, never shrinks; no-op on
/// descriptors that are not pipes) so that each read moves more data.
pub fn grow_pipe(fd: std::os::fd::RawFd, size: usize) {
    // SAFETY: fcntl(F_GETPIPE_SZ/F_SETPIPE_SZ) only queries/resizes the pipe
    // behind `fd`; on any other descriptor it fails harmlessly.
    unsafe {
        let cur = libc::fcntl(fd, libc::F_GETPIPE_SZ);
        if cur >= 0 && (cur as usize) < size {
            libc::fcntl(fd, libc::F_SETPIPE_SZ, size as libc::c_int);
        }
    }
}

/// Keep the large stdio buffers on the heap and the heap untrimmed (glibc):
/// otherwise each 128 KiB chunk can cost a brk/mmap round trip and fresh
/// page faults. Freed memory is reused, so usage stays bounded. musl's
/// allocator needs no tuning (chunks are sized below its mmap threshold).
pub fn tune_allocator() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only adjusts allocator parameters; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}
