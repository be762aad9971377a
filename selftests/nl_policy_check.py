#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The netlink policies of kmod/nl_spec.c agree with the YAML spec.

Checks, as TAP, operation by operation and attribute by attribute: each
operation of the spec with a do or dump is in vmtrace_nl_ops (and no
other), with .doit / .dumpit as the spec has do / dump and
GENL_ADMIN_PERM exactly where it says admin-perm; its policy accepts
exactly the spec's request attributes, each with the NLA type of its
spec type, an enum attribute limited to the enum's range and an
attribute with checks to its min and max; its maxattr covers them and
sizes the policy.  Numbers come from uapi/linux/vmtrace.h, read as
spec_check.py reads it.

  nl_policy_check.py SPEC.yaml NL_SPEC.c VMTRACE.h
"""
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spec_check import c_name, header_values  # noqa: E402
from tap import print_tap  # noqa: E402

NLA_TYPES = {
    "u8": {"NLA_U8"}, "u16": {"NLA_U16"}, "u32": {"NLA_U32"},
    "u64": {"NLA_U64"}, "s32": {"NLA_S32"}, "s64": {"NLA_S64"},
    "flag": {"NLA_FLAG"}, "string": {"NLA_NUL_STRING", "NLA_STRING"},
    "binary": {"NLA_BINARY"}, "nest": {"NLA_NESTED", "NLA_NESTED_ARRAY"},
}


def strip_comments(text):
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def parse_c(text):
    """Ranges, policies (name -> size, {attr: (type, lo, hi)}) and ops."""
    text = strip_comments(text)
    ranges = {}
    for m in re.finditer(r"struct\s+netlink_range_validation\s+(\w+)\s*=\s*"
                         r"\{(.*?)\};", text, re.S):
        fields = dict(re.findall(r"\.(min|max)\s*=\s*(\w+)", m.group(2)))
        ranges[m.group(1)] = (fields.get("min", "0"), fields.get("max"))
    policies = {}
    for m in re.finditer(r"struct\s+nla_policy\s+(\w+)\s*\[([^\]]+)\]\s*=\s*"
                         r"\{(.*?)\n\};", text, re.S):
        attrs = {}
        for e in re.finditer(r"\[(\w+)\]\s*=\s*(\{[^}]*\}|NLA_POLICY_\w+"
                             r"\([^)]*\))", m.group(3)):
            body = e.group(2)
            if body.startswith("{"):
                t = re.search(r"\.type\s*=\s*(\w+)", body)
                attrs[e.group(1)] = (t.group(1) if t else None, None, None)
                continue
            kind, args = re.match(r"NLA_POLICY_(\w+)\((.*)\)", body,
                                  re.S).groups()
            args = [a.strip() for a in args.split(",")]
            if kind == "RANGE":
                attrs[e.group(1)] = (args[0], args[1], args[2])
            elif kind == "FULL_RANGE":
                lo, hi = ranges[args[1].lstrip("&")]
                attrs[e.group(1)] = (args[0], lo, hi)
            elif kind == "MAX":
                attrs[e.group(1)] = (args[0], "0", args[1])
            else:
                attrs[e.group(1)] = (args[0], "?", "?")
        policies[m.group(1)] = (m.group(2).strip(), attrs)
    ops = {}
    body = re.search(r"struct\s+genl_ops\s+\w+\[\]\s*=\s*\{(.*?)\n\};",
                     text, re.S).group(1)
    for block in re.findall(r"\{([^{}]*)\}", body):
        fields = dict(re.findall(r"\.(\w+)\s*=\s*([^,\n]+)", block))
        ops[fields["cmd"].strip()] = {k: v.strip() for k, v in fields.items()}
    return policies, ops


def value(expr, header, consts):
    """A C expression of the policy: a number, a header name, or N + 1."""
    expr = expr.strip()
    m = re.match(r"^(\w+)\s*\+\s*1$", expr)
    if m:
        return value(m.group(1), header, consts) + 1
    if re.match(r"^\d+$", expr):
        return int(expr)
    return header.get(expr, consts.get(expr))


def main():
    spec = yaml.safe_load(open(sys.argv[1]))
    policies, ops = parse_c(open(sys.argv[2]).read())
    header = header_values(open(sys.argv[3]).read())
    consts = {}
    enums = {}
    for d in spec.get("definitions", []):
        if d["type"] == "const":
            consts[d["name"]] = d["value"]
        elif d["type"] == "enum":
            prefix = d.get("name-prefix", f"vmtrace-{d['name']}-")
            names = [e["name"] if isinstance(e, dict) else e
                     for e in d["entries"]]
            start = d.get("value-start", 0)
            enums[d["name"]] = (start, start + len(names) - 1)
    sets = {s["name"]: {a["name"]: a for a in s["attributes"]}
            for s in spec["attribute-sets"]}
    checks = []

    def check(name, ok, why=""):
        checks.append((name, bool(ok), why))

    listed = set()
    for op in spec["operations"]["list"]:
        if "do" not in op and "dump" not in op:
            continue		# an event
        cmd = c_name("vmtrace_cmd", op["name"])
        listed.add(cmd)
        name = op["name"]
        c = ops.get(cmd)
        check(f"{name}.in_ops", c, f"{cmd} is not in vmtrace_nl_ops")
        if not c:
            continue
        check(f"{name}.doit", ("doit" in c) == ("do" in op),
              "spec do / .doit disagree")
        check(f"{name}.dumpit", ("dumpit" in c) == ("dump" in op),
              "spec dump / .dumpit disagree")
        admin = "admin-perm" in op.get("flags", [])
        check(f"{name}.admin_perm",
              ("GENL_ADMIN_PERM" in c.get("flags", "")) == admin,
              f"spec admin-perm={admin}, flags {c.get('flags', 'none')}")
        req = []
        for how in ("do", "dump"):
            part = op.get(how) or {}
            req += (part.get("request") or {}).get("attributes", [])
        aset = op["attribute-set"]
        want = {c_name("vmtrace_a", aset, a): a for a in req}
        pol = c.get("policy")
        if not want:
            check(f"{name}.no_policy", not pol,
                  f"no request attributes, but policy {pol}")
            continue
        check(f"{name}.policy", pol in policies,
              f"policy {pol} not found")
        if pol not in policies:
            continue
        size, have = policies[pol]
        check(f"{name}.policy_attributes", set(have) == set(want),
              f"policy has {sorted(have)}, spec requests {sorted(want)}")
        maxattr = value(c.get("maxattr", "0"), header, consts)
        check(f"{name}.maxattr_covers_policy",
              maxattr is not None and value(size, header, consts) == maxattr + 1
              and all(header.get(a, 1 << 30) <= maxattr for a in have),
              f"maxattr {c.get('maxattr')} = {maxattr}, policy size {size}")
        for cname, attr in sorted(want.items()):
            if cname not in have:
                continue
            a = sets[aset][attr]
            t, lo, hi = have[cname]
            check(f"{name}.{attr}.type", t in NLA_TYPES.get(a["type"], ()),
                  f"spec {a['type']}, policy {t}")
            if "enum" in a:
                elo, ehi = enums[a["enum"]]
                check(f"{name}.{attr}.enum_range",
                      lo is not None and value(lo, header, consts) == elo and
                      value(hi, header, consts) == ehi,
                      f"policy range {lo}..{hi}, enum {elo}..{ehi}")
            elif "checks" in a:
                ck = a["checks"]
                wlo = consts.get(ck.get("min"), ck.get("min", 0))
                whi = consts.get(ck.get("max"), ck.get("max"))
                check(f"{name}.{attr}.checks",
                      lo is not None and value(lo, header, consts) == wlo and
                      value(hi, header, consts) == whi,
                      f"policy range {lo}..{hi}, spec {wlo}..{whi}")
            else:
                check(f"{name}.{attr}.no_range", lo is None,
                      f"policy limits it to {lo}..{hi}; the spec does not")
    extra = sorted(set(ops) - listed)
    check("ops_nothing_the_spec_lacks", not extra,
          f"not in the spec: {', '.join(extra)}")
    return print_tap("nl_policy", checks)


if __name__ == "__main__":
    sys.exit(main())
