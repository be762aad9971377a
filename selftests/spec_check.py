#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The netlink YAML spec and uapi/linux/vmtrace.h agree.

Checks, as TAP: every command and attribute of the spec has the same
number in the header (numbered from 1 in spec order), every constant the
same value, every flag the same bit, and the header defines nothing the
spec does not.
"""
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import print_tap  # noqa: E402


def c_name(*parts):
    return "_".join(p.upper().replace("-", "_") for p in parts)


def header_values(text):
    """Name -> value for #defines and enum entries of the header."""
    values = {}
    for m in re.finditer(r"#define\s+(VMTRACE_\w+)\s+(\d+)\b", text):
        values[m.group(1)] = int(m.group(2))
    for body in re.findall(r"enum\s*\w*\s*\{(.*?)\};", text, re.S):
        nxt = 0
        for entry in body.split(","):
            entry = re.sub(r"/\*.*?\*/", "", entry, flags=re.S).strip()
            if not entry:
                continue
            m = re.match(r"(\w+)\s*(?:=\s*(.+))?$", entry)
            if not m:
                continue
            name, expr = m.group(1), m.group(2)
            if expr is not None:
                expr = re.sub(r"\b(_*VMTRACE_\w+)\b",
                              lambda x: str(values[x.group(1)]), expr)
                nxt = int(eval(expr, {"__builtins__": {}}))  # noqa: S307
            values[name] = nxt
            nxt += 1
    return values


def expected_values(spec):
    want = {}
    for d in spec.get("definitions", []):
        if d["type"] == "const":
            want[c_name("vmtrace", d["name"])] = d["value"]
        elif d["type"] in ("flags", "enum"):
            prefix = d.get("name-prefix", f"vmtrace-{d['name']}-")
            start = d.get("value-start", 0)
            for i, e in enumerate(d["entries"]):
                name = e["name"] if isinstance(e, dict) else e
                value = 1 << (start + i) if d["type"] == "flags" else start + i
                want[c_name(prefix + name)] = value
    for aset in spec["attribute-sets"]:
        for i, a in enumerate(aset["attributes"], 1):
            want[c_name("vmtrace_a", aset["name"], a["name"])] = i
        want[c_name("vmtrace_a", aset["name"], "max")] = \
            len(aset["attributes"])
    ops = spec["operations"]["list"]
    for i, op in enumerate(ops, 1):
        want[c_name("vmtrace_cmd", op["name"])] = i
    want["VMTRACE_CMD_MAX"] = len(ops)
    return want


def main():
    spec = yaml.safe_load(open(sys.argv[1]))
    have = header_values(open(sys.argv[2]).read())
    want = expected_values(spec)
    extra = sorted(k for k in have
                   if not k.startswith("__") and k not in want
                   and k not in ("VMTRACE_FAMILY_VERSION",))
    checks = [(f"{k} = {v}", have.get(k) == v,
               f"header has {have.get(k)}") for k, v in sorted(want.items())]
    checks.append(("header defines nothing the spec lacks", not extra,
                   f"not in the spec: {', '.join(extra)}"))
    return print_tap("spec", checks)


if __name__ == "__main__":
    sys.exit(main())
