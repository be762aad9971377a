#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make bench-migrate's parser and table, without a lab: a recorded
vmotion row and a recorded QEMU row (tests/recorded/, trimmed from a real
run of lab_run.py) become records of the same shape with the values the
recordings hold; a failed guest check is read as one; the heartbeat
blackout is what the consoles' times say; the scenario file is valid.
TAP on stdout."""

import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import record     # noqa: E402
import scenarios  # noqa: E402

REC = os.path.join(HERE, "recorded")
tests = []


def test(f):
    tests.append(f)
    return f


def keys(v, prefix=""):
    if not isinstance(v, dict):
        return {prefix}
    out = set()
    for k, x in v.items():
        out |= keys(x, prefix + "." + k)
    return out


def check_ok_record(r):
    assert r["result"] == "ok", r["reason"]
    assert r["runs_on"] == "destination"
    assert r["total_s"] > 0 and r["dest_running_s"] > 0
    assert r["downtime_ms_engine"] > 0
    assert r["blackout_ms"] is not None and r["blackout_ms"] >= 0
    assert r["bytes_wire"] > 1 << 20, r["bytes_wire"]
    assert r["bytes_engine"] > 1 << 20
    assert r["iterations"] >= 1
    assert r["memory_check"]["ok"] and r["memory_check"]["pages"] > 0
    assert r["counter_kept"] is True
    assert r["first_pass_ms"] > 0
    assert r["cpu_s_per_gib"] is not None and r["cpu_s_per_gib"] >= 0
    assert r["rate_mib_s"]["before"] > 0 and r["rate_mib_s"]["after"] > 0
    sr = r["series"]["stop_resume"]
    assert sr and 0 <= sr[0] < sr[1], sr
    assert r["series"]["write_rate"] and r["series"]["wire_bytes"]


@test
def vmotion_row_parses():
    r = record.build(os.path.join(REC, "vmotion"))
    assert r["engine"] == "vmotion"
    check_ok_record(r)


@test
def qemu_row_parses():
    r = record.build(os.path.join(REC, "qemu"))
    assert r["engine"].startswith("qemu-")
    check_ok_record(r)


@test
def both_engines_give_the_same_record_shape():
    a = record.build(os.path.join(REC, "vmotion"))
    b = record.build(os.path.join(REC, "qemu"))
    ka, kb = keys(a), keys(b)
    # settings and options differ by engine by design; all else is shared.
    ka = {k for k in ka if not k.startswith((".settings", ".options"))}
    kb = {k for k in kb if not k.startswith((".settings", ".options"))}
    assert ka == kb, (ka ^ kb)


@test
def a_failed_guest_check_is_read_as_one():
    d = tempfile.mkdtemp()
    try:
        shutil.copytree(os.path.join(REC, "vmotion"), d, dirs_exist_ok=True)
        ev = json.load(open(os.path.join(d, "row.json")))
        ev["check"] = ev["check"].replace(" bad=0 ", " bad=3 ")
        json.dump(ev, open(os.path.join(d, "row.json"), "w"))
        r = record.build(d)
        assert r["memory_check"] == {"pages": r["memory_check"]["pages"],
                                     "bad": 3, "ok": False}
    finally:
        shutil.rmtree(d)


@test
def blackout_is_the_silence_across_the_switchover():
    src = [(10.0 + i * 0.01, 1) for i in range(100)]       # to 10.99
    dst = [(11.39 + i * 0.01, 1) for i in range(100)]      # a 400 ms gap
    got = record.blackout_ms(src, dst, 10.5)
    assert abs(got - 390.0) < 1e-6, got
    assert record.stop_resume(src, dst, 10.5, 11.5) == [0.49, 0.89]
    # A throttle's silence on the source is not the switchover's.
    throttled = src[:50] + [(t + 1.2, n) for t, n in src[50:]]
    assert abs(record.max_gap_ms(throttled, 10.0, 12.5) - 1200.0) < 1e-6
    assert record.stop_resume(throttled, dst, 10.5, 11.5) == [-0.01, 0.89]


@test
def the_scenario_file_is_valid():
    every = scenarios.load(scenarios.DEFAULT, "all")
    quick = scenarios.load(scenarios.DEFAULT, "quick")
    assert len(quick) == 9 and len(every) > len(quick)
    assert {r.engine for r in quick} == {"vmotion", "qemu-7.2", "qemu-10"}
    assert any(r.negative for r in every)
    for r in every:
        assert r.timeout_s > 0 and r.window_ms > 0


@test
def a_bad_scenario_line_is_named():
    with tempfile.NamedTemporaryFile("w", suffix="scen", delete=False) as f:
        f.write("scenario a mem=256M link=fast\n")
    try:
        scenarios.load(f.name, "all")
        raise AssertionError("accepted link=fast")
    except ValueError as e:
        assert "link 'fast'" in str(e), e
    finally:
        os.unlink(f.name)


def main():
    print("1..%d" % len(tests))
    failed = 0
    for i, t in enumerate(tests, 1):
        try:
            t()
            print("ok %d bench-migrate.%s" % (i, t.__name__))
        except Exception as e:  # report and go on
            failed += 1
            print("not ok %d bench-migrate.%s" % (i, t.__name__))
            print("# %s: %s" % (type(e).__name__, e))
    print("# Totals: pass:%d fail:%d" % (len(tests) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
