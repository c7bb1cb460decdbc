//! SHA-256 (FIPS 180-4 examples) and HMAC-SHA256 (RFC 4231, test cases 1-7).

mod common;

use common::{hex, unhex};
use qtfs_proto::auth::{constant_time_eq, hmac_sha256, HmacSha256};
use qtfs_proto::sha256::{sha256, Sha256};

#[test]
fn sha256_fips_180_examples() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(hex(&sha256(input)), *want);
    }
}

#[test]
fn sha256_million_a_incrementally() {
    let mut h = Sha256::new();
    let chunk = [b'a'; 1000];
    for _ in 0..1000 {
        h.update(&chunk);
    }
    assert_eq!(
        hex(&h.finalize()),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );
}

#[test]
fn sha256_split_points_agree() {
    let data: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
    let whole = sha256(&data);
    for split in 0..data.len() {
        let mut h = Sha256::new();
        h.update(&data[..split]);
        h.update(&data[split..]);
        assert_eq!(h.finalize(), whole, "split at {split}");
    }
}

struct Rfc4231 {
    key: Vec<u8>,
    data: Vec<u8>,
    mac: &'static str,
}

fn rfc4231_cases() -> Vec<Rfc4231> {
    vec![
        // Test case 1.
        Rfc4231 {
            key: vec![0x0b; 20],
            data: b"Hi There".to_vec(),
            mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        },
        // Test case 2: a key shorter than the output.
        Rfc4231 {
            key: b"Jefe".to_vec(),
            data: b"what do ya want for nothing?".to_vec(),
            mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        },
        // Test case 3.
        Rfc4231 {
            key: vec![0xaa; 20],
            data: vec![0xdd; 50],
            mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        },
        // Test case 4.
        Rfc4231 {
            key: (1..=25u8).collect(),
            data: vec![0xcd; 50],
            mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        },
        // Test case 5: truncated to 128 bits.
        Rfc4231 {
            key: vec![0x0c; 20],
            data: b"Test With Truncation".to_vec(),
            mac: "a3b6167473100ee06e0c796c2955552b",
        },
        // Test case 6: a key larger than the block.
        Rfc4231 {
            key: vec![0xaa; 131],
            data: b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        },
        // Test case 7: key and data larger than the block.
        Rfc4231 {
            key: vec![0xaa; 131],
            data: b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
            mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        },
    ]
}

#[test]
fn hmac_sha256_rfc4231() {
    for (i, case) in rfc4231_cases().iter().enumerate() {
        let mac = hmac_sha256(&case.key, &case.data);
        let want = unhex(case.mac);
        assert_eq!(
            hex(&mac[..want.len()]),
            case.mac,
            "RFC 4231 test case {}",
            i + 1
        );
        // Incremental use gives the same MAC.
        let mut h = HmacSha256::new(&case.key);
        for byte in &case.data {
            h.update(std::slice::from_ref(byte));
        }
        assert_eq!(h.finalize(), mac);
    }
}

#[test]
fn constant_time_eq_basics() {
    assert!(constant_time_eq(b"", b""));
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
    assert!(!constant_time_eq(&[0u8; 32], &[1u8; 32]));
}
