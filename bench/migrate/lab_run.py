#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Inside the lab: run rows of the table and record each one raw.

    lab_run.py --out DIR [--set NAME] [--first K] [--only K]

For each row: two network namespaces joined by a veth (shaped both ways
with netem delay and a tbf rate when the row has a link), the guest
booted on the source by the row's engine, a few seconds of steady
writing, the migration, a few seconds after it, then the guest's own
check of every page it filled, wherever it runs now.  Everything an
engine-independent record needs goes into DIR/rows/NNN/ (record.py turns
it into one): the consoles with arrival times, the wire's byte counter
and each side's CPU time every 100 ms, the engine's own report, and
row.json with the times of each step.  A failure is a row with its
reason.  DIR/progress has one line per finished row, for the host side
to go on after a lab fault.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console   # noqa: E402
import engines   # noqa: E402
import scenarios  # noqa: E402

TOP = engines.TOP
NSA, NSB, VA, VB = "bmsrc", "bmdst", "bma", "bmb"
# tbf: a burst a 250 Hz kernel can refill at 100 Mbit/s and more, and a
# queue of 50 ms; recorded in every row.
TBF_BURST, TBF_LATENCY_MS = 128 * 1024, 50
BEFORE_S, AFTER_S = 5.0, 5.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True)


def link_up(link):
    sh("ip netns del %s; ip netns del %s" % (NSA, NSB))
    for c in ("ip netns add %s && ip netns add %s" % (NSA, NSB),
              "ip link add %s type veth peer name %s" % (VA, VB),
              "ip link set %s netns %s && ip link set %s netns %s" % (VA, NSA, VB, NSB),
              "ip -n %s addr add 10.77.0.1/24 dev %s" % (NSA, VA),
              "ip -n %s addr add 10.77.0.2/24 dev %s" % (NSB, VB),
              "ip -n %s link set %s up && ip -n %s link set lo up" % (NSA, VA, NSA),
              "ip -n %s link set %s up && ip -n %s link set lo up" % (NSB, VB, NSB)):
        r = sh(c)
        if r.returncode:
            raise RuntimeError("link: %s: %s" % (c, r.stderr.strip()))
    if not link:
        return None
    for ns, dev in ((NSA, VA), (NSB, VB)):
        for c in ("tc -n %s qdisc add dev %s root handle 1: netem delay %gms limit 100000"
                  % (ns, dev, link["delay_ms"]),
                  "tc -n %s qdisc add dev %s parent 1:1 handle 10: tbf rate %dmbit burst %d latency %dms"
                  % (ns, dev, link["mbit"], TBF_BURST, TBF_LATENCY_MS)):
            r = sh(c)
            if r.returncode:
                raise RuntimeError("tc: %s: %s" % (c, r.stderr.strip()))
    return {"netem_delay_ms": link["delay_ms"], "tbf_rate_mbit": link["mbit"],
            "tbf_burst_bytes": TBF_BURST, "tbf_latency_ms": TBF_LATENCY_MS,
            "both_directions": True}


def link_down():
    sh("ip netns del %s; ip netns del %s" % (NSA, NSB))


def rx_bytes(pid):
    """Bytes the destination's end of the veth received (in its netns)."""
    try:
        for line in open("/proc/%d/net/dev" % pid):
            name, _, rest = line.partition(":")
            if name.strip() == VB:
                return int(rest.split()[0])
    except (OSError, TypeError):
        pass
    return None


class ThreadCpu:
    """
    User+system seconds a VMM's threads other than its vCPUs ("CPU n/KVM",
    as QEMU and vmotionctl name them) spent since the first sample.  Per
    thread, not the process's total: that one also holds time the kernel
    charges to the process for its vCPUs, and threads that start during
    the migration (QEMU's multifd channels) count from zero.  A thread
    that exits loses at most one sampling interval.
    """

    def __init__(self, pid):
        self.pid, self.first, self.last = pid, {}, {}

    def sample(self):
        try:
            tids = os.listdir("/proc/%d/task" % self.pid)
        except (OSError, TypeError):
            return self.total()
        for tid in tids:
            try:
                if open("/proc/%d/task/%s/comm" % (self.pid, tid)).read().startswith("CPU "):
                    continue
                st = open("/proc/%d/task/%s/stat" % (self.pid, tid)).read()
                st = st.rsplit(")", 1)[1].split()
                t = (int(st[11]) + int(st[12])) / CLK_TCK
            except (OSError, ValueError, IndexError):
                continue
            self.first.setdefault(tid, 0.0 if self.started else t)
            self.last[tid] = t
        self.started = True
        return self.total()

    started = False

    def total(self):
        return sum(self.last[t] - self.first[t] for t in self.last)


def vmtrace(loaded):
    have = os.path.exists("/sys/module/vmtrace")
    if loaded and not have:
        r = sh("insmod %s/kmod/vmtrace.ko" % TOP)
        if r.returncode:
            raise RuntimeError("insmod vmtrace.ko: " + r.stderr.strip())
    elif not loaded and have:
        r = sh("rmmod vmtrace")
        if r.returncode:
            raise RuntimeError("rmmod vmtrace: " + r.stderr.strip())


def flip_a_filled_byte(pid, fill_pages, wss_pages):
    """
    Negative control: in the destination VMM's memory, find a page the
    workload filled but never rewrites (its stamp: magic, index) and flip
    one byte of its data.  The guest's next check must name it.
    """
    magic = (0x65676170564d5756).to_bytes(8, "little")
    want = max(wss_pages, fill_pages // 2)
    index = want.to_bytes(8, "little")
    mem = open("/proc/%d/mem" % pid, "r+b", buffering=0)
    for line in open("/proc/%d/maps" % pid):
        rng, perms = line.split()[:2]
        lo, hi = (int(x, 16) for x in rng.split("-"))
        if "rw" not in perms or hi - lo < (64 << 20):
            continue
        for off in range(lo, hi, 1 << 20):
            try:
                mem.seek(off)
                chunk = mem.read(1 << 20)
            except OSError:
                continue
            at = 0
            while True:
                at = chunk.find(magic + index, at)
                if at < 0:
                    break
                if at % 4096 == 0:
                    addr = off + at + 64
                    mem.seek(addr)
                    b = mem.read(1)
                    mem.seek(addr)
                    mem.write(bytes([b[0] ^ 0x5a]))
                    mem.close()
                    return {"page_index": want, "host_address": hex(addr)}
                at += 1
    mem.close()
    raise RuntimeError("negative control: page %d not found in pid %d" % (want, pid))


def parse_size(s):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    s = s.replace("/s", "")
    return int(s[:-1]) * units[s[-1]] if s[-1] in units else int(s)


def run_row(row, d, kernel, initrd, port):
    ev = {"row": row.describe(), "lab_cpus": os.cpu_count(),
          "t": {}, "samples": [], "result": "failed", "reason": ""}
    t = ev["t"]
    eng = None
    cons = []
    sock = tempfile.mkdtemp(prefix="bench-migrate-")
    try:
        vmtrace(row.engine == "vmotion" and
                (row.opts.get("tracker", "vmtrace").startswith("vmtrace") or
                 row.opts.get("sdps") == "on"))
        ev["link"] = link_up(row.link)
        eng = engines.make(row, d, sock, NSA, NSB, port)
        ev["engine_version"] = eng.version
        ev["settings"] = eng.settings
        cmdline = ("console=ttyS0 panic=-1 quiet vmotion.workload=" +
                   ",".join(row.workload_args()))
        t["boot"] = time.monotonic()
        eng.start_source(kernel, initrd, cmdline)
        src = console.ConsoleReader(eng.src_console, os.path.join(d, "src.tsv"))
        cons.append(src)
        if not src.wait_line("workload: start", timeout=240):
            raise RuntimeError("the workload did not start on the source")
        t["workload_start"] = src.wait_line("workload: start")[0]
        if not src.wait_line("workload: t=", after=t["workload_start"], timeout=60):
            raise RuntimeError("the workload wrote no progress line")
        eng.start_destination()
        dst = console.ConsoleReader(eng.dst_console, os.path.join(d, "dst.tsv"))
        cons.append(dst)
        time.sleep(BEFORE_S)
        pids = eng.pids()
        cpu = {side: ThreadCpu(pids[side]) for side in ("src", "dst")}
        for c in cpu.values():
            c.sample()
        t["migrate"] = time.monotonic()
        eng.migrate()
        done = None
        while done is None:
            now = time.monotonic()
            s = {"t": now, "wire_rx_bytes": rx_bytes(pids["dst"]),
                 "src_cpu_s": cpu["src"].sample(),
                 "dst_cpu_s": cpu["dst"].sample()}
            if "dest_running" not in t and eng.dest_running():
                t["dest_running"] = now
            ev["samples"].append(s)
            done = eng.poll()
            time.sleep(0.1)
        t["migrate_end"] = time.monotonic()
        ev["engine_ok"], ev["engine_reason"] = done
        ev["migrate_cpu_s"] = eng.cpu_migrate_s
        ev["samples"].append({"t": t["migrate_end"],
                              "wire_rx_bytes": rx_bytes(pids["dst"]),
                              "src_cpu_s": cpu["src"].sample(),
                              "dst_cpu_s": cpu["dst"].sample()})
        if ev["engine_ok"] and "dest_running" not in t:
            deadline = time.monotonic() + 10
            while not eng.dest_running() and time.monotonic() < deadline:
                time.sleep(0.01)
            t["dest_running"] = time.monotonic()
        here = dst if ev["engine_ok"] else src
        ev["runs_on"] = "destination" if ev["engine_ok"] else "source"
        # The guest's first pass over its memory where it runs now.
        if ev["engine_ok"] and row.negative:
            ev["negative"] = flip_a_filled_byte(
                pids["dst"], parse_size(row.fill) // 4096,
                parse_size(row.wss) // 4096)
        t["check_asked"] = time.monotonic()
        here.send("kill -USR1 $(pidof vmotion-workload)\n")
        chk = here.wait_line("workload: verify", after=t["check_asked"], timeout=120)
        ev["check"] = chk[1] if chk else None
        time.sleep(AFTER_S)
        t["end"] = time.monotonic()
        ev["result"] = "ok" if ev["engine_ok"] else "failed"
        ev["reason"] = ev["engine_reason"]
        if chk is None:
            ev["result"], ev["reason"] = "failed", "the guest's check never came"
    except Exception as e:  # a failed row is a row, with its reason
        ev["result"], ev["reason"] = "failed", str(e)
        ev["traceback"] = traceback.format_exc()
    finally:
        for c in cons:
            c.close()
        if eng:
            eng.stop()
        link_down()
        shutil.rmtree(sock, ignore_errors=True)
        with open(os.path.join(d, "row.json"), "w") as f:
            json.dump(ev, f, indent=1)
    return ev


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--set", default="all")
    ap.add_argument("--scenarios", default=scenarios.DEFAULT)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--only", type=int)
    a = ap.parse_args()
    rows = scenarios.load(a.scenarios, a.set)
    kernel = "/boot/vmlinuz-" + sh(TOP + "/lab/kver").stdout.strip()
    initrd = os.path.join(TOP, "build/guest/initramfs.cpio.gz")
    os.makedirs(os.path.join(a.out, "rows"), exist_ok=True)
    for row in rows[a.first:]:
        if a.only is not None and row.index != a.only:
            continue
        d = os.path.join(a.out, "rows", "%03d" % row.index)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(a.out, "progress"), "a") as f:
            f.write("start %d\n" % row.index)
        t0 = time.monotonic()
        ev = run_row(row, d, kernel, initrd, 47000 + row.index)
        line = "bench-migrate: row %d %s: %s%s (%.0f s)" % (
            row.index, row.name, ev["result"],
            " (" + ev["reason"] + ")" if ev["reason"] else "",
            time.monotonic() - t0)
        print(line, flush=True)
        with open(os.path.join(a.out, "progress"), "a") as f:
            f.write("done %d %s\n" % (row.index, ev["result"]))


if __name__ == "__main__":
    main()
