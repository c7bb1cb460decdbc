# Helpers shared by host.sh and dpu.sh of the `stress-restart` scenario
# (busybox sh).
fail() { echo "FAIL: $*"; echo "--- last kernel lines:"; dmesg | tail -n 30; exit 1; }
step() { echo "=== $*"; }
ok() { echo "ok: $*"; }

EXPORT=/srv/export
KEY=5f4dcc3b5aa765d61d8327deb882cf99a1b2c3d4e5f60718293a4b5c6d7e8f90
SEED=${STRESS_SEED:-20261203}
# Records acknowledged before the restart, and after the server is back.
BEFORE=60
AFTER=40
# The server stays away this long.
DOWN_SECONDS=8

# Barriers: the HOST opens 12399 when its server is loaded and 12395 when
# it is loaded again; the DPU opens 12396 when the HOST should restart the
# server, 12394 when the journal is written, 12398 at the end; the HOST
# opens 12393 when it has verified its copies.
barrier_open() { nc -l -p "$1" </dev/null >/dev/null & BARRIER_PID=$!; }
# Waits are multiplied by RIG_TIMEOUT_SCALE (set by the rig; 5 under KASAN).
SCALE=${RIG_TIMEOUT_SCALE:-1}
barrier_wait() {
    _t=$(($1 * SCALE))
    while [ "$_t" -gt 0 ]; do
        nc -w 2 "$2" "$3" </dev/null >/dev/null 2>&1 && return 0
        sleep 1; _t=$((_t - 1))
    done
    return 1
}

# acked FILE: lines in the journal so far.
acked() { [ -f "$1" ] && wc -l < "$1" | tr -d ' ' || echo 0; }
# wait_acked FILE N SECONDS: until the journal has N lines.
wait_acked() {
    _t=$(($3 * SCALE))
    while [ "$(acked "$1")" -lt "$2" ]; do
        [ "$_t" -gt 0 ] || return 1
        sleep 1; _t=$((_t - 1))
    done
}
figure() { tr ' ' '\n' < "$2" | sed -n "s/^$1=//p" | tail -n 1; }
