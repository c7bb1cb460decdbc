#!/bin/sh
# Conformance scenario `pjdfstest`, HOST side (run by `make pjdfstest` and
# `make test`). Load qtfs_server.ko, export a fresh tmpfs directory for the
# DPU's qtfs mount, tell the DPU it is ready, then serve until the DPU says it
# is done (it connects to DONE_PORT and sends its exit status), and unload.
# dpu.sh runs the suite; this side only serves.
READY_PORT=12398
DONE_PORT=12397
EXPORT=/export/pjdfstest
# The pre-shared key of both modules (a test key).
KEY=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
fail() { echo "FAIL: $*"; echo "--- last kernel lines:"; dmesg | tail -n 20; exit 1; }
say() { echo "--- $*"; }

# Listen for the DPU's "done" first: the DPU may finish early (a failure).
nc -l -p $DONE_PORT </dev/null >/tmp/dpu-done &
done_pid=$!

say "exporting $EXPORT (a fresh tmpfs, like the DPU's baseline)"
mkdir -p /export
mount -t tmpfs -o mode=0755 pjdfstest-export /export || fail "cannot mount tmpfs on /export"
mkdir -p "$EXPORT" && chmod 0755 "$EXPORT" || fail "cannot create $EXPORT"

say "loading qtfs_server.ko qtfs_server_ip=$HOST_IP qtfs_exports=$EXPORT"
insmod "$QTFS_MODULES/qtfs_server.ko" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY \
    qtfs_exports="$EXPORT" || fail "insmod qtfs_server.ko failed"
# The DPU waits for this before it tries to mount (one connection opens it).
nc -l -p $READY_PORT </dev/null >/dev/null &
ready_pid=$!

say "serving until the DPU is done"
# Bounded below the scenario's timeout (600 s), so a silent DPU is reported here.
waited=0
while kill -0 "$done_pid" 2>/dev/null; do
    waited=$((waited + 1))
    [ "$waited" -lt 560 ] || fail "the DPU did not report completion in 560 s"
    sleep 1
done
kill "$ready_pid" 2>/dev/null
say "the DPU reported: $(cat /tmp/dpu-done)"
dmesg | grep -q "qtfs_server: accepted connection from $DPU_IP" ||
    echo "note: the DPU's qtfs.ko never connected"

# The server holds the export's root until it unloads.
rmmod qtfs_server || fail "rmmod qtfs_server failed"
umount /export || fail "umount /export failed"
say "HOST done"
