#!/usr/bin/env python3
"""Times commands alternately (A, B, A, B, ...) so that a change of load on a shared
machine lands on both sides; prints per binary the median and minimum of CPU time
(user + system, from the child's rusage) and wall time.

    Tools/interleaved.py RUNS ARG... -- BINARY...

runs every BINARY with the same ARGs RUNS times after one warm-up round, output
discarded; exit 0 and 1 (a verdict) are both runs. Used for docs/performance.md.
"""
import os
import statistics
import subprocess
import sys
import time

runs = int(sys.argv[1])
split = sys.argv.index("--")
args, binaries = sys.argv[2:split], sys.argv[split + 1:]
samples = {b: [] for b in binaries}
for r in range(runs + 1):
    for b in binaries:
        t0 = time.perf_counter()
        child = subprocess.Popen([b] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
        # Exit 1 is a verdict (a deviation, raised composite flags), a run like any other.
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) not in (0, 1):
            sys.exit(f"{b} ended with wait status {status}")
        if r > 0:
            samples[b].append((usage.ru_utime * 1e3, usage.ru_stime * 1e3, wall * 1e3))
for b in binaries:
    user, system, wall = zip(*samples[b])
    cpu = [u + s for u, s in zip(user, system)]
    print(f"{b}: CPU median {statistics.median(cpu):.1f} ms, min {min(cpu):.1f} "
          f"(user {statistics.median(user):.1f}, sys {statistics.median(system):.1f}); "
          f"wall median {statistics.median(wall):.1f} ms, min {min(wall):.1f}; {len(cpu)} runs")
