# SPDX-License-Identifier: GPL-2.0
"""The benchmark's table: bench/migrate/scenarios, parsed.

Two kinds of line (``#`` starts a comment)::

    scenario NAME key=value...     the guest, its workload and the link
    run SETS NAME ENGINE [key=value...]
                                   one row: scenario NAME migrated by ENGINE
                                   (vmotion, qemu-7.2, qemu-10) with those
                                   settings, in each of the comma-separated
                                   SETS

Scenario keys: mem, cpus, fill (memory the workload fills and checks),
wss (the part it rewrites), rate, order, link (``none`` or
``MBIT/DELAY_MS``), window (the downtime window in ms: vmotion's
--max-stun, QEMU's downtime-limit), timeout (seconds before a migration
that does not finish is given up).  Rows run in file order, so a
scenario's engines alternate and a slow moment of the machine hits each.
"""

import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "scenarios")

SCENARIO_KEYS = {"mem", "cpus", "fill", "wss", "rate", "order", "link",
                 "window", "timeout"}
ENGINES = {"vmotion", "qemu-7.2", "qemu-10"}
ENGINE_KEYS = {
    "vmotion": {"tracker", "sdps", "compress", "tree", "negative"},
    "qemu-7.2": {"auto-converge", "xbzrle", "negative"},
    "qemu-10": {"auto-converge", "dirty-limit", "multifd", "compress",
                "xbzrle", "negative"},
}


class Row:
    def __init__(self, index, sets, scenario, engine, opts, sc):
        self.index, self.sets, self.scenario = index, sets, scenario
        self.engine, self.opts = engine, opts
        self.mem = sc.get("mem", "256M")
        self.cpus = int(sc.get("cpus", "1"))
        self.fill = sc.get("fill", "64M")
        self.wss = sc.get("wss", "4K")
        self.rate = sc.get("rate", "4K/s")
        self.order = sc.get("order", "seq")
        self.link = parse_link(sc.get("link", "none"))
        self.window_ms = int(sc.get("window", "300"))
        self.timeout_s = int(sc.get("timeout", "120"))
        self.negative = opts.get("negative") == "on"

    @property
    def name(self):
        extra = ",".join("%s=%s" % kv for kv in sorted(self.opts.items()))
        return "%s/%s%s" % (self.scenario, self.engine,
                            "[" + extra + "]" if extra else "")

    def workload_args(self):
        return ["--fill", self.fill, "--wss", self.wss, "--rate", self.rate,
                "--order", self.order, "--heartbeat", "10ms",
                "--progress", "200ms", "--stall-verify", "0"]

    def describe(self):
        return {"index": self.index, "scenario": self.scenario,
                "engine": self.engine, "options": self.opts,
                "sets": self.sets, "mem": self.mem, "cpus": self.cpus,
                "fill": self.fill, "wss": self.wss, "rate": self.rate,
                "order": self.order, "link": self.link,
                "window_ms": self.window_ms, "timeout_s": self.timeout_s,
                "negative": self.negative}


def parse_link(s):
    if s == "none":
        return None
    m = re.fullmatch(r"(\d+)/(\d+(?:\.\d+)?)", s)
    if not m:
        raise ValueError("link %r: none or MBIT/DELAY_MS" % s)
    return {"mbit": int(m.group(1)), "delay_ms": float(m.group(2))}


def kv(words, allowed, where):
    out = {}
    for w in words:
        k, eq, v = w.partition("=")
        if not eq or k not in allowed:
            raise ValueError("%s: unknown setting %r (one of %s)" %
                             (where, w, ", ".join(sorted(allowed))))
        out[k] = v
    return out


def load(path=DEFAULT, want_set="all"):
    scenarios, rows = {}, []
    for n, line in enumerate(open(path), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        where = "%s:%d" % (os.path.basename(path), n)
        if words[0] == "scenario" and len(words) >= 2:
            scenarios[words[1]] = kv(words[2:], SCENARIO_KEYS, where)
            parse_link(scenarios[words[1]].get("link", "none"))
        elif words[0] == "run" and len(words) >= 4:
            sets, name, engine = words[1].split(","), words[2], words[3]
            if name not in scenarios:
                raise ValueError("%s: no scenario %r" % (where, name))
            if engine not in ENGINES:
                raise ValueError("%s: engine %r: one of %s" %
                                 (where, engine, ", ".join(sorted(ENGINES))))
            opts = kv(words[4:], ENGINE_KEYS[engine], where)
            if want_set in sets:
                rows.append(Row(len(rows), sets, name, engine, opts,
                                scenarios[name]))
        else:
            raise ValueError("%s: not a scenario or run line" % where)
    if not rows:
        raise ValueError("%s: no rows in set %r" % (path, want_set))
    return rows


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--count":
        print(len(load(DEFAULT, sys.argv[2])))
    else:
        for r in load(DEFAULT, sys.argv[1] if len(sys.argv) > 1 else "all"):
            print(r.index, r.name)
