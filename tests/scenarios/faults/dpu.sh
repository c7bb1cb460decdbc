#!/bin/sh
# Scenario `faults`, DPU side: qtfs with the server gone (rmmod on the
# HOST, then the HOST's link down): every operation fails with EIO or
# ETIMEDOUT within the documented bound, is killable, umount and umount -l
# work; when the server is back the client reconnects by itself (no
# remount), re-opens open files (durable handles) or fails them with
# ESTALE when the HOST file was replaced, reports writes that may be lost
# at fsync, and rmmod works with the server gone. Prints `FIGURE` lines.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs.ko
M=/mnt/q
command -v qtfs-fstool >/dev/null || fail "qtfs-fstool not on PATH"

barrier_wait 150 "$HOST_IP" 12399 || fail "the HOST server never came up"
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY || fail "insmod failed"
mkdir -p $M /mnt/q2 /mnt/q3
# actimeo=0: every stat asks the server (nothing answered from a cache).
mount -t qtfs -o actimeo=0 $EXPORT $M || fail "mount failed"
mount -t qtfs $EXPORT /mnt/q2 || fail "second mount failed"
mount -t qtfs $EXPORT /mnt/q3 || fail "third mount failed"
# cache=none: every read of an open file goes to the server with its handle.
mkdir -p /mnt/qd
mount -t qtfs -o cache=none,actimeo=0 $EXPORT /mnt/qd || fail "cache=none mount failed"
[ "$(status_line connection)" = connected ] || fail "status: connection '$(status_line connection)'"
[ "$(status_line reconnects)" = 0 ] || fail "status: reconnects '$(status_line reconnects)'"

step "files held open across the outage"
hold_start keep $M/keep.txt r 3
hold_start repl $M/replaced.txt r 4
hold_start sync $M/synced.txt rw 5
hold_start unsync $M/unsynced.txt rw 6
hold_start during $M/during.txt rw 7
hold_start mapped $M/mapped.txt rw 8
hold_start deep $M/dir/deep.txt r 9
hold_start direct /mnt/qd/dir/deep.txt r 10
hold_start direpl /mnt/qd/replaced.txt r 11
expect_hold keep 3 '^ok [0-9]+ kept content' pread 0 100
expect_hold repl 4 '^ok [0-9]+ old content' pread 0 100
expect_hold deep 9 '^ok [0-9]+ deep' pread 0 100
expect_hold direct 10 '^ok [0-9]+ deep' pread 0 100
expect_hold direpl 11 '^ok [0-9]+ old content' pread 0 100
expect_hold sync 5 '^ok [0-9]+ 13$' pwrite 0 synced before
expect_hold sync 5 '^ok ' fsync
expect_hold unsync 6 '^ok [0-9]+ 14$' pwrite 0 written before
# Its page in the cache, so that the write fault during the outage needs
# no read.
expect_hold mapped 8 '^ok [0-9]+ clean-clean-clean' pread 0 100
# /mnt/q2 busy with an open file (umount -l must still work).
sleep 600 < /mnt/q2/keep.txt &
BUSY=$!
ok "9 files open"
barrier_open 12390

step "the server goes (rmmod on the HOST)"
barrier_wait 120 "$HOST_IP" 12391 || fail "the HOST never unloaded its server"
timed_fail rmmod stat stat $M/keep.txt
timed_fail rmmod read cat $M/keep.txt
timed_fail rmmod write sh -c "echo x > $M/new.txt"
timed_fail rmmod mkdir mkdir $M/newdir
timed_fail rmmod ls ls $M/dir
expect_hold keep 3 '^err [0-9]+ (5|110)$' pread 0 100
expect_hold direct 10 '^err [0-9]+ (5|110)$' pread 0 100
expect_hold during 7 '^err [0-9]+ (5|110)$' pwrite 0 written during
expect_hold during 7 '^err [0-9]+ (5|110)$' fsync
# Dirty pages with nowhere to go: `sync` writes them back, which fails;
# the error must be reported by the next fsync (below), not lost.
expect_hold mapped 8 '^ok ' mmap-write 6 DIRTY
t0=$(now_ms)
sync
echo "FIGURE sync_ms ms=$(($(now_ms) - t0)) (write-back with the server gone)"
state=$(status_line connection)
case "$state" in dead|reconnecting) ;; *) fail "status with the server gone: connection '$state'" ;; esac
ok "status: connection $state, connect_failures $(status_line connect_failures)"

step "umount -l (busy) and umount with the server gone"
t0=$(now_ms)
umount -l /mnt/q2 || fail "umount -l failed with the server gone"
umount /mnt/q3 || fail "umount failed with the server gone"
echo "FIGURE umount_ms ms=$(($(now_ms) - t0))"
kill $BUSY; wait $BUSY 2>/dev/null
grep -q " /mnt/q2 \| /mnt/q3 " /proc/mounts && fail "a mount is still listed"
ok "unmounted"
barrier_open 12392

step "the server comes back: the next operations succeed without a remount"
barrier_wait 120 "$HOST_IP" 12393 || fail "the HOST never reloaded its server"
t0=$(now_ms)
while ! stat $M/keep.txt >/dev/null 2>&1; do
    [ $(($(now_ms) - t0)) -le "$RECONNECT_BOUND_MS" ] || fail "no reconnect within ${RECONNECT_BOUND_MS} ms"
    sleep 0.1
done
echo "FIGURE reconnect_ms case=rmmod ms=$(($(now_ms) - t0))"
[ "$(status_line connection)" = connected ] || fail "status after the reconnect: '$(status_line connection)'"
[ "$(status_line reconnects)" = 1 ] || fail "status: reconnects '$(status_line reconnects)'"
[ "$(cat $M/keep.txt)" = "kept content" ] || fail "keep.txt after the reconnect"
[ "$(cat $M/replaced.txt)" = "new content" ] || fail "replaced.txt by name after the reconnect: '$(cat $M/replaced.txt)'"
echo "written after" > $M/after.txt || fail "create after the reconnect"
mkdir $M/newdir || fail "mkdir after the reconnect"
ok "stat, read, create, mkdir work again"
expect_hold keep 3 '^ok [0-9]+ kept content' pread 0 100
expect_hold deep 9 '^ok [0-9]+ deep' pread 0 100
expect_hold sync 5 '^ok [0-9]+ synced before' pread 0 100
expect_hold repl 4 '^err [0-9]+ 116$' pread 0 100
# Through the handle (cache=none): the durable re-open itself.
expect_hold direct 10 '^ok [0-9]+ deep' pread 0 100
expect_hold direpl 11 '^err [0-9]+ 116$' pread 0 100
ok "durable re-open of unchanged files; ESTALE for the replaced one"
expect_hold unsync 6 '^err [0-9]+ 5$' fsync
expect_hold unsync 6 '^ok ' fsync
ok "a write acknowledged before the outage and never synced: EIO at fsync (once)"
expect_hold during 7 '^ok [0-9]+ 13$' pwrite 0 written after
expect_hold during 7 '^ok ' fsync
expect_hold mapped 8 '^err [0-9]+ 5$' fsync
expect_hold mapped 8 '^ok ' fsync
echo error > $M/mapped-outcome
ok "a page dirtied through a mapping that could not be written back: EIO at fsync (once)"
barrier_open 12394

step "the HOST's link goes down"
wait $BARRIER_PID 2>/dev/null
sleep 3
# A blocked operation is killable.
stat $M/keep.txt >/dev/null 2>&1 &
victim=$!
sleep 2
if [ -d /proc/$victim ]; then
    t0=$(now_ms)
    kill -9 $victim
    while [ -d /proc/$victim ] && [ $(($(now_ms) - t0)) -lt 5000 ]; do sleep 0.1; done
    [ -d /proc/$victim ] && fail "kill -9 did not end a blocked stat within 5 s"
    echo "FIGURE kill_ms ms=$(($(now_ms) - t0))"
else
    fail "stat with the link down ended within 2 s: nothing blocked to kill"
fi
t_down=$(now_ms)
timed_fail netdown stat stat $M/dir/deep.txt
timed_fail netdown-next stat stat $M/keep.txt
timed_fail netdown-next write sh -c "echo x > $M/new2.txt"
expect_hold keep 3 '^err [0-9]+ (5|110)$' pread 0 100
expect_hold direct 10 '^err [0-9]+ (5|110)$' pread 0 100
ok "status with the link down: connection $(status_line connection)"

step "the link comes back: the next operations succeed without a remount"
while ! stat $M/keep.txt >/dev/null 2>&1; do
    [ $(($(now_ms) - t_down)) -le $((NET_DOWN_S * 1000 + RECONNECT_BOUND_MS)) ] || fail "no reconnect after the link came back"
    sleep 0.2
done
echo "FIGURE recovered_after_netdown_ms ms=$(($(now_ms) - t_down)) (link down ${NET_DOWN_S} s)"
[ "$(status_line connection)" = connected ] || fail "status after the reconnect: '$(status_line connection)'"
expect_hold keep 3 '^ok [0-9]+ kept content' pread 0 100
echo "written after the network came back" > $M/after-net.txt || fail "create after the network came back"
ok "reconnected; reconnects $(status_line reconnects)"
barrier_open 12395

step "server gone again: close, umount, rmmod qtfs"
barrier_wait 120 "$HOST_IP" 12397 || fail "the HOST never unloaded its server again"
for n in 3 4 5 6 7 8 9 10 11; do eval "exec $n>&-"; done
for p in $HOLD_PIDS; do wait $p; done
umount $M || fail "umount with the server gone"
umount /mnt/qd || fail "umount of the cache=none mount with the server gone"
rmmod qtfs || fail "rmmod qtfs with the server gone"
ok "umount and rmmod with the server gone"
barrier_open 12398
sleep 5
echo "dpu: all checks passed"
