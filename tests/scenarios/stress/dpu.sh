#!/bin/sh
# Scenario `stress`, DPU side: a model-checked run of racing workers
# through qtfs (`qtfs-stress run`, then `verify` with a cold cache), the
# close-to-open checks against the HOST's writer (`c2o-dpu --race`), and a
# writer under a cgroup memory limit while the HOST is short of memory.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs.ko
M=/mnt/q
CG=/sys/fs/cgroup
echo "stress seed $SEED"

barrier_wait 150 "$HOST_IP" 12399 || fail "the HOST server never came up"
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY || fail "insmod failed"
mkdir -p $M
mount -t qtfs $EXPORT $M || fail "mount failed"

step "$WORKERS workers x $OPS operations on private and shared files, checked against the model"
qtfs-stress run $M/run --seed $SEED --workers $WORKERS --ops $OPS > /tmp/run.out 2>&1
rc=$?
grep -v '^ ' /tmp/run.out | head -n 40
[ $rc = 0 ] || fail "the run found a mismatch or an error"
echo "FIGURE stress_ops=$(figure ops /tmp/run.out) mismatches=$(figure mismatches /tmp/run.out) seconds=$(figure seconds /tmp/run.out)"
grep '^stress: ops total=' /tmp/run.out | sed 's/^stress: ops total=[0-9]* /FIGURE stress_ops_by_kind /'
ok "every read and every file as the model says"

step "the same files again with a cold page cache"
echo 3 > /proc/sys/vm/drop_caches
qtfs-stress verify $M/run || fail "the files differ from the model when read again"
barrier_open 12397
B0=$BARRIER_PID

step "close-to-open: the HOST's new versions, $C2O_READERS readers racing its writes"
qtfs-stress c2o-dpu $M/c2o --host $HOST_IP:$C2O_PORT --readers $C2O_READERS --seed $SEED --race > /tmp/c2o.out 2>&1
rc=$?
cat /tmp/c2o.out
[ $rc = 0 ] || fail "a version was not seen whole after the HOST closed it"
echo "FIGURE stress_c2o_checks=$(figure checks /tmp/c2o.out) race_reads=$(figure race_reads /tmp/c2o.out) mismatches=$(figure mismatches /tmp/c2o.out)"

step "memory pressure: ${FILL_MB} MiB written, synced and read back in a ${MEM_LIMIT_MB} MiB memory cgroup"
mkdir -p $CG
mount -t cgroup2 none $CG || fail "mount cgroup2"
echo +memory > $CG/cgroup.subtree_control || fail "enable the memory controller"
mkdir $CG/writer || fail "mkdir the writer's cgroup"
echo $((MEM_LIMIT_MB * 1024 * 1024)) > $CG/writer/memory.max || fail "memory.max"
barrier_wait 200 "$HOST_IP" 12395 || fail "the HOST's memory hog never started"
# In the cgroup, each command bounded: a deadlock fails at its timeout.
in_cgroup() { # seconds, command...
    _limit=$(($1 * SCALE)); shift
    timeout "$_limit" sh -c 'echo $$ > '$CG/writer/cgroup.procs' && exec "$@"' sh "$@"
    _rc=$?
    [ $_rc = 143 ] && fail "$* did not finish within $_limit s in the memory cgroup (deadlock?)"
    [ $_rc = 0 ] || fail "$* failed in the memory cgroup (exit $_rc)"
}
in_cgroup 150 qtfs-stress fill $M/pressure-write --size ${FILL_MB}M --seed $SEED --sync-every 8M
in_cgroup 150 qtfs-stress check-fill $M/pressure-write --size ${FILL_MB}M --seed $SEED
if [ "$MMAP_PRESSURE" = 1 ]; then
    echo $((MMAP_LIMIT_MB * 1024 * 1024)) > $CG/writer/memory.max || fail "the lower memory.max"
    in_cgroup 200 qtfs-stress fill $M/pressure-mmap --size ${MMAP_MB}M --seed $SEED --mmap --sync-every 0
    echo 3 > /proc/sys/vm/drop_caches
    in_cgroup 100 qtfs-stress check-fill $M/pressure-mmap --size ${MMAP_MB}M --seed $SEED
fi
sed 's/^/    memory.events: /' $CG/writer/memory.events
max_events=$(sed -n 's/^max //p' $CG/writer/memory.events)
oom_kills=$(sed -n 's/^oom_kill //p' $CG/writer/memory.events)
peak=$(cat $CG/writer/memory.peak 2>/dev/null || echo unknown)
[ "${max_events:-0}" -gt 0 ] || fail "the writer never reached its memory limit: no pressure was tested"
[ "$oom_kills" = 0 ] || fail "the memory cgroup OOM-killed $oom_kills task(s)"
echo "FIGURE stress_pressure_write_mb=$FILL_MB limit_mb=$MEM_LIMIT_MB max_events=$max_events peak_bytes=$peak mismatches=0"
ok "written, synced and read back under the limit; nothing killed, nothing stuck"
barrier_open 12394
B1=$BARRIER_PID
barrier_wait 300 "$HOST_IP" 12393 || fail "the HOST never checked the pressure files"

step "umount and rmmod"
umount $M || fail "umount"
rmmod qtfs || fail "rmmod"
barrier_open 12398
sleep 5
kill $B0 $B1 2>/dev/null
echo "dpu: all checks passed"
