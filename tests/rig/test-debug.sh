#!/usr/bin/env bash
# `make test-debug`: the scenarios named (default in the Makefile: faults
# hostile stress) on the debug kernel (ci/kernel-debug.config: the test
# kernel plus KASAN), with modules and an initramfs built against it, and
# every time limit multiplied (RIG_TIMEOUT_SCALE, default 5). First a guest
# run that provokes a real KASAN report must fail, so that a debug kernel
# that cannot report (KASAN dropped from the config, the scanner blind to
# it) fails here instead of passing everything. A name that is not a
# scenario directory is an error (tests/rig/run-scenarios.sh).
# Usage: QTFS_KERNEL_VARIANT=debug test-debug.sh <scenario>...
source "$(dirname "$0")/../../ci/env.sh"
[ "$QTFS_KERNEL_VARIANT" = debug ] || die "run with QTFS_KERNEL_VARIANT=debug (make test-debug)"
[ $# -gt 0 ] || die "no scenarios named"
rig=$QTFS_ROOT/tests/rig
export RIG_TIMEOUT_SCALE=${RIG_TIMEOUT_SCALE:-5}
started=$(date +%s)

kdir=$("$QTFS_ROOT/ci/build-kernel.sh" | tail -n 1)
grep -qx CONFIG_KASAN=y "$kdir/.config" || die "$kdir is not a KASAN kernel"
mkdir -p "$QTFS_ROOT/build/rig"
base=$(mktemp --suffix=.cpio "$QTFS_ROOT/build/rig/base.XXXXXX")
trap 'rm -f "$base"' EXIT
"$rig/build-initramfs.sh" "$base"

log "test-debug: a KASAN report must fail a guest run"
# kmemleak=off: its scans are the slowest part under KASAN, and this run
# only has to show the KASAN report (it fails for both reasons).
out=$(RIG_KERNEL_ARGS="kmemleak=off" "$rig/run-scenario.sh" "$rig/selftest/kasan-report" "$base" "$kdir" 2>&1) && rc=0 || rc=$?
if [ "$rc" = 0 ] || ! grep -q "BUG: KASAN" <<<"$out"; then
    echo "$out" | tail -n 20
    die "test-debug: the provoked KASAN report did not fail the run"
fi
log "test-debug: the KASAN report was caught"

rc=0
"$rig/run-scenarios.sh" "$@" || rc=$?
log "test-debug: $(( $(date +%s) - started ))s in all"
exit $rc
