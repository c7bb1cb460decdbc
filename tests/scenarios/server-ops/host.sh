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

# A writable export on its own tmpfs (xattrs, POSIX ACLs) for the DPU's
# write operations, and a directory to export later at runtime.
mkdir -p $RW /srv/extra
mount -t tmpfs -o mode=0755 tmpfs $RW || fail "cannot mount a tmpfs on $RW"
# A file system mounted beneath the writable export (not crossmnt).
mkdir -p $RW/mnt
mount -t tmpfs tmpfs $RW/mnt || fail "cannot mount a tmpfs on $RW/mnt"
echo inside > $RW/mnt/inside

# kmemleak: forget what boot left behind, so that only later leaks count.
KML=/sys/kernel/debug/kmemleak
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
if [ -w $KML ]; then echo scan > $KML; echo clear > $KML; fi

step "load qtfs_server.ko with a key and the exports"
mark
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY qtfs_exports=$EXPORT:ro,$RW || fail "insmod failed"
[ -e /sys/module/qtfs_server/parameters/qtfs_auth_key ] && fail "qtfs_auth_key visible in sysfs"
[ "$(cat $EXPORTS)" = "$EXPORT:ro,$RW" ] || fail "qtfs_exports not shown"
[ "$(stat -c %a $EXPORTS)" = 644 ] || fail "qtfs_exports is not 0644"
ok "loaded; the key is not in sysfs, the exports are (0644)"
barrier_open 12399

step "the DPU probes the export (dpu.sh), then holds a session open"
barrier_wait 150 "$DPU_IP" 12398 || fail "the DPU never signalled that it holds a session"
kill $BARRIER_PID 2>/dev/null
since | grep -F "qtfs_server:" | grep -vE "accepted connection|closed \(closed by peer\)|authenticated" | sed 's/^/    /'
since | grep -qF "dropped (handshake failed: wrong key" || fail "no log line for the wrong key"
[ -n "$(kthreads qtfs_srv_conn)" ] || fail "no session thread for the held session"
ok "the wrong key was logged; a session is held"

step "the HOST sees what the DPU wrote (qtfs-w/expect, from the DPU's replies)"
[ -f $RW/qtfs-w/expect ] || fail "no $RW/qtfs-w/expect"
ls -la $RW/qtfs-w | sed 's/^/    /'
n=0
while read name mode uid gid size nlink; do
    [ -d "$RW/qtfs-w/$name" ] && hsize=0 || hsize=$(stat -c %s "$RW/qtfs-w/$name")
    got="$(stat -c '%f %u %g' "$RW/qtfs-w/$name") $hsize $(stat -c %h "$RW/qtfs-w/$name")"
    [ "$got" = "$mode $uid $gid $size $nlink" ] || fail "$name: the DPU saw '$mode $uid $gid $size $nlink', the HOST has '$got'"
    n=$((n + 1))
done < $RW/qtfs-w/expect
[ $n -ge 7 ] || fail "only $n expectations"
[ "$(cat $RW/qtfs-w/f)" = "Data" ] || fail "qtfs-w/f holds '$(cat $RW/qtfs-w/f)'"
[ "$(readlink $RW/qtfs-w/sl)" = f ] || fail "qtfs-w/sl"
[ "$(stat -c '%t:%T' $RW/qtfs-w/null)" = "1:3" ] || fail "qtfs-w/null is not 1:3"
[ -e $RW/qtfs-w/hl2 ] && fail "qtfs-w/hl2 was not unlinked"
[ "$(stat -c %a $RW/qtfs-w/acl/inherits)" = 666 ] || fail "default ACL not applied"
[ "$(stat -c %a $RW/qtfs-w/noacl)" = 600 ] || fail "umask not applied"
ok "$n nodes match (type, mode, owner, size, links); content, link, device, ACL and umask as written"

step "qtfs_exports at runtime"
mark
if echo "$RW/x:bogus" > $EXPORTS 2>/dev/null; then fail "a bad list was accepted"; fi
since | grep -qF "invalid qtfs_exports=$RW/x:bogus: unknown export option" || fail "no log line naming the bad entry"
if echo "/srv/does-not-exist" > $EXPORTS 2>/dev/null; then fail "a missing directory was accepted"; fi
since | grep -qF "invalid qtfs_exports entry /srv/does-not-exist: cannot resolve" || fail "no log line for the missing directory"
[ "$(cat $EXPORTS)" = "$EXPORT:ro,$RW" ] || fail "a refused write changed the value: $(cat $EXPORTS)"
echo "$EXPORT:ro,$RW,/srv/extra:crossmnt" > $EXPORTS || fail "a good list was refused"
[ "$(cat $EXPORTS)" = "$EXPORT:ro,$RW,/srv/extra:crossmnt" ] || fail "the new list is not shown"
ok "bad lists refused (EINVAL, logged, unchanged), a good one applied"

step "root squash, and ESTALE for moved and unexported nodes (the HOST's own probe)"
echo $KEY > /tmp/key
HP="qtfsctl probe --server $HOST_IP:$PORT --key-file /tmp/key"
mkdir -m 777 $RW/open
echo Y > /sys/module/qtfs_server/parameters/qtfs_root_squash
$HP --export $RW squash /open || fail "root squash"
[ "$(stat -c '%u:%g' $RW/open/by-root)" = "65534:65534" ] || fail "by-root is $(stat -c '%u:%g' $RW/open/by-root)"
echo N > /sys/module/qtfs_server/parameters/qtfs_root_squash
mkdir -p /srv/extra/inner /srv/extra/other /srv/moved
# held_until_stale <path in /srv/extra> <command making it stale>
held_until_stale() {
    $HP --export /srv/extra stale "$1" > /tmp/stale.out 2>&1 &
    _pid=$!
    _n=0
    until grep -q holding /tmp/stale.out; do
        _n=$((_n + 1)); [ $_n -le 30 ] || fail "stale $1 did not start: $(cat /tmp/stale.out)"
        sleep 1
    done
    eval "$2"
    wait $_pid || fail "stale $1: $(cat /tmp/stale.out)"
    grep -q "is ESTALE now" /tmp/stale.out || fail "stale $1: $(cat /tmp/stale.out)"
}
mkdir -p /srv/extra/m
mount -t tmpfs tmpfs /srv/extra/m || fail "cannot mount a tmpfs on /srv/extra/m"
echo crossed > /srv/extra/m/inside
[ "$($HP --export /srv/extra cat /m/inside)" = crossed ] || fail "crossmnt: the mount beneath /srv/extra is not crossed"
$HP --export /srv/extra stat /m | grep -qx " Flags: -" || fail "crossmnt: /m flagged"
held_until_stale /inner "mv /srv/extra/inner /srv/moved/"
held_until_stale /other "echo '$EXPORT:ro,$RW,/proc:ro' > $EXPORTS"
$HP --export /proc stat /uptime | grep -qx " Flags: PSEUDO,READ_ONLY" || fail "/proc/uptime not PSEUDO,READ_ONLY: $($HP --export /proc stat /uptime)"
[ -n "$($HP --export /proc cat /uptime)" ] || fail "/proc/uptime read empty"
if $HP --export /srv/extra ls / >/dev/null 2>&1; then
    fail "a removed export can still be attached"
fi
ok "squashed root creates as 65534:65534; crossmnt crosses; a node moved out of its export and one of a removed export are ESTALE; /proc is PSEUDO"

step "rmmod with the DPU's session open"
mark
t0=$(date +%s)
rmmod qtfs_server || fail "rmmod failed"
t1=$(date +%s)
[ $((t1 - t0)) -le 5 ] || fail "rmmod took $((t1 - t0)) s"
since | grep -qE "connection from $DPU_IP:[0-9]+ closed \(server stopping\)" || fail "the session was not closed by the unload"
[ -z "$(kthreads 'qtfs_srv_accept|qtfs_srv_conn|qtfs_srv_work')" ] || fail "threads left after rmmod"
ok "rmmod in $((t1 - t0)) s, the session closed"
step "no memory leaked (kmemleak, after the unload)"
if [ -w $KML ]; then
    sleep 6
    echo scan > $KML
    sleep 1
    echo scan > $KML
    if grep -q "unreferenced object" $KML; then
        sed 's/^/    /' $KML | head -n 60
        fail "kmemleak reports $(grep -c 'unreferenced object' $KML) unreferenced objects"
    fi
    ok "kmemleak reports nothing"
else
    ok "kmemleak not available: skipped"
fi
echo "host: all checks passed"
