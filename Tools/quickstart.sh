#!/usr/bin/env bash
# Installs what sbrt needs on Debian/Ubuntu (libpng-dev, zlib1g-dev, pkg-config, and for the
# batch command's database libsqlite3-dev and libpq-dev), builds it
# in release mode and runs the main job on the bundled pelvis fixture plan: the inventory,
# then the DVH table with the SBRT indices and the planning system's DVHs beside sbrt's,
# then the Figure-1-style PNG (slice with isodose lines beside the DVH), and ends with the
# review: the plan checked against the paediatric sarcoma SBRT protocol (NCT01763970 with
# TG-101/HyTEC limits) for the 17-year-old of the review's Figure 1, as a table and HTML.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in libpng-dev zlib1g-dev pkg-config libsqlite3-dev libpq-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  as_root=""
  [ "$(id -u)" -eq 0 ] || as_root="sudo"
  $as_root apt-get update
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi
# The release build links the Swift runtime and Foundation into the binary: it starts
# about 8 ms sooner (no shared Swift libraries to bind) and runs where Swift is not
# installed (README, "Building and testing"). gold's one complaint at that link, about
# mktemp in the toolchain's own Foundation archive (code sbrt never calls), is not shown.
swift build -c release --static-swift-stdlib --product sbrt 2>&1 | { grep -v "the use of \`mktemp' is dangerous" || true; }
.build/release/sbrt info Fixtures/pelvis
echo
.build/release/sbrt dvh Fixtures/pelvis --metrics "D98%,D95%,D50%,D2%,D0.035cc,V100%[%],HI,CI,PCI,GI,R50" --compare-embedded
.build/release/sbrt render Fixtures/pelvis --figure --out figure1.png
echo "Figure written to figure1.png"
echo
.build/release/sbrt check Fixtures/pelvis --protocol nct01763970 --age 17 --html review.html
echo "Review written to review.html"
