#!/usr/bin/env python3
"""The report of `make bench-fs` (tests/bench/fs.sh): reads the run's log
(the DPU's `BENCH {json}` lines, one per figure, from qtfs-fsbench), prints
the table and writes <out>/<name>.json, <name>.md and <name>.svg (a grouped
bar chart of each system's ratio to NFSv4, log scale). Python 3, no
dependencies.

Exit status 1 if any system's figures are missing: a system that could not
be mounted, a workload that failed, a figure absent from the log. Timings are
never judged.
"""
import argparse
import json
import math
import re
import shutil
import subprocess
import sys
import time

SYSTEMS = ["local", "nfs", "9p", "qtfs"]  # "9p": the best of the 9p-<cache> runs
# workload: (label, ceiling system, ceiling workload)
WORKLOADS = {
    "stat_hot": ("stat, one hot file", "local", None),
    "stat_distinct": ("stat, distinct files (cold)", "local", None),
    "ls_l": ("ls -l (readdir + lstat, cold)", "local", None),
    "create_4k": ("create + write 4 KiB + close", "local", None),
    "unlink": ("unlink", "local", None),
    "seq_write": ("sequential write (+fsync)", "tcp", "tcp_stream_tx"),
    "seq_read": ("sequential read (cold)", "tcp", "tcp_stream_rx"),
    "seq_write_direct": ("sequential write, O_DIRECT", "tcp", "tcp_stream_tx"),
    "seq_read_direct": ("sequential read, O_DIRECT", "tcp", "tcp_stream_rx"),
    "randread_4k": ("4 KiB random reads (cold)", "local", None),
    "tar_extract": ("tar extract", "local", None),
    "tar_verify": ("read back + md5 (cold)", "local", None),
    "proc_pid_stat": ("/proc/<pid>/stat of HOST processes", "host", None),
}
TCP = {
    "tcp_rtt": "raw TCP round trip (64 B)",
    "tcp_stream_tx": "raw TCP stream DPU -> HOST (iperf3)",
    "tcp_stream_rx": "raw TCP stream HOST -> DPU (iperf3 -R)",
}
NO_PROCFS = "n/a: NFS and 9p cannot export the HOST's procfs"


def scaling_names(results):
    names = sorted({r["workload"] for r in results if r["workload"].startswith("scale_")},
                   key=lambda w: (w.rsplit("_p", 1)[0], int(w.rsplit("_p", 1)[1])))
    return names


def label(w):
    if w in WORKLOADS:
        return WORKLOADS[w][0]
    if w.startswith("scale_"):
        kind, p = w[len("scale_"):].rsplit("_p", 1)
        return f"{'stat' if kind == 'stat' else '4 KiB random read'}, {p} procs (cold)"
    return TCP.get(w, w)


def parse(log):
    results, info, bad = [], {}, []
    for line in open(log, errors="replace"):
        m = re.search(r"\bBENCH(INFO)? (\{.*\})\s*$", line)
        if not m:
            continue
        try:
            obj = json.loads(m.group(2))
        except json.JSONDecodeError:
            bad.append(line.strip())
            continue
        if m.group(1):
            info.update(obj)
        else:
            results.append(obj)
    return results, info, bad


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--meta")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="fs")
    a = ap.parse_args()

    results, info, bad = parse(a.log)
    meta = json.load(open(a.meta)) if a.meta else {}
    meta.update(info)
    meta["load_after"] = list(__import__("os").getloadavg())
    if "started" in meta:
        meta["wall_seconds"] = round(time.time() - meta.pop("started"))
    params = meta.get("params", {})
    p9_modes = params.get("P9_CACHES", "none,loose").replace(",", " ").split()

    by = {(r["sys"], r["workload"]): r for r in results}
    problems = [f"unparsable BENCH line: {b[:120]}" for b in bad]
    for r in results:
        if r.get("error"):
            problems.append(f"{r['sys']} {r['workload']}: {r['error']}")

    # 9p: the best cache mode per workload.
    workloads = list(WORKLOADS) + scaling_names(results)
    for w in workloads:
        cands = [by[(f"9p-{c}", w)] for c in p9_modes
                 if (f"9p-{c}", w) in by and by[(f"9p-{c}", w)].get("median") is not None]
        if cands:
            best = dict(max(cands, key=lambda r: r["median"]))
            best["best_of"] = best["sys"]
            best["sys"] = "9p"
            by[("9p", w)] = best
        elif any(by.get((f"9p-{c}", w), {}).get("unsupported") for c in p9_modes):
            by[("9p", w)] = {"sys": "9p", "workload": w, "median": None,
                             "unsupported": next(by[(f"9p-{c}", w)]["unsupported"]
                                                 for c in p9_modes if (f"9p-{c}", w) in by)}

    rows = []  # (workload, sys, record or None, note)
    for w in workloads:
        for s in SYSTEMS + [f"9p-{c}" for c in p9_modes]:
            if w == "proc_pid_stat" and s in ("local",):
                continue
            rec = by.get((s, w))
            note = ""
            if w == "proc_pid_stat" and (s == "nfs" or s.startswith("9p")):
                if s == "nfs" or s == "9p":
                    rows.append((w, s, None, NO_PROCFS))
                continue
            if rec is None:
                note = "not available (no figure in the run)"
                problems.append(f"{s} {w}: no figure")
            elif rec.get("error"):
                note = "not available: " + rec["error"]
                rec = None
            elif rec.get("unsupported"):
                note = "n/a: " + rec["unsupported"]
                rec = None
            rows.append((w, s, rec, note))
        if w == "proc_pid_stat":
            rec = by.get(("host", w))
            if rec is None:
                problems.append(f"host {w}: no figure")
            rows.append((w, "host", rec, "" if rec else "not available"))
    for w in TCP:
        rec = by.get(("tcp", w))
        if rec is None:
            problems.append(f"tcp {w}: no figure")
        rows.append((w, "tcp", rec, "" if rec else "not available"))

    table = []
    for w, s, rec, note in rows:
        med = rec.get("median") if rec else None
        nfs = by.get(("nfs", w), {}).get("median")
        if w in WORKLOADS:
            _, csys, cw = WORKLOADS[w]
        elif w.startswith("scale_"):
            csys, cw = "local", None
        else:
            csys, cw = None, None
        ceil = by.get((csys, cw or w), {}).get("median") if csys else None
        if rec and rec.get("best_of"):
            note = (note + " " if note else "") + f"best mode: cache={rec['best_of'][3:]}"
        if rec and rec.get("note"):
            note = (note + " " if note else "") + rec["note"]
        table.append({
            "workload": w, "label": label(w), "sys": s, "unit": rec.get("unit") if rec else None,
            "median": med, "min": rec.get("min") if rec else None,
            "max": rec.get("max") if rec else None,
            "values": rec.get("values") if rec else [],
            "vs_nfs": ratio(med, nfs) if s not in ("tcp", "host") else None,
            "ceiling": (cw or csys) if csys else None,
            "vs_ceiling": ratio(med, ceil) if csys and s != csys else None,
            "cpu_dpu": rec.get("cpu_dpu") if rec else None,
            "cpu_host": rec.get("cpu_host") if rec else None,
            "rpc_per_op": (rec.get("rpc_per_op") if rec else None),
            "rpc_note": ("nfsstat counters" if s == "nfs" else
                         "qtfs status counters" if s == "qtfs" else
                         "n/a (no counters exposed)" if s == "9p" or s.startswith("9p-")
                         else ""),
            "note": note,
        })

    head = ["workload", "system", "median", "min", "max", "unit", "x NFSv4", "x ceiling",
            "CPU DPU %", "CPU HOST %", "RPC/op", "note"]

    def cells(t):
        ce = "-"
        if t["vs_ceiling"] is not None:
            ce = f"{t['vs_ceiling']:.3g} ({t['ceiling']})"
        rpc = fmt(t["rpc_per_op"]) if t["rpc_per_op"] is not None else (
            "n/a" if t["rpc_note"].startswith("n/a") else "-")
        return [t["label"], t["sys"], fmt(t["median"]), fmt(t["min"]), fmt(t["max"]),
                t["unit"] or "", f"{t['vs_nfs']:.3g}" if t["vs_nfs"] is not None else "-", ce,
                fmt(t["cpu_dpu"]), fmt(t["cpu_host"]), rpc, t["note"]]

    body = [cells(t) for t in table]
    widths = [max(len(str(r[i])) for r in body + [head]) for i in range(len(head))]
    header = (f"bench-fs ({meta.get('profile', '?')}) {meta.get('date', '')}: guests: kernel "
              f"{meta.get('kernel', '?')}, {meta.get('cpus', '?')} CPU(s), "
              f"{int(meta.get('mem_kb', 0)) // 1024} MiB each, QEMU TCG; machine "
              f"{meta.get('machine', '?')} ({meta.get('machine_cpus', '?')} x "
              f"{meta.get('machine_cpu_model', '?')}), load "
              f"{' '.join(f'{x:.2f}' for x in meta.get('load_before', []))} before, "
              f"{' '.join(f'{x:.2f}' for x in meta.get('load_after', []))} after; "
              f"run {meta.get('wall_seconds', '?')} s")
    sizes = " ".join(f"{k}={v}" for k, v in sorted(params.items()))
    lines = [header, "sizes: " + sizes, ""]
    lines.append("  ".join(h.ljust(widths[i]) for i, h in enumerate(head)))
    prev = None
    for r in body:
        if prev is not None and r[0] != prev:
            lines.append("")
        prev = r[0]
        lines.append("  ".join(str(c).ljust(widths[i]) for i, c in enumerate(r)).rstrip())
    print("\n".join(lines))

    out = f"{a.out}/{a.name}"
    json.dump({"meta": meta, "rows": table, "raw": results, "problems": problems},
              open(out + ".json", "w"), indent=1)
    with open(out + ".md", "w") as f:
        f.write(f"# bench-fs\n\n{header}\n\nsizes: `{sizes}`\n\n")
        f.write("Every figure is a rate (higher is better): median of the timed repetitions, "
                "min and max beside it. `x NFSv4`: the system's median over NFSv4.2's; "
                "`x ceiling`: over raw TCP (streaming) or the DPU's local tmpfs (the rest; "
                "the HOST's own reads for /proc). CPU: % of the guest's CPUs busy during the "
                "timed repetitions.\n\n")
        f.write("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")
        for r in body:
            f.write("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |\n")
        if problems:
            f.write("\n## Missing or failed\n\n" + "".join(f"- {p}\n" for p in problems))
    svg(out + ".svg", table, header)
    written = f"{out}.json {out}.md {out}.svg"
    # A PNG beside it where librsvg's converter is installed (optional).
    if shutil.which("rsvg-convert"):
        if subprocess.run(["rsvg-convert", "-b", "white", out + ".svg", "-o", out + ".png"]).returncode == 0:
            written += f" {out}.png"
    print(f"\nwritten: {written}")
    if problems:
        print("\nmissing or failed figures (the run fails):", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    return 0


def svg(path, table, header):
    """A grouped bar chart: per workload, each system's median over NFSv4's
    (log scale, 1 = NFSv4)."""
    series = [("local", "#999999", "local tmpfs (DPU)"), ("9p", "#e69f00", "9p (best cache mode)"),
              ("qtfs", "#0072b2", "qtfs")]
    groups = []
    for w in dict.fromkeys(t["workload"] for t in table):
        vals = {t["sys"]: t["vs_nfs"] for t in table if t["workload"] == w}
        if any(vals.get(s) for s, _, _ in series):
            groups.append((w, [vals.get(s) for s, _, _ in series]))
    lo, hi = -3, 3  # 10^-3 .. 10^3
    W, H, left, top, bottom = 60 + 46 * len(groups) + 60, 600, 60, 50, 250
    ph = H - top - bottom

    def y(v):
        lv = min(max(math.log10(v), lo), hi)
        return top + ph * (hi - lv) / (hi - lo)

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'font-family="sans-serif" font-size="11">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{left}" y="18" font-size="13">Each system\'s rate over NFSv4.2\'s '
         f'(log scale; above 1 = faster than NFS)</text>',
         f'<text x="{left}" y="34" font-size="9">{esc(header[:180])}</text>']
    for e in range(lo, hi + 1):
        yy = y(10 ** e)
        o.append(f'<line x1="{left}" x2="{W - 20}" y1="{yy:.1f}" y2="{yy:.1f}" '
                 f'stroke="{"#000" if e == 0 else "#ddd"}"/>')
        o.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{10.0 ** e:g}</text>')
    bw = 12
    for i, (w, vals) in enumerate(groups):
        x0 = left + 10 + i * 46
        for j, v in enumerate(vals):
            x = x0 + j * bw
            if v is None or v <= 0:
                o.append(f'<text x="{x + 2}" y="{y(1) - 3:.1f}" font-size="8">n/a</text>')
                continue
            y1, y0 = y(v), y(1)
            o.append(f'<rect x="{x}" y="{min(y0, y1):.1f}" width="{bw - 1}" '
                     f'height="{max(abs(y0 - y1), 1):.1f}" fill="{series[j][1]}">'
                     f'<title>{series[j][2]} {label(w)}: {v:.3g} x NFS</title></rect>')
        lx, ly = x0 + 18, top + ph + 8
        o.append(f'<text x="{lx}" y="{ly}" transform="rotate(60 {lx} {ly})">{esc(label(w))}</text>')
    for j, (_, c, name) in enumerate(series):
        o.append(f'<rect x="{left + j * 170}" y="{H - 16}" width="10" height="10" fill="{c}"/>')
        o.append(f'<text x="{left + j * 170 + 14}" y="{H - 7}">{esc(name)}</text>')
    o.append("</svg>")
    open(path, "w").write("\n".join(o) + "\n")


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


if __name__ == "__main__":
    sys.exit(main())
