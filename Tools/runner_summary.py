#!/usr/bin/env python3
"""Summarises several outputs of `sbrt-bench run`: per whole-process row, how many runs
there were, the median of the runs' medians, the lowest and highest run median, the
budget, and in how many runs the row was within it. Prints a Markdown table, then the
lowest and highest `check --html` / `sbrt dvh` ratio over the runs.

    Tools/runner_summary.py RUN_OUTPUT...

Each RUN_OUTPUT is the standard output of one `sbrt-bench run` (docs/performance.md,
*How often the goals hold*).
Exits 2 when a file holds no `process:` row.
"""
import re
import statistics
import sys

ROW = re.compile(r"process: (.*?)\s{2,}([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)\s+(ok|OVER)")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    rows, order, ratios = {}, [], []
    for path in sys.argv[1:]:
        medians = {}
        with open(path) as f:
            for line in f:
                m = ROW.match(line)
                if not m:
                    continue
                name, median, budget, ok = m.group(1), float(m.group(2)), int(m.group(5)), m.group(7) == "ok"
                if name not in rows:
                    rows[name] = []
                    order.append(name)
                rows[name].append((median, budget, ok))
                medians[name] = median
        if not medians:
            print(f"{path}: no `process:` row (not an sbrt-bench run output?)", file=sys.stderr)
            sys.exit(2)
        html = next((v for k, v in medians.items() if "--html" in k), None)
        dvh = next((v for k, v in medians.items() if k.startswith("sbrt dvh")), None)
        if html and dvh:
            ratios.append(html / dvh)
    print("| command | runs | median of the runs' medians ms | lowest / highest run median ms | budget ms | runs within budget |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in order:
        v = rows[name]
        meds = [x[0] for x in v]
        print(f"| `{name}` | {len(v)} | {statistics.median(meds):.1f} | {min(meds):.1f} / {max(meds):.1f} | {v[0][1]} | {sum(x[2] for x in v)} of {len(v)} |")
    if ratios:
        print(f"\n`check --html` / `sbrt dvh`, per run: {min(ratios):.2f}–{max(ratios):.2f}×")


if __name__ == "__main__":
    main()
