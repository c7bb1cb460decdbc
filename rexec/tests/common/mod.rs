//! Helpers for the loopback integration tests: start a server with a
//! generated config, run the client, poll with deadlines.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const REXEC: &str = env!("CARGO_BIN_EXE_rexec");
pub const SERVER: &str = env!("CARGO_BIN_EXE_rexec_server");

/// Default whitelist used by most tests.
pub const DEFAULT_ALLOW: &str = r#"
[[allow]]
path = "/bin/sh"
[[allow]]
path = "/usr/bin/cat"
[[allow]]
path = "/usr/bin/true"
[[allow]]
path = "/usr/bin/printf"
[[allow]]
path = "/usr/bin/env"
[[allow]]
path = "/usr/bin/pwd"
[[allow]]
path = "/usr/bin/sleep"
[[allow]]
path = "/usr/bin/yes"
[[allow]]
path = "/usr/bin/head"
[[allow]]
path = "/usr/bin/echo"
options = ["-n"]
operands = ["[a-z]+"]
"#;

pub struct TestServer {
    pub child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
    pub log: Arc<Mutex<Vec<String>>>,
}

/// Write a config file with safe permissions.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("rexec_server.toml");
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

impl TestServer {
    /// Start a server on 127.0.0.1:<free port> with `extra` config (top-level
    /// keys and tables) plus the default whitelist.
    pub fn start(extra: &str) -> TestServer {
        Self::start_with("tcp://127.0.0.1:0", extra, DEFAULT_ALLOW)
    }

    /// Start a server; a TCP listener gets `allowed_clients = ["127.0.0.1"]`
    /// and `insecure_plaintext = true` unless `extra` says otherwise.
    pub fn start_with(listen: &str, extra: &str, allow: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let listen = listen.replace("$DIR", dir.path().to_str().unwrap());
        let mut defaults = String::new();
        if listen.starts_with("tcp://") {
            if !extra.contains("allowed_clients") {
                defaults.push_str("allowed_clients = [\"127.0.0.1\"]\n");
            }
            if !extra.contains("[tls]") && !extra.contains("insecure_plaintext") {
                defaults.push_str("insecure_plaintext = true\n");
            }
        }
        let cfg = write_config(dir.path(), &format!("{defaults}{extra}\n{allow}"));
        let mut child = Command::new(SERVER)
            .arg("--config")
            .arg(&cfg)
            .env("CMD_NET_ADDR", &listen)
            .env("REXEC_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(i) = line.find("ready: listening on ") {
                        let _ = tx.send(line[i + 20..].trim().to_string());
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start; log: {:?}", log.lock().unwrap());
            }
        };
        TestServer {
            child,
            addr,
            dir,
            log,
        }
    }

    /// A client command with CMD_NET_ADDR and a private pid map dir.
    pub fn rexec(&self) -> Command {
        let mut c = Command::new(REXEC);
        c.env("CMD_NET_ADDR", &self.addr)
            .env("REXEC_PIDMAP_DIR", self.dir.path().join("pidmap"))
            .env("REXEC_CONFIG", "/dev/null");
        c
    }

    pub fn pidmap_dir(&self) -> PathBuf {
        self.dir.path().join("pidmap")
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Wait until a log line contains `needle`.
    pub fn wait_log(&self, needle: &str, within: Duration) -> bool {
        poll(within, || self.log_text().contains(needle))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `f` every 10 ms until it is true or `within` has passed.
pub fn poll(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// True while the process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    rexec::process::is_alive(pid)
}

pub fn send_signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Wait for a child with a timeout; kills it and panics on timeout.
pub fn wait_timeout(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let end = Instant::now() + within;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            panic!("process {} did not exit within {within:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Run a command to completion with a timeout, collecting output.
pub fn run_output(mut cmd: Command, stdin: &[u8], within: Duration) -> std::process::Output {
    use std::io::Write;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut si = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let w = std::thread::spawn(move || {
        let _ = si.write_all(&data);
    });
    let pid = child.id();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let done = done.clone();
        std::thread::spawn(move || {
            let end = Instant::now() + within;
            while Instant::now() < end {
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            send_signal(pid, libc::SIGKILL);
        });
    }
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = w.join();
    out
}

/// Resident set size of a process in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A test's prerequisite (root, busybox...). When it is missing the test
/// fails, unless REXEC_TESTS_ALLOW_SKIP=1: then it prints a SKIP line (past
/// the test harness's capture) and the caller returns early.
pub fn prerequisite(test: &str, present: bool, what: &str) -> bool {
    use std::io::Write;
    if present {
        return true;
    }
    if std::env::var_os("REXEC_TESTS_ALLOW_SKIP").is_some() {
        let _ = writeln!(std::io::stderr(), "SKIP {test}: needs {what}");
        return false;
    }
    panic!("{test} needs {what}; set REXEC_TESTS_ALLOW_SKIP=1 to skip it instead");
}

/// True when the tests run as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
