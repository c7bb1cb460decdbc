# Helpers shared by host.sh and dpu.sh of the `modules` scenario (busybox sh).
# The kernel log is never cleared (the rig scans all of it at the end): to
# look at what a step logged, remember `dmesg | wc -l` before it (mark) and
# read the lines after (since).

fail() { echo "FAIL: $*"; echo "--- last kernel lines:"; dmesg | tail -n 30; exit 1; }
step() { echo "=== $*"; }
ok() { echo "ok: $*"; }

mark() { MARK=$(dmesg | wc -l); }
since() { dmesg | tail -n +$((MARK + 1)); }

# wait_log <seconds> <fixed string>: until the kernel log (whole) has it.
wait_log() {
    _t=$1; shift
    while [ "$_t" -gt 0 ]; do
        dmesg | grep -qF -- "$1" && return 0
        sleep 1; _t=$((_t - 1))
    done
    return 1
}

# now_cs: time since boot in hundredths of a second (/proc/uptime), for
# timings finer than `date +%s`.
now_cs() { awk '{ split($1, t, "."); print t[1] * 100 + t[2] }' /proc/uptime; }
# secs_cs <hundredths>: as seconds with two decimals.
secs_cs() { printf '%d.%02d' $(($1 / 100)) $(($1 % 100)); }

# count_log <fixed string>: how many kernel log lines contain it.
count_log() { dmesg | grep -cF -- "$1"; }

# ip_hex <a.b.c.d>: the address as /proc/net/tcp prints it (x86: little endian).
ip_hex() {
    echo "$1" | awk -F. '{ printf "%02X%02X%02X%02X", $4, $3, $2, $1 }'
}
port_hex() { printf '%04X' "$1"; }

# tcp_lines <local addr regex> <remote addr regex> <state>: matching sockets,
# IPv4 and IPv6 (busybox `nc -l` listens on a dual-stack IPv6 socket). An
# IPv4 address is 8 hex digits, IPv6 32; ANY matches both.
ANY='[0-9A-F]+:[0-9A-F]{4}'
tcp_lines() { cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -E "^ *[0-9]+: $1 $2 $3 "; }

# kthreads <name regex>: pids of tasks whose comm matches.
kthreads() {
    for f in /proc/[0-9]*/comm; do
        grep -qE "^($1)\$" "$f" 2>/dev/null && echo "${f%/comm}"
    done
}

# expect_refused <module.ko> <expected log fragment> [param=value]...:
# insmod must fail with EINVAL and the kernel log must show the fragment.
expect_refused() {
    _ko=$1; _want=$2; shift 2
    mark
    if _out=$(insmod "$_ko" "$@" 2>&1); then
        rmmod "$(basename "$_ko" .ko)"
        fail "insmod $(basename "$_ko") $* was accepted"
    fi
    echo "$_out" | grep -qiE 'invalid (parameters|argument)' ||
        fail "insmod $* failed, but not with EINVAL: $_out"
    since | grep -qF -- "$_want" || fail "no '$_want' in the kernel log for: $*"
    ok "refused $* -> $(since | grep -F -- "$_want" | head -n 1 | sed 's/^\[[^]]*\] //')"
}

# check_params <module> <name=value>...: sysfs shows each value, mode 0444.
check_params() {
    _m=$1; shift
    for _pv in "$@"; do
        _p=${_pv%%=*}; _v=${_pv#*=}
        _f=/sys/module/$_m/parameters/$_p
        [ -f "$_f" ] || fail "$_f missing"
        [ "$(cat "$_f")" = "$_v" ] || fail "$_f is '$(cat "$_f")', expected '$_v'"
        [ "$(stat -c %a "$_f")" = 444 ] || fail "$_f has mode $(stat -c %a "$_f"), expected 444"
    done
    ok "/sys/module/$_m/parameters: $* (mode 0444)"
}

# wait_since <seconds> <fixed string>: until a log line after the mark has it.
wait_since() {
    _t=$1; shift
    while [ "$_t" -gt 0 ]; do
        since | grep -qF -- "$1" && return 0
        sleep 1; _t=$((_t - 1))
    done
    return 1
}

# The two guests meet at a barrier port: one side opens it once with
# `barrier_open`, the other waits in `barrier_wait` until it can connect.
BARRIER_PORT=12399
barrier_open() { nc -l -p $BARRIER_PORT </dev/null >/dev/null & BARRIER_PID=$!; }
barrier_wait() {
    _t=$1
    while [ "$_t" -gt 0 ]; do
        nc -w 2 "$2" $BARRIER_PORT </dev/null >/dev/null 2>&1 && return 0
        sleep 1; _t=$((_t - 1))
    done
    return 1
}

# The pre-shared key both modules are given.
KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
