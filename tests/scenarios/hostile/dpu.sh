#!/bin/sh
# Scenario `hostile`, DPU side. Phase 1: qtfs-hostile attacks the HOST's
# qtfs_server.ko (each attack checked by the tool), the DPU's own qtfs.ko
# mounts during a handshake flood, then the long fuzz mode; a session is
# held for the HOST's keepalive check. Phase 2: qtfs.ko against the
# HOST's hostile server, one mount per mode; the client must fail bad
# replies with errors (a reply that never comes: ETIMEDOUT at its 60 s
# bound), never hang, and unload cleanly.
. /scenario/lib.sh
klog_start
HOSTILE=$(command -v qtfs-hostile) || fail "qtfs-hostile not on PATH"
QTFSCTL=$(command -v qtfsctl) || fail "qtfsctl not on PATH"
KO=$QTFS_MODULES/qtfs.ko
echo $KEY > /tmp/key
chmod 600 /tmp/key
S="--server $HOST_IP:$PORT --key-file /tmp/key --export $EXPORT"

step "wait for the HOST's server"
barrier_wait 200 "$HOST_IP" 12399 || fail "the HOST never loaded its server"

step "attacks (qtfs-hostile attack): each must get an error or a drop"
t0=$(date +%s)
$HOSTILE attack $S --rw-export $RW --slow > /tmp/attack.log 2>&1
rc=$?
sed 's/^/    /' /tmp/attack.log
[ $rc = 0 ] || fail "an attack did not get the outcome it must (rc $rc)"
n=$(grep -c '^ok: ' /tmp/attack.log)
ok "$n attack checks passed in $(( $(date +%s) - t0 )) s"

step "qtfs.ko mounts while a handshake flood holds 40 connections"
$HOSTILE flood --server $HOST_IP:$PORT --count 40 --seconds 40 > /tmp/flood.log 2>&1 &
FLOOD=$!
sleep 8
grep -q "connections open" /tmp/flood.log || { cat /tmp/flood.log; fail "the flood did not start"; }
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY || fail "insmod qtfs failed"
mkdir -p /mnt/real
timeout 60 mount -t qtfs $EXPORT /mnt/real || fail "mount during the flood failed"
[ "$(cat /mnt/real/hello.txt)" = "hello from the host" ] || fail "hello.txt not read during the flood"
umount /mnt/real || fail "umount"
rmmod qtfs || fail "rmmod qtfs"
wait $FLOOD
sed 's/^/    /' /tmp/flood.log
ok "mounted and read during the flood"

step "fuzz: $FUZZ_FRAMES random, mutated and valid frames to the server"
$HOSTILE fuzz $S --frames $FUZZ_FRAMES --seconds 900 > /tmp/fuzz.log 2>&1
rc=$?
sed 's/^/    /' /tmp/fuzz.log
[ $rc = 0 ] || fail "fuzz failed (rc $rc)"
grep "^FIGURE" /tmp/fuzz.log

step "hold a session for the HOST's keepalive check"
$QTFSCTL probe $S hold /hello.txt > /tmp/hold.log 2>&1 &
HOLD=$!
sleep 3
grep -q "holding session" /tmp/hold.log || { cat /tmp/hold.log; fail "could not hold a session"; }
barrier_open 12398
# The HOST checks, then unloads its server: the held session ends.
_t=120
while kill -0 $HOLD 2>/dev/null && [ $_t -gt 0 ]; do sleep 1; _t=$((_t - 1)); done
kill $BARRIER_PID 2>/dev/null
kill -0 $HOLD 2>/dev/null && fail "the held session outlived the HOST's rmmod"
grep -q "the server closed the session" /tmp/hold.log || { cat /tmp/hold.log; fail "hold did not end as expected"; }
ok "the HOST's checks are done"

step "phase 2: qtfs.ko against a hostile server"
barrier_wait 200 "$HOST_IP" 12397 || fail "the HOST's hostile server never started"
mark
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_server_port=$EVIL_PORT qtfs_auth_key=$KEY || fail "insmod qtfs failed"
# m MODE: mounts the mode's export on /mnt/MODE.
m() { mkdir -p /mnt/$1; timeout 90 mount -t qtfs /$1 /mnt/$1 || fail "mount of /$1 failed"; }
# t CMD...: runs CMD, bounded: a hang (timeout's 124 or a kill) fails.
t() {
    timeout -s KILL 90 "$@" > /tmp/t.out 2>&1
    _rc=$?
    [ $_rc = 137 ] && fail "'$*' hung (killed after 90 s)"
    grep -qE "Unknown error (5[0-9][0-9]|[1-9][0-9]{3})" /tmp/t.out && fail "'$*': a kernel-internal errno reached userspace: $(cat /tmp/t.out)"
    echo "    \$ $* -> rc $_rc: $(head -c 300 /tmp/t.out | tr '\n' ' ')"
    return $_rc
}
X100=$(printf '%100s' | tr ' ' x)

m good
t ls /mnt/good || fail "ls of /good"
[ "$(cat /mnt/good/v1)" = "$X100" ] || fail "v1 of /good is not 100 x"
ok "the well-behaved mode works"

m attrs
t ls -la /mnt/attrs
for i in 0 1 2 3 4 5 6 7 8 9; do
    t stat /mnt/attrs/v$i
    t dd if=/mnt/attrs/v$i of=/dev/null bs=4096 count=4
    t stat /mnt/attrs/v$i/x
done
t ls -la /mnt/attrs/v9
t find /mnt/attrs -maxdepth 3
t stat -f /mnt/attrs
ok "bogus attributes: every call returned (errors or odd values)"

m ids
t ls /mnt/ids || fail "ls with replies to ids never sent and duplicates"
[ "$(cat /mnt/ids/v2)" = "$X100" ] || fail "v2 of /ids is not 100 x"
ok "replies to ids never sent, duplicates and stale replies are ignored"

m events
t ls /mnt/events || fail "ls with PollEvents for unknown ids"
[ "$(cat /mnt/events/v3)" = "$X100" ] || fail "v3 of /events is not 100 x"
ok "events for unknown poll ids and malformed events are ignored"

m wrongop
t stat /mnt/wrongop/v1 && fail "stat with a reply of the wrong opcode succeeded"
ok "a reply of the wrong opcode fails the call"

m badreply
for i in 1 2 3 4 5 6 7 8; do
    t stat /mnt/badreply/v$i
    t cat /mnt/badreply/v$i
done
ok "cut, padded and kernel-internal-errno replies fail their calls"

m silent
s0=$(date +%s)
t stat /mnt/silent/v1 && fail "stat of a request never answered succeeded"
grep -q "timed out" /tmp/t.out || fail "a request never answered did not fail with ETIMEDOUT: $(cat /tmp/t.out)"
ok "a reply that never comes: ETIMEDOUT after $(( $(date +%s) - s0 )) s"

m random
s0=$(date +%s)
n=0
# Until the hostile server's final bad frame ends the connection.
while ! since | grep -q "connection lost"; do
    t ls /mnt/random; t stat /mnt/random/v$((n % 10)); t cat /mnt/random/v$((n % 10))
    n=$((n + 1))
    [ $(( $(date +%s) - s0 )) -gt 300 ] && fail "the random mode did not end within 300 s"
done
ok "random mode: $n rounds of calls in $(( $(date +%s) - s0 )) s, then the connection was dropped"

mark
m kill
t stat /mnt/kill/v1 && fail "stat through a killed connection succeeded"
t stat /mnt/kill/v2 && fail "stat after the connection was killed succeeded"
ok "a truncated or oversized reply frame ends the connection; calls fail"

step "umount everything, rmmod qtfs"
for d in good attrs ids events wrongop badreply silent random kill; do
    umount /mnt/$d || umount -l /mnt/$d || fail "umount /mnt/$d"
done
rmmod qtfs || fail "rmmod qtfs after the hostile server"
[ -z "$(kthreads 'qtfs.*')" ] || fail "qtfs threads left after rmmod"
ok "unloaded"
barrier_open 12396
sleep 5
kill $BARRIER_PID 2>/dev/null
kill $KLOG_PID 2>/dev/null
exit 0
