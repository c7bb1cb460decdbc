#!/bin/sh
# Scenario `mount-write`, HOST side: serves an export the DPU writes to
# (dpu.sh), then checks on the HOST's own file system what the DPU did,
# and changes files for the DPU to notice (close-to-open).
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs_server.ko

mkdir -p $EXPORT
chmod 1777 $EXPORT
echo "version one" > $EXPORT/changing.txt
echo "group file" > $EXPORT/group.txt
chown 0:100 $EXPORT/group.txt
chmod 640 $EXPORT/group.txt

step "load qtfs_server.ko"
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY qtfs_exports=$EXPORT || fail "insmod failed"
barrier_open 12399

step "wait for the DPU's writes (it opens 12397)"
barrier_wait 300 "$DPU_IP" 12397 || fail "the DPU never finished writing"
kill $BARRIER_PID 2>/dev/null
ls -la $EXPORT $EXPORT/dir | sed 's/^/    /'
[ "$(cat $EXPORT/new.txt)" = "written on the DPU" ] || fail "new.txt: $(cat $EXPORT/new.txt)"
[ "$(stat -c %a $EXPORT/new.txt)" = 640 ] || fail "new.txt mode $(stat -c %a $EXPORT/new.txt)"
[ "$(stat -c %u:%g $EXPORT/owned.txt)" = 1000:1000 ] || fail "owned.txt owner $(stat -c %u:%g $EXPORT/owned.txt)"
[ -d $EXPORT/dir/sub ] || fail "dir/sub missing"
[ "$(stat -c %a $EXPORT/dir)" = 750 ] || fail "dir mode $(stat -c %a $EXPORT/dir) (umask 027 on the DPU)"
[ "$(readlink $EXPORT/sym)" = new.txt ] || fail "symlink"
[ "$(stat -c %i $EXPORT/hard)" = "$(stat -c %i $EXPORT/new.txt)" ] || fail "hard link is another inode"
[ -p $EXPORT/fifo ] || fail "fifo is not a FIFO"
[ ! -e $EXPORT/gone.txt ] || fail "gone.txt still there"
[ ! -e $EXPORT/renamed-from ] && [ "$(cat $EXPORT/renamed-to)" = moved ] || fail "rename"
[ "$(cat $EXPORT/x2)/$(cat $EXPORT/x3)" = one/two ] || fail "rename flags: x2=$(cat $EXPORT/x2) x3=$(cat $EXPORT/x3)"
[ "$(stat -c %s $EXPORT/trunc.txt)" = 3 ] || fail "truncate: size $(stat -c %s $EXPORT/trunc.txt)"
[ "$(stat -c %Y $EXPORT/times.txt)" = 1000000000 ] || fail "utime: mtime $(stat -c %Y $EXPORT/times.txt)"
[ "$(cat $EXPORT/append.txt)" = "$(printf 'a\nb\n')" ] || fail "append: $(cat $EXPORT/append.txt)"
[ "$(md5sum < $EXPORT/big.bin | cut -d' ' -f1)" = "$(cat $EXPORT/big.md5)" ] || fail "big.bin differs on the HOST"
[ "$(cat $EXPORT/mmap.txt)" = "MMAP" ] || fail "mmap write: $(cat $EXPORT/mmap.txt)"
i=0
while [ $i -lt 4 ]; do
    [ "$(wc -l < $EXPORT/par-$i)" = 200 ] || fail "par-$i has $(wc -l < $EXPORT/par-$i) lines"
    i=$((i + 1))
done
ok "the HOST sees every change"

step "change files on the HOST for the DPU to see at its next open"
echo "version two" > $EXPORT/changing.txt
echo "made on the host" > $EXPORT/host-made.txt
rm -f $EXPORT/new.txt
barrier_open 12396
barrier_wait 300 "$DPU_IP" 12398 || fail "the DPU never finished"
kill $BARRIER_PID 2>/dev/null
rmmod qtfs_server || fail "rmmod failed"
echo "host: all checks passed"
