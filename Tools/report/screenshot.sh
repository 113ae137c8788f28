#!/bin/sh
# Renders an `sbrt check --html` report in headless Chromium (Debian package `chromium`)
# and writes a PNG screenshot, to look at the report as a browser shows it, offline.
#
#   Tools/report/screenshot.sh report.html shot.png [WIDTHxHEIGHT]
#
# Network is switched off for the page (--host-resolver-rules maps every host to
# nowhere), so a report that needed anything from outside would show broken images.
set -eu
html=${1:?usage: screenshot.sh REPORT.html OUT.png [WIDTHxHEIGHT]}
out=${2:?usage: screenshot.sh REPORT.html OUT.png [WIDTHxHEIGHT]}
size=${3:-1400x2400}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "screenshot.sh: no Chromium; install it with: apt-get install -y chromium" >&2
    exit 2
fi
abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
    --host-resolver-rules="MAP * ~NOTFOUND" \
    --window-size="$(echo "$size" | tr x ,)" --screenshot="$out" "file://$abs" >/dev/null 2>&1
test -s "$out" && echo "$out: screenshot of $html at $size"
