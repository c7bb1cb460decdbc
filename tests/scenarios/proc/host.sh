#!/bin/sh
# Scenario `proc`, HOST side: serves its /proc, /sys and cgroup2 tree
# (and an export with what the DPU should see) to the DPU (dpu.sh), then
# checks that what the DPU did to its cgroups took effect here.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs_server.ko

step "a cgroup2 tree, a HOST-only process, reference readings"
hostname qtfs-host
mkdir -p $EXPORT $CGROOT
mount -t cgroup2 none $CGROOT || fail "mount cgroup2"
echo "+memory +pids" > $CGROOT/cgroup.subtree_control || fail "enable controllers"
# A cgroup v1 hierarchy as the deployment guide mounts them (freezer is
# not bound to the v2 tree here).
CGV1=/srv/cgv1/freezer
mkdir -p $CGV1
mount -t cgroup -o freezer none $CGV1 || fail "mount the v1 freezer hierarchy"
# 100 HOST processes for the /proc/<pid>/stat rate, one of them the one the
# DPU moves into a cgroup.
i=0
SLEEPERS=""
while [ $i -lt 100 ]; do sleep 1000 & SLEEPERS="$SLEEPERS $!"; i=$((i + 1)); done
sleep 1000 &
SLEEPER=$!
{
    echo "sleeper $SLEEPER"
    echo "sleeper_ppid $$"
    grep -E '^(Name|State|PPid):' /proc/$SLEEPER/status | tr '\t' ' ' | sed 's/^/status /'
    echo "hostname $(cat /proc/sys/kernel/hostname)"
    echo "version $(md5sum < /proc/version | cut -d' ' -f1)"
    echo "filesystems $(md5sum < /proc/filesystems | cut -d' ' -f1)"
    echo "controllers $(cat $CGROOT/cgroup.controllers)"
    echo "hostpids $(ls /proc | grep -cE '^[0-9]+$')"
    echo "mountinfo1 $(md5sum < /proc/1/mountinfo | cut -d' ' -f1)"
} > $EXPORT/expected
cat $EXPORT/expected | sed 's/^/    /'
qtfs-proctool stat-rate /proc 3 | sed 's/^/    local on the HOST: /'

step "load qtfs_server.ko exporting /proc, /sys and the cgroup tree"
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY \
    qtfs_exports=$EXPORT,/proc,/sys,$CGROOT,$CGV1 || fail "insmod failed"
barrier_open 12399
B0=$BARRIER_PID

step "when the DPU has moved the sleeper (it opens 12396), check it here"
barrier_wait 400 "$DPU_IP" 12396 || fail "the DPU never moved the sleeper"
cat /proc/$SLEEPER/cgroup | sed 's/^/    /'
grep -qx "0::/qtfs-test" /proc/$SLEEPER/cgroup || fail "the sleeper is not in /qtfs-test: $(cat /proc/$SLEEPER/cgroup)"
[ "$(cat $CGROOT/qtfs-test/memory.max)" = 52428800 ] || fail "memory.max on the HOST: $(cat $CGROOT/qtfs-test/memory.max)"
[ "$(cat $CGROOT/qtfs-test/pids.max)" = 20 ] || fail "pids.max on the HOST: $(cat $CGROOT/qtfs-test/pids.max)"
[ "$(cat /proc/$SLEEPER/oom_score_adj)" = 500 ] || fail "oom_score_adj on the HOST: $(cat /proc/$SLEEPER/oom_score_adj)"
ok "the DPU's cgroup writes took effect on the HOST"
kill $SLEEPER
barrier_open 12395
B2=$BARRIER_PID

step "when the DPU has measured /proc/<pid>/stat reads (it opens 12394), end the 100 processes"
barrier_wait 300 "$DPU_IP" 12394 || fail "the DPU never measured"
kill $SLEEPERS
barrier_open 12393
B3=$BARRIER_PID

step "wait for the DPU to finish (it opens 12398)"
barrier_wait 300 "$DPU_IP" 12398 || fail "the DPU never finished"
kill $B0 $B2 $B3 2>/dev/null
[ -d $CGROOT/qtfs-test ] && fail "the DPU's rmdir of the cgroup did not reach the HOST"
[ -d $CGV1/qtfs-v1 ] && fail "the DPU's rmdir of the v1 cgroup did not reach the HOST"
cat /proc/fs/qtfs_server/status | sed 's/^/    /'
rmmod qtfs_server || fail "rmmod failed"
[ -e /proc/fs/qtfs_server ] && fail "/proc/fs/qtfs_server left after rmmod"
echo "host: all checks passed"
