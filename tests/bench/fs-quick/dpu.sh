#!/bin/sh
# Benchmark `fs-quick`, DPU side: qtfs-fstool bench on a qtfs mount of the
# HOST's tmpfs.
. /scenario/lib.sh
set -o pipefail
barrier_wait 300 "$HOST_IP" 12399 || fail "the HOST server never came up"
insmod "$QTFS_MODULES/qtfs.ko" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY || fail "insmod"
mkdir -p /mnt/q && mount -t qtfs /bench/export /mnt/q || fail "mount"
echo "=== DPU qtfs"
qtfs-fstool bench /mnt/q $(cat /scenario/scale) | sed 's/^/RESULT qtfs /' || fail "bench on qtfs"
umount /mnt/q && rmmod qtfs || fail "umount/rmmod"
barrier_open 12398
sleep 5
echo "dpu: done"
