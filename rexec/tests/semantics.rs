//! Loopback tests of the remote command's semantics: argv, env, cwd, stdio,
//! exit status, signals, killing, pid map, concurrency.

mod common;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

const T: Duration = Duration::from_secs(20);

#[test]
fn argv_is_passed_exactly() {
    let s = TestServer::start("");
    let mut c = s.rexec();
    let args: Vec<&[u8]> = vec![
        b"[%s]\n",
        b"a b",
        b"",
        b"  lead",
        b"$HOME;*",
        b"\xff\xfe",
        b"-n",
        b"quote'\"",
    ];
    c.arg("printf");
    for a in &args {
        c.arg(OsStr::from_bytes(a));
    }
    let out = run_output(c, b"", T);
    assert!(out.status.success(), "{out:?}");
    let mut want = Vec::new();
    for a in &args[1..] {
        want.push(b'[');
        want.extend_from_slice(a);
        want.extend_from_slice(b"]\n");
    }
    assert_eq!(out.stdout, want);
}

/// Finding 1: only three variables used to be denied, so MODPROBE_OPTIONS,
/// GLIBC_TUNABLES, BASH_ENV and the caller's PATH reached root commands.
#[test]
fn environment_is_an_allow_list() {
    // The default configuration: loader, libc and interpreter variables stop.
    let s = TestServer::start("");
    let mut c = s.rexec();
    c.arg("env")
        .env("MODPROBE_OPTIONS", "-C /proc/self/environ")
        .env("GLIBC_TUNABLES", "glibc.malloc.check=3")
        .env("GCONV_PATH", "/tmp/evil")
        .env("PYTHONPATH", "/tmp/evil")
        .env("TERM", "xterm");
    let text = String::from_utf8_lossy(&run_output(c, b"", T).stdout).into_owned();
    for refused in [
        "MODPROBE_OPTIONS",
        "GLIBC_TUNABLES",
        "GCONV_PATH",
        "PYTHONPATH",
    ] {
        assert!(!text.contains(refused), "{refused} passed: {text}");
    }
    assert!(text.contains("TERM=xterm"), "{text}");
    let s = TestServer::start(
        "[env]\nallow = [\"REXEC_TEST_*\"]\ndeny = [\"REXEC_TEST_SECRET\"]\n[env.set]\nFORCED = \"server\"\n",
    );
    let mut c = s.rexec();
    c.arg("env")
        .env("REXEC_TEST_VAR", "value with spaces=and equals")
        .env(
            OsStr::from_bytes(b"REXEC_TEST_BIN"),
            OsStr::from_bytes(b"\xff"),
        )
        .env("REXEC_TEST_SECRET", "hidden")
        .env("FORCED", "client")
        .env("MODPROBE_OPTIONS", "-C /proc/self/environ")
        .env("GLIBC_TUNABLES", "glibc.malloc.check=3")
        .env("BASH_ENV", "/tmp/evil")
        .env("PATH", "/tmp/evil:/usr/bin:/bin")
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "/tmp/evil-locale");
    let out = run_output(c, b"", T);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<&[u8]> = out.stdout.split(|&b| b == b'\n').collect();
    assert!(lines.contains(&&b"REXEC_TEST_VAR=value with spaces=and equals"[..]));
    assert!(lines.contains(&&b"REXEC_TEST_BIN=\xff"[..]));
    assert!(lines.contains(&&b"FORCED=server"[..]));
    assert!(lines.contains(&&b"LANG=C.UTF-8"[..]));
    assert!(
        lines.contains(&&b"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"[..])
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for refused in [
        "REXEC_TEST_SECRET",
        "MODPROBE_OPTIONS",
        "GLIBC_TUNABLES",
        "BASH_ENV",
        "LC_ALL",
        "/tmp/evil",
        "HOME=",
    ] {
        assert!(!text.contains(refused), "{refused} passed: {text}");
    }
    assert!(s.wait_log("not passed", T));
    let log = s.log_text();
    let line = log.lines().find(|l| l.contains("not passed")).unwrap();
    for name in [
        "MODPROBE_OPTIONS",
        "GLIBC_TUNABLES",
        "BASH_ENV",
        "PATH",
        "LC_ALL",
    ] {
        assert!(line.contains(name), "{name} not logged: {line}");
    }
    // A rule may let more variables through, for its own command only.
    let s = TestServer::start_with(
        "tcp://127.0.0.1:0",
        "",
        "[[allow]]\npath = \"/usr/bin/env\"\nenv = [\"RULE_ONLY\"]\n",
    );
    let mut c = s.rexec();
    c.arg("env").env("RULE_ONLY", "1").env("OTHER", "1");
    let text = String::from_utf8_lossy(&run_output(c, b"", T).stdout).into_owned();
    assert!(text.contains("RULE_ONLY=1"), "{text}");
    assert!(!text.contains("OTHER="), "{text}");
}

#[test]
fn working_directory() {
    let s = TestServer::start("");
    let d = tempfile::tempdir().unwrap();
    let real = std::fs::canonicalize(d.path()).unwrap();
    let mut c = s.rexec();
    c.arg("pwd").current_dir(&real);
    let out = run_output(c, b"", T);
    assert_eq!(
        out.stdout,
        format!("{}\n", real.display()).into_bytes(),
        "{out:?}"
    );
    // --cwd overrides; a directory missing on the server falls back to "/".
    let mut c = s.rexec();
    c.args(["--cwd", "/nonexistent/dir", "pwd"]);
    let out = run_output(c, b"", T);
    assert_eq!(out.stdout, b"/\n");
    // With fallback disabled the request fails clearly.
    let s = TestServer::start("fallback_cwd = \"\"\n");
    let mut c = s.rexec();
    c.args(["--cwd", "/nonexistent/dir", "pwd"]);
    let out = run_output(c, b"", T);
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

/// Finding 4: the client chose any existing directory as the command's
/// cwd, so relative operands (insmod of a file) resolved where it liked.
#[test]
fn rules_restrict_the_working_directory() {
    let d = tempfile::tempdir().unwrap();
    let allowed = std::fs::canonicalize(d.path()).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let s = TestServer::start_with(
        "tcp://127.0.0.1:0",
        "",
        &format!(
            "[[allow]]\npath = \"/usr/bin/pwd\"\ncwd = [\"/\"]\n\
             [[allow]]\npath = \"/bin/sh\"\ncwd = [\"/\", \"{}\"]\n\
             [[allow]]\npath = \"/usr/bin/env\"\n",
            allowed.display()
        ),
    );
    let pwd_from = |prog: &[&str], dir: &std::path::Path| {
        let mut c = s.rexec();
        c.args(prog).current_dir(dir);
        let out = run_output(c, b"", T);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // cwd = ["/"]: always /.
    assert_eq!(pwd_from(&["pwd"], &allowed), "/");
    assert_eq!(pwd_from(&["pwd"], elsewhere.path()), "/");
    // A listed directory is kept, any other becomes the first entry.
    assert_eq!(
        pwd_from(&["sh", "-c", "pwd"], &allowed),
        allowed.display().to_string()
    );
    assert_eq!(pwd_from(&["sh", "-c", "pwd"], elsewhere.path()), "/");
    // A rule without cwd keeps the client's directory.
    let real_elsewhere = std::fs::canonicalize(elsewhere.path()).unwrap();
    assert_eq!(
        pwd_from(&["env", "sh", "-c", "pwd"], &real_elsewhere),
        real_elsewhere.display().to_string()
    );
    // A rule naming a directory that does not exist is a config error.
    let cfg = write_config(d.path(), "allowed_clients = [\"127.0.0.1\"]\ninsecure_plaintext = true\n[[allow]]\npath = \"/usr/bin/pwd\"\ncwd = [\"/nonexistent/dir\"]\n");
    let out = std::process::Command::new(SERVER)
        .arg("--config")
        .arg(&cfg)
        .env("CMD_NET_ADDR", "tcp://127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an absolute path to a directory"));
}

#[test]
fn stdin_is_streamed_with_eof() {
    let s = TestServer::start("");
    let mut c = s.rexec();
    c.arg("cat");
    let out = run_output(c, b"x\n", T);
    assert!(out.status.success());
    assert_eq!(out.stdout, b"x\n");
    // Empty stdin.
    let mut c = s.rexec();
    c.arg("cat").stdin(Stdio::null());
    let out = c.output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    // A shell pipeline, as in the issue: `echo x | rexec cat` ends.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("echo x | {REXEC} cat"))
        .env("CMD_NET_ADDR", &s.addr)
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"x\n");
    // Interactive-style exchange: a line goes in, the same line comes out
    // before stdin is closed.
    let mut c = s.rexec();
    c.arg("cat").stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut si = child.stdin.take().unwrap();
    let mut so = BufReader::new(child.stdout.take().unwrap());
    si.write_all(b"ping\n").unwrap();
    si.flush().unwrap();
    let mut line = String::new();
    so.read_line(&mut line).unwrap();
    assert_eq!(line, "ping\n");
    drop(si);
    assert!(wait_timeout(&mut child, T).success());
}

#[test]
fn stdout_and_stderr_are_separate() {
    let s = TestServer::start("");
    let mut c = s.rexec();
    c.args([
        "sh",
        "-c",
        "i=0; while [ $i -lt 100 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done",
    ]);
    let out = run_output(c, b"", T);
    assert!(out.status.success());
    let want_out: String = (0..100).map(|i| format!("out{i}\n")).collect();
    let want_err: String = (0..100).map(|i| format!("err{i}\n")).collect();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want_out);
    assert_eq!(String::from_utf8_lossy(&out.stderr), want_err);
}

#[test]
fn large_transfer_in_bounded_memory() {
    const SIZE: u64 = 192 << 20;
    let s = TestServer::start("");
    let mut c = s.rexec();
    c.arg("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let pid = child.id();
    let mut si = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let block = vec![0xA5u8; 1 << 20];
        for _ in 0..(SIZE >> 20) {
            si.write_all(&block).unwrap();
        }
    });
    let mut so = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    let mut max_client = 0;
    let mut max_server = 0;
    let mut paused = false;
    loop {
        let n = so.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        assert!(buf[..n].iter().all(|&b| b == 0xA5));
        total += n as u64;
        if !paused && total > SIZE / 2 {
            // A stalled reader: everything upstream must stop, not buffer.
            paused = true;
            std::thread::sleep(Duration::from_millis(800));
        }
        if total % (8 << 20) < n as u64 {
            max_client = max_client.max(rss_kib(pid).unwrap_or(0));
            max_server = max_server.max(rss_kib(s.pid()).unwrap_or(0));
        }
    }
    writer.join().unwrap();
    assert!(wait_timeout(&mut child, T).success());
    assert_eq!(total, SIZE);
    eprintln!("max RSS: client {max_client} KiB, server {max_server} KiB");
    assert!(max_client < 48 * 1024, "client RSS {max_client} KiB");
    assert!(max_server < 64 * 1024, "server RSS {max_server} KiB");
}

#[test]
fn every_exit_status_is_returned() {
    let s = TestServer::start("");
    for code in 0..=255u32 {
        let mut c = s.rexec();
        c.args(["sh", "-c", &format!("exit {code}")])
            .stdin(Stdio::null());
        let st = c.status().unwrap();
        assert_eq!(st.code(), Some(code as i32), "exit {code}");
    }
}

#[test]
fn death_by_signal_is_128_plus_n() {
    // No core files from SIGABRT/SIGSEGV.
    let s = TestServer::start("[limits]\nrlimit_core_bytes = 0\n");
    for sig in [
        libc::SIGKILL,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGABRT,
        libc::SIGSEGV,
    ] {
        let mut c = s.rexec();
        c.args(["sh", "-c", &format!("kill -{sig} $$")])
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        let st = c.status().unwrap();
        assert_eq!(st.code(), Some(128 + sig), "signal {sig}");
    }
}

#[test]
fn signals_are_forwarded() {
    let s = TestServer::start("");
    let sigs = [
        ("INT", libc::SIGINT),
        ("TERM", libc::SIGTERM),
        ("HUP", libc::SIGHUP),
        ("QUIT", libc::SIGQUIT),
        ("USR1", libc::SIGUSR1),
        ("USR2", libc::SIGUSR2),
    ];
    std::thread::scope(|sc| {
        for (name, num) in sigs {
            let s = &s;
            sc.spawn(move || {
                let script = format!(
                    "trap 'echo got {name}; exit 7' {name}; echo ready; while :; do sleep 0.05; done"
                );
                let mut c = s.rexec();
                c.args(["sh", "-c", &script])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped());
                let mut child = c.spawn().unwrap();
                let mut so = BufReader::new(child.stdout.take().unwrap());
                let mut line = String::new();
                so.read_line(&mut line).unwrap();
                assert_eq!(line, "ready\n");
                send_signal(child.id(), num);
                let mut rest = String::new();
                so.read_to_string(&mut rest).unwrap();
                let st = wait_timeout(&mut child, T);
                assert_eq!(rest, format!("got {name}\n"), "signal {name}");
                assert_eq!(st.code(), Some(7), "signal {name}");
            });
        }
    });
    // Without a trap, the remote process dies of the signal and rexec reports it.
    let mut c = s.rexec();
    c.args(["sleep", "30"]).stdin(Stdio::null());
    let mut child = c.spawn().unwrap();
    assert!(poll(T, || std::fs::read_dir(s.pidmap_dir())
        .map(|d| d.count() > 0)
        .unwrap_or(false)));
    send_signal(child.id(), libc::SIGTERM);
    let st = wait_timeout(&mut child, T);
    assert_eq!(st.code(), Some(128 + libc::SIGTERM));
}

/// Start `rexec sh -c` with background descendants (one in a subshell, one
/// that starts a session of its own); return the child and the remote pids.
fn start_tree(c: &mut std::process::Command) -> (std::process::Child, Vec<u32>) {
    c.args([
        "sh",
        "-c",
        "sleep 300 & echo $!; (sleep 300; true) & echo $!; setsid sleep 300 & echo $!; echo $$; wait",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut so = BufReader::new(child.stdout.take().unwrap());
    let mut pids = Vec::new();
    for _ in 0..4 {
        let mut line = String::new();
        so.read_line(&mut line).unwrap();
        pids.push(line.trim().parse::<u32>().unwrap());
    }
    std::mem::forget(so);
    for &p in &pids {
        assert!(alive(p));
    }
    (child, pids)
}

#[test]
fn client_sigkill_kills_remote_tree_within_a_second() {
    let s = TestServer::start("");
    let (mut child, pids) = start_tree(&mut s.rexec());
    child.kill().unwrap();
    let t0 = Instant::now();
    let gone = poll(Duration::from_secs(1), || pids.iter().all(|&p| !alive(p)));
    let _ = child.wait();
    assert!(gone, "remote processes still alive after 1 s: {pids:?}");
    eprintln!("remote tree gone after {:?}", t0.elapsed());
    assert!(s.wait_log("connection lost", T));
}

#[test]
fn connection_drop_kills_remote_tree_within_a_second() {
    use std::net::{Shutdown, TcpListener, TcpStream};
    let s = TestServer::start("");
    // A proxy between client and server whose connection we cut.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let target = s.addr.trim_start_matches("tcp://").to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (a, _) = l.accept().unwrap();
        let b = TcpStream::connect(target).unwrap();
        let (mut a2, mut b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
        let (mut a3, mut b3) = (a.try_clone().unwrap(), b.try_clone().unwrap());
        std::thread::spawn(move || std::io::copy(&mut a2, &mut b2));
        std::thread::spawn(move || std::io::copy(&mut b3, &mut a3));
        tx.send((a, b)).unwrap();
    });
    let mut c = s.rexec();
    c.env("CMD_NET_ADDR", format!("tcp://127.0.0.1:{port}"))
        .stderr(Stdio::piped());
    let (mut child, pids) = start_tree(&mut c);
    let (a, b) = rx.recv().unwrap();
    a.shutdown(Shutdown::Both).unwrap();
    b.shutdown(Shutdown::Both).unwrap();
    let gone = poll(Duration::from_secs(1), || pids.iter().all(|&p| !alive(p)));
    assert!(gone, "remote processes still alive after 1 s: {pids:?}");
    let st = wait_timeout(&mut child, T);
    assert_eq!(st.code(), Some(255));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("connection to the server lost"), "{err}");
}

#[test]
fn silent_client_is_killed_after_heartbeat_timeout() {
    use rexec::protocol::{ExecRequest, Frame};
    use std::net::TcpStream;
    let s = TestServer::start("[session]\nheartbeat_timeout_ms = 1500\n");
    let mut sock = TcpStream::connect(s.addr.trim_start_matches("tcp://")).unwrap();
    let req = Frame::Exec(ExecRequest {
        argv: vec![b"sleep".to_vec(), b"300".to_vec()],
        env: vec![],
        cwd: b"/".to_vec(),
    });
    sock.write_all(&req.encode()).unwrap();
    let mut hdr = [0u8; 13];
    sock.read_exact(&mut hdr).unwrap();
    let started = Frame::decode(&hdr[4..]).unwrap();
    let Frame::Started { pid, .. } = started else {
        panic!("{started:?}")
    };
    assert!(alive(pid));
    // Stay connected but silent: the server must give up on us.
    assert!(poll(Duration::from_secs(5), || !alive(pid)));
    assert!(s.wait_log("no heartbeat", T));
    drop(sock);
}

#[test]
fn pid_map_maps_local_to_remote() {
    let s = TestServer::start("");
    let mut c = s.rexec();
    c.args(["sleep", "30"]).stdin(Stdio::null());
    let mut child = c.spawn().unwrap();
    let local = child.id();
    let entry = s.pidmap_dir().join(local.to_string());
    assert!(poll(T, || entry.exists()));
    let out = s
        .rexec()
        .args(["--remote-pid", &local.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let remote: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let cmdline = std::fs::read(format!("/proc/{remote}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x0030\x00");
    // The documented remote_kill pattern: kill the remote pid via rexec.
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{REXEC} sh -c 'kill -USR1 \"$1\"' sh $({REXEC} --remote-pid {local})"
        ))
        .env("CMD_NET_ADDR", &s.addr)
        .env("REXEC_PIDMAP_DIR", s.pidmap_dir())
        .status()
        .unwrap();
    assert!(st.success());
    let st = wait_timeout(&mut child, T);
    assert_eq!(st.code(), Some(128 + libc::SIGUSR1));
    assert!(!entry.exists(), "pid map entry not removed");
    let out = s
        .rexec()
        .args(["--remote-pid", &local.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn hundred_concurrent_sessions() {
    let s = TestServer::start("");
    let mut children = Vec::new();
    for i in 0..100 {
        let mut c = s.rexec();
        c.args(["sh", "-c", "sleep 1; echo $0", &format!("n{i}")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        children.push(c.spawn().unwrap());
    }
    // All 100 run at the same time on the server.
    assert!(
        poll(T, || s.log_text().matches("started").count() >= 100),
        "not all sessions started"
    );
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "session {i}: {out:?}");
        assert_eq!(out.stdout, format!("n{i}\n").into_bytes());
    }
}

#[test]
fn broken_local_stdout_behaves_like_sigpipe() {
    let s = TestServer::start("");
    // `rexec yes | head -n 1` must end, like `yes | head -n 1` does.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{REXEC} yes | head -n 1"))
        .env("CMD_NET_ADDR", &s.addr)
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"y\n");
    let mut c = s.rexec();
    c.arg("yes").stdout(Stdio::piped()).stdin(Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut so = child.stdout.take().unwrap();
    let mut b = [0u8; 2];
    so.read_exact(&mut b).unwrap();
    drop(so);
    let st = wait_timeout(&mut child, T);
    assert_eq!(st.signal(), Some(libc::SIGPIPE));
}

/// Finding 8: a process that called setsid, dropped REXEC_SESSION and was
/// reparented (double fork) survived kill-on-disconnect.
#[test]
fn kill_on_disconnect_reaches_processes_that_left_the_session() {
    let cgroups = rexec::cgroup::SessionCgroups::detect();
    if !prerequisite(
        "kill_on_disconnect_reaches_processes_that_left_the_session",
        cgroups.is_ok(),
        &format!("cgroup v2 with cgroup.kill ({:?})", cgroups.err()),
    ) || !prerequisite(
        "kill_on_disconnect_reaches_processes_that_left_the_session",
        std::path::Path::new("/usr/bin/setsid").exists(),
        "/usr/bin/setsid (util-linux)",
    ) {
        return;
    }
    let s = TestServer::start("");
    assert!(
        s.wait_log("each session gets a cgroup", T),
        "{}",
        s.log_text()
    );
    let mut c = s.rexec();
    c.args([
        "sh",
        "-c",
        "(setsid env -u REXEC_SESSION sh -c 'echo $$; exec sleep 300' &); exec sleep 300",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let escaped: u32 = line.trim().parse().unwrap();
    assert!(alive(escaped));
    let sid = rexec::process::session_of(escaped);
    assert_eq!(
        sid,
        Some(escaped),
        "the process did not start a session of its own"
    );
    child.kill().unwrap();
    let _ = child.wait();
    let gone = poll(Duration::from_secs(2), || !alive(escaped));
    if !gone {
        send_signal(escaped, libc::SIGKILL);
    }
    assert!(gone, "process {escaped} escaped kill-on-disconnect");
    assert!(s.wait_log("killed the process tree (its cgroup)", T));
}

#[test]
fn leftover_descendants_are_killed_when_the_command_exits() {
    let s = TestServer::start("");
    let mut c = s.rexec();
    c.args([
        "sh",
        "-c",
        "setsid sleep 300 >/dev/null 2>&1 & echo $!; sleep 300 & echo $!",
    ]);
    let out = run_output(c, b"", T);
    assert!(out.status.success());
    let pids: Vec<u32> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2);
    assert!(poll(Duration::from_secs(1), || pids
        .iter()
        .all(|&p| !alive(p))));
    // With kill_leftovers = false they survive, as after a local `cmd &`.
    let s = TestServer::start("[session]\nkill_leftovers = false\ndrain_timeout_ms = 200\n");
    let mut c = s.rexec();
    c.args(["sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"]);
    let out = run_output(c, b"", T);
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(alive(pid));
    send_signal(pid, libc::SIGKILL);
}

#[test]
fn signal_before_the_remote_process_exists_ends_rexec() {
    // A "server" that accepts and never answers.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || l.accept().map(|(s, _)| s));
    let mut child = std::process::Command::new(REXEC)
        .arg("true")
        .env("CMD_NET_ADDR", format!("tcp://127.0.0.1:{port}"))
        .env("REXEC_CONFIG", "/dev/null")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let _conn = holder.join().unwrap().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    send_signal(child.id(), libc::SIGTERM);
    let st = wait_timeout(&mut child, Duration::from_secs(5));
    assert_eq!(st.signal(), Some(libc::SIGTERM));
}

#[test]
fn commands_die_with_the_server() {
    let mut s = TestServer::start("");
    let mut c = s.rexec();
    c.args(["sh", "-c", "echo $$; exec sleep 300"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let remote: u32 = line.trim().parse().unwrap();
    assert!(alive(remote));
    s.child.kill().unwrap();
    let _ = s.child.wait();
    assert!(poll(Duration::from_secs(2), || !alive(remote)));
    assert_eq!(wait_timeout(&mut child, T).code(), Some(255));
}

#[test]
fn run_as_another_user() {
    if !prerequisite("run_as_another_user", is_root(), "root") {
        return;
    }
    let s = TestServer::start("run_as_uid = 65534\nrun_as_gid = 65534\n");
    let mut c = s.rexec();
    c.args(["sh", "-c", "echo $(id -u) $(id -g) $(id -G)"])
        .current_dir("/");
    let out = run_output(c, b"", T);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"65534 65534 65534\n");
}

/// Finding 9: run_as_uid without run_as_gid kept the server's gid 0.
#[test]
fn run_as_uid_alone_takes_the_users_primary_group() {
    if !prerequisite(
        "run_as_uid_alone_takes_the_users_primary_group",
        is_root(),
        "root",
    ) {
        return;
    }
    let gid = rexec::process::primary_gid(65534).expect("uid 65534 (nobody) in /etc/passwd");
    let s = TestServer::start("run_as_uid = 65534\n");
    let mut c = s.rexec();
    c.args(["sh", "-c", "echo $(id -u) $(id -g) $(id -G)"])
        .current_dir("/");
    let out = run_output(c, b"", T);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("65534 {gid} {gid}\n")
    );
    // A uid without a passwd entry needs an explicit gid.
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(
        d.path(),
        "run_as_uid = 3999999\nallowed_clients = [\"127.0.0.1\"]\ninsecure_plaintext = true\n[[allow]]\npath = \"/usr/bin/true\"\n",
    );
    let out = std::process::Command::new(SERVER)
        .arg("--config")
        .arg(&cfg)
        .env("CMD_NET_ADDR", "tcp://127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("set run_as_gid"),
        "{out:?}"
    );
}

#[test]
fn remote_kill_example_script() {
    let s = TestServer::start_with(
        "tcp://127.0.0.1:0",
        "",
        &format!("{DEFAULT_ALLOW}\n[[allow]]\npath = \"/bin/kill\"\n"),
    );
    let mut c = s.rexec();
    c.args(["sleep", "30"]).stdin(Stdio::null());
    let mut child = c.spawn().unwrap();
    let entry = s.pidmap_dir().join(child.id().to_string());
    assert!(poll(T, || entry.exists()));
    let bin_dir = std::path::Path::new(REXEC).parent().unwrap();
    // This checkout's script (CARGO_MANIFEST_DIR at run time: the test
    // binary may have been built in another checkout).
    let script =
        std::path::Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
            .join("examples/remote_kill");
    let st = std::process::Command::new(script)
        .args(["-KILL", &child.id().to_string()])
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env("CMD_NET_ADDR", &s.addr)
        .env("REXEC_PIDMAP_DIR", s.pidmap_dir())
        .env("REXEC_CONFIG", "/dev/null")
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(
        wait_timeout(&mut child, T).code(),
        Some(128 + libc::SIGKILL)
    );
}

#[test]
fn silent_server_is_detected_by_the_client() {
    use rexec::protocol::Frame;
    // A "server" that accepts the request, reports a start, then goes silent
    // without closing (like a host that vanished).
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        s.write_all(
            &Frame::Started {
                pid: 1,
                stdin_window: 1 << 20,
            }
            .encode(),
        )
        .unwrap();
        std::thread::sleep(Duration::from_secs(2));
        drop(s);
    });
    let out = std::process::Command::new(REXEC)
        .arg("true")
        .env("CMD_NET_ADDR", format!("tcp://127.0.0.1:{port}"))
        .env("REXEC_CONFIG", "/dev/null")
        .env("REXEC_SERVER_TIMEOUT_MS", "800")
        .env("REXEC_PIDMAP_DIR", "/nonexistent/rexec-pidmap")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stopped responding"));
    holder.join().unwrap();
}

#[test]
fn slow_reader_is_not_mistaken_for_a_dead_server() {
    // The server's heartbeat is the client's watchdog; a local reader that
    // stalls longer than the timeout must not trip it. The command ends
    // while most of its output is still queued behind the stalled reader:
    // none of it may be lost (drain timeout, connection close).
    let s = TestServer::start("");
    let mut c = s.rexec();
    c.args(["head", "-c", "48000000", "/dev/zero"])
        .env("REXEC_SERVER_TIMEOUT_MS", "500")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut so = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 16];
    so.read_exact(&mut buf).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let mut total = buf.len();
    loop {
        let n = so.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, 48_000_000);
    assert!(wait_timeout(&mut child, T).success());
}

fn proc_state(pid: u32) -> Option<u8> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    stat.get(close + 2).copied()
}

/// State, parent and process group of each process (from /proc/*/stat).
fn processes() -> Vec<(u32, u8, u32, u32)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.iter().rposition(|&b| b == b')') else {
            continue;
        };
        let rest = String::from_utf8_lossy(&stat[close + 2..]).into_owned();
        let f: Vec<&str> = rest.split(' ').collect();
        if let (Some(st), Some(ppid), Some(pgrp)) = (f.first(), f.get(1), f.get(2)) {
            let (Ok(ppid), Ok(pgrp)) = (ppid.parse(), pgrp.parse()) else {
                continue;
            };
            v.push((pid, st.as_bytes()[0], ppid, pgrp));
        }
    }
    v
}

/// Whether every process of group `pgid` is stopped. A shell that
/// vforked waits (in `D`) for its child, which the stop caught before it
/// could exec: that one counts as stopped too.
fn group_stopped(pgid: u32) -> bool {
    let all = processes();
    let members: Vec<_> = all.iter().filter(|p| p.3 == pgid).collect();
    !members.is_empty()
        && members.iter().all(|&&(pid, st, _, _)| {
            st == b'T' || (st == b'D' && members.iter().any(|c| c.2 == pid && c.1 == b'T'))
        })
}

#[test]
fn job_control_stop_and_continue() {
    // Ctrl-Z (SIGTSTP) stops the remote process and rexec; SIGCONT resumes
    // both; being stopped longer than the heartbeat timeout is fine.
    // The client pings every second; the server gives up after 1.5 s of
    // silence, unless the client announced its stop.
    let s = TestServer::start("[session]\nheartbeat_timeout_ms = 1500\n");
    let mut c = s.rexec();
    c.env("REXEC_LOG", "rexec=debug");
    c.args([
        "sh",
        "-c",
        "echo $$; i=0; while :; do echo $i; i=$((i+1)); sleep 0.05; done",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    // Never leave a stopped rexec behind if an assertion fails.
    struct Reaper(u32);
    impl Drop for Reaper {
        fn drop(&mut self) {
            send_signal(self.0, libc::SIGKILL);
        }
    }
    let _reaper = Reaper(child.id());
    let mut so = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    so.read_line(&mut line).unwrap();
    let remote: u32 = line.trim().parse().unwrap();
    send_signal(child.id(), libc::SIGTSTP);
    assert!(
        poll(T, || proc_state(child.id()) == Some(b'T')),
        "rexec not stopped"
    );
    // The remote leads its own session and process group.
    assert!(
        poll(T, || group_stopped(remote)),
        "remote not stopped; server log:\n{}",
        s.log_text()
    );
    std::thread::sleep(Duration::from_millis(3000));
    if !group_stopped(remote) {
        eprintln!("SERVER LOG:\n{}", s.log_text());
    }
    assert!(
        group_stopped(remote),
        "remote killed or running while rexec was stopped"
    );
    send_signal(child.id(), libc::SIGCONT);
    assert!(poll(T, || !group_stopped(remote)), "remote not continued");
    // Output flows again.
    for _ in 0..3 {
        line.clear();
        so.read_line(&mut line).unwrap();
        assert!(!line.is_empty());
    }
    send_signal(child.id(), libc::SIGTERM);
    assert_eq!(
        wait_timeout(&mut child, T).code(),
        Some(128 + libc::SIGTERM)
    );
}
