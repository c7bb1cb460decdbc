# Helpers shared by host.sh and dpu.sh of the `hostile` scenario (busybox sh).
fail() { echo "FAIL: $*"; echo "--- last kernel lines:"; dmesg | tail -n 30; exit 1; }
step() { echo "=== $*"; }
ok() { echo "ok: $*"; }

# The kernel log, captured from /dev/kmsg as it comes (the floods log more
# than the ring buffer holds, so `dmesg` alone would lose lines); `mark`
# writes a marker into it and `since` prints what came after the last one.
klog_start() {
    ( while :; do cat /dev/kmsg 2>/dev/null; done ) > /tmp/kmsg.log &
    KLOG_PID=$!
}
MARKN=0
mark() {
    MARKN=$((MARKN + 1))
    echo "qtfs-scenario-mark-$MARKN" > /dev/kmsg
    _n=0
    while ! grep -q "qtfs-scenario-mark-$MARKN\$" /tmp/kmsg.log; do
        _n=$((_n + 1)); [ $_n -le 100 ] || fail "the kernel log capture stopped"
        sleep 0.1
    done
}
since() { sed -n "/qtfs-scenario-mark-$MARKN\$/,\$p" /tmp/kmsg.log | sed 's/^[^;]*;//'; }

# kthreads <name regex>: pids of tasks whose comm matches.
kthreads() {
    for f in /proc/[0-9]*/comm; do
        grep -qE "^($1)\$" "$f" 2>/dev/null && echo "${f%/comm}"
    done
}

PORT=12345
# The hostile server's port (phase 2).
EVIL_PORT=12346
EXPORT=/srv/export
RW=/srv/rw
OUTSIDE=/srv/outside
# The pre-shared key, as the module parameter and the key files hold it.
KEY=5f4dcc3b5aa765d61d8327deb882cf99a1b2c3d4e5f60718293a4b5c6d7e8f90
# Frames of the long modes, to the server (fuzz) and to the client (the
# hostile server's random mode): 200000 each in `make test` (about 80 s
# each way under TCG); `make vm-test T=hostile
# RIG_KERNEL_ARGS=hostile_frames=1000000` (and a longer limit) for a
# full run.
FRAMES=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^hostile_frames=\([0-9]*\)$/\1/p')
FRAMES=${FRAMES:-200000}
FUZZ_FRAMES=$FRAMES
CLIENT_FRAMES=$FRAMES

# Barriers: the HOST opens 12399 when its server is loaded and 12397 when
# its hostile server listens; the DPU opens 12398 when its attacks on the
# server are done and 12396 when it is done with the hostile server.
barrier_open() { nc -l -p "$1" </dev/null >/dev/null & BARRIER_PID=$!; }
barrier_wait() {
    _t=$1
    while [ "$_t" -gt 0 ]; do
        nc -w 2 "$2" "$3" </dev/null >/dev/null 2>&1 && return 0
        sleep 1; _t=$((_t - 1))
    done
    return 1
}

# The atime, mtime and ctime of each path, on one line.
times_of() { for p in "$@"; do stat -c '%n|%x|%y|%z' "$p"; done; }
