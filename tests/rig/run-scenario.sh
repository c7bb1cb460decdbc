#!/usr/bin/env bash
# Run one scenario directory in a HOST and a DPU guest (QEMU TCG, joined by a
# socket network) and judge it. Prints both guests' output live, prefixed by
# the role. Exit 0 only if both scripts exited 0 in time, the qtfs modules
# could be unloaded at the end, and neither guest's log shows kernel trouble
# or a memory leak (scan-kernel-log.sh).
# Usage: run-scenario.sh <scenario dir> <base initramfs> <kernel tree>
# A scenario may hold a file `timeout` with its limit in seconds (default 300).
# RIG_KERNEL_ARGS adds to both guests' kernel command line; RIG_VERBOSE=1
# shows every kernel line live; RIG_TIMEOUT_SCALE multiplies the limits.
source "$(dirname "$0")/../../ci/env.sh"

scenario=$(cd "${1:?scenario dir}" && pwd)
base_initrd=${2:?base initramfs}
kdir=${3:?kernel tree}
name=$(basename "$scenario")
rig=$QTFS_ROOT/tests/rig
# A directory of its own per run, so that runs in parallel never share logs.
mkdir -p "$QTFS_ROOT/build/rig/runs"
work=$(mktemp -d "$QTFS_ROOT/build/rig/runs/$name.XXXXXX")
mkdir -p "$work/stage/scenario"

for role in host dpu; do
    [ -f "$scenario/$role.sh" ] || die "$scenario/$role.sh missing"
done
limit=300
[ -f "$scenario/timeout" ] && limit=$(tr -dc 0-9 <"$scenario/timeout")
# RIG_TIMEOUT_SCALE (a whole number, default 1) multiplies the limit and the
# guests' allowance for boot and kmemleak scans (and reaches the scripts,
# as RIG_TIMEOUT_SCALE in their environment, for their own waits): `make
# test-debug` runs under KASAN, several times slower.
scale=${RIG_TIMEOUT_SCALE:-1}
case "$scale" in '' | *[!0-9]* | 0) die "RIG_TIMEOUT_SCALE=$scale: not a positive whole number" ;; esac
limit=$((limit * scale))

# The scenario's files become /scenario in the guest (a second cpio archive).
cp -r "$scenario/." "$work/stage/scenario/"
(cd "$work/stage" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) >"$work/scenario.cpio"
cat "$base_initrd" "$work/scenario.cpio" >"$work/initrd.cpio"

net_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# Keep a guest's whole console in a log file and show it live: the scripts'
# lines, and of the kernel's only those about qtfs or trouble (RIG_VERBOSE=1
# shows all). Unbuffered, so the two guests' lines interleave as they come.
live_awk=(awk)
awk -W version 2>&1 | grep -q mawk && live_awk=(awk -W interactive)  # mawk buffers its input otherwise
show_live() { # role, log file
    "${live_awk[@]}" -v role="$1" -v log_file="$2" -v verbose="${RIG_VERBOSE:-0}" '
        { sub(/\r$/, ""); print > log_file; fflush(log_file) }
        verbose == 1 || $0 !~ /^\[ *[0-9]+\.[0-9]+\] / ||
        $0 ~ /qtfs|Oops|BUG|WARNING|[Pp]anic|INFO: task|Call Trace|locking|stall/ {
            print "[" role "] " $0; fflush()
        }'
}

start_guest() { # role, netdev option, mac
    local role=$1 netdev=$2 mac=$3
    timeout -k 5 $((limit + 90 * scale)) qemu-system-x86_64 \
        -accel tcg,thread=multi -cpu max -smp 2 -m 1024 \
        -display none -monitor none -no-reboot \
        -kernel "$kdir/arch/x86/boot/bzImage" -initrd "$work/initrd.cpio" \
        -append "console=ttyS0 panic=-1 loglevel=6 RIG_ROLE=$role RIG_TIMEOUT=$limit RIG_TIMEOUT_SCALE=$scale ${RIG_KERNEL_ARGS:-}" \
        -serial stdio -serial "file:$work/$role.dmesg" \
        -netdev "$netdev" -device "virtio-net-pci,netdev=n0,mac=$mac" \
        </dev/null 2>&1 | show_live "$role" "$work/$role.console"
}

log "scenario $name (limit ${limit}s)"
started=$(date +%s)
start_guest host "socket,id=n0,listen=127.0.0.1:$net_port" 52:54:00:0a:00:01 &
host_pid=$!
# The DPU connects to the HOST's QEMU socket: wait until it listens.
for _ in $(seq 100); do
    ss -ltn "sport = :$net_port" | grep -q LISTEN && break
    sleep 0.1
done
start_guest dpu "socket,id=n0,connect=127.0.0.1:$net_port" 52:54:00:0a:00:02 &
dpu_pid=$!
wait "$host_pid" "$dpu_pid" || true
elapsed=$(( $(date +%s) - started ))
rm -rf "$work/stage" "$work/initrd.cpio" "$work/scenario.cpio"  # keep only the logs

verdict=0
reasons=()
for role in host dpu; do
    rc=$(sed -n "s/^QTFS-RIG: exit $role rc=\([0-9]*\)$/\1/p" "$work/$role.console" | tail -n 1)
    if [ -z "$rc" ]; then
        reasons+=("$role guest never finished its script (timeout or crash)")
        verdict=1
    elif [ "$rc" != 0 ]; then
        [ "$rc" = 143 ] && rc="$rc (timed out after ${limit}s)"
        reasons+=("$role.sh exited with $rc")
        verdict=1
    fi
    # guest-init unloads the modules a script left loaded (for kmemleak).
    while IFS= read -r line; do
        reasons+=("$role: ${line#QTFS-RIG: }")
        verdict=1
    done < <(tr -d '\r' <"$work/$role.console" | grep '^QTFS-RIG: cannot unload')
done
if ! scan=$("$rig/scan-kernel-log.sh" "$work/host.console" "$work/host.dmesg" "$work/dpu.console" "$work/dpu.dmesg"); then
    reasons+=("kernel log: $scan")
    verdict=1
fi

if [ "$verdict" = 0 ]; then
    echo "PASS $name (${elapsed}s)"
else
    echo "FAIL $name (${elapsed}s):"
    printf '    %s\n' "${reasons[@]}"
    echo "    logs: $work"
fi
exit "$verdict"
