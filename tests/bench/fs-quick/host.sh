#!/bin/sh
# Sizes: /scenario/scale times 2,000 files and 32 MiB (5: a 10,000-entry directory).
# Benchmark `fs-quick`, HOST side: the workloads of qtfs-fstool bench on the
# HOST's own tmpfs (the baseline), then serve the same tmpfs to the DPU,
# which runs them through qtfs (dpu.sh). Figures only: nothing is asserted.
. /scenario/lib.sh
set -o pipefail
mkdir -p /bench && mount -t tmpfs bench /bench && mkdir -p /bench/local /bench/export
echo "=== HOST local tmpfs"
qtfs-fstool bench /bench/local $(cat /scenario/scale) | sed 's/^/RESULT tmpfs /' || fail "bench on tmpfs"
insmod "$QTFS_MODULES/qtfs_server.ko" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY qtfs_exports=/bench/export || fail "insmod"
barrier_open 12399
barrier_wait 1700 "$DPU_IP" 12398 || fail "the DPU never finished"
kill $BARRIER_PID 2>/dev/null
rmmod qtfs_server || fail "rmmod"
echo "host: done"
