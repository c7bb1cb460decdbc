#!/bin/sh
# Scenario `faults`, HOST side: serves an export, goes away (rmmod of the
# server, with a file replaced meanwhile), comes back, takes its link down
# for NET_DOWN_S seconds and up again, and goes away once more for the
# DPU's unmount and rmmod; checks on its own files what the DPU wrote.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs_server.ko
load() { insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY qtfs_exports=$EXPORT || fail "insmod failed"; }

mkdir -p $EXPORT
chmod 1777 $EXPORT
echo "kept content" > $EXPORT/keep.txt
echo "old content" > $EXPORT/replaced.txt
: > $EXPORT/synced.txt
: > $EXPORT/unsynced.txt
: > $EXPORT/during.txt
printf 'clean-clean-clean' > $EXPORT/mapped.txt
mkdir $EXPORT/dir && echo "deep" > $EXPORT/dir/deep.txt

step "load qtfs_server.ko"
load
barrier_open 12399

step "wait until the DPU holds its files open (12390)"
barrier_wait 300 "$DPU_IP" 12390 || fail "the DPU never got ready"
kill $BARRIER_PID 2>/dev/null

step "server gone: rmmod qtfs_server"
rmmod qtfs_server || fail "rmmod qtfs_server failed"
[ "$(cat $EXPORT/synced.txt)" = "synced before" ] || fail "the write fsync'ed before the outage is not on the HOST: '$(cat $EXPORT/synced.txt)'"
ok "the write fsync'ed before the outage is on the HOST"
# replaced.txt becomes another file (another inode) while the DPU has it open.
echo "new content" > $EXPORT/replaced.tmp && mv $EXPORT/replaced.tmp $EXPORT/replaced.txt
barrier_open 12391

step "wait for the DPU's outage checks (12392)"
barrier_wait 300 "$DPU_IP" 12392 || fail "the DPU never finished its outage checks"
kill $BARRIER_PID 2>/dev/null
step "server back: insmod qtfs_server"
load
barrier_open 12393

step "wait for the DPU's reconnect checks (12394)"
barrier_wait 300 "$DPU_IP" 12394 || fail "the DPU never finished its reconnect checks"
kill $BARRIER_PID 2>/dev/null
[ "$(cat $EXPORT/after.txt)" = "written after" ] || fail "after.txt: '$(cat $EXPORT/after.txt)'"
[ "$(cat $EXPORT/during.txt)" = "written after" ] || fail "during.txt (written through its re-opened handle): '$(cat $EXPORT/during.txt)'"
outcome=$(cat $EXPORT/mapped-outcome)
case "$outcome" in
    synced) grep -q DIRTY $EXPORT/mapped.txt || fail "fsync succeeded but the mmap write is not on the HOST: '$(cat $EXPORT/mapped.txt)'" ;;
    # The DPU's fsync reported the failed write-back: the HOST never got it.
    error) [ "$(cat $EXPORT/mapped.txt)" = clean-clean-clean ] || fail "mapped.txt: '$(cat $EXPORT/mapped.txt)'" ;;
    *) fail "mapped-outcome: '$outcome'" ;;
esac
ok "after the reconnect: new writes on the HOST; the mapped write: $outcome"

step "network down for ${NET_DOWN_S}s"
ip link set dev eth0 down || fail "ip link down"
sleep $NET_DOWN_S
ip link set dev eth0 up || fail "ip link up"
ok "network up again"

step "wait for the DPU's network checks (12395)"
barrier_wait 300 "$DPU_IP" 12395 || fail "the DPU never finished its network checks"
[ "$(cat $EXPORT/after-net.txt)" = "written after the network came back" ] || fail "after-net.txt: '$(cat $EXPORT/after-net.txt)'"
step "server gone again for the DPU's umount and rmmod"
rmmod qtfs_server || fail "rmmod qtfs_server failed"
barrier_open 12397
barrier_wait 300 "$DPU_IP" 12398 || fail "the DPU never finished"
kill $BARRIER_PID 2>/dev/null
echo "host: all checks passed"
