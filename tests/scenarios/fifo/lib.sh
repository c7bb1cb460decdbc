# Helpers shared by host.sh and dpu.sh of the `fifo` scenario (busybox sh).
fail() { echo "FAIL: $*"; echo "--- last kernel lines:"; dmesg | tail -n 30; exit 1; }
step() { echo "=== $*"; }
ok() { echo "ok: $*"; }

PORT=12345
EXPORT=/srv/export
KEY=5f4dcc3b5aa765d61d8327deb882cf99a1b2c3d4e5f60718293a4b5c6d7e8f90

# Barriers: a side opens a port when it reached a point; the other side
# waits until it can connect to it.
barrier_open() { nc -l -p "$1" </dev/null >/dev/null & BARRIERS="$BARRIERS $!"; }
barrier_wait() {
    _t=$1
    while [ "$_t" -gt 0 ]; do
        nc -w 2 "$2" "$3" </dev/null >/dev/null 2>&1 && return 0
        sleep 1; _t=$((_t - 1))
    done
    return 1
}

# still_blocked PID LOG: the process is alive and has not opened its FIFO.
still_blocked() {
    kill -0 "$1" 2>/dev/null || { cat "$2"; return 1; }
    ! grep -q opened "$2"
}

# finished PID SECONDS: waits for the process to end, at most SECONDS.
finished() {
    _t=$2
    while kill -0 "$1" 2>/dev/null; do
        [ "$_t" -gt 0 ] || return 1
        sleep 1; _t=$((_t - 1))
    done
    wait "$1"
}
