#!/bin/sh
# Scenario `stress-restart`, DPU side: fsync-acknowledged writes through one
# qtfs mount across a restart of the server; the client reconnects by
# itself (no remount), and every acknowledged write must survive.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs.ko
M=/mnt/q
J=/tmp/journal
echo "stress-restart seed $SEED"

barrier_wait 150 "$HOST_IP" 12399 || fail "the HOST server never came up"
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY || fail "insmod failed"
mkdir -p $M
mount -t qtfs $EXPORT $M || fail "mount failed"

step "journaled writes; the HOST restarts the server after $BEFORE of them"
rm -f /tmp/stop-journal
qtfs-stress journal $M/journal --journal $J --seed $SEED --ops $((BEFORE + AFTER)) \
    --stop-file /tmp/stop-journal --retry-for 180 > /tmp/journal.out 2>&1 &
JPID=$!
wait_acked $J $BEFORE 180 || fail "only $(acked $J) records acknowledged before the restart: $(tail -n 5 /tmp/journal.out)"
barrier_open 12396
B0=$BARRIER_PID
echo "    $(acked $J) records acknowledged when the HOST was told to restart"
barrier_wait 200 "$HOST_IP" 12395 || fail "the HOST never loaded the server again"
back=$(acked $J)
echo "    $back records acknowledged when the server was back"
wait_acked $J $((back + AFTER)) 200 ||
    fail "no reconnect: only $(( $(acked $J) - back )) records acknowledged since the server came back: $(tail -n 5 /tmp/journal.out)"
touch /tmp/stop-journal
wait $JPID || fail "the journal writer failed: $(tail -n 5 /tmp/journal.out)"
grep -v '^ ' /tmp/journal.out | tail -n 20
grep -q " $M " /proc/mounts || fail "the mount is gone"
ok "$(acked $J) records acknowledged, the mount kept"

step "every acknowledged record, read back through qtfs with a cold cache"
echo 3 > /proc/sys/vm/drop_caches
qtfs-stress verify-journal $M/journal --journal $J > /tmp/verify.out 2>&1
rc=$?
grep -v '^ ' /tmp/verify.out | head -n 30
[ $rc = 0 ] || fail "acknowledged records are missing"
echo "FIGURE stress_restart_acked=$(figure acked /tmp/verify.out) present=$(figure present /tmp/verify.out) missing=$(figure missing /tmp/verify.out) longest_outage=$(figure longest_outage /tmp/journal.out) errors=$(figure errors /tmp/journal.out)"
cp $J $M/journal-acked || fail "copy the journal to the HOST"
md5sum < $J | cut -d' ' -f1 > $M/journal-acked.md5
barrier_open 12394
B1=$BARRIER_PID
barrier_wait 300 "$HOST_IP" 12393 || fail "the HOST never verified its copies"

step "umount and rmmod"
umount $M || fail "umount"
rmmod qtfs || fail "rmmod"
barrier_open 12398
sleep 5
kill $B0 $B1 2>/dev/null
echo "dpu: all checks passed"
