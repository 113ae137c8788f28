#!/usr/bin/env bash
# A throw-away PostgreSQL server for the store's tests (Debian's `postgresql` package).
#
#   Tools/pg/pg-server.sh start DIR [OWNER_PID]   initdb into DIR/data, start on a free
#                                                  loopback port, print the URL
#   Tools/pg/pg-server.sh stop DIR                 stop the server, remove DIR
#
# The URL printed is postgresql://sbrt@127.0.0.1:PORT/postgres (trust authentication,
# loopback only, fsync off: test data only). initdb and postgres refuse to run as root:
# as root they run as the `postgres` user the Debian package creates. With OWNER_PID, a
# watchdog stops the server and removes DIR when that process ends (a killed test run
# leaves no server behind). Exit status is non-zero, with the server's log on stderr,
# when the server cannot be started.
set -euo pipefail

bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  echo "pg-server.sh: no PostgreSQL server found (install Debian's postgresql package)" >&2
  return 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Closes every descriptor above stderr that this script inherited (a caller's pipes or
# sockets), so the server and the watchdog cannot keep a caller waiting for their end.
close_inherited() {
  local fd
  for fd in $(ls /proc/$$/fd 2>/dev/null); do
    if [ "$fd" -gt 2 ] 2>/dev/null && [ "$fd" != 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

start() {
  local dir=$1 owner=${2:-} bin port tries
  close_inherited
  bin=$(bindir)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "pg-server.sh: running as root and there is no postgres user to run the server as" >&2; return 1; }
    chown postgres: "$dir"
  fi
  as_owner test -w "$dir" || { echo "pg-server.sh: the server's user cannot write $dir (is a parent directory closed to it?)" >&2; return 1; }
  as_owner "$bin/initdb" -D "$dir/data" -U sbrt --auth=trust --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  for tries in $(seq 1 20); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    port_in_use "$port" && continue
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
         -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
         start >"$dir/pg_ctl.log" 2>&1; then
      echo "$port" >"$dir/port"
      if [ -n "$owner" ]; then
        nohup bash -c "while kill -0 $owner 2>/dev/null && [ -d '$dir/data' ]; do sleep 1; done; '$0' stop '$dir'" \
          >/dev/null 2>&1 </dev/null &
      fi
      echo "postgresql://sbrt@127.0.0.1:$port/postgres"
      return 0
    fi
    grep -q "could not bind\|Address already in use" "$dir/server.log" 2>/dev/null || break
  done
  echo "pg-server.sh: the PostgreSQL server did not start:" >&2
  cat "$dir/pg_ctl.log" "$dir/server.log" >&2 2>/dev/null || true
  return 1
}

stop() {
  local dir=$1 bin
  [ -d "$dir" ] || return 0
  bin=$(bindir)
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start DIR [OWNER_PID] | stop DIR" >&2; exit 2 ;;
esac
