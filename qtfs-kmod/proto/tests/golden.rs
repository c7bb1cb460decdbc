//! Golden byte vectors: one frame per message, in `tests/golden/frames.txt`.
//! Encoding a fixed sample must give exactly those bytes, and decoding those
//! bytes must give the sample back, so any change of the encoding fails
//! here. After an intended, versioned change, regenerate with
//! `QTFS_BLESS_GOLDEN=1 cargo test -p qtfs-proto --test golden` and review
//! the diff.

mod common;

use common::*;
use qtfs_proto::*;

const REQUEST_ID: u64 = 0x0102_0304_0506_0708;
const GOLDEN: &str = include_str!("golden/frames.txt");

fn all_frames() -> Vec<(String, Vec<u8>)> {
    let p = Pool::fixed();
    let creds = creds(&p);
    let mut out = Vec::new();
    for req in requests(&p) {
        let name = format!("request.{}", req.opcode().name());
        out.push((
            name,
            encode_with(|b| encode_request(b, REQUEST_ID, &creds, &req)),
        ));
    }
    for reply in replies(&p) {
        let name = format!("reply.{}", reply.opcode().name());
        out.push((name, encode_with(|b| encode_reply(b, REQUEST_ID, &reply))));
    }
    out.push((
        "reply.error".into(),
        encode_with(|b| encode_error_reply(b, 0x7777, REQUEST_ID, Errno::EOPNOTSUPP)),
    ));
    for event in events(&p) {
        out.push((
            "event.PollEvent".into(),
            encode_with(|b| encode_event(b, &event)),
        ));
    }
    for (i, msg) in handshakes(&p).iter().enumerate() {
        let name = match msg {
            HandshakeMessage::Hello(_) => "handshake.Hello".to_string(),
            HandshakeMessage::ServerHello(_) => "handshake.ServerHello".to_string(),
            HandshakeMessage::ClientAuth(_) => "handshake.ClientAuth".to_string(),
            HandshakeMessage::AuthOk => "handshake.AuthOk".to_string(),
            HandshakeMessage::Refused(op, _) => format!("handshake.Refused{}", op.name()),
        };
        out.push((
            name,
            encode_with(|b| encode_handshake(b, 1 + i as u64, msg)),
        ));
    }
    out
}

#[test]
fn frames_match_golden_vectors() {
    let frames = all_frames();
    let text: String = frames
        .iter()
        .map(|(n, f)| format!("{n} {}\n", hex(f)))
        .collect();
    if std::env::var_os("QTFS_BLESS_GOLDEN").is_some() {
        let path =
            std::path::Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
                .join("tests/golden/frames.txt");
        std::fs::write(path, &text).unwrap();
        return;
    }
    let golden: Vec<(&str, &str)> = GOLDEN
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_once(' ').expect("name hex"))
        .collect();
    assert_eq!(golden.len(), frames.len(), "one golden vector per message");
    for ((gname, ghex), (name, frame)) in golden.iter().zip(frames.iter()) {
        assert_eq!(gname, name);
        assert_eq!(*ghex, hex(frame), "encoding of {name} changed");
    }
}

#[test]
fn golden_vectors_decode_to_the_samples() {
    let p = Pool::fixed();
    let creds = creds(&p);
    let lines: Vec<(&str, Vec<u8>)> = GOLDEN
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (n, h) = l.split_once(' ').unwrap();
            (n, unhex(h))
        })
        .collect();
    let find = |name: &str| {
        lines
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f.clone())
            .unwrap()
    };
    for req in requests(&p) {
        let frame = find(&format!("request.{}", req.opcode().name()));
        let (h, body) = split_frame(&frame).unwrap();
        let got = decode_request(&h, body).unwrap();
        assert_eq!(
            (got.request_id, got.creds, got.request),
            (REQUEST_ID, creds, req)
        );
    }
    for reply in replies(&p) {
        let frame = find(&format!("reply.{}", reply.opcode().name()));
        let (h, body) = split_frame(&frame).unwrap();
        assert_eq!(decode_reply(&h, body).unwrap().result, Ok(reply));
    }
    let frame = find("reply.error");
    let (h, body) = split_frame(&frame).unwrap();
    assert_eq!(
        decode_reply(&h, body).unwrap().result,
        Err(Errno::EOPNOTSUPP)
    );
    let frame = find("event.PollEvent");
    let (h, body) = split_frame(&frame).unwrap();
    assert_eq!(decode_event(&h, body).unwrap(), events(&p)[0]);
}

/// One vector spelled out field by field, as a readable anchor for
/// `docs/protocol.md`.
#[test]
fn lookup_request_layout_by_hand() {
    let groups = [100u32, 200];
    let creds = Credentials {
        uid: 1000,
        gid: 1001,
        fsuid: 1002,
        fsgid: 1003,
        groups: Groups::from_ids(&groups),
    };
    let req = Request::Lookup(LookupRequest {
        parent: 5,
        name: Name::new(b"ab").unwrap(),
    });
    let frame = encode_with(|b| encode_request(b, 7, &creds, &req));
    let want = concat!(
        "3e000000",         // total_len = 62
        "1300",             // opcode Lookup = 0x0013
        "0000",             // flags: request
        "0700000000000000", // request_id = 7
        "00000000",         // status = 0
        "e8030000",         // uid 1000
        "e9030000",         // gid 1001
        "ea030000",         // fsuid 1002
        "eb030000",         // fsgid 1003
        "02000000",         // 2 groups
        "64000000c8000000", // 100, 200
        "0500000000000000", // parent = 5
        "02000000",         // name length 2
        "6162",             // "ab"
    );
    assert_eq!(hex(&frame), want);
}
