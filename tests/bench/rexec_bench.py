#!/usr/bin/env python3
"""Timing helper for rexec_vs_ssh.sh: latency percentiles of short commands
and throughput of a 1 GiB pipe, for several clients, printed as a table.

Usage: rexec_bench.py <runs> <bytes> <name>=<client command prefix>...
Each client prefix is a shell fragment that runs a remote command when the
command is appended (e.g. "rexec" or "ssh -p 2222 root@127.0.0.1").
Environment: BENCH_SERVER_PID (rexec_server pid, for its peak RSS).
"""
import os
import resource
import statistics
import subprocess
import sys
import time


TRIES = int(os.environ.get("TRIES", "3"))


def pct(values, p):
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def run(cmd):
    r = subprocess.run(cmd, shell=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit(f"command failed ({r.returncode}): {cmd}\n{r.stderr.decode(errors='replace')}")


def latency(clients, runs):
    times = {name: [] for name, _ in clients}
    for name, prefix in clients:  # warm up
        for _ in range(5):
            run(f"{prefix} true")
    for _ in range(runs):  # interleaved so both see the same machine load
        for name, prefix in clients:
            t0 = time.perf_counter()
            run(f"{prefix} true")
            times[name].append((time.perf_counter() - t0) * 1000.0)
    return times


def throughput_once(prefix, nbytes):
    cmd = f"head -c {nbytes} /dev/zero | {prefix} cat | wc -c"
    t0 = time.perf_counter()
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], stdout=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0 or int(r.stdout.strip() or 0) != nbytes:
        sys.exit(f"throughput run failed: {cmd}: rc={r.returncode} out={r.stdout!r}")
    return nbytes / dt / 1e6


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main():
    runs = int(sys.argv[1])
    nbytes = int(sys.argv[2])
    clients = [a.split("=", 1) for a in sys.argv[3:]]
    lat = latency(clients, runs)
    print()
    print(f"Latency of '<client> true', {runs} runs each (interleaved), milliseconds")
    print(f"{'client':<14}{'p50':>9}{'p99':>9}{'mean':>9}{'min':>9}")
    for name, _ in clients:
        v = lat[name]
        print(f"{name:<14}{pct(v, 50):9.2f}{pct(v, 99):9.2f}{statistics.mean(v):9.2f}{min(v):9.2f}")
    base = lat.get("ssh")
    if base:
        for name, _ in clients:
            if name != "ssh":
                print(f"ratio {name}/ssh: p50 {pct(lat[name], 50) / pct(base, 50):.3f}, "
                      f"p99 {pct(lat[name], 99) / pct(base, 99):.3f}  (aim: <= 0.5)")
    print()
    print(f"Throughput of {nbytes / 2**30:.2f} GiB through '<client> cat', MB/s "
          f"({TRIES} rounds, clients interleaved)")
    runs_tp = {name: [] for name, _ in clients}
    for _ in range(TRIES):
        for name, prefix in clients:
            runs_tp[name].append(throughput_once(prefix, nbytes))
    print(f"{'client':<14}{'best':>9}{'median':>9}{'worst':>9}")
    for name, _ in clients:
        v = runs_tp[name]
        print(f"{name:<14}{max(v):9.0f}{statistics.median(v):9.0f}{min(v):9.0f}")
    print(f"largest local process peak RSS (any client, head, wc): "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.1f} MiB")
    if "ssh" in runs_tp:
        for name in runs_tp:
            if name != "ssh":
                print(f"ratio {name}/ssh: best {max(runs_tp[name]) / max(runs_tp['ssh']):.2f}, "
                      f"median {statistics.median(runs_tp[name]) / statistics.median(runs_tp['ssh']):.2f}"
                      "  (aim: >= 1)")
    spid = os.environ.get("BENCH_SERVER_PID")
    if spid:
        print(f"rexec_server peak RSS over the whole run: {peak_rss_kib(spid) / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
