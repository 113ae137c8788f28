#!/usr/bin/env bash
# sbrt's DVHs beside a real planning system's embedded DVHs.
#
# The example plan shipped in dicompyler-core's source distribution (PyPI, BSD licence:
# tests/testdata/example_data: one CT slice, RT Structure Set, RT Plan, and an RT Dose
# whose DVH Sequence the planning system wrote) is downloaded, unpacked into a scratch
# folder and compared with `sbrt dvh --compare-embedded`, once with each end-cap mode.
# Nothing of it is committed.
#
# Usage: Tools/peers/tps_example.sh [path/to/sbrt]   (default: .build/release/sbrt)
set -euo pipefail
cd "$(dirname "$0")/../.."
sbrt=$(realpath "${1:-.build/release/sbrt}")
work=${TMPDIR:-/tmp}/sbrt-tps-example
rm -rf "$work" && mkdir -p "$work"
pip download --quiet --no-deps --no-binary :all: -d "$work" "dicompyler-core==0.5.6"
tar -xzf "$work"/dicompyler-core-0.5.6.tar.gz -C "$work"
data="$work/dicompyler-core-0.5.6/tests/testdata/example_data"
for cap in prism none; do
  echo "== end caps: $cap"
  "$sbrt" dvh "$data" --end-cap "$cap" --compare-embedded --metrics "D95%,D50%,D5%" | sed -n '/Planning system/,$p'
done
