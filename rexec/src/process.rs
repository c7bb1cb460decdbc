//! Spawning the remote process in its own session and killing its tree.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};

use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;
use tokio::process::Command;

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
    /// The session cgroup's directory: the process starts inside it.
    pub cgroup_dir: Option<RawFd>,
}

/// A started command: its pid, the server's ends of its stdio pipes, and
/// (through `wait`) its exit status.
pub struct Spawned {
    pub pid: u32,
    pub stdin: Option<pipe::Sender>,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
    /// True if it was started inside `SpawnSpec::cgroup_dir`.
    pub in_cgroup: bool,
    waiter: Waiter,
}

enum Waiter {
    Tokio(tokio::process::Child),
    /// A pidfd (clone3); None once reaped.
    Pidfd(Option<AsyncFd<OwnedFd>>),
}

impl Spawned {
    /// Wait for the process to end (reaps it).
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        match &mut self.waiter {
            Waiter::Tokio(c) => c.wait().await,
            Waiter::Pidfd(slot) => {
                let fd = slot
                    .as_ref()
                    .ok_or_else(|| io::Error::other("process already reaped"))?;
                loop {
                    let mut ready = fd.readable().await?;
                    if let Some(st) = waitid_pidfd(fd.get_ref().as_raw_fd(), libc::WNOHANG)? {
                        *slot = None;
                        return Ok(st);
                    }
                    ready.clear_ready();
                }
            }
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // A process nobody waited for (the session ended after killing it)
        // must still be reaped, or it stays a zombie.
        if let Waiter::Pidfd(Some(fd)) = &mut self.waiter {
            let fd = fd.get_ref().as_raw_fd();
            // SAFETY: dup of a descriptor we own; the copy moves to the thread.
            let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
            if dup >= 0 {
                // SAFETY: `dup` is a fresh descriptor owned by nobody else.
                let owned = unsafe { OwnedFd::from_raw_fd(dup) };
                std::thread::spawn(move || {
                    let _ = waitid_pidfd(owned.as_raw_fd(), 0);
                });
            }
        }
    }
}

/// waitid(P_PIDFD): the status if the process has ended (None with WNOHANG
/// while it runs).
fn waitid_pidfd(pidfd: RawFd, flags: libc::c_int) -> io::Result<Option<ExitStatus>> {
    const P_PIDFD: libc::idtype_t = 3;
    // SAFETY: an all-zero siginfo_t is valid; waitid fills it in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is valid for writes; pidfd is a descriptor we own.
    let r = unsafe {
        libc::waitid(
            P_PIDFD,
            pidfd as libc::id_t,
            &mut info,
            libc::WEXITED | flags,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: waitid filled in a SIGCHLD siginfo.
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    // As a wait(2) status word, which ExitStatus decodes.
    let raw = match info.si_code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_DUMPED => status | 0x80,
        _ => status,
    };
    Ok(Some(ExitStatus::from_raw(raw)))
}

/// Spawn the process with piped stdio, as leader of a new session (so its
/// process group id and session id equal its pid). With `cgroup_dir` it is
/// created inside that cgroup (clone3 CLONE_INTO_CGROUP, Linux 5.7+): it
/// never runs outside, and no migration (which waits for an RCU grace
/// period, milliseconds) is needed. Where clone3 cannot do that, it starts
/// the usual way, outside (`in_cgroup` false).
pub fn spawn(spec: &SpawnSpec<'_>) -> io::Result<Spawned> {
    if let Some(dir) = spec.cgroup_dir {
        match spawn_in_cgroup(spec, dir) {
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOSYS | libc::EINVAL | libc::E2BIG)
                ) => {}
            other => return other,
        }
    }
    spawn_tokio(spec)
}

fn spawn_tokio(spec: &SpawnSpec<'_>) -> io::Result<Spawned> {
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
    let rl = rlimits(spec.limits);
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
                if libc::setrlimit(res as _, &lim) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    cmd.kill_on_drop(false);
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    let stdin = child.stdin.take().map(|s| s.into_owned_fd()).transpose()?;
    let stdout = child.stdout.take().map(|s| s.into_owned_fd()).transpose()?;
    let stderr = child.stderr.take().map(|s| s.into_owned_fd()).transpose()?;
    Ok(Spawned {
        pid,
        stdin: stdin.map(pipe::Sender::from_owned_fd).transpose()?,
        stdout: stdout.map(pipe::Receiver::from_owned_fd).transpose()?,
        stderr: stderr.map(pipe::Receiver::from_owned_fd).transpose()?,
        in_cgroup: false,
        waiter: Waiter::Tokio(child),
    })
}

/// setrlimit values (resource, limit); glibc and musl type the resource
/// differently, hence the cast.
fn rlimits(l: &Limits) -> Vec<(i32, u64)> {
    [
        (libc::RLIMIT_NOFILE as i32, l.rlimit_nofile),
        (libc::RLIMIT_NPROC as i32, l.rlimit_nproc),
        (libc::RLIMIT_CPU as i32, l.rlimit_cpu_secs),
        (libc::RLIMIT_AS as i32, l.rlimit_as_bytes),
        (libc::RLIMIT_CORE as i32, l.rlimit_core_bytes),
    ]
    .into_iter()
    .filter_map(|(r, v)| v.map(|v| (r, v)))
    .collect()
}

/// A pipe; both ends close on exec.
fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 returns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 just returned these two descriptors, owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn cstring(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in argument"))
}

/// In the child after clone3: report errno to the parent and exit.
///
/// # Safety
/// Only for the child between clone and exec; `fd` is its error pipe.
unsafe fn child_fail(fd: RawFd) -> ! {
    // SAFETY: errno location and write(2) are async-signal-safe.
    unsafe {
        let errno = *libc::__errno_location();
        libc::write(fd, (&errno as *const libc::c_int).cast(), 4);
        libc::_exit(127)
    }
}

/// clone3's argument block (linux/sched.h, CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// The clone3 path of `spawn`: the same setup as `spawn_tokio`, done by
/// hand between clone and exec (async-signal-safe calls only; everything
/// is allocated before the clone).
fn spawn_in_cgroup(spec: &SpawnSpec<'_>, cgroup_dir: RawFd) -> io::Result<Spawned> {
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let exe = cstring(spec.exe.as_os_str().as_bytes())?;
    let cwd = cstring(spec.cwd.as_os_str().as_bytes())?;
    let argv: Vec<CString> = spec
        .argv
        .iter()
        .map(|a| cstring(a))
        .collect::<Result<_, _>>()?;
    let env: Vec<CString> = spec
        .env
        .iter()
        .map(|(k, v)| cstring(&[k.as_slice(), b"=", v.as_slice()].concat()))
        .collect::<Result<_, _>>()?;
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    let rl = rlimits(spec.limits);
    let (stdin_r, stdin_w) = cloexec_pipe()?;
    let (stdout_r, stdout_w) = cloexec_pipe()?;
    let (stderr_r, stderr_w) = cloexec_pipe()?;
    // The child reports a failure before exec here; end of file = exec'd.
    let (err_r, err_w) = cloexec_pipe()?;
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut pidfd: RawFd = -1;
    let args = CloneArgs {
        flags: libc::CLONE_PIDFD as u64 | CLONE_INTO_CGROUP,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup_dir as u64,
        ..Default::default()
    };
    // SAFETY: clone3 without CLONE_VM is fork: the child gets a copy of the
    // address space. It runs only async-signal-safe calls on memory prepared
    // above, then execs or exits; it never returns into Rust code.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: the child, between clone and exec (see above).
        unsafe {
            let fail = |fd: RawFd| child_fail(fd);
            let err = err_w.as_raw_fd();
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            // The Rust runtime ignores SIGPIPE; commands expect the default.
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            for (fd, target) in [
                (stdin_r.as_raw_fd(), 0),
                (stdout_w.as_raw_fd(), 1),
                (stderr_w.as_raw_fd(), 2),
            ] {
                if libc::dup2(fd, target) < 0 {
                    fail(err);
                }
            }
            if libc::setsid() < 0 {
                fail(err);
            }
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
                if libc::setrlimit(res as _, &lim) < 0 {
                    fail(err);
                }
            }
            if let Some(g) = spec.gid {
                if libc::setgid(g) < 0 {
                    fail(err);
                }
            }
            if let Some(u) = spec.uid {
                // As std does: a root server drops its supplementary groups.
                if root && libc::setgroups(0, std::ptr::null()) < 0 {
                    fail(err);
                }
                if libc::setuid(u) < 0 {
                    fail(err);
                }
            }
            if libc::chdir(cwd.as_ptr()) < 0 {
                fail(err);
            }
            libc::execve(exe.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr());
            fail(err);
        }
    }
    // SAFETY: clone3 stored a new pidfd, owned by nobody else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    drop((stdin_r, stdout_w, stderr_w, err_w));
    let mut errno = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        // SAFETY: reading into the rest of `errno`.
        let n = unsafe { libc::read(err_r.as_raw_fd(), errno[got..].as_mut_ptr().cast(), 4 - got) };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            break;
        }
        got += n as usize;
    }
    if got == 4 {
        // The child exited without exec: reap it, report why.
        let _ = waitid_pidfd(pidfd.as_raw_fd(), 0);
        return Err(io::Error::from_raw_os_error(i32::from_ne_bytes(errno)));
    }
    // SAFETY: an OwnedFd keeps returning the same open descriptor until
    // the AsyncFd drops it.
    let pidfd =
        match unsafe { AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE) } {
            Ok(fd) => fd,
            Err(e) => {
                // Without a way to wait for it, the process must not run.
                let (pidfd, e) = e.into_parts();
                let _ = signal_pid(pid as u32, libc::SIGKILL);
                let _ = waitid_pidfd(pidfd.as_raw_fd(), 0);
                return Err(e);
            }
        };
    Ok(Spawned {
        pid: pid as u32,
        stdin: Some(pipe::Sender::from_owned_fd(stdin_w)?),
        stdout: Some(pipe::Receiver::from_owned_fd(stdout_r)?),
        stderr: Some(pipe::Receiver::from_owned_fd(stderr_r)?),
        in_cgroup: true,
        waiter: Waiter::Pidfd(Some(pidfd)),
    })
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
/// their own, e.g. daemons). Repeats the /proc scan until a pass finds no
/// process it has not signalled yet, so that processes forked during the
/// kill are caught too. A process that left the session, dropped the marker
/// and reparented escapes it: only a cgroup (`crate::cgroup`) holds those.
/// Returns the number of processes signalled through the scan.
pub fn kill_tree(leader: u32, marker: &str) -> usize {
    if leader <= 1 {
        return 0;
    }
    kill_group(leader);
    let needle = format!("{SESSION_ENV}={marker}").into_bytes();
    let me = std::process::id();
    // (pid, start time): a pid reused by a new process counts as new.
    let mut signalled = std::collections::HashSet::new();
    loop {
        let mut found_new = false;
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
            if ours && signalled.insert((pid, start_time(pid))) {
                let _ = signal_pid(pid, libc::SIGKILL);
                found_new = true;
            }
        }
        if !found_new {
            break;
        }
    }
    signalled.len()
}

/// Start time of a process (clock ticks after boot), from /proc/<pid>/stat.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    // Fields after comm start at field 3 (state); starttime is field 22.
    rest.split_whitespace().nth(19)?.parse().ok()
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
