#!/bin/sh
# `make demo`, HOST side: the deployment guide's server half. Load
# qtfs_server.ko, start rexec_server (CMD_NET_ADDR=tcp://0.0.0.0:<port>) with
# a whitelist, serve the DPU until it says it is done, then shut down cleanly.
REXEC_PORT=7777
say() { echo "--- $*"; }
fail() { echo "DEMO FAILED: $*"; exit 1; }

say "HOST $HOST_IP: loading qtfs_server.ko"
# The pre-shared key (the DPU holds the same) in a private file; two
# exports: a directory and the HOST's /proc.
mkdir -p /etc/qtfs /srv/demo
(umask 077 && echo 3d1c9a0f5b7e24c8d6a1f0e9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9 >/etc/qtfs/auth.key)
qtfsctl load server --server-ip "$HOST_IP" --exports /srv/demo,/proc --key-file /etc/qtfs/auth.key \
    --module-dir "$QTFS_MODULES" || fail "qtfs_server.ko did not load"
qtfsctl status

say "starting rexec_server on tcp://0.0.0.0:$REXEC_PORT (whitelist: a few busybox applets)"
mkdir -p /etc/rexec
cat >/etc/rexec/rexec_server.toml <<CONF
allowed_clients = ["$DPU_IP"]
# The demo's link between the two guests carries nothing else.
insecure_plaintext = true
[[allow]]
path = "$(readlink -f /bin/busybox)"
names = ["true", "hostname", "uname", "cat", "ps", "kill", "sleep", "touch", "sh", "sed"]
CONF
chmod 600 /etc/rexec/rexec_server.toml
CMD_NET_ADDR=tcp://0.0.0.0:$REXEC_PORT rexec_server --config /etc/rexec/rexec_server.toml >/tmp/rexec_server.log 2>&1 &
server=$!

say "serving the DPU"
waited=0
until [ -e /tmp/demo-done ]; do
    kill -0 "$server" 2>/dev/null || fail "rexec_server exited: $(cat /tmp/rexec_server.log)"
    sleep 1
    waited=$((waited + 1))
    [ "$waited" -lt 240 ] || fail "the DPU did not finish in 240 s"
done
dmesg | grep -q "qtfs_server: accepted connection from $DPU_IP" || fail "no qtfs connection from the DPU"
say "the DPU's qtfs.ko connected: $(dmesg | grep -m1 "accepted connection from $DPU_IP" | sed 's/^\[[^]]*\] //')"
say "the DPU ran $(grep -c ' started' /tmp/rexec_server.log) commands here through rexec"

say "shutting down"
kill -TERM "$server" && wait "$server" || fail "rexec_server did not stop cleanly"
qtfsctl unload server || fail "qtfs_server.ko did not unload"
say "HOST done"
