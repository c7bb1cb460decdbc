#!/bin/sh
# Scenario `mount`, HOST side: an export with files, a directory and
# symlinks; qtfs_server.ko serves it while the DPU mounts it (dpu.sh).
. /scenario/lib.sh
KO=$QTFS_MODULES/qtfs_server.ko

step "an export"
mkdir -p $EXPORT/sub $EXPORT/many
printf 'hello from the host\n' > $EXPORT/hello.txt
chown 1000:1000 $EXPORT/hello.txt
echo "root only" > $EXPORT/secret.txt
chmod 600 $EXPORT/secret.txt
ln -s hello.txt $EXPORT/link-in
echo "outside the export" > /srv/outside.txt
ln -s /srv/outside.txt $EXPORT/link-out
mkdir -p $EXPORT/sub/deeper $EXPORT/mnt
echo "in a directory the HOST will move away" > $EXPORT/sub/deeper/file.txt
mount -t tmpfs other $EXPORT/mnt && echo "on another mount" > $EXPORT/mnt/other.txt
i=0
while [ $i -lt 2000 ]; do echo "line $i of the big file, padded to be long enough"; i=$((i + 1)); done > $EXPORT/big.txt
i=0
while [ $i -lt 300 ]; do : > "$EXPORT/many/entry-$i"; i=$((i + 1)); done
{
    echo "big_md5 $(md5sum < $EXPORT/big.txt | cut -d' ' -f1)"
    echo "hello_stat $(stat -c '%s %a %u %g' $EXPORT/hello.txt)"
} > $EXPORT/expected

step "load qtfs_server.ko"
insmod "$KO" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY qtfs_exports=$EXPORT || fail "insmod failed"
barrier_open 12399
B0=$BARRIER_PID

step "when the DPU holds sub/deeper, move it out of the export (it opens 12396)"
barrier_wait 300 "$DPU_IP" 12396 || fail "the DPU never got to the move"
mv $EXPORT/sub/deeper /srv/moved || fail "mv"
barrier_open 12395
B2=$BARRIER_PID

step "wait for the DPU to finish (it opens 12398)"
barrier_wait 350 "$DPU_IP" 12398 || fail "the DPU never finished"
kill $B0 $B2 2>/dev/null
echo "host: export now:"; ls -la $EXPORT | sed 's/^/    /'
umount $EXPORT/mnt
rmmod qtfs_server || fail "rmmod failed"
echo "host: all checks passed"
