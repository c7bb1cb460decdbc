#!/bin/sh
# Scenario `hostile`, HOST side. Phase 1: qtfs_server.ko serves an export
# with symlinks pointing out of it to sentinels on a strictatime tmpfs; the
# DPU attacks it (dpu.sh: qtfs-hostile attack, flood, fuzz); then the
# sentinels' times must be unchanged (nothing outside the export was read
# or written), the held session must have TCP keepalive, the slow reader
# must have been cut off by the send deadline, and rmmod must work.
# Phase 2: qtfs-hostile serve is a hostile server for the DPU's qtfs.ko.
. /scenario/lib.sh
klog_start
KO=$QTFS_MODULES/qtfs_server.ko
HOSTILE=$(command -v qtfs-hostile) || fail "qtfs-hostile not on PATH"

step "an export with symlinks out of it; sentinels outside on a strictatime tmpfs"
mkdir -p $EXPORT $RW $OUTSIDE
mount -t tmpfs -o strictatime,mode=0755 tmpfs $OUTSIDE || fail "cannot mount a tmpfs on $OUTSIDE"
mount -t tmpfs -o mode=0755 tmpfs $RW || fail "cannot mount a tmpfs on $RW"
echo "secret outside the export" > $OUTSIDE/sentinel
mkdir $OUTSIDE/dir
echo "inside the outside" > $OUTSIDE/dir/file
printf 'hello from the host\n' > $EXPORT/hello.txt
dd if=/dev/zero of=$EXPORT/big.bin bs=1M count=4 2>/dev/null || fail "cannot make big.bin"
ln -s $OUTSIDE/sentinel $EXPORT/out-file
ln -s $OUTSIDE $EXPORT/out-dir
ln -s ../outside/sentinel $EXPORT/up
# strictatime works here: a read moves the atime (checked on a scratch file).
echo x > $OUTSIDE/probe; a1=$(stat -c %x $OUTSIDE/probe); sleep 1
cat $OUTSIDE/probe >/dev/null; a2=$(stat -c %x $OUTSIDE/probe); rm $OUTSIDE/probe
[ "$a1" != "$a2" ] || fail "atime did not move on a read: the sentinel check could not fail"
ok "atime moves on a read on $OUTSIDE"
ls -la $EXPORT $OUTSIDE | sed 's/^/    /'
# Times move on visibly from here: any access later changes them.
sleep 1
before=$(times_of $OUTSIDE $OUTSIDE/sentinel $OUTSIDE/dir $OUTSIDE/dir/file)
echo "$before" | sed 's/^/    /'

KML=/sys/kernel/debug/kmemleak
grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug
if [ -w $KML ]; then echo scan > $KML; echo clear > $KML; fi

step "load qtfs_server.ko"
mark
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY qtfs_exports=$EXPORT:ro,$RW || fail "insmod failed"
barrier_open 12399

step "the DPU attacks the server (dpu.sh)"
# About 150 s of attacks and floods, then the fuzz (about 2,100 frames/s
# under TCG).
barrier_wait $((300 + FUZZ_FRAMES / 1000)) "$DPU_IP" 12398 || fail "the DPU never finished its attacks"
kill $BARRIER_PID 2>/dev/null
since | grep -F "qtfs_server:" | grep -vE "accepted connection|closed \(closed by peer\)|authenticated|evicted" | tail -n 40 | sed 's/^/    /'
echo "    ($(since | grep -cF 'accepted connection') connections accepted, $(since | grep -cF 'evicted in its handshake') eviction lines (rate-limited))"
since | grep -qF "evicted in its handshake" || fail "no connection was evicted during the flood"
ok "handshakes were evicted during the floods"
since | grep -qE "closed \(i/o error -110\)" || fail "the slow reader was not cut off by the send deadline (no 'i/o error -110')"
ok "the slow reader's session ended by the send deadline (ETIMEDOUT)"

step "the held session has TCP keepalive (timer 2 in /proc/net/tcp)"
# Columns: sl local rem st tx:rx tr:when ...; the server's port is 3039.
line=$(awk '$2 ~ /:3039$/ && $4 == "01" {print}' /proc/net/tcp | head -n 1)
[ -n "$line" ] || fail "no established connection on port $PORT (the DPU holds one)"
echo "    $line"
echo "$line" | awk '{split($6, t, ":"); exit !(t[1] == "02")}' || fail "the session's timer is not keepalive: $line"
ok "keepalive armed on the held session"

step "nothing outside the export was read, written or changed"
after=$(times_of $OUTSIDE $OUTSIDE/sentinel $OUTSIDE/dir $OUTSIDE/dir/file)
[ "$before" = "$after" ] || { echo "before:"; echo "$before"; echo "after:"; echo "$after"; fail "a sentinel's times changed"; }
[ "$(cat $OUTSIDE/sentinel)" = "secret outside the export" ] || fail "the sentinel's content changed"
[ "$(ls -A $OUTSIDE | tr '\n' ' ')" = "dir sentinel " ] || fail "entries appeared in $OUTSIDE: $(ls -A $OUTSIDE)"
ok "atime, mtime and ctime of $OUTSIDE, its sentinel, dir and file unchanged"

step "rmmod qtfs_server"
rmmod qtfs_server || fail "rmmod qtfs_server failed"
[ -z "$(kthreads 'qtfs_srv_.*')" ] || fail "server threads left after rmmod"
ok "unloaded, no threads left"

step "phase 2: a hostile server for the DPU's qtfs.ko"
echo $KEY > /tmp/key
$HOSTILE serve --listen $HOST_IP:$EVIL_PORT --key-file /tmp/key --frames $CLIENT_FRAMES > /tmp/serve.log 2>&1 &
SERVE_PID=$!
sleep 1
kill -0 $SERVE_PID 2>/dev/null || { cat /tmp/serve.log; fail "qtfs-hostile serve did not start"; }
barrier_open 12397
barrier_wait $((400 + CLIENT_FRAMES / 2000)) "$DPU_IP" 12396 || { cat /tmp/serve.log | tail -n 20; fail "the DPU never finished with the hostile server"; }
kill $BARRIER_PID 2>/dev/null
kill $SERVE_PID 2>/dev/null
sed 's/^/    /' /tmp/serve.log
grep -q "^FIGURE client_frames=" /tmp/serve.log || fail "the random mode did not run"
ok "the hostile server ran its modes"
kill $KLOG_PID 2>/dev/null
exit 0
