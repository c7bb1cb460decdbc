#!/bin/sh
# Runs every fuzz target of qtfs-proto for a bounded time.
#   ./run.sh [seconds-per-target]     (default 90)
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). On a stable
# toolchain RUSTC_BOOTSTRAP=1 lets cargo-fuzz use the nightly-only
# sanitizer flags. Seeds each corpus from the golden vectors.
set -eu
secs=${1:-90}
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
python3 - <<'PY'
import os
frames = [l.split() for l in open("../tests/golden/frames.txt") if l.strip()]
def seed(target, name, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "golden-" + name), "wb").write(data)
for name, hx in frames:
    f = bytes.fromhex(hx)
    hdr, body = f[:20], f[20:]
    op, flags, status = hdr[4:6], int.from_bytes(hdr[6:8], "little"), int.from_bytes(hdr[16:20], "little")
    seed("frame_header", name, f)
    if name.startswith("request."):
        seed("request", name, op + body)
    elif name.startswith("reply."):
        sel = bytes([0 if status == 0 else min(199 + status, 250)])
        seed("reply", name, op + sel + body)
    elif name.startswith("event."):
        seed("event", name, op + body)
    elif name.startswith("handshake."):
        opcode = int.from_bytes(op, "little")
        sel = (0 if opcode == 1 else 1) | (2 if flags == 1 else 0)
        if status:
            sel |= 4 | (status << 3 if status < 32 else 0)
        seed("handshake", name, bytes([sel & 0xff]) + body)
PY
for target in frame_header request reply event handshake; do
    echo "== $target (${secs}s)"
    cargo fuzz run --release "$target" "corpus/$target" -- \
        -max_total_time="$secs" -max_len=65536 -print_final_stats=1 2>&1 |
        tee "fuzz-$target.log" | grep -E "^stat::number_of_executed_units|^Done|ERROR|panicked" || true
done
