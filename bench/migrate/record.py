# SPDX-License-Identifier: GPL-2.0
"""One row's raw recording (lab_run.py) -> one record, the same shape for
every engine.  The schema is in Documentation/admin-guide/benchmarks.rst.

    record.py ROWDIR...      prints the records as JSON
"""

import json
import os
import re
import sys

HEARTBEAT_MS = 10.0
PROGRESS = re.compile(r"workload: t=([\d.]+) w=(\d+) r=([\d.]+)([KMG])/s")
VERIFY = re.compile(r"workload: verify pages=(\d+) bad=(\d+) writes=(\d+)"
                    r".* took=([\d.]+)ms")
UNIT = {"K": 1 / 1024, "M": 1.0, "G": 1024.0}


def read_console(path):
    """[(t, dots)], [(t, line)] from a console recording."""
    dots, lines = [], []
    if not os.path.exists(path):
        return dots, lines
    for raw in open(path, errors="replace"):
        t, kind, rest = (raw.rstrip("\n").split(" ", 2) + ["", ""])[:3]
        try:
            t = float(t)
        except ValueError:
            continue
        if kind == ".":
            dots.append((t, int(rest)))
        elif kind == "L":
            lines.append((t, rest))
    return dots, lines


def progress(lines):
    """[(t, writes, MiB/s)] of the workload's progress lines: the rate is
    the pages written since the line before over the time between their
    arrivals (the lab's clock, as for the blackout)."""
    out, prev = [], None
    for t, line in lines:
        m = PROGRESS.match(line)
        if not m:
            continue
        w = int(m.group(2))
        if prev and t > prev[0]:
            rate = (w - prev[1]) * 4096 / (t - prev[0]) / 2**20
        else:
            rate = float(m.group(3)) * UNIT[m.group(4)]
        out.append((t, w, rate))
        prev = (t, w)
    return out


def mean(xs):
    return sum(xs) / len(xs) if xs else None


def vmotion_engine(rep):
    iters = rep.get("iterations", [])
    return {"downtime_ms": rep.get("stun_ms"),
            "total_ms": rep.get("total_ms"),
            "bytes": rep.get("bytes_sent"),
            "iterations": len(iters),
            # SDPS: the longest sleep per period it asked, in us.
            "max_throttle": max([i.get("sdps_us", 0) for i in iters] or [0]),
            "throttle_unit": "sdps_us",
            "result": rep.get("result"), "reason": rep.get("reason")}


def qemu_engine(rep):
    final = rep.get("final", {})
    ram = final.get("ram", {})
    throttle = [s[1].get("cpu-throttle-percentage", 0)
                for s in rep.get("samples", [])]
    return {"downtime_ms": final.get("downtime"),
            "total_ms": final.get("total-time"),
            "bytes": ram.get("transferred"),
            "iterations": ram.get("dirty-sync-count"),
            "max_throttle": max(throttle or [0]),
            "throttle_unit": "percent",
            "result": final.get("status"), "reason": final.get("error-desc")}


def handover(src_dots, dst_dots, m0):
    """The switchover as the heartbeat saw it: the source's last dot
    before the destination's first, and that first dot (after @m0)."""
    first = [t for t, _ in dst_dots if t >= m0]
    if not first:
        return None
    last = [t for t, _ in src_dots if t < first[0]]
    return (last[-1], first[0]) if last else None


def blackout_ms(src_dots, dst_dots, m0):
    """Stop to resume from outside: the heartbeat's silence across the
    switchover, less its 10 ms interval."""
    h = handover(src_dots, dst_dots, m0)
    return max(0.0, (h[1] - h[0]) * 1e3 - HEARTBEAT_MS) if h else None


def max_gap_ms(dots, t0, t1):
    """The longest silence of one console's heartbeat from @t0 to @t1
    (throttling shows here), less the interval."""
    times = [t for t, _ in dots if t0 <= t <= t1]
    if len(times) < 2:
        return None
    return max(0.0, max(b - a for a, b in zip(times, times[1:])) * 1e3 - HEARTBEAT_MS)


def build(rowdir):
    ev = json.load(open(os.path.join(rowdir, "row.json")))
    row, t = ev["row"], ev.get("t", {})
    src_dots, src_lines = read_console(os.path.join(rowdir, "src.tsv"))
    dst_dots, dst_lines = read_console(os.path.join(rowdir, "dst.tsv"))
    try:
        raw = json.load(open(os.path.join(rowdir, "engine.json")))
    except (OSError, ValueError):
        raw = {}
    eng = (qemu_engine if row["engine"].startswith("qemu") else vmotion_engine)(raw)
    rec = {"index": row["index"], "scenario": row["scenario"],
           "engine": row["engine"], "engine_version": ev.get("engine_version"),
           "settings": ev.get("settings"), "options": row["options"],
           "mem": row["mem"], "cpus": row["cpus"], "fill": row["fill"],
           "wss": row["wss"], "rate": row["rate"], "order": row["order"],
           "window_ms": row["window_ms"], "link": ev.get("link"),
           "lab_cpus": ev.get("lab_cpus"), "result": ev.get("result"),
           "reason": ev.get("reason") or None,
           "runs_on": ev.get("runs_on")}
    m0, m1 = t.get("migrate"), t.get("migrate_end")
    rec["total_s"] = m1 - m0 if m0 and m1 else None
    rec["dest_running_s"] = (t["dest_running"] - m0
                             if m0 and "dest_running" in t else None)
    first = [tt for tt, _ in dst_dots if m0 and tt >= m0]
    rec["dest_heartbeat_s"] = first[0] - m0 if first else None
    rec["downtime_ms_engine"] = eng["downtime_ms"]
    rec["blackout_ms"] = blackout_ms(src_dots, dst_dots, m0) if m0 else None
    rec["source_max_gap_ms"] = (max_gap_ms(src_dots, m0, m1)
                                if m0 and m1 else None)
    samples = ev.get("samples", [])
    wire = [(s["t"] - m0, s["wire_rx_bytes"]) for s in samples
            if s.get("wire_rx_bytes") is not None] if m0 else []
    rec["bytes_wire"] = wire[-1][1] - wire[0][1] if len(wire) >= 2 else None
    rec["bytes_engine"] = eng["bytes"]
    rec["iterations"] = eng["iterations"]
    rec["max_throttle"] = eng["max_throttle"]
    rec["throttle_unit"] = eng["throttle_unit"]

    # The guest's write rate, by the arrival time of its progress lines.
    prog = progress(src_lines) + progress(dst_lines)
    prog.sort()
    if m0 and m1:
        before = [r for tt, _, r in prog if tt < m0]
        during = [r for tt, _, r in prog if m0 <= tt <= m1]
        after = [r for tt, _, r in prog if tt > m1 + 1]
        rec["rate_mib_s"] = {"before": mean(before[-20:]),
                             "during": mean(during),
                             "lowest_200ms": min(during) if during else None,
                             "after": mean(after)}
        src_w = [w for tt, w, _ in progress(src_lines) if tt <= m1]
        dst_w = [w for tt, w, _ in progress(dst_lines)]
        rec["counter_kept"] = (dst_w[0] >= src_w[-1]
                               if ev.get("runs_on") == "destination" and src_w and dst_w
                               else None)
        rec["series"] = {
            "write_rate": [[round(tt - m0, 3), r] for tt, _, r in prog],
            "wire_bytes": [[round(a, 3), b - wire[0][1]] for a, b in wire],
            "stop_resume": stop_resume(src_dots, dst_dots, m0, m1),
        }
    else:
        rec["rate_mib_s"] = None
        rec["counter_kept"] = None
        rec["series"] = None
    chk = VERIFY.match(ev.get("check") or "")
    rec["memory_check"] = ({"pages": int(chk.group(1)), "bad": int(chk.group(2)),
                            "ok": chk.group(2) == "0"} if chk else None)
    rec["first_pass_ms"] = float(chk.group(4)) if chk else None
    rec["negative_control"] = ev.get("row", {}).get("negative", False)

    cpu = cpu_seconds(samples) if samples else None
    if cpu is not None:
        cpu += ev.get("migrate_cpu_s") or 0.0
    mem_gib = size_gib(row["mem"])
    rec["cpu_s"] = cpu
    rec["cpu_s_per_gib"] = cpu / mem_gib if cpu is not None else None
    return rec


def stop_resume(src_dots, dst_dots, m0, m1):
    """The switchover's silence, relative to the migration's start."""
    h = handover(src_dots, dst_dots, m0)
    return [round(h[0] - m0, 4), round(h[1] - m0, 4)] if h else None


def cpu_seconds(samples):
    """CPU of both VMMs' non-vCPU threads from the first sample to each
    side's last readable one (the source VMM may have quit)."""
    total = 0.0
    for side in ("src_cpu_s", "dst_cpu_s"):
        vals = [s[side] for s in samples if s.get(side) is not None]
        if len(vals) >= 2:
            total += vals[-1] - vals[0]
    return total


def size_gib(s):
    n, u = float(s[:-1]), s[-1]
    return n * {"K": 1 / (1 << 20), "M": 1 / 1024, "G": 1.0}[u]


if __name__ == "__main__":
    json.dump([build(d) for d in sys.argv[1:]], sys.stdout, indent=1)
    print()
