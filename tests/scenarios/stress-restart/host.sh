#!/bin/sh
# Scenario `stress-restart`, HOST side: serves a tmpfs export, unloads and
# reloads qtfs_server.ko while the DPU writes fsync-acknowledged records,
# then checks on its own files that every acknowledged record is there.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs_server.ko
echo "stress-restart seed $SEED"

mkdir -p $EXPORT
mount -t tmpfs -o size=200m tmpfs $EXPORT || fail "tmpfs on $EXPORT"
chmod 1777 $EXPORT
step "load qtfs_server.ko"
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY qtfs_exports=$EXPORT || fail "insmod failed"
barrier_open 12399
B0=$BARRIER_PID

step "restart the server in the middle of the DPU's writes"
barrier_wait 300 "$DPU_IP" 12396 || fail "the DPU never started writing"
rmmod qtfs_server || fail "rmmod while the DPU writes"
grep -q '^qtfs_server ' /proc/modules && fail "qtfs_server still loaded"
echo "    server unloaded at $(cut -d' ' -f1 /proc/uptime)"
sleep $DOWN_SECONDS
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY qtfs_exports=$EXPORT || fail "insmod again"
echo "    server loaded again at $(cut -d' ' -f1 /proc/uptime)"
barrier_open 12395
B1=$BARRIER_PID
ok "restarted"

step "every acknowledged record on the HOST's own files"
barrier_wait 300 "$DPU_IP" 12394 || fail "the DPU never finished writing"
[ "$(md5sum < $EXPORT/journal-acked | cut -d' ' -f1)" = "$(cat $EXPORT/journal-acked.md5)" ] ||
    fail "the journal's copy differs from the DPU's journal"
qtfs-stress verify-journal $EXPORT/journal --journal $EXPORT/journal-acked > /tmp/verify.out 2>&1
rc=$?
grep -v '^ ' /tmp/verify.out | head -n 30
[ $rc = 0 ] || fail "acknowledged records are missing on the HOST"
echo "FIGURE stress_restart_host_acked=$(figure acked /tmp/verify.out) present=$(figure present /tmp/verify.out) missing=$(figure missing /tmp/verify.out)"
ok "all acknowledged records are here"
barrier_open 12393
B2=$BARRIER_PID

barrier_wait 300 "$DPU_IP" 12398 || fail "the DPU never finished"
kill $B0 $B1 $B2 2>/dev/null
cat /proc/fs/qtfs_server/status | sed 's/^/    /'
rmmod qtfs_server || fail "rmmod failed"
echo "host: all checks passed"
