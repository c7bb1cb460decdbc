#!/bin/sh
# Scenario `fifo`, HOST side: FIFOs in the export, the HOST end of each
# exchange with the DPU (dpu.sh), the side that opens first blocking until
# the other opens.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs_server.ko
T=qtfs-fifotool

step "an export with FIFOs; load qtfs_server.ko"
mkdir -p $EXPORT
for f in a b c d e to-host from-host crowd; do mkfifo $EXPORT/$f || fail "mkfifo $f"; done
echo "a regular file" > $EXPORT/plain
chmod 666 $EXPORT/*
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY qtfs_exports=$EXPORT || fail "insmod failed"
barrier_open 12399

step "a: the DPU's reader opened first and waits; the HOST writes 300000 bytes"
barrier_wait 300 "$DPU_IP" 12380 || fail "the DPU never started its reader"
$T write $EXPORT/a 300000 7 || fail "the HOST's write to a"
ok "wrote a"

step "b: the HOST's reader opens first and must wait for the DPU's writer"
$T read $EXPORT/b 300000 9 > /tmp/b.log 2>&1 &
RB=$!
sleep 3
still_blocked $RB /tmp/b.log || fail "the HOST's open of b returned with no writer: $(cat /tmp/b.log)"
barrier_open 12381
finished $RB 120 || fail "the HOST's reader of b: $(cat /tmp/b.log)"
grep -q "read=300000 ok" /tmp/b.log || fail "b: $(cat /tmp/b.log)"
ok "the HOST read exactly what the DPU wrote to b, having waited for it to open"

step "an epoll-driven exchange: the HOST echoes what the DPU sends"
$T echo $EXPORT/to-host $EXPORT/from-host > /tmp/echo.log 2>&1 &
RE=$!
barrier_open 12382
finished $RE 300 || fail "the HOST's echo: $(cat /tmp/echo.log)"
grep -q "echoed=200" /tmp/echo.log || fail "echo: $(cat /tmp/echo.log)"
ok "echoed 200 lines"

step "wait for the DPU to finish (it opens 12398)"
barrier_wait 400 "$DPU_IP" 12398 || fail "the DPU never finished"
kill $BARRIERS 2>/dev/null
cat /proc/fs/qtfs_server/status | grep -E "^(op|sessions|connection)" | sed 's/^/    /'
rmmod qtfs_server || fail "rmmod failed"
echo "host: all checks passed"
