#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""After the lab: the rows' records -> results.json, the table, the plots.

    report.py [--set NAME] RAW_DIR OUT_DIR

RAW_DIR holds bootN/rows/NNN/ (lab_run.py, one bootN per lab boot) and
lab-faults (one line per row a lab fault took, from
scripts/bench-migrate).  Writes
OUT_DIR/results.json (one record per row, record.py's shape), prints the
table and the vmotion/QEMU ratios against each peer, and draws
OUT_DIR/rate-SCENARIO.png (the guest's write rate over time, every engine
of the scenario on one chart, stop-to-resume marked), bytes-SCENARIO.png
(bytes on the wire over time) and blackout.png (stop-to-resume per
scenario and engine, as bars).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import record  # noqa: E402


def label(r):
    opts = ",".join("%s=%s" % kv for kv in sorted(r["options"].items())
                    if kv[0] != "negative")
    return r["engine"] + (" " + opts if opts else "") + \
        (" NEGATIVE" if r.get("negative_control") else "")


def fmt(v, spec="%.1f"):
    return "-" if v is None else spec % v


def check_word(r):
    mc = r.get("memory_check")
    if not mc:
        return "none"
    return "ok" if mc["ok"] else "FAIL(%d)" % mc["bad"]


def table(recs):
    head = ("%-16s %-36s %-7s %7s %7s %8s %8s %7s %6s %6s %6s %6s %6s %7s %7s" %
            ("scenario", "engine", "result", "total_s", "dest_s", "down_ms",
             "black_ms", "MiB", "iter", "thrtl", "r_bef", "r_min", "r_aft",
             "pass_ms", "cpu/GiB"))
    lines = [head]
    for r in recs:
        rate = r.get("rate_mib_s") or {}
        wire = r.get("bytes_wire")
        lines.append("%-16s %-36s %-7s %7s %7s %8s %8s %7s %6s %6s %6s %6s %6s %7s %7s  check %s%s" % (
            r["scenario"][:16], label(r)[:36], r["result"],
            fmt(r.get("total_s")), fmt(r.get("dest_running_s")),
            fmt(r.get("downtime_ms_engine")), fmt(r.get("blackout_ms")),
            fmt(wire / 2**20 if wire is not None else None),
            fmt(r.get("iterations"), "%d"), fmt(r.get("max_throttle"), "%g"),
            fmt(rate.get("before")), fmt(rate.get("lowest_200ms")),
            fmt(rate.get("after")), fmt(r.get("first_pass_ms")),
            fmt(r.get("cpu_s_per_gib"), "%.2f"), check_word(r),
            (" (" + r["reason"] + ")") if r.get("reason") else ""))
    return "\n".join(lines)


RATIO_KEYS = ("total_s", "dest_running_s", "blackout_ms", "bytes_wire",
              "first_pass_ms", "cpu_s_per_gib")


def engine_key(r):
    """The engine, and for vmotion the tree it came from (tree=: another
    checkout, to compare two versions of the engine in one run)."""
    tree = r["options"].get("tree")
    return r["engine"] + ("@" + os.path.basename(tree.rstrip("/")) if tree else "")


def ratios(recs):
    """vmotion / peer per scenario, for the best (first ok) row of each,
    and of each other vmotion tree."""
    out = []
    by = {}
    for r in recs:
        if r.get("negative_control") or r["result"] != "ok":
            continue
        by.setdefault(r["scenario"], {}).setdefault(engine_key(r), r)
    for sc, engines in by.items():
        for vk in sorted(k for k in engines if k.startswith("vmotion")):
            v = engines[vk]
            for peer in ("qemu-7.2", "qemu-10"):
                q = engines.get(peer)
                if not q:
                    continue
                row = {"scenario": sc, "peer": peer, "vmotion": label(v),
                       "vmotion_tree": vk, "peer_row": label(q)}
                for k in RATIO_KEYS:
                    a, b = v.get(k), q.get(k)
                    row[k] = a / b if a is not None and b else None
                out.append(row)
    return out


def ratio_table(rows):
    trees = any(r["vmotion_tree"] != "vmotion" for r in rows)
    lines = ["%-16s %-9s " % ("scenario", "vs") + ("%-16s " % "vmotion" if trees else "") +
             " ".join("%13s" % k[:13] for k in RATIO_KEYS)]
    for r in rows:
        lines.append("%-16s %-9s " % (r["scenario"][:16], r["peer"]) +
                     ("%-16s " % r["vmotion_tree"][:16] if trees else "") +
                     " ".join("%13s" % fmt(r[k], "%.2fx") for k in RATIO_KEYS))
    return "\n".join(lines)


def plots(recs, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: no matplotlib (make deps installs python3-matplotlib): no plots")
        return []
    made = []
    scen = {}
    for r in recs:
        if r.get("series"):
            scen.setdefault(r["scenario"], []).append(r)
    for sc, rs in scen.items():
        for kind, key, ylabel in (("rate", "write_rate", "guest writes, MiB/s"),
                                  ("bytes", "wire_bytes", "bytes on the wire, MiB")):
            fig, ax = plt.subplots(figsize=(9, 4))
            for r in rs:
                pts = r["series"][key]
                if not pts:
                    continue
                ys = [p[1] / (2**20 if kind == "bytes" else 1) for p in pts]
                line, = ax.plot([p[0] for p in pts], ys, label=label(r), lw=1)
                sr = r["series"].get("stop_resume")
                if sr:
                    ax.axvspan(sr[0], sr[1], color=line.get_color(), alpha=0.25)
            ax.set_xlabel("seconds since the migration started")
            ax.set_ylabel(ylabel)
            ax.set_title("%s: %s (shaded: stop to resume)" % (sc, kind))
            ax.legend(fontsize=7)
            path = os.path.join(out, "%s-%s.png" % (kind, sc))
            fig.tight_layout()
            fig.savefig(path, dpi=90)
            plt.close(fig)
            made.append(path)
    ok = [r for r in recs if r.get("blackout_ms") is not None]
    if ok:
        fig, ax = plt.subplots(figsize=(10, 4))
        names = ["%s\n%s" % (r["scenario"], label(r)) for r in ok]
        ax.bar(range(len(ok)), [r["blackout_ms"] for r in ok])
        ax.set_xticks(range(len(ok)))
        ax.set_xticklabels(names, rotation=90, fontsize=6)
        ax.set_ylabel("stop to resume (heartbeat blackout), ms")
        fig.tight_layout()
        path = os.path.join(out, "blackout.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        made.append(path)
    return made


def collect(raw, want_set):
    """Every row recorded under @raw (boot*/rows/NNN) and the lab faults."""
    import glob
    import scenarios
    recs = {}
    for d in sorted(glob.glob(os.path.join(raw, "boot*", "rows", "*"))):
        if os.path.exists(os.path.join(d, "row.json")):
            r = record.build(d)
            recs[r["index"]] = r
    rows = {r.index: r for r in scenarios.load(scenarios.DEFAULT, want_set)}
    faults = os.path.join(raw, "lab-faults")
    for line in open(faults) if os.path.exists(faults) else []:
        idx, _, why = line.strip().partition(" ")
        row = rows.get(int(idx))
        recs[int(idx)] = {
            "index": int(idx), "scenario": row.scenario if row else "?",
            "engine": row.engine if row else "?",
            "options": row.opts if row else {}, "result": "lab-fault",
            "reason": why}
    return [recs[k] for k in sorted(recs)]


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default="all")
    ap.add_argument("raw")
    ap.add_argument("out")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    recs = collect(a.raw, a.set)
    out = a.out
    rat = ratios(recs)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"rows": recs, "ratios": rat}, f, indent=1)
    print(table(recs))
    print()
    print("vmotion / QEMU (same run; below 1 is vmotion faster or smaller):")
    print(ratio_table(rat))
    for p in plots([r for r in recs if r["result"] != "lab-fault"], out):
        print("plot:", p)
    print("results:", os.path.join(out, "results.json"))


if __name__ == "__main__":
    main()
