#!/usr/bin/env bash
# Runs a command in a session of its own whose scheduling group (Linux autogroup) and
# processes have nice -20, so that a measurement on a shared 2-core machine is not
# decided by other sessions' builds. Nothing else changes: same binaries, same cores,
# same caches (which the other sessions still share, so numbers stay a little above an
# idle machine's). Needs CAP_SYS_NICE (root) for negative nice values.
#
#   Tools/prioritised.sh COMMAND [ARG...]
#
# Used for the figures of docs/performance.md measured while the machine was loaded,
# e.g. Tools/prioritised.sh .build/release/sbrt-bench run .build-bench-data/large
set -euo pipefail
if [ "${SBRT_PRIORITISED:-}" != 1 ]; then
  SBRT_PRIORITISED=1 exec setsid -w "$0" "$@"
fi
echo -20 > /proc/self/autogroup
exec nice -n -20 "$@"
