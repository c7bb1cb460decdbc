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

step "umount, remount, umount; rmmod"
umount $MNT || fail "umount"
mount -t qtfs $EXPORT $MNT || fail "mount again"
ls $MNT >/dev/null
umount $MNT || fail "umount 2"
rmmod qtfs || fail "rmmod qtfs"
ok "done"
barrier_open 12398
sleep 5
echo "dpu: all checks passed"
