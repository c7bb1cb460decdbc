#!/bin/sh
# Scenario `server-ops`, HOST side: builds an export (files, a subdirectory,
# a large directory, symlinks inside and pointing out, a root-only file, a
# file outside), loads qtfs_server.ko with a key and the export, lets the
# DPU probe it (dpu.sh), then unloads it while the DPU holds a session.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs_server.ko

step "an export with files, a subdirectory, symlinks and a root-only file"
mkdir -p $EXPORT/sub $EXPORT/many
echo "outside the export" > /srv/outside.txt
chmod 644 /srv/outside.txt
printf 'hello from the host\nsecond line\n' > $EXPORT/hello.txt
chmod 640 $EXPORT/hello.txt
chown 1000:1000 $EXPORT/hello.txt
echo "inner file" > $EXPORT/sub/inner.txt
echo "root only" > $EXPORT/secret.txt
chmod 600 $EXPORT/secret.txt
ln -s hello.txt $EXPORT/link-in
ln -s /srv/outside.txt $EXPORT/link-out
ln -s ../outside.txt $EXPORT/link-up
# A file bigger than one read (64 KiB per request in the probe).
i=0
while [ $i -lt 3000 ]; do echo "line $i of the big file, padded to be long enough"; i=$((i + 1)); done > $EXPORT/big.txt
# Enough entries that a listing takes several Readdir calls (cookies).
i=0
while [ $i -lt 700 ]; do
    : > "$EXPORT/many/entry-$i-with-a-rather-long-name-to-fill-the-readdir-buffer-quickly-xxxxxxxxxxxxxxxxxxxx"
    i=$((i + 1))
done
# What the DPU must see, served by the export itself.
{
    echo "hello_stat $(stat -c '%s %a %u %g' $EXPORT/hello.txt)"
    echo "secret_stat $(stat -c '%s %a %u %g' $EXPORT/secret.txt)"
    echo "big_md5 $(md5sum < $EXPORT/big.txt | cut -d' ' -f1)"
    echo "many_count $(ls $EXPORT/many | wc -l)"
    echo "root_count $(ls -A $EXPORT | wc -l)"
} > $EXPORT/expected
cat $EXPORT/expected | sed 's/^/    /'
ls -la $EXPORT | sed 's/^/    /'

step "load qtfs_server.ko with a key and the export"
mark
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY qtfs_export=$EXPORT || fail "insmod failed"
[ -e /sys/module/qtfs_server/parameters/qtfs_auth_key ] && fail "qtfs_auth_key visible in sysfs"
[ "$(cat /sys/module/qtfs_server/parameters/qtfs_export)" = "$EXPORT" ] || fail "qtfs_export not shown"
ok "loaded; the key is not in sysfs, the export is"
barrier_open 12399

step "the DPU probes the export (dpu.sh), then holds a session open"
barrier_wait 150 "$DPU_IP" 12398 || fail "the DPU never signalled that it holds a session"
kill $BARRIER_PID 2>/dev/null
since | grep -F "qtfs_server:" | grep -vE "accepted connection|closed \(closed by peer\)|authenticated" | sed 's/^/    /'
since | grep -qF "dropped (handshake failed: wrong key" || fail "no log line for the wrong key"
[ -n "$(kthreads qtfs_srv_conn)" ] || fail "no session thread for the held session"
ok "the wrong key was logged; a session is held"

step "rmmod with the DPU's session open"
mark
t0=$(date +%s)
rmmod qtfs_server || fail "rmmod failed"
t1=$(date +%s)
[ $((t1 - t0)) -le 5 ] || fail "rmmod took $((t1 - t0)) s"
since | grep -qE "connection from $DPU_IP:[0-9]+ closed \(server stopping\)" || fail "the session was not closed by the unload"
[ -z "$(kthreads 'qtfs_srv_accept|qtfs_srv_conn')" ] || fail "threads left after rmmod"
ok "rmmod in $((t1 - t0)) s, the session closed"
echo "host: all checks passed"
