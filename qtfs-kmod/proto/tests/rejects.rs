//! Decoders reject what a hostile peer may send: trailing bytes, bad enum
//! values, reserved bits, over-long fields, lying lengths, unknown opcodes.

mod common;

use common::*;
use qtfs_proto::attr::FileMode;
use qtfs_proto::*;

fn ping_frame() -> Vec<u8> {
    encode_with(|b| encode_request(b, 1, &Credentials::ROOT, &Request::Ping(PingRequest {})))
}

/// Re-frames `body` behind a request header for `opcode`.
fn request_frame(opcode: u16, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&((HEADER_LEN + body.len()) as u32).to_le_bytes());
    f.extend_from_slice(&opcode.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(&1u64.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(body);
    f
}

fn decode(frame: &[u8]) -> Result<IncomingRequest<'_>, DecodeError> {
    let (h, body) = split_frame(frame)?;
    decode_request(&h, body)
}

fn root_creds() -> Vec<u8> {
    let mut v = vec![0u8; 20];
    v[16] = 0;
    v
}

#[test]
fn trailing_bytes_are_rejected_for_every_message() {
    let p = Pool::fixed();
    let creds = creds(&p);
    for req in requests(&p) {
        let mut frame = encode_with(|b| encode_request(b, 3, &creds, &req));
        frame.push(0);
        let len = frame.len() as u32;
        frame[..4].copy_from_slice(&len.to_le_bytes());
        assert_eq!(
            decode(&frame),
            Err(DecodeError::TrailingBytes),
            "{:?}",
            req.opcode()
        );
    }
    for reply in replies(&p) {
        let mut frame = encode_with(|b| encode_reply(b, 3, &reply));
        frame.push(0);
        let len = frame.len() as u32;
        frame[..4].copy_from_slice(&len.to_le_bytes());
        let (h, body) = split_frame(&frame).unwrap();
        assert_eq!(
            decode_reply(&h, body),
            Err(DecodeError::TrailingBytes),
            "{:?}",
            reply.opcode()
        );
    }
}

#[test]
fn unknown_opcode_is_representable_and_answered_eopnotsupp() {
    let frame = request_frame(0x7fff, &root_creds());
    let (h, body) = split_frame(&frame).unwrap();
    assert_eq!(h.opcode(), None);
    let err = decode_request(&h, body).unwrap_err();
    assert_eq!(err, DecodeError::UnknownOpcode(0x7fff));
    assert_eq!(err.errno(), Errno::EOPNOTSUPP);
    let reply = encode_with(|b| encode_error_reply(b, h.opcode, h.request_id, err.errno()));
    let (rh, rbody) = split_frame(&reply).unwrap();
    let got = decode_reply(&rh, rbody).unwrap();
    assert_eq!(got.opcode, 0x7fff);
    assert_eq!(got.result, Err(Errno::EOPNOTSUPP));
}

#[test]
fn header_rules() {
    let good = ping_frame();
    assert!(decode(&good).is_ok());
    // Reserved flag bits, both REPLY and EVENT.
    for flags in [0x0004u16, 0x0003, 0x8000] {
        let mut f = good.clone();
        f[6..8].copy_from_slice(&flags.to_le_bytes());
        assert_eq!(FrameHeader::decode(&f), Err(DecodeError::ReservedBits));
    }
    // Length below the header, above the maximum, or not matching.
    let mut f = good.clone();
    f[..4].copy_from_slice(&19u32.to_le_bytes());
    assert_eq!(FrameHeader::decode(&f), Err(DecodeError::BadFrameLength));
    f[..4].copy_from_slice(&(MAX_FRAME_SIZE + 1).to_le_bytes());
    assert_eq!(FrameHeader::decode(&f), Err(DecodeError::FrameTooLarge));
    f[..4].copy_from_slice(&(good.len() as u32 + 1).to_le_bytes());
    assert_eq!(split_frame(&f), Err(DecodeError::BadFrameLength));
    // A status on a request, a status above MAX_ERRNO on a reply.
    let mut f = good.clone();
    f[16..20].copy_from_slice(&5u32.to_le_bytes());
    assert_eq!(FrameHeader::decode(&f), Err(DecodeError::BadValue));
    f[6..8].copy_from_slice(&1u16.to_le_bytes());
    f[16..20].copy_from_slice(&4096u32.to_le_bytes());
    assert_eq!(FrameHeader::decode(&f), Err(DecodeError::BadValue));
    // Request id 0 is for events only, and events must use it.
    let mut f = good.clone();
    f[8..16].copy_from_slice(&0u64.to_le_bytes());
    assert_eq!(FrameHeader::decode(&f), Err(DecodeError::BadValue));
    let mut f = good.clone();
    f[6..8].copy_from_slice(&2u16.to_le_bytes());
    assert_eq!(FrameHeader::decode(&f), Err(DecodeError::BadValue));
    // A short header.
    assert_eq!(
        FrameHeader::decode(&good[..19]),
        Err(DecodeError::Truncated)
    );
    // A reply given to the request decoder and the other way round.
    let reply = encode_with(|b| encode_reply(b, 1, &Reply::Ping(EmptyReply {})));
    let (h, body) = split_frame(&reply).unwrap();
    assert!(decode_request(&h, body).is_err());
    let (h, body) = split_frame(&good).unwrap();
    assert!(decode_reply(&h, body).is_err());
    assert!(decode_event(&h, body).is_err());
}

#[test]
fn bad_enum_values_and_reserved_bits_are_rejected() {
    let p = Pool::fixed();
    let creds = creds(&p);
    // Whence 5.
    let req = Request::Llseek(LlseekRequest {
        handle: 1,
        offset: 0,
        whence: Whence::Set,
    });
    let mut f = encode_with(|b| encode_request(b, 1, &creds, &req));
    *f.last_mut().unwrap() = 5;
    assert_eq!(decode(&f), Err(DecodeError::BadValue));
    // bool 2.
    let req = Request::Fsync(FsyncRequest {
        handle: 1,
        datasync: true,
    });
    let mut f = encode_with(|b| encode_request(b, 1, &creds, &req));
    *f.last_mut().unwrap() = 2;
    assert_eq!(decode(&f), Err(DecodeError::BadValue));
    // Rename: unknown bit, and NOREPLACE|EXCHANGE together.
    let name = Name::new(b"x").unwrap();
    let req = Request::Rename(RenameRequest {
        old_parent: 1,
        old_name: name,
        new_parent: 2,
        new_name: name,
        flags: RenameFlags::RENAME_NOREPLACE,
    });
    for bad in [8u32, 3] {
        let mut f = encode_with(|b| encode_request(b, 1, &creds, &req));
        let n = f.len();
        f[n - 4..].copy_from_slice(&bad.to_le_bytes());
        assert_eq!(decode(&f), Err(DecodeError::ReservedBits));
    }
    // Open with access mode 3 and with an unknown bit.
    for bad in [3u32, 1 << 31] {
        let req = Request::Open(OpenRequest {
            node: 1,
            flags: OpenFlags::O_RDONLY,
        });
        let mut f = encode_with(|b| encode_request(b, 1, &creds, &req));
        let n = f.len();
        f[n - 4..].copy_from_slice(&bad.to_le_bytes());
        assert_eq!(decode(&f), Err(DecodeError::ReservedBits));
    }
    assert!(OpenFlags::from_bits(3).is_none());
    // A mode with an unknown file type.
    assert!(FileMode::new(0o170644).is_none());
    assert!(FileMode::new(0o100644 | 0o200000).is_none());
    // A time with nsec >= 10^9 that is not UTIME_NOW/OMIT, or NOW with sec != 0.
    let req = Request::Setattr(SetattrRequest {
        node: 1,
        handle: 0,
        mask: SetAttrMask::MODE,
        mode: qtfs_proto::attr::Permissions::new(0o644).unwrap(),
        uid: 0,
        gid: 0,
        size: 0,
        atime: TimeUpdate::Omit,
        mtime: TimeUpdate::Now,
    });
    let good = encode_with(|b| encode_request(b, 1, &creds, &req));
    assert!(decode(&good).is_ok());
    let mut f = good.clone();
    let n = f.len();
    f[n - 4..].copy_from_slice(&1_000_000_000u32.to_le_bytes());
    assert_eq!(decode(&f), Err(DecodeError::BadValue));
    let mut f = good.clone();
    f[n - 12..n - 4].copy_from_slice(&1i64.to_le_bytes());
    assert_eq!(decode(&f), Err(DecodeError::BadValue));
    // Dirent with an unknown type.
    let entries = dir_wire(&[(1, 2, 8, b"a".to_vec())]);
    let mut bad = entries.clone();
    bad[4 + 16] = 3;
    assert_eq!(DirEntries::decode_exact(&bad), Err(DecodeError::BadValue));
    // A header flag set on a capability-free event.
    let ev = encode_with(|b| {
        encode_event(
            b,
            &Event::Poll(PollEventBody {
                poll_id: 1,
                revents: PollEvents::POLLIN,
            }),
        )
    });
    let mut f = ev.clone();
    let n = f.len();
    f[n - 4..].copy_from_slice(&0x8000u32.to_le_bytes());
    let (h, body) = split_frame(&f).unwrap();
    assert_eq!(decode_event(&h, body), Err(DecodeError::ReservedBits));
}

#[test]
fn names_paths_and_lengths_are_checked() {
    assert!(Name::new(b"").is_none());
    assert!(Name::new(b".").is_none());
    assert!(Name::new(b"..").is_none());
    assert!(Name::new(b"a/b").is_none());
    assert!(Name::new(b"a\0b").is_none());
    assert!(Name::new(&[b'x'; 255]).is_some());
    assert!(Name::new(&[b'x'; 256]).is_none());
    assert!(Path::new(&[b'/'; 4096]).is_some());
    assert!(Path::new(&[b'/'; 4097]).is_none());
    assert!(XattrNames::new(b"a\0\0").is_none());
    assert!(XattrNames::new(b"a").is_none());
    assert!(XattrNames::new(b"a\0bc\0").is_some());
    assert_eq!(
        XattrNames::new(b"a\0bc\0")
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        vec![&b"a"[..], &b"bc"[..]]
    );

    // A name length that lies about the frame: bigger than the frame,
    // bigger than the limit, and one with a '/' inside.
    let mut body = root_creds();
    body.extend_from_slice(&1u64.to_le_bytes());
    let at = body.len();
    body.extend_from_slice(&2u32.to_le_bytes());
    body.extend_from_slice(b"ab");
    assert!(decode(&request_frame(0x13, &body)).is_ok());
    let mut b = body.clone();
    b[at..at + 4].copy_from_slice(&3u32.to_le_bytes());
    assert_eq!(
        decode(&request_frame(0x13, &b)),
        Err(DecodeError::Truncated)
    );
    b[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(decode(&request_frame(0x13, &b)), Err(DecodeError::TooLong));
    let mut b = body.clone();
    let n = b.len();
    b[n - 1] = b'/';
    assert_eq!(decode(&request_frame(0x13, &b)), Err(DecodeError::BadName));

    // Too many groups.
    let mut body = vec![0u8; 16];
    body.extend_from_slice(&65u32.to_le_bytes());
    body.extend_from_slice(&[0u8; 65 * 4]);
    assert_eq!(
        decode(&request_frame(0x10, &body)),
        Err(DecodeError::TooLong)
    );
    let groups = vec![7u32; 65];
    let creds = Credentials::new(1, 1, Groups::from_ids(&groups));
    let mut buf = vec![0u8; 4096];
    assert_eq!(
        encode_request(&mut buf, 1, &creds, &Request::Ping(PingRequest {})),
        Err(EncodeError::TooLong)
    );
}

#[test]
fn encoder_rules() {
    let mut small = [0u8; 10];
    assert_eq!(
        encode_request(
            &mut small,
            1,
            &Credentials::ROOT,
            &Request::Ping(PingRequest {})
        ),
        Err(EncodeError::BufferTooSmall)
    );
    let mut buf = [0u8; 100];
    assert_eq!(
        encode_request(
            &mut buf,
            0,
            &Credentials::ROOT,
            &Request::Ping(PingRequest {})
        ),
        Err(EncodeError::BadValue)
    );
    assert_eq!(
        encode_reply(&mut buf, 0, &Reply::Ping(EmptyReply {})),
        Err(EncodeError::BadValue)
    );
    assert_eq!(
        encode_handshake(
            &mut buf,
            1,
            &HandshakeMessage::Refused(Opcode::Ping, Errno::EIO)
        ),
        Err(EncodeError::BadValue)
    );
    assert!(Errno::new(0).is_none());
    assert!(Errno::new(4096).is_none());
    assert_eq!(Errno::from_kernel(-2), Some(Errno::ENOENT));
    assert_eq!(Errno::ENOENT.to_kernel(), -2);
    assert_eq!(Errno::from_kernel(0), None);
    assert_eq!(Errno::from_kernel(-4096), None);
}

#[test]
fn largest_messages_fit_in_a_frame() {
    let groups = vec![u32::MAX; MAX_GROUPS as usize];
    let creds = Credentials::new(1, 1, Groups::from_ids(&groups));
    let data = vec![0xa5u8; MAX_IO_SIZE as usize];
    let path = vec![b'p'; MAX_PATH_LEN as usize];
    let fstype = vec![b't'; MAX_FSTYPE_LEN as usize];
    let mdata = vec![b'o'; MAX_MOUNT_DATA_LEN as usize];
    let xvalue = vec![1u8; MAX_XATTR_VALUE_LEN as usize];
    let xname = vec![b'n'; MAX_XATTR_NAME_LEN as usize];
    let mut xnames = vec![b'a'; MAX_XATTR_LIST_LEN as usize];
    *xnames.last_mut().unwrap() = 0;
    let requests = [
        Request::Write(WriteRequest {
            handle: 1,
            offset: 2,
            data: Data::new(&data).unwrap(),
        }),
        Request::RemoteMount(RemoteMountRequest {
            node: 1,
            source: Path::new(&path).unwrap(),
            fstype: FsType::new(&fstype).unwrap(),
            flags: qtfs_proto::flags::MountFlags::MS_BIND,
            data: MountData::new(&mdata).unwrap(),
        }),
        Request::SetXattr(SetXattrRequest {
            node: 1,
            name: XattrName::new(&xname).unwrap(),
            value: XattrValue::new(&xvalue).unwrap(),
            flags: XattrFlags::default(),
        }),
    ];
    for req in requests {
        let frame = encode_with(|b| encode_request(b, 1, &creds, &req));
        assert!(frame.len() <= MAX_FRAME_SIZE as usize);
        assert_eq!(decode(&frame).unwrap().request, req);
    }
    let replies = [
        Reply::Read(ReadReply {
            data: Data::new(&data).unwrap(),
        }),
        Reply::ReadFile(ReadFileReply {
            data: Data::new(&data).unwrap(),
            eof: false,
        }),
        Reply::ListXattr(ListXattrReply {
            size: XattrListSize::new(1).unwrap(),
            names: XattrNames::new(&xnames).unwrap(),
        }),
    ];
    for reply in replies {
        let frame = encode_with(|b| encode_reply(b, 1, &reply));
        assert!(frame.len() <= MAX_FRAME_SIZE as usize);
    }
    // Data above the limit is refused by the constructor.
    let over = vec![0u8; MAX_IO_SIZE as usize + 1];
    assert!(Data::new(&over).is_none());
}

#[test]
fn readdir_builder_stops_when_full() {
    let mut buf = [0u8; 64];
    let mut b = DirEntriesBuilder::new(&mut buf);
    let name = Name::new(b"0123456789").unwrap();
    let entry = DirEntry {
        ino: 1,
        cookie: 1,
        file_type: FileType::Regular,
        name,
    };
    b.push(&entry).unwrap(); // 31 bytes
    b.push(&entry).unwrap(); // 62 bytes
    assert_eq!(b.push(&entry), Err(EncodeError::BufferTooSmall));
    assert_eq!(b.len(), 2);
    let entries = b.finish();
    assert_eq!(entries.packed_bytes().len(), 62);
    assert_eq!(entries.iter().count(), 2);
}

#[test]
fn requested_sizes_and_signals_are_bounded() {
    let creds = Credentials::ROOT;
    let req = Request::Read(ReadRequest {
        handle: 1,
        offset: 0,
        size: IoSize::new(MAX_IO_SIZE).unwrap(),
    });
    let good = encode_with(|b| encode_request(b, 1, &creds, &req));
    assert!(decode(&good).is_ok());
    let mut f = good.clone();
    let n = f.len();
    f[n - 4..].copy_from_slice(&(MAX_IO_SIZE + 1).to_le_bytes());
    assert_eq!(decode(&f), Err(DecodeError::BadValue));
    assert_eq!(DecodeError::BadValue.errno(), Errno::EINVAL);

    let req = Request::RemoteKill(RemoteKillRequest {
        pid: -1,
        signal: Signal::new(64).unwrap(),
    });
    let mut f = encode_with(|b| encode_request(b, 1, &creds, &req));
    let n = f.len();
    f[n - 4..].copy_from_slice(&65u32.to_le_bytes());
    assert_eq!(decode(&f), Err(DecodeError::BadValue));
    assert!(Signal::new(65).is_none());
    assert!(XattrSize::new(MAX_XATTR_VALUE_LEN + 1).is_none());
    assert!(XattrListSize::new(MAX_XATTR_LIST_LEN + 1).is_none());
}
