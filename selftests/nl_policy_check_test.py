#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""nl_policy_check.py can fail: each mutation of kmod/nl_spec.c below is
one way the policies could drift from the spec, and each must be caught
(TAP).  The unmutated file must pass.

  nl_policy_check_test.py SPEC.yaml NL_SPEC.c VMTRACE.h
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MUTATIONS = [
    ("admin flag dropped from attach",
     ".policy\t\t= vmtrace_attach_policy,\n\t\t.maxattr\t= VMTRACE_A_SESSION_MAX,\n\t\t.flags\t\t= GENL_ADMIN_PERM,",
     ".policy\t\t= vmtrace_attach_policy,\n\t\t.maxattr\t= VMTRACE_A_SESSION_MAX,"),
    ("mode's type changed",
     "NLA_POLICY_RANGE(NLA_U32, VMTRACE_MODE_STOCK,",
     "NLA_POLICY_RANGE(NLA_U64, VMTRACE_MODE_STOCK,"),
    ("flush range narrowed",
     "NLA_POLICY_RANGE(NLA_U32, VMTRACE_FLUSH_LAZY,\n\t\t\t\t VMTRACE_FLUSH_SYNC)",
     "NLA_POLICY_RANGE(NLA_U32, VMTRACE_FLUSH_LAZY,\n\t\t\t\t VMTRACE_FLUSH_LAZY)"),
    ("deadline check dropped",
     "NLA_POLICY_FULL_RANGE(NLA_U32, &vmtrace_flush_deadline_range)",
     "{ .type = NLA_U32 }"),
    ("throttle maximum changed",
     ".max = VMTRACE_THROTTLE_MAX_US,", ".max = 1000,"),
    ("request attribute missing",
     "\t[VMTRACE_A_SESSION_HARVESTS] = { .type = NLA_U64 },\n", ""),
    ("harvest's dump became a do",
     ".dumpit\t\t= vmtrace_nl_harvest_dumpit,",
     ".doit\t\t= vmtrace_nl_harvest_dumpit,"),
    ("maxattr too small",
     ".maxattr\t= VMTRACE_A_THROTTLE_SLEEP_US,",
     ".maxattr\t= VMTRACE_A_THROTTLE_SESSION_ID,"),
    ("an op the spec lacks",
     "\t{\n\t\t.cmd\t\t= VMTRACE_CMD_GET_STATS,",
     "\t{\n\t\t.cmd\t\t= VMTRACE_CMD_MAX,\n\t\t.doit\t\t= x,\n\t},\n"
     "\t{\n\t\t.cmd\t\t= VMTRACE_CMD_GET_STATS,"),
]


def run(spec, c_file, header):
    return subprocess.run([sys.executable, os.path.join(HERE, "nl_policy_check.py"),
                           spec, c_file, header], capture_output=True,
                          text=True).returncode


def main():
    spec, c_file, header = sys.argv[1:4]
    text = open(c_file).read()
    print(f"1..{len(MUTATIONS) + 1}")
    ok = run(spec, c_file, header) == 0
    print(f"{'ok' if ok else 'not ok'} 1 nl_policy_check.passes_as_is")
    fails = not ok
    for i, (what, old, new) in enumerate(MUTATIONS, 2):
        name = "catches_" + what.replace(" ", "_").replace("'", "")
        if old not in text:
            print(f"not ok {i} nl_policy_check.{name}\n# the mutation no longer applies")
            fails = True
            continue
        with tempfile.NamedTemporaryFile("w", suffix=".c") as f:
            f.write(text.replace(old, new, 1))
            f.flush()
            caught = run(spec, f.name, header) != 0
        print(f"{'ok' if caught else 'not ok'} {i} nl_policy_check.{name}")
        fails |= not caught
    print("# Totals: nl_policy_check")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
