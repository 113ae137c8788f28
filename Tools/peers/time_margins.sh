#!/usr/bin/env bash
# Whole-process timing of the margin job on one structure: sbrt expand vs plastimatch
# (rasterise every structure on the CT grid, distance map, threshold, write the
# structure set back), the same CT, the same run.
#
#   Tools/peers/time_margins.sh DIR [STRUCTURE] [OUTDIR]
#
# DIR is a folder with a CT series and an RT Structure Set (the benchmark's irregular
# case: `sbrt-bench generate .build-bench-data/large` writes .build-bench-data/large-irregular).
# STRUCTURE defaults to GTV. Jobs: margins of 5, 10 and 20 mm and a 0:20 ring, each
# with sbrt (default interpolated source) and plastimatch.
# Env: SBRT (default .build/release/sbrt), PY (python3 with pydicom), RUNS (default 5),
# ALGORITHM (plastimatch dmap algorithm, default maurer: the faster of its two).
# Times: hyperfine --runs $RUNS --warmup 1 (median wall; CPU = user + system, hyperfine's
# means: the machine may be shared, and CPU time does not grow with other processes' load);
# memory: /usr/bin/time -f %M (median over $RUNS runs); plastimatch's mask volume:
# non-zero voxels × voxel volume.
set -euo pipefail
DIR=$(realpath "$1")
ROI=${2:-GTV}
OUT=${3:-$(mktemp -d /tmp/sbrt-peers-margins.XXXX)}
mkdir -p "$OUT"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib_timing.sh"
SBRT=${SBRT:-$HERE/../../.build/release/sbrt}
PY=${PY:-python3}
RUNS=${RUNS:-5}
ALGORITHM=${ALGORITHM:-maurer}
command -v plastimatch >/dev/null || { echo "plastimatch not found on PATH (Debian: apt-get install plastimatch)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine not found on PATH (Debian: apt-get install hyperfine)" >&2; exit 2; }
RS=$($PY - "$DIR" <<'P'
import os, sys, pydicom
for r, d, fs in os.walk(sys.argv[1]):
    for f in fs:
        try:
            if pydicom.dcmread(os.path.join(r, f), stop_before_pixels=True, specific_tags=["Modality"]).Modality == "RTSTRUCT":
                print(os.path.join(r, f)); raise SystemExit
        except SystemExit: raise
        except Exception: pass
P
)
# plastimatch: every structure to a mask on the CT grid, the distance map of ROI, the
# threshold (distance ≤ m, or 0 < distance ≤ 20 for the ring), the mask back to DICOM.
pm() {  # pm NAME THRESHOLD-ARGS
  local w="$OUT/pm_$1"
  echo "rm -rf $w && mkdir -p $w/new && plastimatch convert --input $RS --referenced-ct $DIR --output-prefix $w/masks > /dev/null && plastimatch dmap --algorithm $ALGORITHM --input $w/masks/$ROI.mha --output $w/dmap.mha > /dev/null && plastimatch threshold --input $w/dmap.mha --output $w/new/X.mha $2 > /dev/null && plastimatch convert --input-prefix $w/new --output-dicom $w/dicom --referenced-ct $DIR > /dev/null"
}
declare -A CMD
ORDER=""
for m in 5 10 20; do
  CMD[sbrt_margin_$m]="$SBRT expand $DIR --from $ROI --margin $m --name X_$m --out $OUT/sbrt_$m.dcm > $OUT/sbrt_margin_$m.txt"
  CMD[plastimatch_margin_$m]=$(pm "margin_$m" "--below $m")
  ORDER="$ORDER sbrt_margin_$m plastimatch_margin_$m"
done
CMD[sbrt_ring_0_20]="$SBRT expand $DIR --from $ROI --ring 0:20 --name X_ring --out $OUT/sbrt_ring.dcm > $OUT/sbrt_ring_0_20.txt"
CMD[plastimatch_ring_0_20]=$(pm "ring_0_20" "--range 0.0001,20")
ORDER="$ORDER sbrt_ring_0_20 plastimatch_ring_0_20"
uptime > "$OUT/load.txt"
time_commands
uptime >> "$OUT/load.txt"
# Volumes: sbrt's own report; plastimatch's mask as voxels × voxel volume.
for k in $ORDER; do
  case $k in
    sbrt_*) ;;
    plastimatch_*) w="$OUT/pm_${k#plastimatch_}"
      plastimatch stats "$w/new/X.mha" 2>/dev/null | awk '/NONZERO/ {print $8}' > "$w/nonzero.txt"
      plastimatch header "$w/new/X.mha" 2>/dev/null | awk '/Spacing/ {print $3 * $4 * $5}' > "$w/voxel.txt" ;;
  esac
done
$PY - "$OUT" $ORDER <<'P'
import json, statistics, sys, glob, os
out, keys = sys.argv[1], sys.argv[2:]
h = {r["command"]: r for r in json.load(open(f"{out}/hyperfine.json"))["results"]}
print("| job | tool | median wall s (hyperfine) | runs s | CPU s (user+sys, mean) | peak RSS MB (median) | result cc |")
print("|---|---|---|---|---|---|---|")
for k in keys:
    r = h[k]
    mem = [int(open(f).read().strip().splitlines()[-1].split()[0]) for f in sorted(glob.glob(f"{out}/mem_{k}.*"))]
    tool, job = k.split("_", 1)
    cc = ""
    if tool == "sbrt":
        try:
            words = open(f"{out}/sbrt_{job}.txt").read().split()
            cc = f"{float(words[words.index('cc') - 1]):.1f} (interpolated), {float(words[words.index('prism') - 4]):.1f} (prism)"
        except Exception: cc = "?"
    if tool == "plastimatch":
        w = f"{out}/pm_{job}"
        try: cc = f"{float(open(w + '/nonzero.txt').read()) * float(open(w + '/voxel.txt').read()) / 1000:.1f} (mask)"
        except Exception: cc = "?"
    print(f"| {job} | {tool} | {r['median']:.3f} | {', '.join(f'{t:.3f}' for t in r['times'])} | {r['user'] + r['system']:.3f} | {statistics.median(mem)/1024:.0f} | {cc} |")
P
echo "(files in $OUT; load: $(tr '\n' ' ' < "$OUT/load.txt"))"
