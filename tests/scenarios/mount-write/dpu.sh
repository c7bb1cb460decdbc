#!/bin/sh
# Scenario `mount-write`, DPU side: every write operation through a qtfs
# mount, as root and as unprivileged users; host.sh checks the results on
# the HOST.
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs.ko
M=/mnt/q

barrier_wait 150 "$HOST_IP" 12399 || fail "the HOST server never came up"
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY || fail "insmod failed"
mkdir -p $M
mount -t qtfs $EXPORT $M || fail "mount failed"

step "create, write, mode, owner"
echo "written on the DPU" > $M/new.txt || fail "create"
chmod 640 $M/new.txt || fail "chmod"
[ "$(stat -c %a $M/new.txt)" = 640 ] || fail "mode not 640 after chmod"
echo x > $M/owned.txt && chown 1000:1000 $M/owned.txt || fail "chown"
[ "$(cat $M/new.txt)" = "written on the DPU" ] || fail "reading back new.txt"
ok "create, write, chmod, chown"

step "O_EXCL: creating an existing file fails"
( set -C; echo again > $M/new.txt ) 2>/dev/null && fail "noclobber create of an existing file succeeded"
[ "$(cat $M/new.txt)" = "written on the DPU" ] || fail "the O_EXCL attempt changed the file"
ok "EEXIST"

step "mkdir (umask 027 applied on the HOST), rmdir, symlink, link, mknod"
( umask 027; mkdir $M/dir ) || fail "mkdir"
mkdir $M/dir/sub $M/dir/empty || fail "mkdir sub"
rmdir $M/dir/empty || fail "rmdir"
rmdir $M/dir 2>/dev/null && fail "rmdir of a non-empty directory succeeded"
ln -s new.txt $M/sym || fail "symlink"
ln $M/new.txt $M/hard || fail "link"
[ "$(stat -c %h $M/new.txt)" = 2 ] || fail "nlink after link: $(stat -c %h $M/new.txt)"
[ "$(stat -c %i $M/hard)" = "$(stat -c %i $M/new.txt)" ] || fail "hard link has another inode number"
mkfifo $M/fifo || fail "mkfifo"
[ -p $M/fifo ] || fail "not a fifo"
ok "directories, links, fifo"

step "unlink, rename, truncate, utime, append"
echo bye > $M/gone.txt && rm $M/gone.txt || fail "unlink"
[ -e $M/gone.txt ] && fail "gone.txt still visible"
echo moved > $M/renamed-from && mv $M/renamed-from $M/renamed-to || fail "rename"
[ -e $M/renamed-from ] && fail "old name still visible"
echo "truncate me" > $M/trunc.txt && truncate -s 3 $M/trunc.txt || fail "truncate"
[ "$(cat $M/trunc.txt)" = tru ] || fail "truncated content: $(cat $M/trunc.txt)"
echo one > $M/x1 && echo two > $M/x2 || fail "x1, x2"
qtfs-fstool rename $M/x1 $M/x2 noreplace 2>/dev/null && fail "RENAME_NOREPLACE replaced an existing file"
qtfs-fstool rename $M/x1 $M/x2 exchange || fail "RENAME_EXCHANGE"
[ "$(cat $M/x1)/$(cat $M/x2)" = two/one ] || fail "exchange: x1=$(cat $M/x1) x2=$(cat $M/x2)"
qtfs-fstool rename $M/x1 $M/x3 noreplace || fail "RENAME_NOREPLACE to a new name"
[ -e $M/x1 ] && fail "x1 still there after the rename"
echo t > $M/times.txt && touch -d @1000000000 $M/times.txt || fail "touch -d"
[ "$(stat -c %Y $M/times.txt)" = 1000000000 ] || fail "mtime $(stat -c %Y $M/times.txt)"
echo a > $M/append.txt && echo b >> $M/append.txt || fail "append"
ok "unlink, rename (NOREPLACE, EXCHANGE), truncate, utime, append"

step "a 4 MiB file written and read back"
dd if=/dev/urandom of=/tmp/big.bin bs=64k count=64 2>/dev/null
cp /tmp/big.bin $M/big.bin || fail "cp"
md5sum < /tmp/big.bin | cut -d' ' -f1 > $M/big.md5
[ "$(md5sum < $M/big.bin | cut -d' ' -f1)" = "$(cat $M/big.md5)" ] || fail "big.bin read back differs"
sync
ok "4 MiB"

step "MAP_SHARED writes reach the HOST"
printf 'mmap' > $M/mmap.txt
qtfs-fstool mmap-write $M/mmap.txt 0 MMAP || fail "mmap write"
[ "$(qtfs-fstool mmap-read $M/mmap.txt 4)" = MMAP ] || fail "reading the mapping back"
ok "written through a shared mapping and msync'ed"

step "extended attributes reach the HOST's file"
echo x > $M/xattr.txt
qtfs-fstool xattr $M/xattr.txt user.qtfs hello || fail "user xattr through qtfs"
# trusted.* needs CAP_SYS_ADMIN on the HOST, which root through qtfs
# does not have (only the file-system capabilities, as with nfsd).
qtfs-fstool xattr $M/xattr.txt trusted.qtfs world 2>/tmp/xerr && fail "remote root set a trusted.* xattr"
grep -q "not permitted" /tmp/xerr || fail "trusted.* refused with: $(cat /tmp/xerr)"
ok "user.*: set, get, list, remove; trusted.*: EPERM"

step "four processes writing at once"
i=0
while [ $i -lt 4 ]; do
    ( j=0; while [ $j -lt 200 ]; do echo "process $i line $j"; j=$((j + 1)); done > $M/par-$i ) &
    i=$((i + 1))
done
wait
ok "done"

step "permissions: unprivileged users, supplementary groups"
su -s /bin/sh tests -c "echo no > $M/owned-by-root" 2>/dev/null
su -s /bin/sh nobody -c "cat $M/group.txt" 2>/dev/null && fail "nobody read a 0640 root:100 file"
# pjdfstest (uid 1001) gets group 100 as a supplementary group.
echo "staff:x:100:pjdfstest" >> /etc/group
[ "$(su -s /bin/sh pjdfstest -c "cat $M/group.txt")" = "group file" ] ||
    fail "a member of group 100 (supplementary) could not read the 0640 root:100 file"
su -s /bin/sh tests -c "cat $M/group.txt" 2>/dev/null && fail "tests (not in group 100) read group.txt"
ok "refused where the HOST refuses, granted through a supplementary group"

barrier_open 12397
step "HOST-side changes are seen at the next open"
barrier_wait 200 "$HOST_IP" 12396 || fail "the HOST never changed its files"
[ "$(cat $M/changing.txt)" = "version two" ] || fail "changing.txt still shows $(cat $M/changing.txt)"
[ "$(cat $M/host-made.txt)" = "made on the host" ] || fail "host-made.txt not seen"
[ -e $M/new.txt ] && fail "new.txt removed on the HOST is still visible"
[ "$(cat $M/hard)" = "written on the DPU" ] || fail "the other link lost its data"
ok "close-to-open"

step "umount and rmmod after use"
umount $M || fail "umount"
rmmod qtfs || fail "rmmod"
barrier_open 12398
sleep 5
echo "dpu: all checks passed"
