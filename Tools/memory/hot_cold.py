#!/usr/bin/env python3
"""The first run of a command after the machine has idled against the run right after it.

    Tools/memory/hot_cold.py PAIRS [--spin] [--touch MB] [--first-touch PATH] -- COMMAND...

For each of PAIRS pairs: sleep 4 s, run COMMAND (the "cold" run), then run it again at
once (the "hot" run); prints the median and every wall time of each kind. --spin runs
150 ms of CPU (no memory) before each cold run; --touch MB then also touches and frees MB
of fresh memory with first_touch (Tools/memory/first_touch.c, built to --first-touch,
default /tmp/first_touch). Exit 0 and 1 of COMMAND are both runs (a verdict). Used in
docs/performance.md, "Fresh memory on this machine".
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def spin(seconds):
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1


def run(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode not in (0, 1):
        sys.exit(f"{cmd[0]} exited {r.returncode}")
    return time.perf_counter() - t


def main():
    if "--" not in sys.argv:
        sys.exit(__doc__)
    split = sys.argv.index("--")
    cmd = sys.argv[split + 1:]
    p = argparse.ArgumentParser(description="cold and hot runs of COMMAND (after --)")
    p.add_argument("pairs", type=int, help="pairs of runs, at least 1")
    p.add_argument("--spin", action="store_true", help="150 ms of CPU before each cold run")
    p.add_argument("--touch", type=int, default=0, metavar="MB", help="MB of fresh memory touched before each cold run")
    p.add_argument("--first-touch", default="/tmp/first_touch", metavar="PATH", help="the built first_touch.c")
    a = p.parse_args(sys.argv[1:split])
    if a.pairs < 1:
        p.error("PAIRS must be at least 1")
    if not cmd:
        p.error("give the command after --")
    if a.touch < 0 or a.touch > 65536:
        p.error("--touch must be in 0...65536 MB")
    if a.touch and not os.access(a.first_touch, os.X_OK):
        p.error(f"--touch needs {a.first_touch}: cc -O2 -o {a.first_touch} Tools/memory/first_touch.c")
    cold, hot = [], []
    for _ in range(a.pairs):
        time.sleep(4)
        if a.spin or a.touch:
            spin(0.15)
        if a.touch:
            subprocess.run([a.first_touch, str(a.touch), "1"], stdout=subprocess.DEVNULL, check=True)
        cold.append(run(cmd))
        hot.append(run(cmd))
    for name, v in (("cold (after 4 s idle)", cold), ("hot (right after a run)", hot)):
        print(f"{name}: median {statistics.median(v) * 1000:.1f} ms; {[round(x * 1000) for x in v]}")


if __name__ == "__main__":
    main()
