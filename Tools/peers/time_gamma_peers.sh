#!/usr/bin/env bash
# Whole-process timing and pass rates of 3D gamma on the benchmark pair: sbrt vs pymedphys
# vs plastimatch, 2 %/1 mm with a 10 % cutoff, global and local.
#
#   swift build -c release --static-swift-stdlib
#   .build/release/sbrt-bench gamma .build-bench-data/large      # makes DIR-gamma/RD.dcm once
#   Tools/peers/time_gamma_peers.sh .build-bench-data/large [OUTDIR]
#
# The pair: the case's RT Dose (REF) and a copy shifted 1.5 mm along +x and scaled 1.02
# (DIR-gamma/RD.dcm, EVAL). Env: SBRT (default .build/release/sbrt), PY (python with
# pymedphys, numba, pydicom; default python3), RUNS (default 3), CONVERGED (1 to also run
# pymedphys at interp_fraction 20 and 40 once each, for the converged rates; slow).
# Times: hyperfine --runs $RUNS --warmup 1 (median). Pass rates: each tool's own output.
set -euo pipefail
DIR=$(realpath "$1")
OUT=${2:-$(mktemp -d /tmp/sbrt-gamma-peers.XXXX)}
mkdir -p "$OUT"
HERE=$(cd "$(dirname "$0")" && pwd)
SBRT=${SBRT:-$HERE/../../.build/release/sbrt}
PY=${PY:-python3}
RUNS=${RUNS:-3}
EVAL="$DIR-gamma/RD.dcm"
[ -f "$EVAL" ] || { echo "no $EVAL: run sbrt-bench gamma $1 first" >&2; exit 2; }
REF=$($PY - "$DIR" <<'P'
import os, sys, pydicom
for f in sorted(os.listdir(sys.argv[1])):
    p = os.path.join(sys.argv[1], f)
    try:
        if pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["Modality"]).Modality == "RTDOSE":
            print(p); break
    except Exception:
        pass
P
)
PM="plastimatch gamma --dose-tolerance 0.02 --dta-tolerance 1 --analysis-threshold 0.1"
declare -A CMD
CMD[sbrt_global]="$SBRT gamma $REF $EVAL --criteria 2%/1mm --threshold 10% --json > $OUT/sbrt_global.json"
CMD[sbrt_local]="$SBRT gamma $REF $EVAL --criteria 2%/1mm --threshold 10% --local --json > $OUT/sbrt_local.json"
CMD[pymedphys_global]="$PY $HERE/pymedphys_gamma.py $REF $EVAL 2 1 > $OUT/pymedphys_global.json"
CMD[pymedphys_local]="$PY $HERE/pymedphys_gamma.py $REF $EVAL 2 1 --local > $OUT/pymedphys_local.json"
CMD[plastimatch_global]="$PM --output-text $OUT/plastimatch_global.txt $REF $EVAL"
CMD[plastimatch_global_interp]="$PM --interp-search --output-text $OUT/plastimatch_global_interp.txt $REF $EVAL"
CMD[plastimatch_local]="$PM --local-gamma --output-text $OUT/plastimatch_local.txt $REF $EVAL"
CMD[plastimatch_local_interp]="$PM --local-gamma --interp-search --output-text $OUT/plastimatch_local_interp.txt $REF $EVAL"
ORDER="sbrt_global sbrt_local pymedphys_global pymedphys_local plastimatch_global plastimatch_global_interp plastimatch_local plastimatch_local_interp"
for k in $ORDER; do echo "$k: ${CMD[$k]}"; done > "$OUT/commands.txt"
uptime > "$OUT/load.txt"
args=()
for k in $ORDER; do args+=(-n "$k" "${CMD[$k]}"); done
hyperfine --runs "$RUNS" --warmup 1 --export-json "$OUT/hyperfine.json" --output=null "${args[@]}" > "$OUT/hyperfine.txt" 2>&1
if [ "${CONVERGED:-0}" = 1 ]; then
  for f in 20 40; do
    $PY "$HERE/pymedphys_gamma.py" "$REF" "$EVAL" 2 1 --interp-fraction $f > "$OUT/pymedphys_global_if$f.json"
    $PY "$HERE/pymedphys_gamma.py" "$REF" "$EVAL" 2 1 --local --interp-fraction $f > "$OUT/pymedphys_local_if$f.json"
  done
fi
uptime >> "$OUT/load.txt"
$PY - "$OUT" $ORDER <<'P'
import glob, json, os, re, sys
out, keys = sys.argv[1], sys.argv[2:]
h = {r["command"]: r for r in json.load(open(f"{out}/hyperfine.json"))["results"]}
def rate(k):
    if k.startswith("plastimatch"):
        t = open(f"{out}/{k}.txt").read()
        return float(re.search(r"pass_rate\(%\)\s+([\d.]+)", t).group(1)), int(re.search(r"number_of_analysis_voxels\s+(\d+)", t).group(1))
    j = json.load(open(f"{out}/{k}.json"))
    return j["pass_rate_pct"], j.get("points", j.get("points_evaluated"))
print("| tool | median s (hyperfine) | runs s | pass rate % | points |")
print("|---|---|---|---|---|")
for k in keys:
    r, n = rate(k)
    print(f"| {k} | {h[k]['median']:.3f} | {', '.join(f'{t:.3f}' for t in h[k]['times'])} | {r:.2f} | {n} |")
for f in sorted(glob.glob(f"{out}/pymedphys_*_if*.json")):
    j = json.load(open(f))
    print(f"| {os.path.basename(f)[:-5]} (once) | compute {j['compute_s']:.1f} s | | {j['pass_rate_pct']:.2f} | {j['points']} |")
P
echo "(files in $OUT)"
