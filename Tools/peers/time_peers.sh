#!/usr/bin/env bash
# Whole-process timing and peak memory of sbrt and its peers on the same case, in one run:
#
#   dvh:       the DVH of every structure of a folder: sbrt vs plastimatch (one step and
#              CT-grid two step) vs dicompyler-core (when PY can import it).
#   composite: the physical sum of two courses written back as an RT Dose: sbrt composite
#              (without and with its per-structure report) vs plastimatch's chain
#              (convert both doses to images, resample the second onto the first, add,
#              write the sum as DICOM RT Dose).
#   margins:   sbrt expand (5, 10, 20 mm and a 0:20 ring) vs plastimatch's rasterise +
#              dmap + threshold + write on the irregular-target case DIR-irregular
#              (Tools/peers/time_margins.sh, its own table, first, in OUTDIR/margins).
#
#   Tools/peers/time_peers.sh DIR [OUTDIR]
#
# DIR is the benchmark case (sbrt-bench generate DIR); its second course DIR-course2/RD.dcm
# is made with `sbrt-bench course2 DIR` when missing.
# Env: SBRT (default .build/release/sbrt), SBRT_BENCH (default: sbrt-bench next to SBRT),
# PY (python with pydicom; dicompyler-core with pydicom<3 for its row; default python3),
# RUNS (default 3), JOBS (default "dvh composite margins").
# Times: hyperfine --runs $RUNS --warmup 1 (median reported); memory: /usr/bin/time -f %M
# over $RUNS runs (median, KB). The last column is the peer's median over sbrt's.
set -euo pipefail
DIR=$(realpath "$1")
OUT=${2:-$(mktemp -d /tmp/sbrt-peers-time.XXXX)}
mkdir -p "$OUT"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib_timing.sh"
SBRT=${SBRT:-$HERE/../../.build/release/sbrt}
SBRT_BENCH=${SBRT_BENCH:-$(dirname "$SBRT")/sbrt-bench}
PY=${PY:-python3}
RUNS=${RUNS:-3}
JOBS=${JOBS:-dvh composite margins}
case " $JOBS " in *" margins "*)
  SBRT="$SBRT" PY="$PY" RUNS="$RUNS" "$HERE/time_margins.sh" "${DIR%/}-irregular" GTV "$OUT/margins"
  JOBS=$(echo " $JOBS " | sed 's/ margins / /')
  [ -n "${JOBS// /}" ] || exit 0 ;;
esac
find_modality() {
$PY - "$1" "$2" <<'P'
import os, sys, pydicom
for r, d, fs in os.walk(sys.argv[1]):
    for f in sorted(fs):
        try:
            if pydicom.dcmread(os.path.join(r, f), stop_before_pixels=True, specific_tags=["Modality"]).Modality == sys.argv[2]:
                print(os.path.join(r, f)); raise SystemExit
        except SystemExit: raise
        except Exception: pass
P
}
RS=$(find_modality "$DIR" RTSTRUCT)
RD=$(find_modality "$DIR" RTDOSE)
C2=${DIR%/}-course2/RD.dcm
declare -A CMD
ORDER=""
for job in $JOBS; do
  case $job in
  dvh)
    CMD[sbrt_dvh]="$SBRT dvh $DIR"
    CMD[plastimatch_dvh_input_dir]="plastimatch dvh --input $DIR --output-csv $OUT/pm_direct.csv"
    CMD[plastimatch_dvh_ct_grid]="plastimatch convert --input $RS --referenced-ct $DIR --output-ss-img $OUT/ss.nrrd --output-ss-list $OUT/ss.txt && plastimatch dvh --input-ss-img $OUT/ss.nrrd --input-ss-list $OUT/ss.txt --input-dose $RD --output-csv $OUT/pm_ct.csv"
    ORDER="$ORDER sbrt_dvh plastimatch_dvh_input_dir plastimatch_dvh_ct_grid"
    if $PY -c "import dicompylercore" 2>/dev/null; then
      CMD[dicompyler_core_dvh]="$PY $HERE/dicompyler_dvh.py $DIR"
      ORDER="$ORDER dicompyler_core_dvh"
    else
      echo "(dicompyler-core not importable with $PY: its row is left out)" >&2
    fi
    ;;
  composite)
    [ -f "$C2" ] || "$SBRT_BENCH" course2 "$DIR"
    COURSES="--course $RD:fractions=5:date=2026-01-15 --course $C2:fractions=3:date=2025-03-02"
    CMD[sbrt_composite_no_report]="$SBRT composite $COURSES --quantity physical --no-report --out $OUT/sbrt_sum.dcm"
    CMD[sbrt_composite_report]="$SBRT composite $COURSES --structures $DIR --out $OUT/sbrt_composite.dcm"
    CMD[plastimatch_add_write]="rm -rf $OUT/pm_sum && plastimatch convert --input $RD --output-dose-img $OUT/rd.nrrd --output-type float && plastimatch convert --input $C2 --output-dose-img $OUT/c2.nrrd --output-type float && plastimatch resample --input $OUT/c2.nrrd --fixed $OUT/rd.nrrd --output $OUT/c2r.nrrd && plastimatch add --output $OUT/sum.nrrd $OUT/rd.nrrd $OUT/c2r.nrrd && plastimatch convert --input-dose-img $OUT/sum.nrrd --output-dicom $OUT/pm_sum"
    ORDER="$ORDER sbrt_composite_no_report sbrt_composite_report plastimatch_add_write"
    ;;
  *) echo "unknown job $job (dvh, composite, margins)" >&2; exit 2 ;;
  esac
done
{ nproc; grep -m1 "model name" /proc/cpuinfo; plastimatch --version 2>&1 | head -1; hyperfine --version; uptime; } > "$OUT/machine.txt"
time_commands
uptime >> "$OUT/machine.txt"
$PY - "$OUT" $ORDER <<'P'
import json, statistics, sys, glob
out, keys = sys.argv[1], sys.argv[2:]
h = {r["command"]: r for r in json.load(open(f"{out}/hyperfine.json"))["results"]}
base = {"dvh": h.get("sbrt_dvh"), "composite": h.get("sbrt_composite_report")}
print("| job | median s (hyperfine) | runs s | peak RSS MB (median) | × sbrt |")
print("|---|---|---|---|---|")
for k in keys:
    r = h[k]
    mem = [int(open(f).read().strip().splitlines()[-1].split()[0]) for f in sorted(glob.glob(f"{out}/mem_{k}.*"))]
    b = base["composite" if ("composite" in k or "add" in k) else "dvh"]
    ratio = f"{r['median'] / b['median']:.1f}" if b and not k.startswith("sbrt") else ""
    print(f"| {k} | {r['median']:.3f} | {', '.join(f'{t:.3f}' for t in r['times'])} | {statistics.median(mem)/1024:.0f} | {ratio} |")
P
echo "(commands, machine and load before/after in $OUT)"
