#!/usr/bin/env bash
# Builds the DICOM codec with libFuzzer + AddressSanitizer and fuzzes it for a bounded time.
#
#   Tools/Fuzz/run.sh [seconds]        (default 60)
#
# The corpus is seeded from every file under Fixtures/ (except JSON) and kept in
# .build-fuzz/corpus between runs; crashes land in .build-fuzz/artifacts/.
# Extra libFuzzer flags can be passed in FUZZ_FLAGS, e.g. FUZZ_FLAGS="-jobs=2".
set -euo pipefail
# The Swift runtime's own crash handler fights ASan; let libFuzzer report crashes.
export SWIFT_BACKTRACE=enable=no
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN="${1:-60}"
OUT=.build-fuzz
mkdir -p "$OUT/corpus" "$OUT/artifacts"

swiftc -sanitize=fuzzer,address -parse-as-library -O -use-ld=lld \
    -module-name DICOMFuzz \
    -I Sources/CZlib \
    Sources/DICOM/*.swift Tools/Fuzz/FuzzDICOM.swift \
    -lz -o "$OUT/fuzz-dicom"

# Seeds: the fixture files (small ones directly; large ones are cut to their first 64 KiB,
# since the interesting structure is in the header and sequences, not in pixel data).
if [ -d Fixtures ]; then
    find Fixtures -type f ! -name '*.json' ! -name '*.md' ! -name '*.py' -print0 |
    while IFS= read -r -d '' f; do
        name=$(echo "$f" | tr '/' '_')
        head -c 65536 "$f" > "$OUT/corpus/seed_$name"
    done
fi
# Hand-built seeds covering every encoding branch (standard-library Python only).
if command -v python3 >/dev/null; then python3 Tools/Fuzz/make_seeds.py "$OUT/corpus"; fi
# Inputs that once crashed (each also checked by DICOMTests.FuzzRegressionTests).
if [ -d Tools/Fuzz/regressions ]; then
    cp Tools/Fuzz/regressions/* "$OUT/corpus/" 2>/dev/null || true
fi

exec "$OUT/fuzz-dicom" "$OUT/corpus" \
    -max_total_time="$SECONDS_TO_RUN" \
    -max_len=70000 \
    -timeout=10 \
    -rss_limit_mb=4096 \
    -artifact_prefix="$OUT/artifacts/" \
    -print_final_stats=1 \
    ${FUZZ_FLAGS:-}
