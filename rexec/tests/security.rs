//! Loopback tests of the server's policy and robustness: whitelist, client
//! addresses, config safety, mutual TLS, unix sockets, bad input, shutdown.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use rexec::protocol::{ExecRequest, Frame, FrameReader};

const T: Duration = Duration::from_secs(20);

fn ok_true(s: &TestServer) {
    let st = s.rexec().arg("true").stdin(Stdio::null()).status().unwrap();
    assert!(st.success(), "server stopped serving");
}

#[test]
fn unknown_binary_is_refused_clearly() {
    let s = TestServer::start("");
    let out = s.rexec().arg("ls").output().unwrap();
    assert_eq!(out.status.code(), Some(126));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not allowed by the server whitelist"), "{err}");
    let out = s.rexec().arg("no-such-cmd-xyz").output().unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("command not found"));
    assert!(s.wait_log("refused", T));
    ok_true(&s);
}

#[test]
fn whitelist_compares_real_paths_and_args() {
    let s = TestServer::start("");
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("links")).unwrap();
    let link = d.path().join("links/cat");
    std::os::unix::fs::symlink("/usr/bin/cat", &link).unwrap();
    let out = run_output(
        {
            let mut c = s.rexec();
            c.arg(&link);
            c
        },
        b"via link\n",
        T,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"via link\n");
    // A symlink with a whitelisted-looking name to a binary that is not.
    let fake = d.path().join("cat");
    std::os::unix::fs::symlink("/usr/bin/ls", &fake).unwrap();
    let out = s.rexec().arg(&fake).output().unwrap();
    assert_eq!(out.status.code(), Some(126));
    // Argument rules: echo accepts only -n and [a-z]+ operands.
    let out = s.rexec().args(["echo", "-n", "abc"]).output().unwrap();
    assert_eq!(out.stdout, b"abc");
    let out = s.rexec().args(["echo", "ABC"]).output().unwrap();
    assert_eq!(out.status.code(), Some(126));
    assert!(String::from_utf8_lossy(&out.stderr).contains("arguments not allowed"));
    // Multi-call binaries: `names` restricts argv[0].
    let s = TestServer::start_with(
        "tcp://127.0.0.1:0",
        "",
        "[[allow]]\npath = \"/usr/bin/true\"\nnames = [\"true\"]\nmax_args = 0\n",
    );
    assert!(s.rexec().arg("true").status().unwrap().success());
    let out = s.rexec().args(["true", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(126));
    let other = d.path().join("other");
    std::os::unix::fs::symlink("/usr/bin/true", &other).unwrap();
    let out = s.rexec().arg(&other).output().unwrap();
    assert_eq!(out.status.code(), Some(126));
}

/// Finding 2: a rule without `names` accepted every argv[0] that resolves
/// to its file, so a /sbin/modprobe rule on kmod also allowed insmod.
#[test]
fn rule_without_names_allows_only_its_own_name() {
    let d = tempfile::tempdir().unwrap();
    // A multi-call binary reachable under two names, as kmod is.
    let modprobe = d.path().join("modprobe");
    let insmod = d.path().join("insmod");
    std::os::unix::fs::symlink("/usr/bin/true", &modprobe).unwrap();
    std::os::unix::fs::symlink("/usr/bin/true", &insmod).unwrap();
    let s = TestServer::start_with(
        "tcp://127.0.0.1:0",
        "",
        &format!("[[allow]]\npath = \"{}\"\n", modprobe.display()),
    );
    assert!(s.rexec().arg(&modprobe).status().unwrap().success());
    let out = s.rexec().arg(&insmod).output().unwrap();
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not allowed"));
    // Not even under the name of the file the link points to.
    let out = s.rexec().arg("/usr/bin/true").output().unwrap();
    assert_eq!(out.status.code(), Some(126), "{out:?}");
}

/// The `[[allow]]` rule for `path` in the shipped example config, as TOML,
/// with its path replaced by a stand-in that echoes its arguments.
fn example_rule_with_stand_in(path: &str, dir: &std::path::Path) -> (String, std::path::PathBuf) {
    let text = include_str!("../examples/rexec_server.toml");
    let cfg: toml::Table = toml::from_str(text).unwrap();
    let rules = cfg["allow"].as_array().unwrap();
    let mut rule = rules
        .iter()
        .find(|r| r["path"].as_str() == Some(path))
        .unwrap_or_else(|| panic!("no rule for {path} in the example"))
        .as_table()
        .unwrap()
        .clone();
    let name = std::path::Path::new(path).file_name().unwrap();
    let stand_in = dir.join(name);
    std::os::unix::fs::symlink("/usr/bin/echo", &stand_in).unwrap();
    rule.insert("path".into(), stand_in.display().to_string().into());
    (
        format!("[[allow]]\n{}", toml::to_string(&rule).unwrap()),
        stand_in,
    )
}

/// Finding 3: argument patterns matched at any position, so the example
/// kill rule accepted `-9 -1` (every process) and modprobe `--force`.
#[test]
fn shipped_examples_refuse_kill_all_and_forced_modprobe() {
    let d = tempfile::tempdir().unwrap();
    let (kill_rule, kill) = example_rule_with_stand_in("/bin/kill", d.path());
    let (modprobe_rule, modprobe) = example_rule_with_stand_in("/sbin/modprobe", d.path());
    let s = TestServer::start_with(
        "tcp://127.0.0.1:0",
        "",
        &format!("{kill_rule}\n{modprobe_rule}"),
    );
    let run =
        |prog: &std::path::Path, args: &[&str]| s.rexec().arg(prog).args(args).output().unwrap();
    for args in [
        &["-9", "-1"][..],
        &["-KILL", "-1"],
        &["-TERM", "1"],
        &["-TERM", "-1234"],
        &["1234"],
    ] {
        let out = run(&kill, args);
        assert_eq!(
            out.status.code(),
            Some(126),
            "kill {args:?} was not refused: {out:?}"
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("arguments not allowed"));
    }
    let out = run(&kill, &["-TERM", "1234"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"-TERM 1234\n");
    for args in [
        &["--force", "x"][..],
        &["x", "--force"],
        &["-f", "x"],
        &["x", "opt=1"],
        &["x", "y"],
    ] {
        let out = run(&modprobe, args);
        assert_eq!(
            out.status.code(),
            Some(126),
            "modprobe {args:?} was not refused: {out:?}"
        );
    }
    let out = run(&modprobe, &["-r", "-q", "nbd"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"-r -q nbd\n");
}

#[test]
fn allowed_client_addresses() {
    let s = TestServer::start("allowed_clients = [\"10.9.8.7\", \"192.168.0.0/16\"]\n");
    let out = s.rexec().arg("true").output().unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("client address not allowed"));
    assert!(s.wait_log("not in allowed_clients", T));
    let s = TestServer::start("allowed_clients = [\"127.0.0.0/8\"]\n");
    ok_true(&s);
}

fn server_refuses(cfg_text: Option<&str>, mode: u32, needle: &str) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("rexec_server.toml");
    if let Some(t) = cfg_text {
        std::fs::write(&p, t).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let mut c = Command::new(SERVER);
    c.arg("--config")
        .arg(&p)
        .env("CMD_NET_ADDR", "tcp://127.0.0.1:0");
    let out = run_output(c, b"", T);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "expected {needle:?} in {err}");
}

#[test]
fn missing_or_unsafe_whitelist_refuses_to_start() {
    let allow = "[[allow]]\npath = \"/usr/bin/true\"\n";
    server_refuses(None, 0o600, "cannot read config");
    server_refuses(Some(allow), 0o666, "world-writable");
    server_refuses(Some(allow), 0o602, "world-writable");
    server_refuses(Some(""), 0o600, "whitelist is empty");
    server_refuses(Some("bogus = 1\n"), 0o600, "invalid config");
    server_refuses(
        Some("[[allow]]\npath = \"relative\"\n"),
        0o600,
        "must be absolute",
    );
}

/// Finding 5: a TCP listener without `allowed_clients` used to admit anyone,
/// and one without `[tls]` served plain TCP after a mere warning.
#[test]
fn tcp_needs_allowed_clients_and_tls_or_explicit_plaintext() {
    let allow = "[[allow]]\npath = \"/usr/bin/true\"\n";
    server_refuses(Some(allow), 0o600, "needs allowed_clients");
    server_refuses(
        Some(&format!("allowed_clients = [\"127.0.0.1\"]\n{allow}")),
        0o600,
        "insecure_plaintext = true",
    );
    // An explicit "*" admits any address; plain TCP once it is asked for.
    let s = TestServer::start("allowed_clients = [\"*\"]\ninsecure_plaintext = true\n");
    ok_true(&s);
}

#[test]
fn plain_tcp_logs_a_warning() {
    let s = TestServer::start("");
    assert!(s.log_text().contains("plain TCP"));
}

#[test]
fn unix_socket() {
    let s = TestServer::start_with("unix://$DIR/rexec.sock", "", DEFAULT_ALLOW);
    assert!(s.addr.starts_with("unix://"));
    let out = run_output(
        {
            let mut c = s.rexec();
            c.arg("cat");
            c
        },
        b"over unix\n",
        T,
    );
    assert!(out.status.success());
    assert_eq!(out.stdout, b"over unix\n");
    let sock = s.dir.path().join("rexec.sock");
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!s.log_text().contains("plain TCP"));
}

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn path(&self, n: &str) -> String {
        self.dir.path().join(n).display().to_string()
    }
}

fn make_pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose as Eku, IsCa, KeyPair,
    };
    let dir = tempfile::tempdir().unwrap();
    let write = |n: &str, s: String| {
        let p = dir.path().join(n);
        std::fs::write(&p, s).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let mk_ca = |name: &str| {
        let mut p = CertificateParams::new(vec![]).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, name.to_string());
        let k = KeyPair::generate().unwrap();
        let c = p.self_signed(&k).unwrap();
        (c, k, p)
    };
    let (ca, ca_key, ca_params) = mk_ca("rexec test CA");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    write("ca.pem", ca.pem());
    let (_, rogue_key, rogue_params) = mk_ca("rogue CA");
    let rogue = rcgen::Issuer::new(rogue_params, rogue_key);
    let leaf = |file: &str, names: &[&str], usage: Option<Eku>, by: &rcgen::Issuer<'_, KeyPair>| {
        let mut p = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.extended_key_usages = usage.into_iter().collect();
        let k = KeyPair::generate().unwrap();
        let c = p.signed_by(&k, by).unwrap();
        write(&format!("{file}.pem"), c.pem());
        write(&format!("{file}.key"), k.serialize_pem());
    };
    leaf(
        "server",
        &["127.0.0.1", "localhost"],
        Some(Eku::ServerAuth),
        &issuer,
    );
    leaf("client", &["client"], Some(Eku::ClientAuth), &issuer);
    // Same CA, but not in tls.clients; and one without the clientAuth usage.
    leaf("intruder", &["intruder"], Some(Eku::ClientAuth), &issuer);
    leaf("no-usage", &["client"], None, &issuer);
    // A client certificate from another CA.
    leaf("rogue", &["client"], Some(Eku::ClientAuth), &rogue);
    Pki { dir }
}

#[test]
fn mutual_tls() {
    let pki = make_pki();
    let s = TestServer::start(&format!(
        "[tls]\ncert = \"{}\"\nkey = \"{}\"\nclient_ca = \"{}\"\nclients = [\"client\"]\n",
        pki.path("server.pem"),
        pki.path("server.key"),
        pki.path("ca.pem")
    ));
    assert!(!s.log_text().contains("plain TCP"));
    let with_tls = |cert: &str, key: &str| {
        let mut c = s.rexec();
        c.env("REXEC_TLS_CA", pki.path("ca.pem"))
            .env("REXEC_TLS_CERT", pki.path(cert))
            .env("REXEC_TLS_KEY", pki.path(key));
        c
    };
    let out = run_output(
        {
            let mut c = with_tls("client.pem", "client.key");
            c.arg("cat");
            c
        },
        b"secret\n",
        T,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"secret\n");
    // No client certificate at all (plain client): refused.
    let out = s.rexec().arg("true").output().unwrap();
    assert_eq!(out.status.code(), Some(255));
    // A certificate from another CA: refused.
    let out = with_tls("rogue.pem", "rogue.key")
        .arg("true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(s.wait_log("TLS handshake failed", T));
    // A raw TLS client without a certificate: handshake refused.
    {
        let roots = {
            let mut r = rustls::RootCertStore::empty();
            use rustls::pki_types::pem::PemObject;
            for c in rustls::pki_types::CertificateDer::pem_file_iter(pki.path("ca.pem")).unwrap() {
                r.add(c.unwrap()).unwrap();
            }
            r
        };
        let cfg = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut conn = rustls::ClientConnection::new(
            std::sync::Arc::new(cfg),
            "127.0.0.1".try_into().unwrap(),
        )
        .unwrap();
        let mut sock = TcpStream::connect(s.addr.trim_start_matches("tcp://")).unwrap();
        sock.set_read_timeout(Some(T)).unwrap();
        let mut tls = rustls::Stream::new(&mut conn, &mut sock);
        let req = Frame::Exec(ExecRequest {
            argv: vec![b"true".to_vec()],
            env: vec![],
            cwd: b"/".to_vec(),
        });
        let _ = tls.write_all(&req.encode());
        let mut buf = [0u8; 64];
        let r = tls.read(&mut buf);
        assert!(
            !matches!(r, Ok(n) if n > 0),
            "server answered a client without certificate: {r:?}"
        );
    }
    let out = with_tls("client.pem", "client.key")
        .arg("true")
        .output()
        .unwrap();
    assert!(out.status.success());
}

/// Finding 6: any certificate the client CA signed was accepted, even the
/// server's own; and no rule could be limited to some clients.
#[test]
fn mutual_tls_binds_client_identities() {
    let pki = make_pki();
    let tls = format!(
        "[tls]\ncert = \"{}\"\nkey = \"{}\"\nclient_ca = \"{}\"\nclients = [\"client\"]\n",
        pki.path("server.pem"),
        pki.path("server.key"),
        pki.path("ca.pem")
    );
    let s = TestServer::start_with(
        "tcp://127.0.0.1:0",
        &tls,
        "[[allow]]\npath = \"/usr/bin/true\"\n\
         [[allow]]\npath = \"/usr/bin/uname\"\nclients = [\"client\"]\n\
         [[allow]]\npath = \"/usr/bin/id\"\nclients = [\"someone-else\"]\n",
    );
    let with_cert = |who: &str| {
        let mut c = s.rexec();
        c.env("REXEC_TLS_CA", pki.path("ca.pem"))
            .env("REXEC_TLS_CERT", pki.path(&format!("{who}.pem")))
            .env("REXEC_TLS_KEY", pki.path(&format!("{who}.key")));
        c
    };
    assert!(with_cert("client").arg("true").status().unwrap().success());
    for who in ["server", "intruder", "no-usage", "rogue"] {
        let out = with_cert(who).arg("true").output().unwrap();
        assert_eq!(out.status.code(), Some(255), "{who} was admitted: {out:?}");
    }
    let log = s.log_text();
    assert!(log.contains("not for TLS clients"), "{log}");
    assert!(log.contains("not in tls.clients"), "{log}");
    // Rules for some clients only.
    let out = with_cert("client").arg("uname").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = with_cert("client").arg("id").output().unwrap();
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    assert!(s.wait_log("(client)", T), "the identity is not in the log");
    // [tls] without clients, or client-restricted rules without [tls], do not start.
    server_refuses(
        Some(&format!(
            "allowed_clients = [\"127.0.0.1\"]\n[tls]\ncert = \"{}\"\nkey = \"{}\"\nclient_ca = \"{}\"\n[[allow]]\npath = \"/usr/bin/true\"\n",
            pki.path("server.pem"),
            pki.path("server.key"),
            pki.path("ca.pem")
        )),
        0o600,
        "[tls] needs clients",
    );
    server_refuses(
        Some("allowed_clients = [\"127.0.0.1\"]\ninsecure_plaintext = true\n[[allow]]\npath = \"/usr/bin/true\"\nclients = [\"client\"]\n"),
        0o600,
        "only [tls] identifies",
    );
}

fn raw_conn(s: &TestServer) -> TcpStream {
    let sock = TcpStream::connect(s.addr.trim_start_matches("tcp://")).unwrap();
    sock.set_read_timeout(Some(T)).unwrap();
    sock
}

fn read_frames(sock: TcpStream) -> Vec<Frame> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        sock.set_nonblocking(true).unwrap();
        let s = tokio::net::TcpStream::from_std(sock).unwrap();
        let mut r = FrameReader::new(s, 1 << 24);
        let mut v = Vec::new();
        while let Ok(Ok(Some(f))) = tokio::time::timeout(T, r.next()).await {
            v.push(f);
        }
        v
    })
}

#[test]
fn garbage_and_malformed_input() {
    let s = TestServer::start("");
    // Pure garbage.
    let mut sock = raw_conn(&s);
    sock.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let frames = read_frames(sock);
    assert!(
        matches!(frames.last(), Some(Frame::Error { message, .. }) if message.contains("protocol error")),
        "{frames:?}"
    );
    // A valid frame header with an unknown type.
    let mut sock = raw_conn(&s);
    sock.write_all(&[0, 0, 0, 3, 0x7f, 1, 2]).unwrap();
    let frames = read_frames(sock);
    assert!(
        matches!(frames.last(), Some(Frame::Error { .. })),
        "{frames:?}"
    );
    // An Exec frame with a bad magic.
    let mut sock = raw_conn(&s);
    sock.write_all(&[0, 0, 0, 8, 1, b'N', b'O', b'P', b'E', 0, 0, 1])
        .unwrap();
    let frames = read_frames(sock);
    assert!(
        matches!(frames.last(), Some(Frame::Error { message, .. }) if message.contains("bad magic")),
        "{frames:?}"
    );
    // Exec frames with absurd counts: 4 billion argv entries, then 4 billion
    // environment pairs, in a few bytes.
    let exec_head = |counts: &[u32]| {
        let mut f = vec![1u8];
        f.extend_from_slice(rexec::protocol::MAGIC);
        f.extend_from_slice(&rexec::protocol::VERSION.to_be_bytes());
        for c in counts {
            f.extend_from_slice(&c.to_be_bytes());
        }
        let mut framed = (f.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(&f);
        framed
    };
    for (counts, what) in [
        (&[u32::MAX][..], "argv count"),
        (&[0, u32::MAX], "env count"),
    ] {
        let mut sock = raw_conn(&s);
        sock.write_all(&exec_head(counts)).unwrap();
        let frames = read_frames(sock);
        assert!(
            matches!(frames.last(), Some(Frame::Error { message, .. }) if message.contains(what)),
            "{what}: {frames:?}"
        );
    }
    // A length prefix beyond the limit.
    let mut sock = raw_conn(&s);
    sock.write_all(&[0xff, 0xff, 0xff, 0xff, 1]).unwrap();
    let frames = read_frames(sock);
    assert!(
        matches!(frames.last(), Some(Frame::Error { message, .. }) if message.contains("exceeds"))
    );
    // A request that is not a request.
    let mut sock = raw_conn(&s);
    sock.write_all(&Frame::Ping.encode()).unwrap();
    let frames = read_frames(sock);
    assert!(
        matches!(frames.last(), Some(Frame::Error { .. })),
        "{frames:?}"
    );
    // Truncated request, then disconnect.
    let mut sock = raw_conn(&s);
    let enc = Frame::Exec(ExecRequest {
        argv: vec![b"true".to_vec()],
        env: vec![],
        cwd: vec![],
    })
    .encode();
    sock.write_all(&enc[..enc.len() - 3]).unwrap();
    drop(sock);
    // Random bytes.
    let mut x: u32 = 12345;
    for _ in 0..20 {
        let mut sock = raw_conn(&s);
        let junk: Vec<u8> = (0..200)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        let _ = sock.write_all(&junk);
        drop(sock);
    }
    assert!(s.wait_log("protocol error", T));
    ok_true(&s);
}

#[test]
fn client_disconnecting_mid_stream() {
    let s = TestServer::start("");
    // A raw client starts `cat`, sends part of a stdin frame and vanishes.
    let mut sock = raw_conn(&s);
    let req = Frame::Exec(ExecRequest {
        argv: vec![b"cat".to_vec()],
        env: vec![],
        cwd: b"/".to_vec(),
    });
    sock.write_all(&req.encode()).unwrap();
    let mut hdr = [0u8; 13];
    sock.read_exact(&mut hdr).unwrap();
    let Frame::Started { pid, .. } = Frame::decode(&hdr[4..]).unwrap() else {
        panic!()
    };
    sock.write_all(&Frame::Stdin(b"partial".to_vec()).encode())
        .unwrap();
    let enc = Frame::Stdin(vec![7u8; 1000]).encode();
    sock.write_all(&enc[..500]).unwrap();
    drop(sock);
    assert!(poll(Duration::from_secs(2), || !alive(pid)));
    assert!(s.wait_log("connection lost", T));
    // A client that exceeds its stdin credit is stopped.
    let mut sock = raw_conn(&s);
    sock.write_all(&req.encode()).unwrap();
    sock.read_exact(&mut hdr).unwrap();
    let Frame::Started { pid, stdin_window } = Frame::decode(&hdr[4..]).unwrap() else {
        panic!()
    };
    // Stop cat from draining so the credit is really outstanding.
    send_signal(pid, libc::SIGSTOP);
    let chunk = Frame::Stdin(vec![1u8; 60_000]).encode();
    // More than the window plus what the (stopped) child's pipe can absorb.
    let n = (stdin_window as usize + (1 << 20)) / 60_000 + 2;
    for _ in 0..n {
        if sock.write_all(&chunk).is_err() {
            break;
        }
    }
    let frames = read_frames(sock);
    assert!(
        frames
            .iter()
            .any(|f| matches!(f, Frame::Error { message, .. } if message.contains("window"))),
        "{frames:?}"
    );
    assert!(poll(Duration::from_secs(2), || !alive(pid)));
    ok_true(&s);
}

/// Finding 7: each connection took a session slot before sending anything,
/// so idle connections from one address locked every other client out.
#[test]
fn a_flood_from_one_address_cannot_lock_out_others() {
    let s = TestServer::start(
        "allowed_clients = [\"127.0.0.0/8\"]\n[limits]\nmax_sessions = 4\nmax_unauthenticated_per_client = 8\n",
    );
    let target: std::net::SocketAddr = s.addr.trim_start_matches("tcp://").parse().unwrap();
    let flood: Vec<TcpStream> = (0..100)
        .filter_map(|_| TcpStream::connect(target).ok())
        .collect();
    // Past the per-address budget of 8 they are closed at once.
    for c in &flood {
        c.set_nonblocking(true).unwrap();
    }
    let closed = |flood: &[TcpStream]| {
        flood
            .iter()
            .filter(|c| {
                let mut c: &TcpStream = c;
                !matches!(c.read(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            })
            .count()
    };
    assert!(
        poll(T, || closed(&flood) >= flood.len() - 8),
        "only {} of {} closed",
        closed(&flood),
        flood.len()
    );
    // Another address still gets a session while the flood holds its 8.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(
        &"127.0.0.2:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    sock.connect(&target.into()).unwrap();
    let mut other: TcpStream = sock.into();
    other.set_read_timeout(Some(T)).unwrap();
    let req = Frame::Exec(ExecRequest {
        argv: vec![b"true".to_vec()],
        env: vec![],
        cwd: b"/".to_vec(),
    });
    other.write_all(&req.encode()).unwrap();
    let frames = read_frames(other);
    assert!(
        frames
            .iter()
            .any(|f| matches!(f, Frame::Exit(rexec::protocol::ExitStatus::Code(0)))),
        "{frames:?}"
    );
    drop(flood);
    // Once the flood is gone, its address is served again.
    assert!(poll(T, || s
        .rexec()
        .arg("true")
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()));
}

#[test]
fn server_busy_when_session_limit_reached() {
    let s = TestServer::start("[limits]\nmax_sessions = 1\n");
    let mut c = s.rexec();
    c.args(["sleep", "3"]).stdin(Stdio::null());
    let mut first = c.spawn().unwrap();
    assert!(s.wait_log("started", T));
    let out = s.rexec().arg("true").output().unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server busy"));
    let _ = first.kill();
    let _ = first.wait();
}

#[test]
fn graceful_shutdown() {
    let s = TestServer::start("[session]\nshutdown_timeout_ms = 5000\n");
    let mut c = s.rexec();
    c.args(["sh", "-c", "sleep 1; echo finished"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let running = c.spawn().unwrap();
    assert!(s.wait_log("started", T));
    send_signal(s.pid(), libc::SIGTERM);
    assert!(s.wait_log("stopped accepting", T));
    // New clients are turned away...
    let out = s.rexec().arg("true").output().unwrap();
    assert_eq!(out.status.code(), Some(255));
    // ...while the running session completes normally.
    let out = running.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"finished\n");
    let mut srv = s;
    let st = wait_timeout(&mut srv.child, T);
    assert!(st.success(), "server exit {st:?}");
    // Sessions that outlive the shutdown timeout are killed.
    let s = TestServer::start("[session]\nshutdown_timeout_ms = 300\n");
    let mut c = s.rexec();
    c.args(["sleep", "300"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let running = c.spawn().unwrap();
    assert!(s.wait_log("started", T));
    send_signal(s.pid(), libc::SIGTERM);
    let out = running.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shutting down"));
    let mut srv = s;
    assert!(wait_timeout(&mut srv.child, T).success());
}

#[test]
fn multi_call_binary_names() {
    // busybox: every applet's real path is the same; `names` tells them apart.
    let bb = std::fs::canonicalize("/bin/busybox");
    if !prerequisite("multi_call_binary_names", bb.is_ok(), "/bin/busybox") {
        return;
    }
    let bb = bb.unwrap();
    let s = TestServer::start_with(
        "tcp://127.0.0.1:0",
        "",
        &format!(
            "[[allow]]\npath = \"{}\"\nnames = [\"cat\", \"echo\"]\n",
            bb.display()
        ),
    );
    let d = tempfile::tempdir().unwrap();
    for applet in ["cat", "echo", "ls"] {
        std::os::unix::fs::symlink(&bb, d.path().join(applet)).unwrap();
    }
    let mut c = s.rexec();
    c.arg(d.path().join("cat"));
    let out = run_output(c, b"applet\n", T);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"applet\n");
    let out = s
        .rexec()
        .arg(d.path().join("echo"))
        .arg("hi")
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"hi\n");
    let out = s.rexec().arg(d.path().join("ls")).output().unwrap();
    assert_eq!(out.status.code(), Some(126));
    // Calling busybox itself (argv[0] "busybox") is not one of the names.
    let out = s.rexec().arg(&bb).args(["ls", "/"]).output().unwrap();
    assert_eq!(out.status.code(), Some(126));
}

#[test]
fn resource_limits_apply_to_commands() {
    let s = TestServer::start(
        "[limits]\nrlimit_nofile = 64\nrlimit_core_bytes = 0\nrlimit_cpu_secs = 100\n",
    );
    let out = s
        .rexec()
        .args(["sh", "-c", "ulimit -n; ulimit -c; ulimit -t"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "64\n0\n100\n");
}

#[test]
fn flags_give_the_same_settings_as_the_environment() {
    // Server: --listen and --config; client: --addr and --pidmap-dir.
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(d.path(), DEFAULT_ALLOW);
    let sock = d.path().join("s.sock");
    let mut srv = Command::new(SERVER)
        .arg("--config")
        .arg(&cfg)
        .arg("--listen")
        .arg(format!("unix://{}", sock.display()))
        .env_remove("CMD_NET_ADDR")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(poll(T, || sock.exists()));
    let out = Command::new(REXEC)
        .arg("--addr")
        .arg(format!("unix://{}", sock.display()))
        .arg("--pidmap-dir")
        .arg(d.path().join("pm"))
        .args(["printf", "%s|", "-x", "--addr", "y"])
        .env_remove("CMD_NET_ADDR")
        .env("REXEC_CONFIG", "/dev/null")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // Options after the command belong to the command.
    assert_eq!(out.stdout, b"-x|--addr|y|");
    // No address at all: a clear error.
    let out = Command::new(REXEC)
        .arg("true")
        .env_remove("CMD_NET_ADDR")
        .env("REXEC_CONFIG", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no server address"));
    send_signal(srv.id(), libc::SIGTERM);
    assert!(wait_timeout(&mut srv, T).success());
    assert!(!sock.exists(), "socket not removed at shutdown");
}

#[test]
fn unix_socket_peer_uid_and_per_client_limits() {
    // Only uid 4242 may use this socket: we are not it.
    let s = TestServer::start_with(
        "unix://$DIR/rexec.sock",
        "allowed_uids = [4242]\n",
        DEFAULT_ALLOW,
    );
    let out = s.rexec().arg("true").output().unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("uid not allowed"));
    assert!(s.wait_log("not in allowed_uids", T));
    // One session per client address.
    let s = TestServer::start("[limits]\nmax_sessions_per_client = 1\n");
    let mut c = s.rexec();
    c.args(["sleep", "3"]).stdin(Stdio::null());
    let mut first = c.spawn().unwrap();
    assert!(s.wait_log("started", T));
    let out = s.rexec().arg("true").output().unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too many sessions from this client"));
    let _ = first.kill();
    let _ = first.wait();
    // The slot is given back when the session ends.
    assert!(poll(T, || s
        .rexec()
        .arg("true")
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()));
}

/// Finding 9: whitelisted binaries that others can replace were only
/// warned about, those owned by other users accepted, and a rule whose path
/// was missing at start was resolved again at each request.
#[test]
fn binaries_others_can_replace_or_that_are_missing_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let open_dir = d.path().join("open");
    std::fs::create_dir(&open_dir).unwrap();
    std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let in_open_dir = open_dir.join("mytrue");
    std::fs::copy("/usr/bin/true", &in_open_dir).unwrap();
    let rule = |p: &std::path::Path| {
        format!("allowed_clients = [\"127.0.0.1\"]\ninsecure_plaintext = true\n[[allow]]\npath = \"{}\"\n", p.display())
    };
    server_refuses(Some(&rule(&in_open_dir)), 0o600, "world-writable");
    let group_writable = d.path().join("gw-true");
    std::fs::copy("/usr/bin/true", &group_writable).unwrap();
    std::fs::set_permissions(&group_writable, std::fs::Permissions::from_mode(0o775)).unwrap();
    server_refuses(Some(&rule(&group_writable)), 0o600, "group-writable");
    server_refuses(
        Some(&rule(std::path::Path::new("/nonexistent/bin/tool"))),
        0o600,
        "does not exist",
    );
    if !prerequisite(
        "binaries_others_can_replace_or_that_are_missing_are_refused",
        is_root(),
        "root (to chown a binary)",
    ) {
        return;
    }
    let foreign = d.path().join("foreign-true");
    std::fs::copy("/usr/bin/true", &foreign).unwrap();
    std::os::unix::fs::chown(&foreign, Some(4321), None).unwrap();
    server_refuses(Some(&rule(&foreign)), 0o600, "owned by uid 4321");
    // Root's own copy in a directory only root can write is fine.
    let own = d.path().join("own-true");
    std::fs::copy("/usr/bin/true", &own).unwrap();
    let s = TestServer::start_with(
        "tcp://127.0.0.1:0",
        "",
        &format!("[[allow]]\npath = \"{}\"\n", own.display()),
    );
    assert!(s.rexec().arg(&own).status().unwrap().success());
}

/// Finding 9: the config check accepted files group-writable by root and
/// looked only at the file's own directory.
#[test]
fn config_writable_by_a_group_or_through_an_ancestor_is_refused() {
    let allow = "[[allow]]\npath = \"/usr/bin/true\"\n";
    server_refuses(Some(allow), 0o620, "group-writable");
    server_refuses(Some(allow), 0o660, "group-writable");
    // An ancestor directory anyone can write (and rename the rest under).
    let d = tempfile::tempdir().unwrap();
    let open_dir = d.path().join("open");
    let sub = open_dir.join("etc");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let p = write_config(&sub, allow);
    let out = Command::new(SERVER)
        .arg("--config")
        .arg(&p)
        .env("CMD_NET_ADDR", "tcp://127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("its directory {}", open_dir.display())),
        "{err}"
    );
    assert!(err.contains("world-writable"), "{err}");
}

/// Finding 9: a refusal told the client the real path of what it asked
/// for (walking /proc/<pid>/exe maps the HOST), and argv[0] went into the
/// log unescaped (a newline forges a log line).
#[test]
fn refusals_hide_real_paths_and_logs_escape_argv0() {
    let s = TestServer::start("");
    let d = tempfile::tempdir().unwrap();
    let link = d.path().join("innocent");
    std::os::unix::fs::symlink("/usr/bin/ls", &link).unwrap();
    let out = s.rexec().arg(&link).output().unwrap();
    assert_eq!(out.status.code(), Some(126));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not allowed"), "{err}");
    assert!(!err.contains("/usr/bin/ls"), "the real path leaked: {err}");
    let out = s.rexec().arg("/proc/self/exe").output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("rexec_server"));
    // The administrator still sees it.
    assert!(s.wait_log("/usr/bin/ls", T));
    for forged in ["nope\nFORGED-LOG-LINE", "nope\x1b[2J\rFORGED-LOG-LINE"] {
        let out = s.rexec().arg(forged).output().unwrap();
        assert_eq!(out.status.code(), Some(127));
        assert!(s.wait_log("FORGED-LOG-LINE", T));
    }
    let log = s.log_text();
    for line in log.lines().filter(|l| l.contains("FORGED-LOG-LINE")) {
        assert!(!line.starts_with("FORGED"), "forged log line: {line:?}");
        assert!(
            !line.contains('\x1b') && !line.contains('\r'),
            "raw control characters: {line:?}"
        );
    }
}
