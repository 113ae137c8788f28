#!/usr/bin/env bash
# Independent check of `sbrt expand` margins on a contoured sphere (see sphere_margins.py).
#
#   Tools/peers/sphere_margins.sh SBRT_BINARY [--work DIR] [--keep]
#
# Creates (once) a venv with pydicom and numpy at $VENV (default /tmp/sbrt-sphere-venv).
# plastimatch must be on PATH (Debian: apt-get install plastimatch).
set -euo pipefail
if [ $# -lt 1 ]; then echo "usage: $0 SBRT_BINARY [--work DIR] [--keep]" >&2; exit 2; fi
HERE=$(cd "$(dirname "$0")" && pwd)
VENV=${VENV:-/tmp/sbrt-sphere-venv}
if ! "$VENV/bin/python" -c "import pydicom, numpy" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pydicom numpy
fi
command -v plastimatch >/dev/null || { echo "plastimatch not found on PATH" >&2; exit 2; }
exec "$VENV/bin/python" "$HERE/sphere_margins.py" "$@"
