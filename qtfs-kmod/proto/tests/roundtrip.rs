//! Property tests: for every message, decode(encode(m)) == m, and the
//! re-encoding of a decoded frame is byte-identical (the encoding is
//! canonical).

mod common;

use common::*;
use proptest::prelude::*;
use qtfs_proto::*;

fn name_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, 1..=255).prop_filter("valid name", |n| {
        !n.contains(&b'/') && n.as_slice() != b"." && n.as_slice() != b".."
    })
}

fn nul_free(max: usize, min: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, min..=max)
}

fn pool() -> impl Strategy<Value = Pool> {
    (
        (
            name_bytes(),
            name_bytes(),
            nul_free(4096, 1),
            prop::collection::vec(any::<u8>(), 0..3000),
        ),
        (
            nul_free(255, 1),
            prop::collection::vec(any::<u8>(), 0..600),
            prop::collection::vec(nul_free(20, 1), 0..8),
        ),
        (
            nul_free(255, 1),
            prop::collection::vec(any::<u8>(), 0..4096),
            prop::collection::vec(any::<u32>(), 0..=64),
        ),
        prop::collection::vec(any::<u64>(), 1..80),
        prop::collection::vec(
            (any::<u64>(), any::<u64>(), any::<u8>(), name_bytes()),
            0..12,
        ),
    )
        .prop_map(
            |(
                (n0, n1, path, data),
                (xattr_name, xattr_value, xnames),
                (fstype, mount_data, groups),
                words,
                dirents,
            )| {
                let mut xattr_names = Vec::new();
                for n in xnames {
                    xattr_names.extend_from_slice(&n);
                    xattr_names.push(0);
                }
                Pool {
                    names: [n0, n1],
                    path,
                    data,
                    xattr_name,
                    xattr_value,
                    xattr_names,
                    fstype,
                    mount_data,
                    groups,
                    words,
                    dir_wire: dir_wire(&dirents),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_request_roundtrips(p in pool(), id in 1u64..) {
        let creds = creds(&p);
        for req in requests(&p) {
            let frame = encode_with(|b| encode_request(b, id, &creds, &req));
            let (header, body) = split_frame(&frame).unwrap();
            let got = decode_request(&header, body).unwrap();
            prop_assert_eq!(got.request, req);
            prop_assert_eq!(got.creds, creds);
            prop_assert_eq!(got.request_id, id);
            let again = encode_with(|b| encode_request(b, got.request_id, &got.creds, &got.request));
            prop_assert_eq!(again, frame);
        }
    }

    #[test]
    fn every_reply_roundtrips(p in pool(), id in 1u64..) {
        for reply in replies(&p) {
            let frame = encode_with(|b| encode_reply(b, id, &reply));
            let (header, body) = split_frame(&frame).unwrap();
            let got = decode_reply(&header, body).unwrap();
            prop_assert_eq!(got.result, Ok(reply));
            prop_assert_eq!(got.opcode, reply.opcode().to_u16());
            prop_assert_eq!(got.request_id, id);
            let again = encode_with(|b| encode_reply(b, id, &got.result.unwrap()));
            prop_assert_eq!(again, frame);
        }
    }

    #[test]
    fn error_replies_roundtrip(op in any::<u16>(), id in 1u64.., errno in 1u32..=4095) {
        let errno = Errno::new(errno).unwrap();
        let frame = encode_with(|b| encode_error_reply(b, op, id, errno));
        let (header, body) = split_frame(&frame).unwrap();
        let got = decode_reply(&header, body).unwrap();
        prop_assert_eq!(got, IncomingReply { request_id: id, opcode: op, result: Err(errno) });
    }

    #[test]
    fn events_and_handshakes_roundtrip(p in pool(), id in 1u64..) {
        for event in events(&p) {
            let frame = encode_with(|b| encode_event(b, &event));
            let (header, body) = split_frame(&frame).unwrap();
            prop_assert_eq!(decode_event(&header, body).unwrap(), event);
        }
        for msg in handshakes(&p) {
            let frame = encode_with(|b| encode_handshake(b, id, &msg));
            let (header, body) = split_frame(&frame).unwrap();
            prop_assert_eq!(decode_handshake(&header, body).unwrap(), msg);
        }
    }

    #[test]
    fn dir_entries_iterate_back(entries in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u8>(), name_bytes()), 0..20)) {
        let wire = dir_wire(&entries);
        let decoded = DirEntries::decode_exact(&wire).unwrap();
        prop_assert_eq!(decoded.len(), entries.len());
        for (got, want) in decoded.iter().zip(entries.iter()) {
            prop_assert_eq!(got.ino, want.0);
            prop_assert_eq!(got.cookie, want.1);
            prop_assert_eq!(got.name.as_bytes(), want.3.as_slice());
        }
    }

    #[test]
    fn truncated_frames_never_decode(p in pool(), cut in any::<prop::sample::Index>()) {
        let creds = creds(&p);
        for req in requests(&p) {
            let frame = encode_with(|b| encode_request(b, 9, &creds, &req));
            let cut = cut.index(frame.len());
            prop_assert!(split_frame(&frame[..cut]).is_err());
            // A body shortened behind a matching header must fail too.
            let (header, body) = split_frame(&frame).unwrap();
            let short = &body[..cut.min(body.len().saturating_sub(1))];
            let mut h = header;
            h.total_len = (HEADER_LEN + short.len()) as u32;
            if !matches!(req, Request::Ping(_)) || short.len() < body.len() {
                prop_assert!(decode_request(&h, short).is_err());
            }
        }
    }
}

#[test]
fn samples_cover_every_opcode() {
    let p = Pool::fixed();
    let req_ops: Vec<Opcode> = requests(&p).iter().map(|r| r.opcode()).collect();
    let rep_ops: Vec<Opcode> = replies(&p).iter().map(|r| r.opcode()).collect();
    let file_ops: Vec<Opcode> = Opcode::ALL
        .iter()
        .copied()
        .filter(|o| !matches!(o, Opcode::Hello | Opcode::Auth | Opcode::PollEvent))
        .collect();
    assert_eq!(req_ops, file_ops);
    assert_eq!(rep_ops, file_ops);
}
