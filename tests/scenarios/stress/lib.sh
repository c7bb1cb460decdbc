# Helpers shared by host.sh and dpu.sh of the `stress` scenario (busybox sh).
fail() { echo "FAIL: $*"; echo "--- last kernel lines:"; dmesg | tail -n 30; exit 1; }
step() { echo "=== $*"; }
ok() { echo "ok: $*"; }

EXPORT=/srv/export
# The pre-shared key, as the module parameter holds it.
KEY=5f4dcc3b5aa765d61d8327deb882cf99a1b2c3d4e5f60718293a4b5c6d7e8f90
# One seed for the whole run, printed by both sides: a failure is
# reproduced with the same seed, given to both guests' environment with
# `RIG_KERNEL_ARGS=STRESS_SEED=N` (the kernel passes it on to init).
SEED=${STRESS_SEED:-20261202}
# Sizes can be changed through the guests' environment
# (RIG_KERNEL_ARGS="STRESS_OPS=300 STRESS_C2O_ROUNDS=20 STRESS_MEM_LIMIT_MB=16"),
# e.g. for a shorter run on the KASAN kernel.
# The model-checked workload: workers x operations each.
WORKERS=4
OPS=${STRESS_OPS:-1200}
# Close-to-open: versions the HOST writes, DPU readers checking each.
C2O_ROUNDS=${STRESS_C2O_ROUNDS:-60}
C2O_READERS=3
C2O_PORT=12390
# Memory pressure: the DPU writer's cgroup limit, and 3x that written with
# write(2) (fdatasync every 8 MiB) and read back.
MEM_LIMIT_MB=${STRESS_MEM_LIMIT_MB:-32}
FILL_MB=$((3 * MEM_LIMIT_MB))
# STRESS_MMAP_PRESSURE=1 (RIG_KERNEL_ARGS) adds MMAP_MB stored through one
# shared mapping in a MMAP_LIMIT_MB cgroup. Off by default: today such a
# writer stops making progress once the cgroup is full of its mapped (and
# already written back) pages, until killed (docs/client.md, "Not done yet").
MMAP_LIMIT_MB=16
MMAP_MB=24
MMAP_PRESSURE=${STRESS_MMAP_PRESSURE:-0}

# Barriers: the HOST opens 12399 when its server is loaded; the DPU opens
# 12397 when its model run is done, 12394 when the pressure step is done,
# 12398 at the end; the HOST opens 12395 when its memory hog holds memory,
# 12393 when it has checked the pressure files.
barrier_open() { nc -l -p "$1" </dev/null >/dev/null & BARRIER_PID=$!; }
# Waits are multiplied by RIG_TIMEOUT_SCALE (set by the rig; 5 under KASAN).
SCALE=${RIG_TIMEOUT_SCALE:-1}
barrier_wait() {
    _t=$(($1 * SCALE))
    while [ "$_t" -gt 0 ]; do
        nc -w 2 "$2" "$3" </dev/null >/dev/null 2>&1 && return 0
        sleep 1; _t=$((_t - 1))
    done
    return 1
}

# figure KEY: the value of KEY=... in the last line of a file that has it.
figure() { tr ' ' '\n' < "$2" | sed -n "s/^$1=//p" | tail -n 1; }
