#!/bin/sh
# Scenario `rexec`, HOST side: start rexec_server as the deployment guide
# does (CMD_NET_ADDR=tcp://0.0.0.0:<port> rexec_server) with a whitelist of
# busybox applets, keep a file that exists only here, serve the DPU until it
# creates /tmp/dpu-done through rexec, then check the server log and shut the
# server down gracefully (SIGTERM, exit 0). dpu.sh is the other half.
PORT=${REXEC_PORT:-9777}
WAIT=${REXEC_WAIT:-240}
LOG=/tmp/rexec_server.log
CONF_DIR=${REXEC_CONF_DIR:-/etc/rexec}

fail() {
    echo "FAIL: $*"
    echo "--- rexec_server log:"
    tail -n 40 "$LOG"
    [ -n "$SRV" ] && kill "$SRV" 2>/dev/null
    exit 1
}
step() { echo "=== $*"; }
ok() { echo "ok: $*"; }

step "whitelist and config"
# Multi-call busybox: the real path is /bin/busybox for every applet, so the
# rule restricts argv[0] names. Where an applet is a binary of its own, it
# gets an entry of its own (lets this script run on a normal distribution too).
APPLETS="hostname cat sh touch true false sleep kill pwd env md5sum head"
NAMES=""
OTHERS=""
for a in $APPLETS; do
    p=""
    for d in /bin /usr/bin /sbin /usr/sbin; do
        [ -x "$d/$a" ] && { p=$d/$a; break; }
    done
    [ -n "$p" ] || fail "no $a in /bin /usr/bin /sbin /usr/sbin"
    real=$(readlink -f "$p")
    # A rule allows only the base name of its path (or its `names`), so the
    # rule names the path the DPU calls (/bin/sh), not what it resolves to.
    case "$real" in
        */busybox) NAMES="$NAMES\"$a\", " ;;
        *) OTHERS="$OTHERS$p " ;;
    esac
done
mkdir -p "$CONF_DIR"
chmod 755 "$CONF_DIR"
CONF=$CONF_DIR/rexec_server.toml
{
    echo "allowed_clients = [\"$DPU_IP\", \"127.0.0.1\"]"
    echo "insecure_plaintext = true"
    echo "[session]"
    echo "shutdown_timeout_ms = 5000"
    echo "[env]"
    echo "allow = [\"FROM_DPU\"]   # dpu.sh checks that a chosen variable passes"
    if [ -n "$NAMES" ]; then
        echo "[[allow]]"
        echo "path = \"$(readlink -f /bin/busybox)\""
        echo "names = [${NAMES%, }]"
    fi
    for r in $OTHERS; do
        echo "[[allow]]"
        echo "path = \"$r\""
    done
} >"$CONF"
chmod 644 "$CONF"
cat "$CONF"

step "a world-writable whitelist is refused"
chmod 666 "$CONF"
if CMD_NET_ADDR=tcp://0.0.0.0:$PORT rexec_server --config "$CONF" >/tmp/refused.log 2>&1; then
    fail "rexec_server started with a world-writable whitelist"
fi
grep -q "world-writable" /tmp/refused.log || fail "no clear message: $(cat /tmp/refused.log)"
chmod 600 "$CONF"
ok "$(cat /tmp/refused.log)"

step "a file only the HOST has"
mkdir -p /var/lib/rexec-scenario
echo "host-only-secret-$(hostname)" >/var/lib/rexec-scenario/marker
rm -f /tmp/dpu-done

step "start rexec_server on tcp://0.0.0.0:$PORT"
CMD_NET_ADDR=tcp://0.0.0.0:$PORT rexec_server --config "$CONF" >"$LOG" 2>&1 &
SRV=$!
t=0
until grep -q "ready: listening on" "$LOG"; do
    kill -0 "$SRV" 2>/dev/null || fail "rexec_server exited"
    sleep 1; t=$((t + 1))
    [ $t -ge 30 ] && fail "rexec_server not ready after 30 s"
done
ok "$(grep -o 'ready: listening on .*' "$LOG")"

step "serve the DPU until it creates /tmp/dpu-done through rexec"
t=0
until [ -e /tmp/dpu-done ]; do
    kill -0 "$SRV" 2>/dev/null || fail "rexec_server died"
    sleep 1; t=$((t + 1))
    [ $t -ge "$WAIT" ] && fail "no /tmp/dpu-done after $WAIT s"
done
ok "DPU done after ~${t} s: $(cat /tmp/dpu-done)"

step "server log"
grep -q "plain TCP" "$LOG" || fail "no plain-TCP warning in the log"
n=$(grep -c " started" "$LOG")
[ "$n" -ge 5 ] || fail "only $n sessions logged"
grep -q "not allowed by the server whitelist" "$LOG" || fail "refusal not logged"
grep -q "connection lost" "$LOG" || fail "client kill not logged"
ok "$n sessions, refusals and kills logged"

step "graceful shutdown"
# Let the DPU's last session (the touch) finish being reported.
sleep 1
kill -TERM "$SRV"
wait "$SRV"
rc=$?
[ "$rc" = 0 ] || fail "rexec_server exited with $rc after SIGTERM"
grep -q "rexec_server stopped" "$LOG" || fail "no shutdown line"
ok "rexec_server stopped cleanly"
echo "--- rexec_server log (tail):"
tail -n 15 "$LOG"
echo "PASS: rexec host side"
