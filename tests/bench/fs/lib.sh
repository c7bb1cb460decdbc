# Helpers of the `make bench-fs` scenario (busybox sh). The wrapper
# (tests/bench/fs.sh) writes /scenario/params with the sizes.
fail() { echo "FAIL: $*"; echo "--- last kernel lines:"; dmesg | tail -n 30; exit 1; }
step() { echo "=== $*"; }

# The pre-shared key of qtfs, as the module parameter takes it.
KEY=5f4dcc3b5aa765d61d8327deb882cf99a1b2c3d4e5f60718293a4b5c6d7e8f90
EXPORT=/bench/export
CONTROL_PORT=12400

# Barriers: the HOST opens 12399 when every server is up; the DPU opens 12398
# when it is done.
barrier_open() { nc -l -p "$1" </dev/null >/dev/null & BARRIER_PID=$!; }
barrier_wait() {
    _t=$1
    while [ "$_t" -gt 0 ]; do
        nc -w 2 "$2" "$3" </dev/null >/dev/null 2>&1 && return 0
        sleep 1; _t=$((_t - 1))
    done
    return 1
}
