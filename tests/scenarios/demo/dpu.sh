#!/bin/sh
# `make demo`, DPU side: the deployment guide's client half. Load qtfs.ko
# (it connects to the HOST's qtfs_server), run HOST binaries through rexec
# wrapper scripts written like the guide's, and mount HOST trees (a
# directory and the HOST's /proc) through qtfs.
REXEC_PORT=7777
export CMD_NET_ADDR=tcp://$HOST_IP:$REXEC_PORT
say() { echo "--- $*"; }
fail() { echo "DEMO FAILED: $*"; rexec touch /tmp/demo-done 2>/dev/null; exit 1; }

say "DPU $DPU_IP: loading qtfs.ko qtfs_server_ip=$HOST_IP"
mkdir -p /etc/qtfs
(umask 077 && echo 3d1c9a0f5b7e24c8d6a1f0e9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9 >/etc/qtfs/auth.key)
# The HOST may still be booting: retry until its server accepts us.
tries=0
until qtfsctl load client --server-ip "$HOST_IP" --key-file /etc/qtfs/auth.key \
    --module-dir "$QTFS_MODULES" >/dev/null &&
    dmesg | grep -q "qtfs: connected to $HOST_IP"; do
    qtfsctl unload client 2>/dev/null
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] || fail "qtfs.ko could not connect to $HOST_IP"
    sleep 2
done
dmesg | grep -m1 "qtfs: connected to" | sed 's/^\[[^]]*\] //'
qtfsctl status

say "waiting for rexec_server at $CMD_NET_ADDR"
tries=0
until rexec --connect-timeout-ms 2000 true 2>/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -lt 120 ] || fail "rexec_server unreachable"
    sleep 1
done

say "wrapper scripts, as in the guide"
mkdir -p /usr/local/sbin
for cmd in uname ps kill; do
    printf '#!/bin/sh\nCMD_NET_ADDR=tcp://%s:%s exec rexec %s "$@"\n' "$HOST_IP" "$REXEC_PORT" "$cmd" >"/usr/local/sbin/host_$cmd"
    chmod 755 "/usr/local/sbin/host_$cmd"
done
cat /usr/local/sbin/host_kill

say "this machine is $(hostname); rexec hostname says: $(rexec hostname)"
[ "$(rexec hostname)" = host ] || fail "rexec hostname did not run on the HOST"
say "host_uname -n -r: $(host_uname -n -r)"
say "stdin passes through: $(echo 'hello from the DPU' | rexec cat)"
rexec sh -c 'exit 7'
rc=$?
say "exit status comes back: rexec sh -c 'exit 7' -> $rc"
[ "$rc" = 7 ] || fail "exit status $rc"

say "a HOST process started and killed from the DPU"
rexec sleep 300 &
sleep 2
host_ps | grep '[s]leep 300' || fail "the HOST runs no sleep 300"
remote=$(rexec --remote-pid $!) || fail "no pid map entry for $!"
host_kill -TERM "$remote"
wait $!
say "host_kill -TERM $remote: the local rexec ended with $?"

say "the HOST's files on the DPU: mount -t qtfs /srv/demo /mnt/host"
mkdir -p /mnt/host /mnt/host-proc
mount -t qtfs /srv/demo /mnt/host || fail "mount of the HOST's /srv/demo failed"
ls -la /mnt/host | sed 's/^/    /'
echo "written on the DPU through qtfs" >/mnt/host/from-dpu.txt || fail "write through qtfs"
say "rexec cat /srv/demo/from-dpu.txt (on the HOST): $(rexec cat /srv/demo/from-dpu.txt)"
[ "$(rexec cat /srv/demo/from-dpu.txt)" = "written on the DPU through qtfs" ] ||
    fail "the HOST does not see the DPU's write"

say "the HOST's /proc on the DPU: mount -t qtfs /proc /mnt/host-proc"
mount -t qtfs /proc /mnt/host-proc || fail "mount of the HOST's /proc failed"
grep -E '^(Name|State|PPid):' /mnt/host-proc/1/status | sed 's/^/    HOST pid 1 /'
[ "$(sed -n 's/^Name:[[:space:]]*//p' /mnt/host-proc/1/status)" = "$(rexec sed -n 's/^Name:[[:space:]]*//p' /proc/1/status)" ] ||
    fail "the HOST's pid 1 reads differently through qtfs"
say "HOST uptime through qtfs: $(cat /mnt/host-proc/uptime); HOST processes: $(ls /mnt/host-proc | grep -c '^[0-9]')"
umount /mnt/host-proc && umount /mnt/host || fail "umount"

rexec touch /tmp/demo-done
qtfsctl unload client || fail "qtfs.ko did not unload"
say "DPU done"
