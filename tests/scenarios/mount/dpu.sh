#!/bin/sh
# Scenario `mount`, DPU side: loads qtfs.ko with the key, mounts the HOST
# export and uses it like a local directory.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs.ko
MNT=/mnt/q

step "wait for the HOST's server"
barrier_wait 150 "$HOST_IP" 12399 || fail "the HOST server never came up"

step "load qtfs.ko with the key"
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY || fail "insmod failed"
[ -e /sys/module/qtfs/parameters/qtfs_auth_key ] && fail "qtfs_auth_key visible in sysfs"
mkdir -p $MNT

step "bad mount options are refused with EINVAL and a log line"
mark
mount -t qtfs -o bogus=1 $EXPORT $MNT 2>/dev/null && fail "mount with -o bogus=1 succeeded"
since | grep -q "mount option bogus: unknown option" || fail "no log line naming the bad option"
mount -t qtfs -o actimeo=x $EXPORT $MNT 2>/dev/null && fail "mount with actimeo=x succeeded"
ok "refused"

step "mount outside the export is refused"
mount -t qtfs /etc $MNT 2>/dev/null && fail "mounting /etc succeeded"
ok "refused"

step "mount the export"
mount -t qtfs $EXPORT $MNT || fail "mount failed"
grep " $MNT qtfs " /proc/mounts || fail "not in /proc/mounts"
ls -la $MNT | sed 's/^/    /'

step "read files and directories"
[ "$(cat $MNT/hello.txt)" = "hello from the host" ] || fail "hello.txt content"
exp=$(grep big_md5 $MNT/expected | cut -d' ' -f2)
[ "$(md5sum < $MNT/big.txt | cut -d' ' -f1)" = "$exp" ] || fail "big.txt checksum"
dd if=$MNT/big.txt bs=7 skip=1000 count=3 2>/dev/null | od -c | head -2
[ "$(ls $MNT/many | wc -l)" = 300 ] || fail "many/ has $(ls $MNT/many | wc -l) entries, not 300"
[ "$(readlink $MNT/link-in)" = hello.txt ] || fail "readlink"
[ "$(cat $MNT/link-in)" = "hello from the host" ] || fail "reading through the symlink"
exp=$(grep hello_stat $MNT/expected | cut -d' ' -f2-)
[ "$(stat -c '%s %a %u %g' $MNT/hello.txt)" = "$exp" ] || fail "hello.txt stat: $(stat -c '%s %a %u %g' $MNT/hello.txt) != $exp"
[ -d $MNT/sub ] || fail "sub is not a directory"
df $MNT | sed 's/^/    /'
ok "contents, listing, symlink, attributes, statfs"

step "permissions come from the HOST: an unprivileged user cannot read secret.txt"
cat $MNT/secret.txt >/dev/null || fail "root cannot read secret.txt"
su -s /bin/sh nobody -c "cat $MNT/secret.txt" 2>/dev/null && fail "nobody read secret.txt"
ok "refused for nobody"

step "confinement: symlinks are not followed on the HOST, mounts beneath the export are not crossed"
[ "$(readlink $MNT/link-out)" = /srv/outside.txt ] || fail "link-out target"
cat $MNT/link-out 2>/dev/null && fail "link-out reached a file: it must resolve on the DPU, where /srv/outside.txt does not exist"
[ -d $MNT/mnt ] || fail "the mount point is not shown as a directory"
[ -z "$(ls $MNT/mnt)" ] || fail "the HOST's mount beneath the export was crossed: $(ls $MNT/mnt)"
ok "symlink target returned as is; the mount beneath the export shows empty"

step "a directory the HOST moves out of the export stops working (ESTALE)"
cd $MNT/sub/deeper || fail "cd"
[ "$(cat file.txt)" = "in a directory the HOST will move away" ] || fail "file.txt before the move"
barrier_open 12396
B1=$BARRIER_PID
barrier_wait 100 "$HOST_IP" 12395 || fail "the HOST never moved it"
kill $B1 2>/dev/null
ls . >/tmp/ls.out 2>/tmp/ls.err && fail "listing a directory moved out of the export worked: $(cat /tmp/ls.out)"
grep -qi "stale" /tmp/ls.err || fail "not ESTALE: $(cat /tmp/ls.err)"
cd /
[ -e $MNT/sub/deeper ] && fail "sub/deeper still visible after the move"
ok "ESTALE, and the name is gone"

step "several mounts at once; umount -l with a file open"
mkdir -p /mnt/q2
mount -t qtfs $EXPORT/sub /mnt/q2 || fail "a second mount of the same server"
[ "$(ls /mnt/q2 | wc -l)" = "$(ls $MNT/sub | wc -l)" ] || fail "the two mounts disagree about sub/"
[ "$(grep -c ' qtfs ' /proc/mounts)" = 2 ] || fail "not two qtfs mounts"
exec 7<$MNT/hello.txt
umount -l $MNT || fail "umount -l with a file open"
[ "$(cat <&7)" = "hello from the host" ] || fail "the open file stopped working after umount -l"
exec 7<&-
umount /mnt/q2 || fail "umount of the second mount"
grep -q ' qtfs ' /proc/mounts && fail "a qtfs mount is left"
mount -t qtfs $EXPORT $MNT || fail "mount after umount -l"
ok "two mounts at once; a lazily unmounted file kept working"

step "a subdirectory of the export mounts; umount, remount, umount; rmmod"
umount $MNT || fail "umount"
mount -t qtfs $EXPORT/sub $MNT || fail "mount of a directory beneath the export"
ls -a $MNT | sed 's/^/    /'
umount $MNT || fail "umount 2"
mount -t qtfs $EXPORT $MNT || fail "mount again"
ls $MNT >/dev/null
umount $MNT || fail "umount 3"
rmmod qtfs || fail "rmmod qtfs"
ok "done"
barrier_open 12398
sleep 5
echo "dpu: all checks passed"
