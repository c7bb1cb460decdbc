#!/bin/sh
# Scenario `fifo`, DPU side: the HOST's FIFOs through qtfs: blocking opens
# on either side, exact data both ways, an epoll-driven exchange with a
# HOST process, O_NONBLOCK, EAGAIN, EOF and EPIPE, interrupted and killed
# opens, and more blocked opens than the server holds without stalling
# other requests.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs.ko
X=/mnt/x
T=qtfs-fifotool

step "wait for the HOST's server; load qtfs.ko; mount"
barrier_wait 150 "$HOST_IP" 12399 || fail "the HOST server never came up"
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY || fail "insmod failed"
mkdir -p $X
mount -t qtfs $EXPORT $X || fail "mount"
[ -p $X/a ] || fail "a is not a FIFO through qtfs: $(ls -l $X)"

step "a: the DPU's reader opens first and waits for the HOST's writer"
$T read $X/a 300000 7 > /tmp/a.log 2>&1 &
RA=$!
sleep 3
still_blocked $RA /tmp/a.log || fail "the DPU's open of a returned with no writer: $(cat /tmp/a.log)"
barrier_open 12380
finished $RA 120 || fail "the DPU's reader of a: $(cat /tmp/a.log)"
grep -q "read=300000 ok" /tmp/a.log || fail "a: $(cat /tmp/a.log)"
ok "the DPU read exactly what the HOST wrote, having waited for it to open"

step "b: the DPU writes to the HOST's waiting reader"
barrier_wait 120 "$HOST_IP" 12381 || fail "the HOST never started its reader"
$T write $X/b 300000 9 || fail "the DPU's write to b"
ok "wrote b"

step "an epoll-driven exchange with the HOST's echo"
barrier_wait 120 "$HOST_IP" 12382 || fail "the HOST never started its echo"
out=$($T ping $X/to-host $X/from-host 200) || fail "ping: $out"
echo "    $out"
ok "200 lines there and back, each answer awaited in epoll_wait"

step "O_NONBLOCK opens, EOF, EAGAIN, a full pipe, EPIPE"
out=$($T nonblock $X/c) || fail "nonblock: $out"
echo "    $out"
ok "as on a local FIFO"

step "a blocked open is interruptible and killable"
out=$($T eintr $X/d) || fail "eintr: $out"
echo "    $out"
$T read $X/d 0 0 > /tmp/d.log 2>&1 &
RD=$!
sleep 2
still_blocked $RD /tmp/d.log || fail "open of d returned: $(cat /tmp/d.log)"
kill -9 $RD
finished $RD 10; [ $? = 137 ] || fail "the killed open did not end within 10 s"
ok "EINTR from a signal handler without SA_RESTART; SIGKILL ends a blocked open"

step "20 blocked opens (the server lets 8 readers wait) do not stall other requests"
out=$($T crowd $X/crowd 20 $X/plain) || fail "crowd: $out"
echo "    $out"
ok "other requests went on; every open returned once a writer came"

step "an O_RDWR open never waits, and its data round-trips"
exec 3<>$X/e || fail "O_RDWR open of e"
echo "rdwr" >&3
read -r line <&3
exec 3>&-
[ "$line" = rdwr ] || fail "O_RDWR: read '$line'"
ok "O_RDWR"

step "unmount and unload"
grep -E "^op (Open|Read|Write|PollRegister) " /proc/fs/qtfs/status | sed 's/^/    /'
umount $X || fail "umount"
rmmod qtfs || fail "rmmod qtfs"
barrier_open 12398
sleep 5
echo "dpu: all checks passed"
