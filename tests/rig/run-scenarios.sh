#!/usr/bin/env bash
# `make vm-test [T=…]`: run the scenarios named (names under tests/scenarios/,
# or absolute directories) or, with no argument, every scenario; a name
# that is not a scenario directory is an error; end with the line
# "N passed, N failed" and exit non-zero if any failed.
source "$(dirname "$0")/../../ci/env.sh"

scenarios=()
if [ $# = 0 ]; then
    for d in "$QTFS_ROOT"/tests/scenarios/*/; do
        scenarios+=("${d%/}")
    done
fi
for target in "$@"; do
    if [ "${target#/}" != "$target" ]; then
        scenarios+=("$target")
    else
        scenarios+=("$QTFS_ROOT/tests/scenarios/$target")
    fi
done
for s in "${scenarios[@]}"; do
    [ -f "$s/host.sh" ] && [ -f "$s/dpu.sh" ] || die "not a scenario (needs host.sh and dpu.sh): $s"
done

kdir=$("$QTFS_ROOT/ci/build-kernel.sh" | tail -n 1)
mkdir -p "$QTFS_ROOT/build/rig"
base=$(mktemp --suffix=.cpio "$QTFS_ROOT/build/rig/base.XXXXXX")
trap 'rm -f "$base"' EXIT
"$QTFS_ROOT/tests/rig/build-initramfs.sh" "$base"

passed=0 failed=0 failures=()
for s in "${scenarios[@]}"; do
    if "$QTFS_ROOT/tests/rig/run-scenario.sh" "$s" "$base" "$kdir"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$(basename "$s")")
    fi
done
[ "$failed" = 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
