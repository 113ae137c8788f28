#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL server (Tools/pg/pg-server.sh) and its URL
# in SBRT_TEST_POSTGRES_URL; stops the server afterwards. Fails when it cannot start.
#
#   Tools/pg/with-postgres.sh swift test --filter StoreTests
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/sbrt-pg.XXXXXX")
trap '"$here/pg-server.sh" stop "$dir"' EXIT
SBRT_TEST_POSTGRES_URL=$("$here/pg-server.sh" start "$dir" $$)
export SBRT_TEST_POSTGRES_URL
echo "with-postgres.sh: PostgreSQL at $SBRT_TEST_POSTGRES_URL" >&2
status=0
"$@" || status=$?
exit "$status"
