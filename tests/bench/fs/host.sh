#!/bin/sh
# `make bench-fs`, HOST side: one tmpfs export (/bench/export) with the
# workloads' data, served at once by knfsd (NFSv4.2), diod (9P2000.L over
# TCP) and qtfs_server.ko (with the HOST's /proc), plus iperf3 and the
# control server the DPU drives the runs through (qtfs-fsbench serve). The
# DPU (dpu.sh) measures; this side only serves until it is done.
. /scenario/lib.sh
. /scenario/params
set -o pipefail

step "the export: a tmpfs with $FILES files, a ${RAND_MB} MiB file, $PROCS processes"
mkdir -p /bench && mount -t tmpfs -o size=${EXPORT_MB}m bench /bench && mkdir -p $EXPORT || fail "tmpfs"
qtfs-fsbench prep dir=$EXPORT files=$FILES mb=$RAND_MB || fail "prep"
pids=""
i=0
while [ $i -lt "$PROCS" ]; do sleep 100000 & pids="$pids $!"; i=$((i + 1)); done
echo $pids > $EXPORT/pids

step "control server, iperf3"
qtfs-fsbench serve $CONTROL_PORT >/tmp/control.log 2>&1 &
iperf3 -s -D --logfile /tmp/iperf3.log || fail "iperf3 -s"

step "knfsd: NFSv4.2 only, 8 threads, the export async (tmpfs has no stable storage to wait for)"
mkdir -p /proc/fs/nfsd /var/lib/nfs/v4recovery /run/rpc_pipefs
mount -t nfsd nfsd /proc/fs/nfsd || fail "mount nfsd"
: > /var/lib/nfs/etab; : > /var/lib/nfs/rmtab
echo "$EXPORT $DPU_IP(rw,async,no_subtree_check,no_root_squash,insecure,fsid=1)" > /etc/exports
exportfs -ra || fail "exportfs"
rpc.mountd -N 3 --no-udp || fail "rpc.mountd"
# The largest rsize/wsize knfsd allows (its default scales with RAM: 128 KiB
# here).
echo 1048576 > /proc/fs/nfsd/max_block_size || fail "max_block_size"
# -G 10: the shortest grace period (NFSv4 refuses new opens during it).
rpc.nfsd -N 3 -V 4.2 -U -G 10 8 || fail "rpc.nfsd"
exportfs -v | sed 's/^/    /'
cat /proc/fs/nfsd/versions

step "diod: 9P2000.L over TCP, no authentication (a test link)"
# diod names each client (getnameinfo) and drops it if that fails: names
# from /etc/hosts only, no DNS.
printf '%s\n' "passwd: files" "group: files" "hosts: files" > /etc/nsswitch.conf
printf '%s host\n%s dpu\n' "$HOST_IP" "$DPU_IP" >> /etc/hosts
diod -f -n -L stderr -e $EXPORT -l 0.0.0.0:564 >/tmp/diod.log 2>&1 &
DIOD=$!

step "qtfs_server.ko: $EXPORT and /proc"
insmod "$QTFS_MODULES/qtfs_server.ko" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY qtfs_exports=$EXPORT,/proc ||
    fail "insmod qtfs_server"

sleep 2
kill -0 $DIOD || fail "diod exited: $(cat /tmp/diod.log)"
barrier_open 12399
B0=$BARRIER_PID
step "serving; waiting for the DPU"
barrier_wait "$DPU_WAIT" "$DPU_IP" 12398 || fail "the DPU never finished"
kill $B0 $DIOD $pids 2>/dev/null
echo "--- diod's log:"; tail -n 20 /tmp/diod.log
rpc.nfsd 0
rmmod qtfs_server || fail "rmmod qtfs_server"
echo "host: done"
