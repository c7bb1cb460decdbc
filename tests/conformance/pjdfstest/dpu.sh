#!/bin/sh
# Conformance scenario `pjdfstest`, DPU side (run by `make pjdfstest` and
# `make test`): the POSIX file system test suite pjdfstest (the Rust rewrite,
# copied into the guest through RIG_EXTRA_BINS) with pjdfstest.toml.
#  1. Baseline: a fresh local tmpfs. Its failures must be exactly those in
#     expected-tmpfs-failures.txt; a baseline that cannot run fails.
#  2. qtfs: load qtfs.ko (it must connect to the HOST's qtfs_server), wait
#     for the HOST's export, `mount -t qtfs /export/pjdfstest /mnt/pjd-qtfs`
#     (a mount that fails fails the scenario), run the suite there and fail
#     if any test fails on qtfs that passes on tmpfs.
# In both runs the secondary file system (cross-device tests) is a local tmpfs.
# The mount points' names are chosen with care (run_suite checks them):
# pjdfstest 0.2.2's create_path_max() overflows ("capacity overflow", every
# *::enametoolong_path fails) when PATH_MAX - 1 - len(<dir>/.tmpXXXXXX/.tmpXXXXXX)
# is a multiple of NAME_MAX / 2 = 127, as it is for /mnt/base or /mnt/qtfs.
# Finally the DPU tells the HOST it is done (DONE_PORT, with its exit status).
READY_PORT=12398
DONE_PORT=12397
EXPORT=/export/pjdfstest
CONF=/scenario/pjdfstest.toml
EXPECTED=/scenario/expected-tmpfs-failures.txt
BASE_DIR=/mnt/pjd-tmpfs
QTFS_DIR=/mnt/pjd-qtfs
# The pre-shared key of both modules (a test key).
KEY=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0

say() { echo "--- $*"; }
report_done() { # exit status: tell the HOST, a few tries
    _i=0
    while [ $_i -lt 10 ]; do
        echo "dpu.sh rc=$1" | nc -w 2 "$HOST_IP" $DONE_PORT 2>/dev/null && return 0
        _i=$((_i + 1)); sleep 1
    done
    echo "warning: could not tell the HOST that the DPU is done"
}
fail() {
    echo "FAIL: $*"
    grep -qw qtfs /proc/mounts && umount $QTFS_DIR
    report_done 1
    exit 1
}

# run_suite <label> <dir>: run pjdfstest in <dir>; print its summary line and
# each failure with its message; leave the sorted failed names in
# /tmp/<label>.failed and the summary in /tmp/<label>.summary.
run_suite() {
    _label=$1 _dir=$2
    _len=$(printf %s "$_dir/.tmpXXXXXX/.tmpXXXXXX" | wc -c)
    [ $(((4095 - _len) % 127)) != 0 ] || fail "$_dir trips pjdfstest's create_path_max() bug: pick another name"
    say "$_label: pjdfstest -c $CONF -p $_dir -s /mnt/secondary"
    _t0=$(date +%s)
    # Its exit status is non-zero when any test fails: judged below instead.
    NO_COLOR=1 pjdfstest -c "$CONF" -p "$_dir" -s /mnt/secondary >"/tmp/$_label.raw" 2>&1
    _rc=$?
    _t1=$(date +%s)
    # Strip colour codes in case the binary colours anyway.
    sed 's/\x1b\[[0-9;]*m//g' "/tmp/$_label.raw" >"/tmp/$_label.log"
    grep '^Summary: ' "/tmp/$_label.log" | tail -n 1 >"/tmp/$_label.summary"
    if [ ! -s "/tmp/$_label.summary" ]; then
        echo "pjdfstest exited with $_rc without a summary; its last lines:"
        tail -n 20 "/tmp/$_label.log" | sed 's/^/    /'
        fail "$_label: pjdfstest did not complete"
    fi
    # "<name> FAILED" (and "<name> PASSED UNEXPECTEDLY" with expected failures).
    awk '$NF == "FAILED" || / PASSED UNEXPECTEDLY$/ { print $1 }' "/tmp/$_label.log" |
        sort -u >"/tmp/$_label.failed"
    # Each failure with the message line(s) after it.
    awk '$NF == "FAILED" { show = 1; print "    " $0; next }
         show && /^\t/ { print "    " $0; next }
         { show = 0 }' "/tmp/$_label.log"
    echo "$_label: skipped: $(awk '$NF == "skipped" { printf "%s ", $1 }' "/tmp/$_label.log")"
    echo "$_label: $(cat "/tmp/$_label.summary") ($((_t1 - _t0)) s)"
}

# lines_not_in <a> <b>: lines of file a that are not in file b.
lines_not_in() { grep -vxF -f "$2" "$1" || true; }

command -v pjdfstest >/dev/null || fail "pjdfstest is not in the guest (build with ci/build-pjdfstest.sh, pass it in RIG_EXTRA_BINS)"
say "DPU $DPU_IP: pjdfstest $(pjdfstest --version 2>/dev/null | awk '{print $2}')"
for u in nobody tests pjdfstest; do
    grep -q "^$u:" /etc/passwd || fail "user $u missing from the guest's /etc/passwd"
done
grep -q '^tests:' /etc/group || fail "group tests missing from the guest's /etc/group"

mkdir -p $BASE_DIR /mnt/secondary $QTFS_DIR
mount -t tmpfs -o mode=0755 pjdfstest-secondary /mnt/secondary || fail "cannot mount the secondary tmpfs"

say "baseline: local tmpfs"
mount -t tmpfs -o mode=0755 pjdfstest-base $BASE_DIR || fail "cannot mount tmpfs on $BASE_DIR"
run_suite tmpfs $BASE_DIR
umount $BASE_DIR || fail "umount $BASE_DIR failed"
grep -v '^#' "$EXPECTED" | grep -v '^[[:space:]]*$' | sort -u >/tmp/expected.failed
unexpected=$(lines_not_in /tmp/tmpfs.failed /tmp/expected.failed)
missing=$(lines_not_in /tmp/expected.failed /tmp/tmpfs.failed)
if [ -n "$unexpected" ] || [ -n "$missing" ]; then
    [ -z "$unexpected" ] || echo "failed on tmpfs, not in $(basename "$EXPECTED"): $unexpected"
    [ -z "$missing" ] || echo "in $(basename "$EXPECTED"), yet passed (or skipped) on tmpfs: $missing"
    fail "the tmpfs baseline's failures differ from $(basename "$EXPECTED")"
fi
echo "ok: the tmpfs baseline fails exactly as expected ($(wc -l </tmp/expected.failed) known failure(s))"

say "qtfs: loading qtfs.ko qtfs_server_ip=$HOST_IP"
n=0
until insmod "$QTFS_MODULES/qtfs.ko" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY &&
    dmesg | grep -qF "qtfs: connected to $HOST_IP:"; do
    rmmod qtfs 2>/dev/null
    n=$((n + 1)); [ $n -le 60 ] || fail "qtfs.ko did not connect to $HOST_IP in 60 attempts"
    sleep 2
done
echo "ok: $(dmesg | grep -F "qtfs: connected to $HOST_IP:" | tail -n 1 | sed 's/^\[[^]]*\] //')"
n=0
until nc -w 2 "$HOST_IP" $READY_PORT </dev/null >/dev/null 2>&1; do
    n=$((n + 1)); [ $n -le 60 ] || fail "the HOST did not export $EXPORT in 60 s"
    sleep 1
done

mount -t qtfs "$EXPORT" $QTFS_DIR 2>/tmp/mount.err ||
    fail "mount -t qtfs $EXPORT $QTFS_DIR failed: $(cat /tmp/mount.err)"

say "qtfs: $EXPORT from $HOST_IP on $QTFS_DIR"
run_suite qtfs $QTFS_DIR
umount $QTFS_DIR || fail "umount $QTFS_DIR failed"
rmmod qtfs || fail "rmmod qtfs failed"
echo "pjdfstest summary: tmpfs $(cat /tmp/tmpfs.summary); qtfs $(cat /tmp/qtfs.summary)"
worse=$(lines_not_in /tmp/qtfs.failed /tmp/tmpfs.failed)
better=$(lines_not_in /tmp/tmpfs.failed /tmp/qtfs.failed)
[ -z "$better" ] || echo "note: failed on tmpfs, not on qtfs: $(echo $better)"
if [ -n "$worse" ]; then
    echo "failed on qtfs, passed (or skipped) on tmpfs:"
    echo "$worse" | sed 's/^/    /'
    fail "qtfs fails $(echo "$worse" | wc -l) test(s) that tmpfs does not"
fi
tf=$(wc -l </tmp/tmpfs.failed) qf=$(wc -l </tmp/qtfs.failed)
[ "$qf" -le "$tf" ] || fail "qtfs has more failures ($qf) than tmpfs ($tf)"
echo "ok: qtfs conforms as well as tmpfs ($qf failure(s) vs $tf)"
report_done 0
