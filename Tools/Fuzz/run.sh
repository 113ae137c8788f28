#!/usr/bin/env bash
# The two fuzzers of sbrt (docs/fuzzing.md).
#
#   Tools/Fuzz/run.sh --minutes N [--seed S] [--workers W]
#       The command-line fuzzer (sbrt-fuzz): structure-aware mutations of the committed
#       fixtures, every command that reads the mutated file, release build. CI runs it for
#       a minute (.ci/run); before a release, run it for 30 minutes and record its numbers
#       in docs/validation.md. Findings land in .build-fuzz/findings/ (case.json +
#       mutant.dcm); copy each into Tools/Fuzz/regressions/cli/NAME/ once fixed.
#
#   Tools/Fuzz/run.sh --codec [SECONDS]      (or the old form: Tools/Fuzz/run.sh SECONDS)
#       The codec fuzzer: libFuzzer + AddressSanitizer over the DICOM parser and writer
#       alone (FuzzDICOM.swift), default 60 s. The corpus is seeded from every file under
#       Fixtures/ and kept in .build-fuzz/corpus; crashes land in .build-fuzz/artifacts/.
#       Extra libFuzzer flags can be passed in FUZZ_FLAGS, e.g. FUZZ_FLAGS="-jobs=2".
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "${1:-}" = "--minutes" ] || [ "${1:-}" = "--seconds" ]; then
    swift build -c release --static-swift-stdlib --product sbrt 2>&1 >/dev/null | { grep -v "the use of \`mktemp. is dangerous" || true; }
    swift build -c release --static-swift-stdlib --product sbrt-fuzz 2>&1 >/dev/null | { grep -v "the use of \`mktemp. is dangerous" || true; }
    seed=1
    args=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --seed) seed="$2"; shift 2 ;;
            *) args+=("$1"); shift ;;
        esac
    done
    exec .build/release/sbrt-fuzz --seed "$seed" --findings .build-fuzz/findings "${args[@]}"
fi
if [ "${1:-}" = "--codec" ]; then shift; fi

# The Swift runtime's own crash handler fights ASan; let libFuzzer report crashes.
export SWIFT_BACKTRACE=enable=no
SECONDS_TO_RUN="${1:-60}"
OUT=.build-fuzz
mkdir -p "$OUT/corpus" "$OUT/artifacts"

# Base (the error type) as its own module, then the codec and the target as one module,
# so that the codec's internal API is visible to the target.
mkdir -p "$OUT/base"
swiftc -sanitize=fuzzer,address -parse-as-library -O -emit-module -emit-library -static \
    -module-name Base -emit-module-path "$OUT/base/Base.swiftmodule" \
    Sources/Base/*.swift -o "$OUT/base/libBase.a"
swiftc -sanitize=fuzzer,address -parse-as-library -O -use-ld=lld \
    -module-name DICOMFuzz \
    -I Sources/CZlib -I "$OUT/base" \
    Sources/DICOM/*.swift Tools/Fuzz/FuzzDICOM.swift "$OUT/base/libBase.a" \
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
# Inputs that once crashed (each also checked by DICOMTests.FuzzRegressionTests), the
# command-line fuzzer's mutants included.
if [ -d Tools/Fuzz/regressions ]; then
    find Tools/Fuzz/regressions -type f ! -name '*.json' -print0 |
    while IFS= read -r -d '' f; do cp "$f" "$OUT/corpus/regression_$(echo "$f" | tr '/' '_')"; done
fi

exec "$OUT/fuzz-dicom" "$OUT/corpus" \
    -max_total_time="$SECONDS_TO_RUN" \
    -max_len=70000 \
    -timeout=10 \
    -rss_limit_mb=4096 \
    -artifact_prefix="$OUT/artifacts/" \
    -print_final_stats=1 \
    ${FUZZ_FLAGS:-}
