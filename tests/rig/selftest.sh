#!/usr/bin/env bash
# The rig's own failure detection, tested: the log scanner against recorded
# kernel logs, then real guest runs that must fail (a failing script, a real
# kernel WARNING, a timeout, a real memory leak) beside one that must pass.
source "$(dirname "$0")/../../ci/env.sh"
rig=$QTFS_ROOT/tests/rig
failures=0
check() { # description, expected (pass|fail), actual exit status, [output, expected text]
    local what=$1 want=$2 rc=$3 out=${4:-} text=${5:-}
    local got=pass
    [ "$rc" = 0 ] || got=fail
    if [ "$got" != "$want" ]; then
        echo "SELFTEST FAIL: $what: expected $want, got $got"
        failures=$((failures + 1))
    elif [ -n "$text" ] && ! grep -qF -- "$text" <<<"$out"; then
        echo "SELFTEST FAIL: $what: output lacks '$text'"
        failures=$((failures + 1))
    else
        echo "selftest ok: $what ($want)"
    fi
}

log "rig selftest: log scanner on recorded logs"
for f in "$rig"/testdata/*.log; do
    name=$(basename "$f" .log)
    rc=0
    "$rig/scan-kernel-log.sh" "$f" >/dev/null || rc=$?
    case "$name" in
        clean-*) check "scanner: $name" pass "$rc" ;;
        *) check "scanner: $name" fail "$rc" ;;
    esac
done

log "rig selftest: guest runs"
kdir=$("$QTFS_ROOT/ci/build-kernel.sh" | tail -n 1)
mkdir -p "$QTFS_ROOT/build/rig"
base=$(mktemp --suffix=.cpio "$QTFS_ROOT/build/rig/base.XXXXXX")
trap 'rm -f "$base"' EXIT
"$rig/build-initramfs.sh" "$base"
run() { "$rig/run-scenario.sh" "$rig/selftest/$1" "$base" "$kdir" 2>&1; }
out=$(run passes) && rc=0 || rc=$?
check "guest run: passes" pass "$rc" "$out" "PASS passes"
out=$(run script-fails) && rc=0 || rc=$?
check "guest run: script-fails" fail "$rc" "$out" "dpu.sh exited with 3"
out=$(run kernel-warning) && rc=0 || rc=$?
check "guest run: kernel-warning" fail "$rc" "$out" "kernel log: kernel trouble"
out=$(run times-out) && rc=0 || rc=$?
check "guest run: times-out" fail "$rc" "$out" "timed out after 5s"

# A module that leaks on purpose: the kernel's own kmemleak sample
# (samples/kmemleak/kmemleak-test.c; CONFIG_SAMPLE_KMEMLEAK is not in our
# config, so it is built here out of tree, like our modules), carried into
# the guest in a copy of the scenario directory.
leak_build=$QTFS_ROOT/build/rig/kmemleak-test
leak_scenario=$QTFS_ROOT/build/rig/selftest-leaks/leaks
rm -rf "$leak_build" "$leak_scenario"
mkdir -p "$leak_build" "$leak_scenario"
cp "$kdir/samples/kmemleak/kmemleak-test.c" "$leak_build/"
echo 'obj-m := kmemleak-test.o' >"$leak_build/Kbuild"
make -s -C "$kdir" M="$leak_build" LLVM="$LLVM_SUFFIX" modules >&2
cp "$rig/selftest/leaks/"* "$leak_build/kmemleak-test.ko" "$leak_scenario/"
out=$("$rig/run-scenario.sh" "$leak_scenario" "$base" "$kdir" 2>&1) && rc=0 || rc=$?
check "guest run: leaks" fail "$rc" "$out" "memory leak (kmemleak)"
# Leak detection switched off (kmemleak=off) must not pass silently.
out=$(RIG_KERNEL_ARGS=kmemleak=off run passes) && rc=0 || rc=$?
check "guest run: passes with kmemleak=off" fail "$rc" "$out" "leak detection off"

[ "$failures" = 0 ] || die "rig selftest: $failures check(s) failed"
log "rig selftest: all checks passed"
