#!/usr/bin/env python3
"""Runs `sbrt composite` on every scenario of Fixtures/reirradiation/spine/expected.json
(the numpy expectations of Tools/composite/expected_spine.py) and compares each number
of sbrt's JSON report with them: per structure the courses' physical maxima, BED2 of each
course's maximum, their sum, the voxel-wise cumulative BED2 maximum, the cumulative EQD2
and BED maxima (where numpy pins them), alpha/beta and its source; every flag's value,
voxel-wise value and verdict; and that no other flag is raised. Prints one Markdown row
per scenario (the table of docs/validation.md).

    python3 Tools/composite/check_spine.py --sbrt .build/release/sbrt

Exit 1 when a number differs by more than 1e-4 Gy (or Gy2, months, %), a verdict or an
alpha/beta differs, a flag is missing or unexpected, or an exit code differs.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPINE = os.path.join(ROOT, "Fixtures", "reirradiation", "spine")
TOL = 1e-4


def key(f):
    return (f["rule"], f.get("structure"), f.get("course"))


def compare(sc, rep):
    """(numbers compared, max |difference|, problems)."""
    diffs, problems = [], []
    entries = {e["name"]: e for e in rep["structures"]}
    if set(entries) != set(sc["structures"]):
        problems.append(f"structures {sorted(entries)} != {sorted(sc['structures'])}")
    for name, x in sc["structures"].items():
        e = entries.get(name)
        if e is None:
            continue
        for i, label in enumerate(["prior", "current"]):
            diffs.append(abs(e["courses"][i]["physical"]["dmax"] - x["courses"][label]["physical_max_gy"]))
        if x["organ"]:
            b = e.get("bed2")
            if b is None:
                problems.append(f"{name}: no bed2 block")
            else:
                diffs += [abs(a - x["courses"][c]["bed2_of_max"]) for a, c in zip(b["course_maxima"], ["prior", "current"])]
                diffs.append(abs(b["sum_of_maxima"] - x["sum_of_maxima_bed2"]))
                diffs.append(abs(b["voxel_wise_max"] - x["voxel_wise_cumulative_bed2"]))
        if x["cumulative_eqd2_max"] is not None:
            diffs.append(abs(e["cumulative_eqd2"]["dmax"] - x["cumulative_eqd2_max"]))
            diffs.append(abs(e["cumulative_bed"]["dmax"] - x["cumulative_bed_max"]))
        if e["alpha_beta_gy"] != x["alpha_beta_gy"] or e["alpha_beta_source"] != x["alpha_beta_source"]:
            problems.append(f"{name}: alpha/beta {e['alpha_beta_gy']} {e['alpha_beta_source']}")
    flags = {}
    for f in rep["flags"]:
        if f["rule"] != "interval-unknown":
            flags.setdefault(key(f), []).append(f)
    for x in sc["flags"]:
        k = (x["rule"], x.get("structure"), x.get("course"))
        # interval-6-months names its course pair; match it on rule alone
        got = [f for fk, fs in flags.items() for f in fs if fk[:2] == k[:2] and (k[2] is None or fk[2] == k[2])]
        if len(got) != 1:
            problems.append(f"flag {k}: {len(got)} found")
            continue
        f = got[0]
        if f["exceeded"] != x["exceeded"]:
            problems.append(f"flag {k}: exceeded {f['exceeded']}")
        diffs.append(abs(f["value"] - x["value"]))
        if "voxel_wise_value" in x:
            diffs.append(abs(f["voxel_wise_value"] - x["voxel_wise_value"]))
    extra = [k for k, fs in flags.items()
             if not any(x["rule"] == k[0] and x.get("structure") == k[1] and (x.get("course") in (None, k[2])) for x in sc["flags"])]
    if extra:
        problems.append(f"unexpected flags {extra}")
    return len(diffs), max(diffs), problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sbrt", default=os.path.join(ROOT, ".build", "release", "sbrt"))
    a = ap.parse_args()
    doc = json.load(open(os.path.join(SPINE, "expected.json"), encoding="utf-8"))
    ok = True
    print("| scenario | exit | numbers compared | max \\|diff\\| | flags raised (sbrt = numpy) | result |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for sc in doc["scenarios"]:
            args = [s.replace("{dir}", SPINE) for s in sc["args"]]
            out = os.path.join(tmp, sc["name"] + ".dcm")
            p = subprocess.run([a.sbrt, "composite"] + args + ["--out", out, "--format", "json"], capture_output=True, text=True)
            want = sc.get("exit", 0)
            if want != 0:
                good = p.returncode == want and not os.path.exists(out)
                ok &= good
                print(f"| {sc['name']} | {p.returncode} (expected {want}; {sc['interval_days']} days) | — | — | — | {'PASS' if good else 'FAIL'} |")
                continue
            # Exit 1 is the composite's verdict (a flag raised or not evaluable), not a failure.
            if p.returncode not in (0, 1):
                ok = False
                print(f"| {sc['name']} | {p.returncode}: {p.stderr.strip()} | | | | FAIL |")
                continue
            rep = json.loads(p.stdout)
            open_or_raised = any(f["exceeded"] or f.get("reason") for f in rep["flags"])
            if p.returncode != (1 if open_or_raised else 0):
                ok = False
                print(f"| {sc['name']} | {p.returncode} (expected {1 if open_or_raised else 0} from its flags) | | | | FAIL |")
                continue
            n, worst, problems = compare(sc, rep)
            raised = sorted(f"{f['rule']} {f.get('structure') or ''}".strip() for f in rep["flags"] if f["exceeded"])
            numpy_raised = sorted(f"{x['rule']} {x.get('structure') or ''}".strip() for x in sc["flags"] if x["exceeded"])
            good = worst <= TOL and not problems and raised == numpy_raised
            ok &= good
            print(f"| {sc['name']} | {p.returncode} | {n} | {worst:.1e} | {len(raised)} ({'same' if raised == numpy_raised else 'DIFFERENT'}) "
                  f"| {'PASS' if good else 'FAIL'} |")
            for pr in problems:
                print(f"    {pr}", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
