#!/usr/bin/env python3
"""The first run of a command after the machine has idled against the run right after it.

    Tools/memory/hot_cold.py PAIRS [--spin] [--touch MB] -- COMMAND...

For each of PAIRS pairs: sleep 4 s, run COMMAND (the "cold" run), then run it again at
once (the "hot" run); prints the median and every wall time of each kind. --spin runs
150 ms of CPU (no memory) before each cold run; --touch MB then touches and frees MB of
fresh memory too (needs /tmp/first_touch from Tools/memory/first_touch.c). Exit 0 and 1
of COMMAND are both runs (a verdict). Used in docs/performance.md, "Fresh memory on this
machine".
"""
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
    opts, cmd = sys.argv[1:split], sys.argv[split + 1:]
    pairs = int(opts[0])
    touch = int(opts[opts.index("--touch") + 1]) if "--touch" in opts else 0
    cold, hot = [], []
    for _ in range(pairs):
        time.sleep(4)
        if "--spin" in opts or touch:
            spin(0.15)
        if touch:
            subprocess.run(["/tmp/first_touch", str(touch), "1"], stdout=subprocess.DEVNULL, check=True)
        cold.append(run(cmd))
        hot.append(run(cmd))
    for name, v in (("cold (after 4 s idle)", cold), ("hot (right after a run)", hot)):
        print(f"{name}: median {statistics.median(v) * 1000:.1f} ms; {[round(x * 1000) for x in v]}")


if __name__ == "__main__":
    main()
