# Helpers shared by host.sh and dpu.sh of the `faults` scenario (busybox sh).
fail() { echo "FAIL: $*"; echo "--- last kernel lines:"; dmesg | tail -n 40; exit 1; }
step() { echo "=== $*"; }
ok() { echo "ok: $*"; }

PORT=12345
EXPORT=/srv/export
KEY=5f4dcc3b5aa765d61d8327deb882cf99a1b2c3d4e5f60718293a4b5c6d7e8f90

# The bound docs/client.md promises for an operation with the server gone
# (client.rs ATTEMPT_BOUND_MS: connect 5 s + two handshake replies 10 s
# each + 1 s), and a reconnect bound (backoff cap 5 s + one attempt).
FAIL_BOUND_MS=26000
RECONNECT_BOUND_MS=35000
# How long the HOST keeps its link down in the network case.
NET_DOWN_S=45

# Milliseconds since boot (10 ms resolution).
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# Barriers: a side opens a port (nc -l) when it reached a point; the other
# waits until it can connect. Each barrier port is used once.
barrier_open() { nc -l -p "$1" </dev/null >/dev/null & BARRIER_PID=$!; }
barrier_wait() {
    _t=$1
    while [ "$_t" -gt 0 ]; do
        nc -w 2 "$2" "$3" </dev/null >/dev/null 2>&1 && return 0
        sleep 1; _t=$((_t - 1))
    done
    return 1
}

# Files held open across the outage: `qtfs-fstool hold` reads commands
# from a FIFO and answers on a file, one line each ("ok|err MS RESULT").
# hold_start NAME FILE MODE FD: starts it, FD (3..9) writes to its FIFO.
hold_start() {
    mkfifo /tmp/hold-$1.in
    : > /tmp/hold-$1.out
    qtfs-fstool hold "$2" "$3" </tmp/hold-$1.in >>/tmp/hold-$1.out 2>&1 &
    HOLD_PIDS="$HOLD_PIDS $!"
    eval "exec $4>/tmp/hold-$1.in"
}
# hold NAME FD COMMAND...: sends COMMAND, prints the answer (fails after 60 s).
hold() {
    _name=$1 _fd=$2
    shift 2
    _n=$(wc -l < /tmp/hold-$_name.out)
    echo "$*" >&"$_fd"
    _i=0
    while [ "$_i" -lt 600 ]; do
        if [ "$(wc -l < /tmp/hold-$_name.out)" -gt "$_n" ]; then
            sed -n "$((_n + 1))p" /tmp/hold-$_name.out
            return 0
        fi
        sleep 0.1; _i=$((_i + 1))
    done
    fail "hold $_name: no answer to '$*' in 60 s"
}
# expect_hold NAME FD PATTERN COMMAND...: the answer must match PATTERN (grep -E).
expect_hold() {
    _en=$1 _ef=$2 _ep=$3
    shift 3
    _ans=$(hold "$_en" "$_ef" "$@")
    echo "    $_en: $* -> $_ans"
    echo "$_ans" | grep -qE "$_ep" || fail "$_en: '$*' answered '$_ans', expected /$_ep/"
}

# timed_fail CASE OP COMMAND...: COMMAND must fail with EIO or ETIMEDOUT
# within FAIL_BOUND_MS; prints the figure.
timed_fail() {
    _case=$1 _op=$2
    shift 2
    _t0=$(now_ms)
    "$@" >/tmp/tf.out 2>&1 && fail "$_case: $_op succeeded with the server gone"
    _ms=$(($(now_ms) - _t0))
    echo "FIGURE fail_ms case=$_case op=$_op ms=$_ms ($(head -n 1 /tmp/tf.out))"
    grep -qE "I/O error|Input/output error|timed out" /tmp/tf.out || fail "$_case: $_op failed with '$(cat /tmp/tf.out)', not EIO/ETIMEDOUT"
    [ "$_ms" -le "$FAIL_BOUND_MS" ] || fail "$_case: $_op took ${_ms} ms to fail (bound ${FAIL_BOUND_MS} ms)"
}

# status_line KEY: the value of KEY in /proc/fs/qtfs/status.
status_line() { sed -n "s/^$1 //p" /proc/fs/qtfs/status; }
