# Helpers shared by host.sh and dpu.sh of the `hostile` scenario (busybox sh).
fail() { echo "FAIL: $*"; echo "--- last kernel lines:"; dmesg | tail -n 30; exit 1; }
step() { echo "=== $*"; }
ok() { echo "ok: $*"; }

mark() { MARK=$(dmesg | wc -l); }
since() { dmesg | tail -n +$((MARK + 1)); }

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
# Frames of the long modes: to the server (fuzz) and to the client (the
# hostile server's random mode).
FUZZ_FRAMES=1000000
CLIENT_FRAMES=1000000

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
