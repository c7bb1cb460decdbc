#!/usr/bin/env bash
# `make bench-fs`: the file-system benchmark. Boots the HOST and DPU guests
# once (tests/bench/fs/ is the scenario) and measures on the DPU: raw TCP
# (iperf3 and a round-trip ping-pong), the DPU's local tmpfs, NFSv4.2 from
# the HOST's knfsd, 9p over TCP from the HOST's diod (each cache mode in
# BENCH_P9_CACHES) and qtfs, all on the same HOST tmpfs export; then
# tests/bench/fs-report.py prints the table and writes build/bench/fs.json,
# fs.md and fs.svg. Exits non-zero if the scenario failed or any system's
# figures are missing; never on a timing.
# BENCH_PROFILE=full (default), issue (the sizes issue 8 names: hours under
# TCG) or smoke (`make test`: one repetition, tiny sizes). Every size is a parameter BENCH_<NAME> (see `defaults` below).
source "$(dirname "$0")/../../ci/env.sh"

profile=${BENCH_PROFILE:-full}
out=$QTFS_ROOT/build/bench
mkdir -p "$out"
case "$profile" in
full)
    # Sized so that the whole run takes about half an hour under TCG (the
    # issue's sizes would take hours there: docs/benchmarks.md); the
    # `issue` profile has those sizes.
    defaults="REPS=3 WARMUP=1 FILES=300 STAT_HOT_N=500 CREATE_N=60 SEQ_MB=8 RAND_MB=64
        RAND_N=100 SCALE_PROCS=1,4,16,64 SCALE_SECS=2 PROCS=100 PROC_LOOPS=3 IPERF_SECS=5
        RTT_N=300 EXPORT_MB=400 TREE=fs/ext4 TIMEOUT=3600"
    ;;
issue)
    # The sizes issue 8 asks for: many hours under TCG.
    defaults="REPS=3 WARMUP=1 FILES=10000 STAT_HOT_N=10000 CREATE_N=2000 SEQ_MB=256 RAND_MB=64
        RAND_N=2000 SCALE_PROCS=1,4,16,64 SCALE_SECS=5 PROCS=100 PROC_LOOPS=10 IPERF_SECS=5
        RTT_N=2000 EXPORT_MB=600 TREE=include/linux TIMEOUT=43200"
    ;;
smoke)
    # `make test`: proves every system mounts and every workload runs.
    # The limit is generous: other guests on the machine can slow it 3x.
    defaults="REPS=1 WARMUP=0 FILES=50 STAT_HOT_N=100 CREATE_N=10 SEQ_MB=1 RAND_MB=2
        RAND_N=20 SCALE_PROCS=1,4 SCALE_SECS=1 PROCS=10 PROC_LOOPS=1 IPERF_SECS=1
        RTT_N=20 EXPORT_MB=200 TREE=smoke TIMEOUT=420"
    ;;
*) die "BENCH_PROFILE must be full, issue or smoke, not $profile" ;;
esac
defaults="$defaults P9_CACHES=none,loose P9_MSIZE=524288"

kdir=$("$QTFS_ROOT/ci/build-kernel.sh" | tail -n 1)

# The scenario, with its parameters and the tree to extract.
scen=$out/scenario-$profile
rm -rf "$scen"
mkdir -p "$scen"
cp "$QTFS_ROOT"/tests/bench/fs/*.sh "$scen/"
params=()
for kv in $defaults; do
    name=${kv%%=*}
    var=BENCH_$name
    params+=("$name=${!var:-${kv#*=}}")
done
for kv in "${params[@]}"; do
    case "$kv" in P9_CACHES=*) kv=${kv//,/ } ;; esac
    printf '%s="%s"\n' "${kv%%=*}" "${kv#*=}"
done >"$scen/params"
# shellcheck disable=SC1091
source "$scen/params"
# The DPU's run, and the HOST waits for it, within the scenario's limit.
echo "DPU_WAIT=$((TIMEOUT - 60))" >>"$scen/params"
echo "$TIMEOUT" >"$scen/timeout"

# A real tree: a directory of the kernel source (cached), or for the smoke
# run this repository's tests/rig/.
cache=${XDG_CACHE_HOME:-$HOME/.cache}/qtfs
tree_tar() { # name, source dir (its basename becomes the top directory)
    local tar=$1 src=$2
    tar -cf "$tar.tmp" -C "$(dirname "$src")" "$(basename "$src")"
    (cd "$(dirname "$src")" && find "$(basename "$src")" -type f | sort | xargs md5sum) >"${tar%.tar}.md5"
    mv "$tar.tmp" "$tar"
}
if [ "$TREE" = smoke ]; then
    tree_tar "$scen/tree.tar" "$QTFS_ROOT/tests/rig"
else
    key=linux-$(kernel_version)-$(tr / _ <<<"$TREE")
    if [ ! -f "$cache/bench-tree-$key.tar" ]; then
        log "extracting $TREE from $KERNEL_TARBALL (once)"
        tmp=$(mktemp -d)
        tar -xJf "$KERNEL_TARBALL" -C "$tmp" "linux-source-6.12/$TREE"
        tree_tar "$cache/bench-tree-$key.tar" "$tmp/linux-source-6.12/$TREE"
        rm -rf "$tmp"
    fi
    cp "$cache/bench-tree-$key.tar" "$scen/tree.tar"
    cp "$cache/bench-tree-$key.md5" "$scen/tree.md5"
fi

# The guests: the workspace as usual, plus Debian's knfsd userspace, diod and
# iperf3 with their libraries (RIG_EXTRA_DYN_BINS) and the files libtirpc
# and glibc read.
dyn=()
for b in rpc.nfsd rpc.mountd exportfs diod iperf3; do
    p=$(command -v "$b" || PATH=/usr/sbin:/sbin:$PATH command -v "$b") || die "$b missing: run 'make deps'"
    dyn+=("$p")
done
base=$out/base-$profile.cpio
# libtirpc needs /etc/netconfig; the others help name lookups where present.
[ -f /etc/netconfig ] || die "/etc/netconfig missing (libtirpc-common): run 'make deps'"
files=/etc/netconfig
for f in /etc/services /etc/protocols /etc/rpc; do [ -f "$f" ] && files=$files:$f; done
RIG_EXTRA_DYN_BINS=$(IFS=:; echo "${dyn[*]}") RIG_EXTRA_FILES=$files \
    "$QTFS_ROOT/tests/rig/build-initramfs.sh" "$base"

meta=$out/fs-meta-$profile.json
python3 - "$meta" "$profile" "${params[@]}" <<'PY'
import json, os, platform, sys, time
meta = {"profile": sys.argv[2], "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.node(), "machine_cpus": os.cpu_count(),
        "machine_cpu_model": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                   if l.startswith("model name")), "?"),
        "load_before": os.getloadavg(), "params": dict(p.split("=", 1) for p in sys.argv[3:]),
        "started": time.time()}
json.dump(meta, open(sys.argv[1], "w"))
PY

log "bench-fs ($profile): $(tr '\n' ' ' <"$scen/params")"
runlog=$out/fs-run-$profile.log
rc=0
# Console loglevel 4: warnings still show (and fail the run), the kernel's
# informational lines do not break the BENCH lines apart.
if ! RIG_KERNEL_ARGS="${RIG_KERNEL_ARGS:-} loglevel=4" \
    "$QTFS_ROOT/tests/rig/run-scenario.sh" "$scen" "$base" "$kdir" 2>&1 | tee "$runlog"; then
    rc=1
fi
rm -f "$base"

name=fs
[ "$profile" = full ] || name=fs-$profile
python3 "$QTFS_ROOT/tests/bench/fs-report.py" --log "$runlog" --meta "$meta" --out "$out" --name "$name" || rc=1
exit "$rc"
