#!/bin/sh
# Scenario `server-ops`, DPU side: `qtfsctl probe` against the HOST's
# qtfs_server.ko: handshake, attach, lookup, getattr, readdir (with
# cookies), open/read/release, readlink, statfs; confinement (no `..`, no
# symlink followed); the caller's credentials (the `tests` user); a wrong
# key; malformed frames (`garbage`); and a session held across the
# HOST's rmmod.
. /scenario/lib.sh
QTFSCTL=$(command -v qtfsctl) || fail "qtfsctl not on PATH"
echo $KEY > /tmp/key
chmod 644 /tmp/key
P="$QTFSCTL probe --server $HOST_IP:$PORT --key-file /tmp/key --export $EXPORT"

step "wait for the HOST's server"
barrier_wait 200 "$HOST_IP" 12399 || fail "the HOST never loaded its server"
$P ping || fail "ping failed"

step "list the export root"
out=$($P ls /) || fail "ls / failed: $out"
echo "$out" | sed 's/^/    /'
exp() { $P cat /expected | grep "^$1 " | cut -d' ' -f2-; }
[ "$(echo "$out" | wc -l)" = "$(exp root_count)" ] || fail "ls / shows $(echo "$out" | wc -l) entries, expected $(exp root_count)"
echo "$out" | grep -qE '^-rw-r----- 1 1000 1000 [0-9]+ hello.txt$' || fail "hello.txt line wrong"
echo "$out" | grep -qE '^d.* sub$' || fail "no sub directory"
echo "$out" | grep -qF 'link-in -> hello.txt' || fail "link-in not shown as a symlink"
echo "$out" | grep -qF 'link-out -> /srv/outside.txt' || fail "link-out not shown as a symlink"
echo "$out" | grep -qE '^-rw------- 1 0 0 [0-9]+ secret.txt$' || fail "secret.txt line wrong"
ok "ls / matches the HOST's export"

step "stat matches what the HOST wrote"
s=$($P stat /hello.txt) || fail "stat failed"
echo "$s" | sed 's/^/    /'
set -- $(exp hello_stat)
echo "$s" | grep -qx "  Size: $1" || fail "size is not $1"
echo "$s" | grep -qx "  Mode: 0$2" || fail "mode is not $2"
echo "$s" | grep -qx "   Uid: $3" || fail "uid is not $3"
echo "$s" | grep -qx "   Gid: $4" || fail "gid is not $4"
echo "$s" | grep -qx "  Type: regular file" || fail "not a regular file"
$P stat /sub | grep -qx "  Type: directory" || fail "sub is not a directory"
$P stat /link-in | grep -qx "  Type: symbolic link" || fail "lookup followed link-in"
ok "size, mode, uid, gid and types match"

step "read files"
[ "$($P cat /hello.txt)" = "$(printf 'hello from the host\nsecond line')" ] || fail "hello.txt content differs"
[ "$($P cat /sub/inner.txt)" = "inner file" ] || fail "sub/inner.txt content differs"
[ "$($P cat /big.txt | md5sum | cut -d' ' -f1)" = "$(exp big_md5)" ] || fail "big.txt differs (several reads)"
ok "hello.txt, sub/inner.txt and big.txt ($($P stat /big.txt | grep Size)) read back"

step "readdir resumes with cookies"
n=$($P ls /many | wc -l)
[ "$n" = "$(exp many_count)" ] || fail "ls /many shows $n entries, expected $(exp many_count)"
[ "$($P ls /many | awk '{print $6}' | sort -u | wc -l)" = "$n" ] || fail "duplicate entries"
ok "$n entries, no duplicates"

step "readlink and statfs"
[ "$($P readlink /link-in)" = "hello.txt" ] || fail "readlink link-in"
[ "$($P readlink /link-out)" = "/srv/outside.txt" ] || fail "readlink link-out"
st=$($P statfs /) || fail "statfs failed"
echo "$st" | sed 's/^/    /'
echo "$st" | grep -qE '^namelen: [1-9]' || fail "statfs has no namelen"
ok "readlink and statfs"

step "confinement: symlinks are not followed, '..' is refused"
for l in link-out link-up; do
    if out=$($P cat /$l 2>&1); then fail "cat $l succeeded: $out"; fi
    echo "$out" | grep -qF ELOOP || fail "cat $l: expected ELOOP, got: $out"
    # A trailing slash does not follow the link either: ls shows the link.
    out=$($P ls /$l/) || fail "ls $l/ failed: $out"
    [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q '^l' || fail "ls $l/ listed: $out"
done
# qtfsctl refuses '.' and '..' itself, before sending anything...
if out=$($P cat /sub/../../outside.txt 2>&1); then fail "'..' reached outside: $out"; fi
echo "$out" | grep -q "bad name" || fail "qtfsctl did not refuse '..' itself: $out"
# ...so the server's own refusal is checked with --raw-name, which sends each
# component as written: the answer must be the server's EINVAL.
for raw in /sub/../../outside.txt /sub/.. /.. /. /sub/./inner.txt; do
    if out=$($P --raw-name stat $raw 2>&1); then fail "the server resolved $raw: $out"; fi
    echo "$out" | grep -qF "(sent raw): the server answered: EINVAL" ||
        fail "$raw sent raw: expected the server's EINVAL, got: $out"
done
$P --raw-name stat /sub/inner.txt | grep -qx "  Size: 11" || fail "--raw-name cannot resolve an ordinary path"
if out=$($P cat /outside.txt 2>&1); then fail "outside.txt is visible"; fi
echo "$out" | grep -qF ENOENT || fail "outside.txt: expected ENOENT, got: $out"
if out=$($P cat /link-in 2>&1); then fail "cat link-in followed the symlink"; fi
ok "the outside file is unreachable (ELOOP on links, '.' and '..' refused by the server, ENOENT)"

step "the caller's credentials"
[ "$($P cat /secret.txt)" = "root only" ] || fail "root cannot read secret.txt"
if out=$(su tests -c "$P cat /secret.txt" 2>&1); then fail "uid 1000 read secret.txt: $out"; fi
echo "$out" | grep -qF EACCES || fail "uid 1000 on secret.txt: expected EACCES, got: $out"
[ "$(su tests -c "$P cat /hello.txt")" = "$(printf 'hello from the host\nsecond line')" ] ||
    fail "uid 1000 cannot read its own hello.txt"
su tests -c "$P stat /secret.txt" | grep -qx "   Uid: 0" || fail "uid 1000 cannot stat secret.txt"
ok "uid 1000: EACCES on the 0600 root file, reads its own file, stats any"

step "a wrong key is refused"
echo 0000000000000000000000000000000000000000000000000000000000000000 > /tmp/badkey
if out=$($QTFSCTL probe --server $HOST_IP:$PORT --key-file /tmp/badkey --export $EXPORT ping 2>&1); then
    fail "a wrong key was accepted"
fi
echo "$out" | grep -qF EACCES || fail "wrong key: expected EACCES, got: $out"
if out=$($QTFSCTL probe --server $HOST_IP:$PORT --key-file /tmp/key --export /srv ls / 2>&1); then
    fail "another export was attached"
fi
ok "wrong key: EACCES; another directory is not an export"

step "malformed frames"
$P garbage || fail "garbage probes"
$P ping || fail "the server died after the garbage"
[ "$($P cat /hello.txt | head -n 1)" = "hello from the host" ] || fail "no read after the garbage"
ok "the server answers after the garbage"

step "attach a directory beneath an export"
[ "$($QTFSCTL probe --server $HOST_IP:$PORT --key-file /tmp/key --export $EXPORT/sub cat /inner.txt)" = "inner file" ] ||
    fail "attach of $EXPORT/sub"
ok "$EXPORT/sub attached"

W="$QTFSCTL probe --server $HOST_IP:$PORT --key-file /tmp/key --export $RW"
step "no crossing into a mount beneath an export without crossmnt"
$W stat /mnt | grep -qx " Flags: MOUNTPOINT" || fail "$RW/mnt not flagged MOUNTPOINT: $($W stat /mnt)"
[ -z "$($W ls /mnt)" ] || fail "the mount on $RW/mnt was crossed: $($W ls /mnt)"
$W stat / | grep -qx " Flags: -" || fail "the export root is flagged"
$P stat /hello.txt | grep -qx " Flags: READ_ONLY" || fail "ro export nodes not READ_ONLY"
ok "the mountpoint is answered as itself (MOUNTPOINT, empty); READ_ONLY on the ro export"

step "write operations on the writable export $RW"
$W writes || fail "writes"
ok "every write operation behaved (the HOST checks the results)"

step "concurrency: blocking FIFO opens, pipelining, Cancel, a dropped connection"
$W concurrency || fail "concurrency"
ok "concurrency checks passed"

step "3 x 3000 random modifying requests, three sessions at once, two pipelined (qtfs-chaos-*)"
$W chaos 16 > /tmp/chaos1 2>&1 & C1=$!
$W chaos 48 > /tmp/chaos2 2>&1 & C2=$!
$W chaos > /tmp/chaos3 2>&1 & C3=$!
for c in $C1 $C2 $C3; do wait $c || fail "chaos: $(cat /tmp/chaos1 /tmp/chaos2 /tmp/chaos3)"; done
cat /tmp/chaos1 /tmp/chaos2 /tmp/chaos3
$W ping || fail "the server died after the random requests"
ok "every random request answered"

step "hold a session while the HOST unloads its server"
$P hold /sub > /tmp/hold.out 2>&1 &
HOLD=$!
n=0
until grep -q "holding session" /tmp/hold.out; do
    n=$((n + 1)); [ $n -le 30 ] || fail "hold did not start: $(cat /tmp/hold.out)"
    sleep 1
done
barrier_open 12398
n=0
while kill -0 $HOLD 2>/dev/null; do
    n=$((n + 1)); [ $n -le 200 ] || fail "the held session was never closed"
    sleep 1
done
wait $HOLD || fail "hold failed: $(cat /tmp/hold.out)"
kill $BARRIER_PID 2>/dev/null
grep -qF "the server closed the session" /tmp/hold.out || fail "hold: $(cat /tmp/hold.out)"
ok "the HOST's rmmod closed the held session"
echo "dpu: all checks passed"
