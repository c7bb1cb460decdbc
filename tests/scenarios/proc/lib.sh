# Helpers shared by host.sh and dpu.sh of the `proc` scenario (busybox sh).
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
EXPORT=/srv/export
CGROOT=/sys/fs/cgroup
# The pre-shared key, as the module parameter and the DPU's key file hold it.
KEY=5f4dcc3b5aa765d61d8327deb882cf99a1b2c3d4e5f60718293a4b5c6d7e8f90

# Barriers: the HOST opens 12399 when its server is loaded; the DPU opens
# 12398 when it holds a session for the unload test.
barrier_open() { nc -l -p "$1" </dev/null >/dev/null & BARRIER_PID=$!; }
barrier_wait() {
    _t=$1
    while [ "$_t" -gt 0 ]; do
        nc -w 2 "$2" "$3" </dev/null >/dev/null 2>&1 && return 0
        sleep 1; _t=$((_t - 1))
    done
    return 1
}
