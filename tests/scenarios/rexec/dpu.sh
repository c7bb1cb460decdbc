#!/bin/sh
# Scenario `rexec`, DPU side: wait for the HOST's rexec_server, write wrapper
# scripts as the deployment guide does (CMD_NET_ADDR=tcp://<host ip>:<port>
# exec rexec <HOST binary> "$@") and check that whatever calls them cannot
# tell the command ran on the HOST: stdout/stderr, exit status, stdin, env,
# cwd, signals, killing, the pid map, whitelist refusals. Finally it creates
# /tmp/dpu-done on the HOST through rexec, which ends host.sh.
PORT=${REXEC_PORT:-9777}
ADDR=tcp://$HOST_IP:$PORT
W=${REXEC_WRAP_DIR:-/tmp/wrappers}
SAME=0
[ "$HOST_IP" = "$DPU_IP" ] && SAME=1 # local two-shell test: one machine

done_on_host() { CMD_NET_ADDR=$ADDR rexec --connect-timeout-ms 2000 /bin/sh -c "echo \"\$1\" > /tmp/dpu-done" sh "$1" >/dev/null 2>&1; }
fail() {
    echo "FAIL: $*"
    done_on_host "failed: $*"
    exit 1
}
step() { echo "=== $*"; }
ok() { echo "ok: $*"; }

step "wait for rexec_server at $ADDR"
start=$(date +%s)
until CMD_NET_ADDR=$ADDR rexec --connect-timeout-ms 2000 /bin/true 2>/dev/null; do
    [ $(($(date +%s) - start)) -ge 150 ] && fail "rexec_server not reachable after 150 s"
    sleep 1
done
ok "reachable after $(($(date +%s) - start)) s"

step "wrapper scripts as in the guide"
mkdir -p "$W"
for b in hostname cat sh kill touch; do
    cat >"$W/host_$b" <<WRAP
#!/bin/sh
CMD_NET_ADDR=tcp://$HOST_IP:$PORT exec rexec /bin/$b "\$@"
WRAP
    chmod 755 "$W/host_$b"
done
# remote_kill: signal the HOST process behind a local rexec (pid map).
cat >"$W/remote_kill" <<'WRAP'
#!/bin/sh
# remote_kill -SIG <local rexec pid>
sig=$1; pid=$2
rpid=$(rexec --remote-pid "$pid") || exit 1
exec rexec /bin/kill "$sig" "$rpid"
WRAP
sed -i "s|^sig=|export CMD_NET_ADDR=$ADDR; sig=|" "$W/remote_kill"
chmod 755 "$W/remote_kill"
PATH=$W:$PATH
cat "$W/host_hostname"

step "stdout: the command runs on the HOST"
h=$(host_hostname) || fail "host_hostname exited $?"
if [ $SAME = 0 ]; then
    [ "$h" = host ] || fail "host_hostname printed '$h', expected 'host'"
    [ "$(hostname)" = dpu ] || fail "local hostname is $(hostname)"
else
    [ "$h" = "$(hostname)" ] || fail "host_hostname printed '$h'"
fi
ok "host_hostname -> $h (local: $(hostname))"

step "a file that exists only on the HOST"
m=$(host_cat /var/lib/rexec-scenario/marker) || fail "host_cat marker exited $?"
case "$m" in host-only-secret-*) ;; *) fail "marker content '$m'" ;; esac
if [ $SAME = 0 ] && [ -e /var/lib/rexec-scenario/marker ]; then
    fail "the marker exists on the DPU too"
fi
ok "read through rexec: $m; absent locally"

step "exit status"
host_sh -c 'exit 42'; rc=$?
[ $rc = 42 ] || fail "exit 42 came back as $rc"
host_sh -c 'exit 0' || fail "exit 0 came back as $?"
host_sh -c 'exit 255'; rc=$?
[ $rc = 255 ] || fail "exit 255 came back as $rc"
host_sh -c 'kill -TERM $$'; rc=$?
[ $rc = 143 ] || fail "death by SIGTERM came back as $rc, expected 143"
host_cat /nonexistent/file 2>/tmp/err; rc=$?
[ $rc = 1 ] || fail "cat of a missing file: $rc"
grep -q "nonexistent" /tmp/err || fail "cat's error message missing: $(cat /tmp/err)"
ok "42, 0, 255, 143 (SIGTERM), 1"

step "stdin passthrough with end of file"
s=$(echo hello | host_cat) || fail "echo | host_cat exited $?"
[ "$s" = hello ] || fail "echo hello | host_cat -> '$s'"
head -c 3000000 /dev/urandom >/tmp/blob
a=$(md5sum </tmp/blob | cut -d' ' -f1)
b=$(host_cat </tmp/blob | md5sum | cut -d' ' -f1)
[ "$a" = "$b" ] || fail "3 MB through host_cat: $a != $b"
ok "echo hello | host_cat; 3 MB intact ($a)"

step "stdout and stderr stay separate; argv, env and cwd pass"
host_sh -c 'echo to-out; echo to-err >&2' >/tmp/o 2>/tmp/e
[ "$(cat /tmp/o)" = to-out ] || fail "stdout: $(cat /tmp/o)"
[ "$(cat /tmp/e)" = to-err ] || fail "stderr: $(cat /tmp/e)"
a=$(host_sh -c 'printf "[%s]" "$@"' sh "a b" "" "c")
[ "$a" = "[a b][][c]" ] || fail "argv: $a"
e=$(FROM_DPU="x y" host_sh -c 'echo "$FROM_DPU"')
[ "$e" = "x y" ] || fail "env: '$e'"
c=$(cd /scenario 2>/dev/null || cd /tmp; host_sh -c pwd)
[ "$c" = /scenario ] || [ "$c" = /tmp ] || fail "cwd: $c"
ok "separate streams, argv [a b][][c], env, cwd $c"

step "signals are forwarded"
host_sh -c 'trap "echo got-usr1; exit 3" USR1; echo ready; while :; do sleep 1; done' >/tmp/sig &
p=$!
t=0
until grep -q ready /tmp/sig; do sleep 1; t=$((t + 1)); [ $t -ge 30 ] && fail "no ready"; done
kill -USR1 $p
wait $p; rc=$?
[ $rc = 3 ] || fail "USR1: exit $rc"
grep -q got-usr1 /tmp/sig || fail "USR1 not seen remotely"
ok "SIGUSR1 to the local wrapper reached the HOST process"

step "pid map and remote_kill"
rm -f /tmp/rp
host_sh -c 'echo $$; exec sleep 300' >/tmp/rp &
p=$!
t=0
until [ -s /tmp/rp ] && rexec --remote-pid $p >/tmp/mapped 2>/dev/null; do
    sleep 1; t=$((t + 1)); [ $t -ge 30 ] && fail "no pid map entry for $p"
done
[ "$(cat /tmp/mapped)" = "$(cat /tmp/rp)" ] || fail "pid map says $(cat /tmp/mapped), remote pid is $(cat /tmp/rp)"
remote_kill -TERM $p || fail "remote_kill failed"
wait $p; rc=$?
[ $rc = 143 ] || fail "after remote_kill -TERM: exit $rc"
ok "local $p -> remote $(cat /tmp/rp), remote_kill -TERM -> 143"

step "SIGKILL of the local rexec kills the HOST process"
rm -f /tmp/rp2
host_sh -c 'echo $$; exec sleep 300' >/tmp/rp2 &
p=$!
t=0
until [ -s /tmp/rp2 ]; do sleep 1; t=$((t + 1)); [ $t -ge 30 ] && fail "no remote pid"; done
r=$(cat /tmp/rp2)
[ -n "$r" ] || fail "empty remote pid"
host_kill -0 "$r" || fail "remote pid $r not alive before the kill"
kill -KILL $p
wait $p 2>/dev/null
sleep 1
if host_kill -0 "$r" 2>/dev/null; then
    fail "remote pid $r still alive 1 s after SIGKILL of the local rexec"
fi
ok "remote $r gone"

step "whitelist refusal is clear"
CMD_NET_ADDR=$ADDR rexec /bin/ls / >/dev/null 2>/tmp/err; rc=$?
[ $rc = 126 ] || fail "ls was not refused with 126 (rc $rc)"
grep -q "not allowed" /tmp/err || fail "message: $(cat /tmp/err)"
ok "$(cat /tmp/err)"

step "tell the HOST we are done"
host_touch /tmp/dpu-done || fail "host_touch failed"
if [ $SAME = 0 ] && [ -e /tmp/dpu-done ]; then fail "/tmp/dpu-done created locally"; fi
echo "PASS: rexec DPU side"
