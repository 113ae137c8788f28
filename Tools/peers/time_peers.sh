#!/usr/bin/env bash
# Whole-process timing and peak memory of the DVH of every structure of a folder:
# sbrt vs plastimatch (one step and CT-grid two step) vs dicompyler-core.
#
#   Tools/peers/time_peers.sh DIR [OUTDIR]
#
# Env: SBRT (default .build-lead/release/sbrt), PY (python with dicompyler-core and
# pydicom<3; default python3), RUNS (default 3).
# Times: hyperfine --runs $RUNS --warmup 1 (median reported); memory: /usr/bin/time -f %M
# over $RUNS runs (median, KB).
set -euo pipefail
DIR=$(realpath "$1")
OUT=${2:-$(mktemp -d /tmp/sbrt-peers-time.XXXX)}
mkdir -p "$OUT"
HERE=$(cd "$(dirname "$0")" && pwd)
SBRT=${SBRT:-$HERE/../../.build-lead/release/sbrt}
PY=${PY:-python3}
RUNS=${RUNS:-3}
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
RD=$($PY - "$DIR" <<'P'
import os, sys, pydicom
for r, d, fs in os.walk(sys.argv[1]):
    for f in fs:
        try:
            if pydicom.dcmread(os.path.join(r, f), stop_before_pixels=True, specific_tags=["Modality"]).Modality == "RTDOSE":
                print(os.path.join(r, f)); raise SystemExit
        except SystemExit: raise
        except Exception: pass
P
)
declare -A CMD
CMD[sbrt]="$SBRT dvh $DIR"
CMD[plastimatch_input_dir]="plastimatch dvh --input $DIR --output-csv $OUT/pm_direct.csv"
CMD[plastimatch_ct_grid]="plastimatch convert --input $RS --referenced-ct $DIR --output-ss-img $OUT/ss.nrrd --output-ss-list $OUT/ss.txt && plastimatch dvh --input-ss-img $OUT/ss.nrrd --input-ss-list $OUT/ss.txt --input-dose $RD --output-csv $OUT/pm_ct.csv"
CMD[dicompyler_core]="$PY $HERE/dicompyler_dvh.py $DIR"
ORDER="sbrt plastimatch_input_dir plastimatch_ct_grid dicompyler_core"
for k in $ORDER; do echo "$k: ${CMD[$k]}"; done > "$OUT/commands.txt"
uptime > "$OUT/load.txt"
args=()
for k in $ORDER; do args+=(-n "$k" "${CMD[$k]}"); done
hyperfine --runs "$RUNS" --warmup 1 --export-json "$OUT/hyperfine.json" --output=null "${args[@]}" > "$OUT/hyperfine.txt" 2>&1
for k in $ORDER; do
  for i in $(seq "$RUNS"); do
    /usr/bin/time -f "%M %e" -o "$OUT/mem_$k.$i" bash -c "${CMD[$k]}" > /dev/null 2>&1
  done
done
uptime >> "$OUT/load.txt"
$PY - "$OUT" $ORDER <<'P'
import json, statistics, sys, glob
out, keys = sys.argv[1], sys.argv[2:]
h = {r["command"]: r for r in json.load(open(f"{out}/hyperfine.json"))["results"]}
print("| tool | median s (hyperfine) | runs s | peak RSS MB (median) |")
print("|---|---|---|---|")
for k in keys:
    r = h[k]
    mem = [int(open(f).read().split()[0]) for f in sorted(glob.glob(f"{out}/mem_{k}.*"))]
    print(f"| {k} | {r['median']:.2f} | {', '.join(f'{t:.2f}' for t in r['times'])} | {statistics.median(mem)/1024:.0f} |")
P
echo "(files in $OUT)"
