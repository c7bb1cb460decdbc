#!/bin/sh
# `make bench-fs`, DPU side: every workload on each system in turn (raw TCP,
# local tmpfs, NFSv4.2, 9p in each cache mode, qtfs), printing one
# `BENCH {json}` line per figure (qtfs-fsbench); tests/bench/fs-report.py
# makes the tables and the plot. A system that cannot be mounted, or a
# workload that fails, prints a `BENCH` line with "error" and makes this
# script fail at the end, after the others ran.
. /scenario/lib.sh
. /scenario/params
H=$HOST_IP:$CONTROL_PORT
C="reps=$REPS warmup=$WARMUP host=$H"
FAILED=0

# run SYS WORKLOAD ARGS…: one workload; its failure is reported, not fatal.
run() {
    _sys=$1; _w=$2; shift 2
    qtfs-fsbench "$_w" sys="$_sys" $C "$@" ||
        { echo "BENCH {\"sys\":\"$_sys\",\"workload\":\"$_w\",\"error\":\"qtfs-fsbench $_w failed\"}"; FAILED=1; }
}
unavailable() { # sys, reason
    echo "BENCH {\"sys\":\"$1\",\"workload\":\"mount\",\"error\":\"$2\"}"; FAILED=1
    dmesg | tail -n 5
}

# suite SYS DIR: the file-system workloads on the directory DIR (prepared).
suite() {
    step "$1: metadata"
    run "$1" stat-hot dir="$2" n=$STAT_HOT_N
    run "$1" stat-distinct dir="$2" n=$FILES
    run "$1" ls-l dir="$2" n=$FILES
    run "$1" create-unlink dir="$2" n=$CREATE_N
    step "$1: data"
    run "$1" seq dir="$2" mb=$SEQ_MB direct=0
    run "$1" seq dir="$2" mb=$SEQ_MB direct=1
    run "$1" randread file="$2/rand.dat" n=$RAND_N
    step "$1: tar"
    run "$1" tar dir="$2" tarball=/scenario/tree.tar manifest=/scenario/tree.md5
    step "$1: scaling"
    run "$1" scale-stat dir="$2" n=$FILES procs=$SCALE_PROCS secs=$SCALE_SECS
    run "$1" scale-randread file="$2/rand.dat" procs=$SCALE_PROCS secs=$SCALE_SECS
}

echo "BENCHINFO {\"kernel\":\"$(uname -r)\",\"cpus\":$(nproc),\"mem_kb\":$(sed -n 's/MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)}"
barrier_wait 300 "$HOST_IP" 12399 || fail "the HOST's servers never came up"
started=$(date +%s)

step "raw TCP"
run tcp tcp-rtt host=$H n=$RTT_N
run tcp tcp-stream server=$HOST_IP dir=tx secs=$IPERF_SECS
run tcp tcp-stream server=$HOST_IP dir=rx secs=$IPERF_SECS

step "local tmpfs on the DPU"
mkdir -p /mnt/local && mount -t tmpfs -o size=${EXPORT_MB}m local /mnt/local || fail "local tmpfs"
qtfs-fsbench prep dir=/mnt/local files=$FILES mb=$RAND_MB || fail "prep local"
# The local figures need no HOST: its CPU column is the HOST idling.
suite local /mnt/local
umount /mnt/local

step "NFSv4.2 (knfsd on the HOST)"
mkdir -p /mnt/nfs
if mount -t nfs4 -o vers=4.2,proto=tcp,hard,addr=$HOST_IP,clientaddr=$DPU_IP "$HOST_IP:$EXPORT" /mnt/nfs; then
    grep " /mnt/nfs " /proc/mounts | sed 's/^/    /'
    suite nfs /mnt/nfs
    umount /mnt/nfs
else
    unavailable nfs "mount -t nfs4 failed"
fi

for c in $P9_CACHES; do
    step "9p, cache=$c (diod on the HOST)"
    mkdir -p /mnt/9p
    if mount -t 9p -o trans=tcp,port=564,version=9p2000.L,aname=$EXPORT,uname=root,access=user,msize=$P9_MSIZE,cache=$c "$HOST_IP" /mnt/9p; then
        grep " /mnt/9p " /proc/mounts | sed 's/^/    /'
        suite "9p-$c" /mnt/9p
        umount /mnt/9p
    else
        unavailable "9p-$c" "mount -t 9p failed"
    fi
done

step "qtfs"
mkdir -p /mnt/qtfs /mnt/hostproc
if insmod "$QTFS_MODULES/qtfs.ko" qtfs_server_ip="$HOST_IP" qtfs_auth_key=$KEY &&
    mount -t qtfs $EXPORT /mnt/qtfs && mount -t qtfs /proc /mnt/hostproc; then
    suite qtfs /mnt/qtfs
    step "/proc/<pid>/stat of $PROCS HOST processes: through qtfs, and on the HOST itself"
    run qtfs procstat dir=/mnt/hostproc pids=/mnt/qtfs/pids loops=$PROC_LOOPS
    qtfs-fsbench host-run host=$H -- procstat sys=host reps=$REPS warmup=$WARMUP \
        dir=/proc pids=$EXPORT/pids loops=$PROC_LOOPS || { echo "BENCH {\"sys\":\"host\",\"workload\":\"procstat\",\"error\":\"failed\"}"; FAILED=1; }
    umount /mnt/hostproc
    umount /mnt/qtfs
    rmmod qtfs || fail "rmmod qtfs"
else
    unavailable qtfs "insmod or mount -t qtfs failed"
fi

echo "BENCHINFO {\"dpu_seconds\":$(( $(date +%s) - started ))}"
barrier_open 12398
sleep 5
[ "$FAILED" = 0 ] || fail "some systems or workloads failed (BENCH lines with \"error\")"
echo "dpu: done"
