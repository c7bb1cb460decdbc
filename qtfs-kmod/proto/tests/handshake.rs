//! The handshake: a full exchange, and the attacks it must stop.

mod common;

use common::*;
use qtfs_proto::handshake::{
    client_proof, negotiate_version, server_proof, transcript, Magic, MIN_PROTOCOL_VERSION,
    TRANSCRIPT_LEN,
};
use qtfs_proto::*;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const CLIENT_NONCE: [u8; 32] = [0x11; 32];
const SERVER_NONCE: [u8; 32] = [0x22; 32];

fn client_caps() -> Capabilities {
    Capabilities::POLL_EVENTS
        .union(Capabilities::WHOLE_FILE_READ)
        .union(Capabilities::from_bits(1 << 40))
}

fn server_caps() -> Capabilities {
    Capabilities::POLL_EVENTS.union(Capabilities::XATTR)
}

/// Sends a message through the frame layer and back.
fn through_wire(id: u64, msg: HandshakeMessage) -> HandshakeMessage {
    let frame = encode_with(|b| encode_handshake(b, id, &msg));
    let (header, body) = split_frame(&frame).unwrap();
    decode_handshake(&header, body).unwrap()
}

#[test]
fn full_exchange_authenticates_both_sides() {
    let hello = Hello::new(client_caps(), CLIENT_NONCE);
    let HandshakeMessage::Hello(at_server) = through_wire(1, HandshakeMessage::Hello(hello)) else {
        panic!("not a hello")
    };
    let answer = ServerHello::answer(KEY, &at_server, server_caps(), SERVER_NONCE).unwrap();
    assert_eq!(answer.version, PROTOCOL_VERSION);
    assert_eq!(answer.capabilities, Capabilities::POLL_EVENTS);
    let HandshakeMessage::ServerHello(at_client) =
        through_wire(1, HandshakeMessage::ServerHello(answer))
    else {
        panic!("not a server hello")
    };
    let auth = at_client.verify(KEY, &hello).unwrap();
    let HandshakeMessage::ClientAuth(auth_at_server) =
        through_wire(2, HandshakeMessage::ClientAuth(auth))
    else {
        panic!("not a client auth")
    };
    assert!(auth_at_server.verify(KEY, &at_server, &answer));
    assert_eq!(
        through_wire(2, HandshakeMessage::AuthOk),
        HandshakeMessage::AuthOk
    );
}

#[test]
fn wrong_key_fails_on_both_sides() {
    let hello = Hello::new(client_caps(), CLIENT_NONCE);
    let answer = ServerHello::answer(
        b"another key, 32 bytes long......",
        &hello,
        server_caps(),
        SERVER_NONCE,
    )
    .unwrap();
    assert_eq!(answer.verify(KEY, &hello), Err(Errno::EACCES));
    // A client with the wrong key against an honest server.
    let answer = ServerHello::answer(KEY, &hello, server_caps(), SERVER_NONCE).unwrap();
    let forged = ClientAuth {
        client_proof: client_proof(b"wrong key wrong key", &hello, &answer),
    };
    assert!(!forged.verify(KEY, &hello, &answer));
}

#[test]
fn reflected_server_proof_is_not_a_client_proof() {
    let hello = Hello::new(client_caps(), CLIENT_NONCE);
    let answer = ServerHello::answer(KEY, &hello, server_caps(), SERVER_NONCE).unwrap();
    let reflected = ClientAuth {
        client_proof: answer.server_proof,
    };
    assert!(!reflected.verify(KEY, &hello, &answer));
    // Nor does a server that echoes the client's nonce get accepted.
    let echo = ServerHello::answer(KEY, &hello, server_caps(), CLIENT_NONCE).unwrap();
    assert_eq!(echo.verify(KEY, &hello), Err(Errno::EACCES));
}

#[test]
fn downgrade_by_a_man_in_the_middle_is_detected() {
    let hello = Hello::new(client_caps(), CLIENT_NONCE);
    // The attacker strips capabilities from the hello the server sees.
    let stripped = Hello {
        capabilities: Capabilities::NONE,
        ..hello
    };
    let answer = ServerHello::answer(KEY, &stripped, server_caps(), SERVER_NONCE).unwrap();
    assert_eq!(answer.verify(KEY, &hello), Err(Errno::EACCES));
    // Or it rewrites the answer's capabilities or version.
    let good = ServerHello::answer(KEY, &hello, server_caps(), SERVER_NONCE).unwrap();
    let fewer = ServerHello {
        capabilities: Capabilities::NONE,
        ..good
    };
    assert_eq!(fewer.verify(KEY, &hello), Err(Errno::EACCES));
    // Capabilities that were never offered are a protocol error.
    let extra = ServerHello {
        capabilities: Capabilities::XATTR,
        ..good
    };
    assert_eq!(extra.verify(KEY, &hello), Err(Errno::EPROTO));
    // A replayed client proof does not fit a fresh server nonce.
    let auth = good.verify(KEY, &hello).unwrap();
    let fresh = ServerHello::answer(KEY, &hello, server_caps(), [0x33; 32]).unwrap();
    assert!(!auth.verify(KEY, &hello, &fresh));
}

#[test]
fn version_negotiation_rule() {
    let mut hello = Hello::new(Capabilities::NONE, CLIENT_NONCE);
    assert_eq!(negotiate_version(&hello), Some(PROTOCOL_VERSION));
    hello.max_version = 9;
    assert_eq!(negotiate_version(&hello), Some(PROTOCOL_VERSION));
    hello.min_version = PROTOCOL_VERSION + 1;
    assert_eq!(negotiate_version(&hello), None);
    assert_eq!(
        ServerHello::answer(KEY, &hello, server_caps(), SERVER_NONCE),
        Err(Errno::EPROTONOSUPPORT)
    );
    hello.min_version = 3;
    hello.max_version = 2;
    assert_eq!(negotiate_version(&hello), None);
    hello.min_version = 0;
    hello.max_version = MIN_PROTOCOL_VERSION - 1;
    assert_eq!(negotiate_version(&hello), None);
}

#[test]
fn bad_magic_is_rejected() {
    let hello = Hello::new(Capabilities::NONE, CLIENT_NONCE);
    let mut frame = encode_with(|b| encode_handshake(b, 1, &HandshakeMessage::Hello(hello)));
    frame[HEADER_LEN] ^= 1;
    let (header, body) = split_frame(&frame).unwrap();
    assert_eq!(decode_handshake(&header, body), Err(DecodeError::BadMagic));
}

#[test]
fn handshake_opcodes_are_not_file_operations() {
    let hello = Hello::new(Capabilities::NONE, CLIENT_NONCE);
    let frame = encode_with(|b| encode_handshake(b, 1, &HandshakeMessage::Hello(hello)));
    let (header, body) = split_frame(&frame).unwrap();
    assert_eq!(
        decode_request(&header, body),
        Err(DecodeError::UnexpectedOpcode(1))
    );
    let ping =
        encode_with(|b| encode_request(b, 1, &Credentials::ROOT, &Request::Ping(PingRequest {})));
    let (header, body) = split_frame(&ping).unwrap();
    assert!(decode_handshake(&header, body).is_err());
}

/// The exact transcript bytes: a silent change breaks interoperability
/// with a peer that MACs with the kernel crypto API.
#[test]
fn transcript_golden_bytes() {
    let hello = Hello {
        magic: Magic,
        min_version: 1,
        max_version: 2,
        capabilities: Capabilities::from_bits(0x0102030405060708),
        client_nonce: [0xaa; 32],
    };
    let answer = ServerHello {
        magic: Magic,
        version: 1,
        capabilities: Capabilities::from_bits(0x11),
        server_nonce: [0xbb; 32],
        server_proof: [0; 32],
    };
    let t = transcript(&SERVER_LABEL, &hello, &answer);
    assert_eq!(t.len(), TRANSCRIPT_LEN);
    let want = [
        hex(b"QTFS server auth"),
        "51544653".into(),
        "0100".into(),
        "0200".into(),
        "0807060504030201".into(),
        "aa".repeat(32),
        "0100".into(),
        "1100000000000000".into(),
        "bb".repeat(32),
    ]
    .concat();
    assert_eq!(hex(&t), want);
    let c = transcript(&CLIENT_LABEL, &hello, &answer);
    assert_eq!(&c[..16], b"QTFS client auth");
    assert_eq!(&c[16..], &t[16..]);
    // The proofs are plain HMAC-SHA256 of those bytes.
    assert_eq!(
        server_proof(KEY, &hello, &answer),
        qtfs_proto::auth::hmac_sha256(KEY, &t)
    );
    assert_eq!(
        client_proof(KEY, &hello, &answer),
        qtfs_proto::auth::hmac_sha256(KEY, &c)
    );
    assert_eq!(
        hex(&server_proof(KEY, &hello, &answer)),
        hex(&qtfs_proto::auth::hmac_sha256(KEY, &unhex(&want)))
    );
}

mod state_machines {
    use super::*;

    fn frame(id: u64, msg: &HandshakeMessage) -> Vec<u8> {
        encode_with(|b| encode_handshake(b, id, msg))
    }

    #[test]
    fn both_state_machines_agree() {
        let mut client = ClientHandshake::new(client_caps(), CLIENT_NONCE);
        let mut server = ServerHandshake::new(server_caps(), SERVER_NONCE);
        let f = frame(1, &client.hello());
        let (h, b) = split_frame(&f).unwrap();
        let ServerStep::Reply(answer) = server.on_frame(KEY, &h, b) else {
            panic!()
        };
        assert!(!server.is_ready());
        let f = frame(1, &answer);
        let (h, b) = split_frame(&f).unwrap();
        let auth = client.on_server_hello(KEY, &h, b).unwrap();
        let f = frame(2, &auth);
        let (h, b) = split_frame(&f).unwrap();
        let ServerStep::Accept(ok, negotiated) = server.on_frame(KEY, &h, b) else {
            panic!()
        };
        assert!(server.is_ready());
        let f = frame(2, &ok);
        let (h, b) = split_frame(&f).unwrap();
        assert_eq!(client.on_auth_reply(&h, b), Ok(negotiated));
        assert_eq!(client.negotiated(), Some(negotiated));
        assert!(negotiated.allows(Opcode::PollRegister));
        assert!(negotiated.allows(Opcode::Lookup));
        assert!(!negotiated.allows(Opcode::GetXattr));
        assert!(!negotiated.allows(Opcode::RemoteKill));
    }

    #[test]
    fn server_drops_a_client_without_the_key_before_any_file_operation() {
        let mut client = ClientHandshake::new(client_caps(), CLIENT_NONCE);
        let mut server = ServerHandshake::new(server_caps(), SERVER_NONCE);
        let f = frame(1, &client.hello());
        let (h, b) = split_frame(&f).unwrap();
        let ServerStep::Reply(answer) = server.on_frame(KEY, &h, b) else {
            panic!()
        };
        let f = frame(1, &answer);
        let (h, b) = split_frame(&f).unwrap();
        // The client has another key: it refuses the server itself.
        assert_eq!(
            client.on_server_hello(b"not the key at all", &h, b),
            Err(Errno::EACCES)
        );
        // A forged ClientAuth is refused with EACCES and the server closes.
        let forged = HandshakeMessage::ClientAuth(ClientAuth {
            client_proof: [0; 32],
        });
        let f = frame(2, &forged);
        let (h, b) = split_frame(&f).unwrap();
        assert_eq!(
            server.on_frame(KEY, &h, b),
            ServerStep::Close(Some(HandshakeMessage::Refused(Opcode::Auth, Errno::EACCES)))
        );
        assert!(!server.is_ready());
    }

    #[test]
    fn server_drops_file_operations_and_repeated_hellos() {
        let ping = encode_with(|b| {
            encode_request(b, 1, &Credentials::ROOT, &Request::Ping(PingRequest {}))
        });
        let (h, b) = split_frame(&ping).unwrap();
        let mut server = ServerHandshake::new(server_caps(), SERVER_NONCE);
        assert_eq!(server.on_frame(KEY, &h, b), ServerStep::Close(None));
        // Once closed, nothing reopens it.
        let client = ClientHandshake::new(client_caps(), CLIENT_NONCE);
        let f = frame(1, &client.hello());
        let (h, b) = split_frame(&f).unwrap();
        assert_eq!(server.on_frame(KEY, &h, b), ServerStep::Close(None));
        // A second Hello instead of Auth.
        let mut server = ServerHandshake::new(server_caps(), SERVER_NONCE);
        assert!(matches!(server.on_frame(KEY, &h, b), ServerStep::Reply(_)));
        assert_eq!(server.on_frame(KEY, &h, b), ServerStep::Close(None));
        // A hello without a common version is refused with EPROTONOSUPPORT.
        let mut hello = Hello::new(Capabilities::NONE, CLIENT_NONCE);
        hello.min_version = 7;
        hello.max_version = 9;
        let f = frame(1, &HandshakeMessage::Hello(hello));
        let (h, b) = split_frame(&f).unwrap();
        let mut server = ServerHandshake::new(server_caps(), SERVER_NONCE);
        assert_eq!(
            server.on_frame(KEY, &h, b),
            ServerStep::Close(Some(HandshakeMessage::Refused(
                Opcode::Hello,
                Errno::EPROTONOSUPPORT
            )))
        );
    }
}
