#!/bin/sh
# Scenario `stress`, HOST side: serves a tmpfs export; checks its own
# copies of what the DPU's model-checked run wrote (`qtfs-stress verify`);
# writes new versions of a file for the DPU's close-to-open checks
# (`c2o-host`); holds most of its free memory (`hog`) while the DPU writes
# under a memory limit, then checks those files here too.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs_server.ko
echo "stress seed $SEED"

mkdir -p $EXPORT
mount -t tmpfs -o size=400m tmpfs $EXPORT || fail "tmpfs on $EXPORT"
chmod 1777 $EXPORT
step "load qtfs_server.ko"
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY qtfs_exports=$EXPORT || fail "insmod failed"
barrier_open 12399
B0=$BARRIER_PID

step "the DPU's model-checked run, checked on the HOST's own files"
barrier_wait 300 "$DPU_IP" 12397 || fail "the DPU never finished its run"
qtfs-stress verify $EXPORT/run > /tmp/verify.out 2>&1
rc=$?
cat /tmp/verify.out | grep -v '^ ' | head -n 30
[ $rc = 0 ] || fail "the HOST's copies differ from the model"
echo "FIGURE stress_host_verify_bytes=$(sed -n 's/.* files, \([0-9]*\) bytes.*/\1/p' /tmp/verify.out) mismatches=$(figure mismatches /tmp/verify.out)"
ok "the HOST's copies are the model's"

step "close-to-open: $C2O_ROUNDS versions written here, each checked by $C2O_READERS DPU readers"
qtfs-stress c2o-host $EXPORT/c2o --port $C2O_PORT --rounds $C2O_ROUNDS --seed $SEED || fail "close-to-open"
ok "every version seen whole at the DPU's next open"

step "memory hog: hold all but 64 MiB of the available memory while the DPU writes"
grep -E '^(MemTotal|MemAvailable):' /proc/meminfo | sed 's/^/    /'
rm -f /tmp/hog-stop
qtfs-stress hog --keep-free 64M --seconds 300 --stop-file /tmp/hog-stop > /tmp/hog.out 2>&1 &
HOG=$!
sleep 5
grep -E '^MemAvailable:' /proc/meminfo | sed 's/^/    with the hog: /'
barrier_open 12395
B1=$BARRIER_PID
barrier_wait 300 "$DPU_IP" 12394 || fail "the DPU never finished its pressure step"
touch /tmp/hog-stop
wait $HOG || fail "the hog failed: $(cat /tmp/hog.out)"
sed 's/^/    /' /tmp/hog.out
qtfs-stress check-fill $EXPORT/pressure-write --size ${FILL_MB}M --seed $SEED || fail "pressure-write differs on the HOST"
if [ "$MMAP_PRESSURE" = 1 ]; then
    qtfs-stress check-fill $EXPORT/pressure-mmap --size ${MMAP_MB}M --seed $SEED || fail "pressure-mmap differs on the HOST"
fi
ok "the files written under pressure are whole on the HOST"
barrier_open 12393
B2=$BARRIER_PID

step "wait for the DPU to finish (it opens 12398)"
barrier_wait 300 "$DPU_IP" 12398 || fail "the DPU never finished"
kill $B0 $B1 $B2 2>/dev/null
cat /proc/fs/qtfs_server/status | sed 's/^/    /'
rmmod qtfs_server || fail "rmmod failed"
echo "host: all checks passed"
