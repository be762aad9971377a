# SPDX-License-Identifier: GPL-2.0
"""TAP output for the spec checks (spec_check.py, nl_policy_check.py)."""


def print_tap(prefix, checks):
    """checks: (name, ok, why) each; prints them as TAP, returns the
    exit status: 0 when every check passed."""
    print(f"1..{len(checks)}")
    for i, (name, ok, why) in enumerate(checks, 1):
        print(f"{'ok' if ok else 'not ok'} {i} {prefix}.{name}")
        if not ok:
            print(f"# {why}")
    print(f"# Totals: pass:{sum(bool(c[1]) for c in checks)} "
          f"fail:{sum(not c[1] for c in checks)}")
    return 0 if all(c[1] for c in checks) else 1
