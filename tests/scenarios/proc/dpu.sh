#!/bin/sh
# Scenario `proc`, DPU side: the HOST's /proc (spliced: the caller's own
# entries from the DPU's procfs), /sys and cgroup tree through qtfs.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs.ko
X=/mnt/x      # the HOST's export: what the HOST saw locally
HP=/mnt/hp    # the HOST's /proc
HS=/mnt/hs    # the HOST's /sys
HC=/mnt/hc    # the HOST's cgroup2 tree
HV1=/mnt/hv1  # the HOST's v1 freezer hierarchy
STATUS=/proc/fs/qtfs/status
expect() { grep "^$1 " $X/expected | cut -d' ' -f2-; }

step "wait for the HOST's server"
barrier_wait 150 "$HOST_IP" 12399 || fail "the HOST server never came up"
hostname qtfs-dpu

step "load qtfs.ko; mount the export, /proc with -o proc, /sys, the cgroup tree"
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY || fail "insmod failed"
grep -qx "connection connected" $STATUS || fail "status file: $(cat $STATUS)"
mkdir -p $X $HP $HS $HC
mount -t qtfs $EXPORT $X || fail "mount export"
mount -t qtfs -o splice=bogus $EXPORT /mnt 2>/dev/null && fail "a bad splice rule was accepted"
mount -t qtfs -o proc,splice=net:local /proc $HP || fail "mount /proc"
mount -t qtfs /sys $HS || fail "mount /sys"
mount -t qtfs $CGROOT $HC || fail "mount cgroup"
mkdir -p $HV1
mount -t qtfs /srv/cgv1/freezer $HV1 || fail "mount the v1 freezer hierarchy"
grep " $HP " /proc/mounts | sed 's/^/    /'
grep " $HP " /proc/mounts | grep -q ',proc,localproc=/proc,splice=self:link={pid},.*splice={pid}:local' \
    || fail "/proc/mounts does not list the splice rules"
qtfsctl status > /tmp/st && grep -q "splice {pid}:local" /tmp/st || fail "qtfsctl status does not list the splice rules"
ok "mounted; rules listed"

step "a process that exists only on the HOST"
pid=$(expect sleeper)
[ -e /proc/$pid ] && echo "    (the DPU has a pid $pid too; qtfs must show the HOST's)"
grep -E '^(Name|State|PPid):' $HP/$pid/status | tr '\t' ' ' | sed 's/^/status /' > /tmp/status.dpu
grep '^status ' $X/expected > /tmp/status.host
diff /tmp/status.host /tmp/status.dpu || fail "/proc/$pid/status differs from the HOST's"
ls $HP 2>/dev/null | grep -qx "$pid" || fail "the HOST's pid $pid is not listed"
n=$(ls $HP 2>/dev/null | grep -cE '^[0-9]+$')
[ "$n" -ge "$(expect hostpids)" ] || fail "only $n pids listed, the HOST had $(expect hostpids)"
[ "$(cat $HP/sys/kernel/hostname)" = qtfs-host ] || fail "hostname through qtfs: $(cat $HP/sys/kernel/hostname)"
# /proc/<pid>/net revalidates on every lookup on the HOST: still readable.
grep -q "lo:" $HP/1/net/dev || fail "the HOST's /proc/1/net/dev through qtfs: $(cat $HP/1/net/dev 2>&1)"
[ "$(md5sum < $HP/version | cut -d' ' -f1)" = "$(expect version)" ] || fail "/proc/version differs"
[ "$(md5sum < $HP/filesystems | cut -d' ' -f1)" = "$(expect filesystems)" ] || fail "/proc/filesystems differs"
[ "$(tr '\0' ' ' < $HP/$pid/cmdline)" = "sleep 1000 " ] || fail "cmdline through qtfs: $(tr '\0' ' ' < $HP/$pid/cmdline)"
echo 500 > $HP/$pid/oom_score_adj || fail "writing the HOST process's oom_score_adj"
[ "$(cat $HP/$pid/oom_score_adj)" = 500 ] || fail "oom_score_adj reads $(cat $HP/$pid/oom_score_adj)"
ok "Name, State, PPid as on the HOST; $n pids listed; cmdline read and oom_score_adj written (files with ->read/->write only)"

step "self, thread-self and the caller's own pid are the caller's, from the DPU's procfs"
qtfs-proctool whoami $HP > /tmp/who || fail "whoami: $(cat /tmp/who)"
sed 's/^/    /' /tmp/who
me=$(sed -n 's/^pid=//p' /tmp/who)
grep -qx "self=$me" /tmp/who || fail "readlink self is not the caller"
grep -qx "thread_self=$me/task/$me" /tmp/who || fail "thread-self is not the caller's"
grep -qx "self_stat=$me" /tmp/who || fail "self/stat is not the caller's"
grep -qx "pid_stat=$me" /tmp/who || fail "<caller pid>/stat is not the caller's"
[ "$(readlink $HP/net)" = /proc/net ] || fail "the splice=net:local rule: $(readlink $HP/net)"
[ "$(cat $HP/self/comm)" = cat ] || fail "self/comm of cat: $(cat $HP/self/comm)"
ok "spliced"

step "a rule inside the caller's own directory: self/mountinfo is the HOST's pid 1's"
HP2=/mnt/hp2
mkdir -p $HP2
mount -t qtfs -o proc,splice=self/mountinfo:link=../1/mountinfo /proc $HP2 || fail "mount with self/mountinfo"
grep " $HP2 " /proc/mounts | grep -q 'splice={pid}/mountinfo:link=../1/mountinfo' || fail "the rule is not in /proc/mounts"
[ "$(md5sum < $HP2/self/mountinfo | cut -d' ' -f1)" = "$(expect mountinfo1)" ] \
    || fail "self/mountinfo is not the HOST's /proc/1/mountinfo"
[ "$(md5sum < $HP2/self/mountinfo | cut -d' ' -f1)" != "$(md5sum < /proc/self/mountinfo | cut -d' ' -f1)" ] \
    || fail "the DPU's and the HOST's mount tables are the same: the check proves nothing"
qtfs-proctool whoami $HP2 > /tmp/who2 || fail "whoami on the second mount: $(cat /tmp/who2)"
me=$(sed -n 's/^pid=//p' /tmp/who2)
grep -qx "self_stat=$me" /tmp/who2 || fail "self/stat is not the caller's under the made directory: $(cat /tmp/who2)"
grep -qx "pid_stat=$me" /tmp/who2 || fail "<caller pid>/stat is not the caller's under the made directory"
[ "$(cat $HP2/self/comm)" = cat ] || fail "self/comm of cat: $(cat $HP2/self/comm)"
[ "$(readlink $HP2/self/exe)" = "$(readlink /proc/self/exe)" ] || fail "readlink self/exe: $(readlink $HP2/self/exe)"
[ "$(readlink $HP2/self/cwd)" = "$(pwd)" ] || fail "readlink self/cwd: $(readlink $HP2/self/cwd)"
ls $HP2/self/ > /tmp/ls-self || fail "ls self/"
for n in status mountinfo fd exe cgroup; do grep -qx $n /tmp/ls-self || fail "ls self/ lacks $n: $(cat /tmp/ls-self | tr '\n' ' ')"; done
ls $HP2/self/fd/ | grep -qx 0 || fail "self/fd/ through the made directory"
touch $HP2/self/x 2>/dev/null && fail "created a file in the made directory"
[ "$(cat $HP2/1/comm)" = "$(cat $HP/1/comm)" ] || fail "the HOST's pid 1 through the second mount"
umount $HP2 || fail "umount $HP2"
ok "self/mountinfo is the HOST's; the rest of self/ the DPU's (exe and cwd read as locally; listing; fd/)"

step "a cgroup v1 hierarchy (freezer): mkdir, a HOST process moved in, frozen and thawed, rmdir"
v1pid=$(expect sleeper)
mkdir $HV1/qtfs-v1 || fail "mkdir in the v1 hierarchy"
echo "$v1pid" > $HV1/qtfs-v1/tasks || fail "moving HOST pid $v1pid into a v1 cgroup"
grep -qx "$v1pid" $HV1/qtfs-v1/tasks || fail "tasks does not list $v1pid: $(cat $HV1/qtfs-v1/tasks)"
grep -q ":freezer:/qtfs-v1\$" $HP/$v1pid/cgroup || fail "the HOST's /proc/$v1pid/cgroup: $(cat $HP/$v1pid/cgroup)"
echo FROZEN > $HV1/qtfs-v1/freezer.state || fail "writing freezer.state"
t=0
until [ "$(cat $HV1/qtfs-v1/freezer.state)" = FROZEN ]; do
    t=$((t + 1)); [ $t -gt 100 ] && fail "freezer.state stays $(cat $HV1/qtfs-v1/freezer.state)"
    sleep 0.2
done
[ "$(cat $HV1/qtfs-v1/freezer.self_freezing)" = 1 ] || fail "freezer.self_freezing"
echo THAWED > $HV1/qtfs-v1/freezer.state || fail "thawing"
[ "$(cat $HV1/qtfs-v1/freezer.state)" = THAWED ] || fail "freezer.state after thawing: $(cat $HV1/qtfs-v1/freezer.state)"
echo bogus > $HV1/qtfs-v1/freezer.state 2>/dev/null && fail "a bogus freezer.state was accepted"
echo "$v1pid" > $HV1/tasks || fail "moving $v1pid back to the root"
rmdir $HV1/qtfs-v1 || fail "rmdir in the v1 hierarchy"
[ -e $HV1/qtfs-v1 ] && fail "the v1 cgroup is still there"
umount $HV1 || fail "umount $HV1"
ok "the HOST's v1 freezer: the process moved, FROZEN on the HOST and thawed, the cgroup removed"

step "cgroups: mkdir, limits, a write error, moving a HOST process"
[ "$(cat $HC/cgroup.controllers)" = "$(expect controllers)" ] || fail "cgroup.controllers"
mkdir $HC/qtfs-test || fail "mkdir of a cgroup"
echo 50M > $HC/qtfs-test/memory.max || fail "write memory.max"
[ "$(cat $HC/qtfs-test/memory.max)" = 52428800 ] || fail "memory.max reads $(cat $HC/qtfs-test/memory.max)"
echo 20 > $HC/qtfs-test/pids.max || fail "write pids.max"
echo bogus > $HC/qtfs-test/memory.max 2>/tmp/err && fail "a bogus memory.max was accepted"
cat /tmp/err | sed 's/^/    error as expected: /'
echo "$pid" > $HC/qtfs-test/cgroup.procs || fail "moving HOST pid $pid"
grep -qx "$pid" $HC/qtfs-test/cgroup.procs || fail "cgroup.procs does not list $pid"
grep -qx "0::/qtfs-test" $HP/$pid/cgroup || fail "the HOST's /proc/$pid/cgroup through qtfs: $(cat $HP/$pid/cgroup)"
grep -q "populated 1" $HC/qtfs-test/cgroup.events || fail "cgroup.events: $(cat $HC/qtfs-test/cgroup.events)"
# An epoll on cgroup.events, woken by the HOST's notification when the
# sleeper exits (no polling).
rm -f /tmp/armed
qtfs-proctool wait-event $HC/qtfs-test/cgroup.events 120 /tmp/armed > /tmp/event 2>&1 &
WAITER=$!
t=0
until [ -s /tmp/armed ]; do
    t=$((t + 1)); [ $t -gt 300 ] && fail "the epoll waiter never armed: $(cat /tmp/event)"
    sleep 0.1
done
barrier_open 12396
B1=$BARRIER_PID
ok "the HOST checks it now"

step "after the HOST kills the sleeper (it opens 12395): epoll wakes, the cgroup empties and goes"
barrier_wait 300 "$HOST_IP" 12395 || fail "the HOST never killed the sleeper"
t=0
until grep -q "populated 0" $HC/qtfs-test/cgroup.events; do
    t=$((t + 1)); [ $t -gt 100 ] && fail "cgroup.events never showed populated 0"
    sleep 0.2
done
wait $WAITER || fail "the epoll on cgroup.events did not wake: $(cat /tmp/event)"
sed 's/^/    /' /tmp/event
grep -q "^events=0x[0-9a-f]*[2367abef] " /tmp/event || fail "no EPOLLPRI in $(head -1 /tmp/event)"
grep -q "populated 0" /tmp/event || fail "reading cgroup.events again through the woken file: $(cat /tmp/event)"
cat $HP/$pid/status >/dev/null 2>&1 && fail "the dead process's status is still readable"
rmdir $HC/qtfs-test || fail "rmdir of the cgroup"
[ -d $HC/qtfs-test ] && fail "the cgroup is still listed"
ok "empty, removed"

step "a whole-file read of a /proc file costs one round trip"
qtfs-proctool round-trips $HP/1/stat 50 $STATUS > /tmp/rt || fail "round-trips: $(cat /tmp/rt)"
sed 's/^/    /' /tmp/rt
grep -q "^per_read=1 " /tmp/rt || fail "a warm whole-file read is not one round trip"
qtfs-proctool stat-rate $HP 3 | sed 's/^/    through qtfs: /'
ok "one round trip"
barrier_open 12394
B4=$BARRIER_PID

step "every readable file under the HOST's /proc (tasks of pid 1 only) and /sys, within 240 s"
barrier_wait 300 "$HOST_IP" 12393 || fail "the HOST never ended its 100 processes"
start=$(date +%s)
timeout 240 qtfs-proctool readtree --no-tasks $HP $HS > /tmp/tree || fail "readtree did not finish in 240 s: $(cat /tmp/tree)"
timeout 60 qtfs-proctool readtree $HP/1/task > /tmp/tree2 || fail "readtree of /proc/1/task did not finish: $(cat /tmp/tree2)"
echo "    /proc and /sys: $(cat /tmp/tree); /proc/1/task: $(cat /tmp/tree2); $(( $(date +%s) - start )) s"
files=$(sed -n 's/.* read=\([0-9]*\) .*/\1/p' /tmp/tree)
[ "${files:-0}" -ge 2000 ] || fail "only ${files:-0} files read"
ok "finished"

step "status and unload"
qtfsctl status | sed 's/^/    /'
umount $HP $HS $HC $X || fail "umount"
rmmod qtfs || fail "rmmod qtfs"
[ -e $STATUS ] && fail "$STATUS left after rmmod"
barrier_open 12398
sleep 5
kill $B1 $B4 2>/dev/null
echo "dpu: all checks passed"
