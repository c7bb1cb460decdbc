#!/bin/sh
# Compiles the crate the way the kernel modules include it:
#   #[path = "../proto/src/lib.rs"] mod proto;
# inside a #![no_std] crate, edition 2021, panic=abort, warnings denied,
# so that the kernel inclusion never silently breaks. Also run by
# `cargo test` (tests/kernel_inclusion.rs).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat > "$out/root.rs" <<RS
//! Stand-in for a kernel module crate root.
#![no_std]
/// The protocol, included as source like the kernel modules do.
#[allow(unused_attributes, unused_imports, dead_code, unreachable_pub)]
#[path = "$here/src/lib.rs"]
mod proto;

/// Uses the API so that it is type-checked as a module.
pub fn probe(buf: &mut [u8]) -> usize {
    let req = proto::Request::Ping(proto::PingRequest {});
    match proto::encode_request(buf, 1, &proto::Credentials::ROOT, &req) {
        Ok(n) => match proto::split_frame(buf.get(..n).unwrap_or(&[])) {
            Ok((h, body)) => usize::from(proto::decode_request(&h, body).is_ok()),
            Err(_) => 0,
        },
        Err(_) => 0,
    }
}
RS
${RUSTC:-rustc} --edition 2021 --crate-type lib --crate-name qtfs_kmod_probe \
    -C panic=abort -C opt-level=2 -D warnings -W rust-2018-idioms -W missing-docs \
    --emit=obj -o "$out/probe.o" "$out/root.rs"
echo "qtfs-proto compiles as a #[path] module (no_std, panic=abort)"
