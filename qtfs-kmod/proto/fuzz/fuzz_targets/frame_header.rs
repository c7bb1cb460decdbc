//! Fuzzes the header decoder and `split_frame` on raw bytes; a header that
//! decodes must re-encode to the same 20 bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qtfs_proto::{split_frame, FrameHeader, Writer, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = FrameHeader::decode(data) {
        let mut out = [0u8; HEADER_LEN];
        header
            .encode(&mut Writer::new(&mut out))
            .expect("header encodes");
        assert_eq!(&out[..], &data[..HEADER_LEN]);
        assert!(header.body_len() <= qtfs_proto::MAX_FRAME_SIZE as usize);
    }
    if let Ok((header, body)) = split_frame(data) {
        assert_eq!(body.len(), header.body_len());
    }
});
