#!/bin/sh
# Scenario `modules`, DPU side: qtfs.ko refuses bad parameters, stays
# loadable (and quick) when the server cannot be reached, registers `qtfs`,
# connects to the HOST's qtfs_server, refuses mounts cleanly, and reconnects
# to the reloaded server. See host.sh for the other half.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs.ko
PORT=12345
SERVER="$(ip_hex "$HOST_IP"):$(port_hex $PORT)"

step "bad parameters are refused"
expect_refused "$KO" "qtfs: invalid qtfs_server_ip=: required"
expect_refused "$KO" "qtfs: invalid qtfs_server_ip=999.1.1.1:" qtfs_server_ip=999.1.1.1
expect_refused "$KO" "qtfs: invalid qtfs_server_ip=abc:" qtfs_server_ip=abc
expect_refused "$KO" "qtfs: invalid qtfs_server_ip=0.0.0.0:" qtfs_server_ip=0.0.0.0
for p in 0 70000 -1 abc; do
    expect_refused "$KO" "qtfs: invalid qtfs_server_port=$p: must be" \
        qtfs_server_ip="$HOST_IP" qtfs_server_port="$p"
done
expect_refused "$KO" "qtfs: invalid qtfs_log_level=LOUD:" qtfs_server_ip="$HOST_IP" qtfs_log_level=LOUD
grep -qw qtfs /proc/filesystems && fail "qtfs registered after refused loads"

step "an unreachable server does not fail the load, and the wait is bounded"
mark
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_server_port=1 qtfs_auth_key=$KEY || fail "load refused with port 1"
since | grep -qF "qtfs: cannot connect to $HOST_IP:1: error -111" || fail "no 'cannot connect' line"
rmmod qtfs || fail "rmmod failed"
mark
t0=$(date +%s)
insmod "$KO" qtfs_server_ip=10.10.0.99 qtfs_auth_key=$KEY || fail "load refused with an absent server"
t1=$(date +%s)
[ $((t1 - t0)) -le 10 ] || fail "insmod with an absent server took $((t1 - t0)) s"
since | grep -qF "qtfs: cannot connect to 10.10.0.99:$PORT" || fail "no 'cannot connect' line"
rmmod qtfs || fail "rmmod failed"
ok "refused and absent servers: loaded, warned, $((t1 - t0)) s"

step "load and connect to $HOST_IP:$PORT (retrying until the server is up)"
n=0
while :; do
    mark
    insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY || fail "insmod failed"
    since | grep -qF "qtfs: connected to $HOST_IP:$PORT" && break
    rmmod qtfs || fail "rmmod failed"
    n=$((n + 1)); [ $n -le 150 ] || fail "no connection to the server in 150 attempts"
    sleep 1
done
since | sed 's/^/    /'
ok "connected after $n failed attempt(s)"
grep -qw qtfs /proc/filesystems || fail "qtfs not in /proc/filesystems"
check_params qtfs qtfs_server_ip="$HOST_IP" qtfs_server_port=$PORT qtfs_log_level=INFO
tcp_lines "$ANY" "$SERVER" 01 >/dev/null || fail "no established connection in /proc/net/tcp"
mkdir -p /mnt/q
mark
# The HOST's server has no export: every attach is refused, and said so.
mount -t qtfs /srv /mnt/q 2>/tmp/mount.err && fail "mount -t qtfs of a path that is not exported succeeded"
cat /tmp/mount.err
since | grep -qF "qtfs: mount /srv: the server refused it" || fail "no log line for the refused mount"
ok "qtfs registered, connected (authenticated), an unexported mount refused cleanly"

step "the HOST unloads its server: the connection ends"
n=0
while tcp_lines "$ANY" "$SERVER" 01 >/dev/null; do
    n=$((n + 1)); [ $n -le 150 ] || fail "connection still established after 150 s"
    sleep 1
done
ok "connection closed by the server ($(tcp_lines "$ANY" "$SERVER" '[0-9A-F]{2}' | awk '{print "state " $4}'))"
rmmod qtfs || fail "rmmod failed"
grep -qw qtfs /proc/filesystems && fail "qtfs still registered after rmmod"
ok "rmmod: qtfs unregistered"

step "reconnect to the reloaded server"
barrier_wait 150 "$HOST_IP" || fail "the HOST never opened the barrier"
mark
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_log_level=debug qtfs_auth_key=$KEY || fail "insmod failed"
since | grep -qF "qtfs: connected to $HOST_IP:$PORT" || fail "not connected to the reloaded server"
sleep 1
rmmod qtfs || fail "rmmod failed"
grep -qw qtfs /proc/filesystems && fail "qtfs still registered after rmmod"
ok "reconnected, unloaded"

step "qtfsctl load client refuses a key file others may access"
echo 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff > /tmp/qkey
chmod 640 /tmp/qkey
out=$(qtfsctl load client --server-ip "$HOST_IP" --key-file /tmp/qkey --module-dir "$QTFS_MODULES" 2>&1) &&
    fail "a key file its group may read was accepted: $out"
echo "$out" | grep -qF "mode 0640" || fail "no mode in the refusal: $out"
echo "not a key" > /tmp/qkey2
chmod 600 /tmp/qkey2
out=$(qtfsctl load client --server-ip "$HOST_IP" --key-file /tmp/qkey2 --module-dir "$QTFS_MODULES" 2>&1) &&
    fail "a malformed key was accepted: $out"
echo "$out" | grep -qF "exactly 64 hex digits" || fail "no reason for the bad key: $out"
grep -q '^qtfs ' /proc/modules && fail "qtfs loaded after a refusal"
ok "key files: group-readable and malformed ones refused"

echo "dpu: all checks passed"
