#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (Debian's slurm-wlm and munge), to try the
# job-array recipe of docs/deploy/sbrt-batch.slurm for real.
#
#   Tools/slurm/single-node.sh start DIR   configure DIR/slurm.conf, start munged, slurmctld
#                                          and slurmd; prints `export SLURM_CONF=DIR/slurm.conf`
#   Tools/slurm/single-node.sh stop DIR    stop the three daemons, remove DIR
#   Tools/slurm/single-node.sh demo        the whole recipe: a cohort (sbrt-cohort), a
#                                          PostgreSQL server (Tools/pg), the cluster, the
#                                          array of 2 shards, the tasks' output, the rows
#
# Needs root (slurmd starts jobs as their user); installs slurm-wlm and munge with apt-get
# when they are missing. Everything lives in DIR: key, sockets, state, spool and logs; the
# system's /etc/slurm and /etc/munge are not touched. Ports are chosen free on loopback.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

need_packages() {
  local missing=()
  for p in slurm-wlm munge; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

free_port() {
  local port
  while :; do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

write_conf() {
  local dir=$1 host cpus memory
  host=$(hostname -s)
  cpus=$(nproc)
  memory=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
  cat >"$dir/slurm.conf" <<CONF
ClusterName=sbrt-single-node
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=batch Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
  local dir=$1
  [ "$(id -u)" = 0 ] || { echo "single-node.sh: run as root (slurmd starts jobs as their user)" >&2; return 1; }
  need_packages
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
  chmod 700 "$dir/munge"
  head -c 1024 /dev/urandom >"$dir/munge/munge.key"
  chmod 400 "$dir/munge/munge.key"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
  write_conf "$dir"
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -c -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  local tries
  for tries in $(seq 1 60); do
    if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 1
  done
  echo "single-node.sh: the node did not come up; logs:" >&2
  tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" "$dir/munge/munged.log" >&2 || true
  return 1
}

stop() {
  local dir=$1 f
  [ -d "$dir" ] || return 0
  for f in slurmd.pid slurmctld.pid munge/munged.pid; do
    if [ -f "$dir/$f" ]; then kill "$(cat "$dir/$f")" 2>/dev/null || true; fi
  done
  sleep 1
  rm -rf "$dir"
}

# The recipe of docs/batch.md: 12 plans, 2 shards as a Slurm array, one PostgreSQL database.
demo() {
  local sbrt url
  work=$(mktemp -d "${TMPDIR:-/tmp}/sbrt-slurm.XXXXXX")
  # The PostgreSQL server runs as the postgres user when this script runs as root.
  chmod 755 "$work"
  trap 'stop "$work/slurm"; "$repo/Tools/pg/pg-server.sh" stop "$work/pg"' EXIT
  sbrt=$repo/.build/release/sbrt
  [ -x "$sbrt" ] || { echo "build first: swift build -c release --static-swift-stdlib" >&2; return 1; }
  "$repo/.build/release/sbrt-cohort" "$work/cohort" --count 12 "$repo/Fixtures/pelvis" "$repo/Fixtures/variants/hfp" \
    "$repo/Fixtures/variants/oblique"
  url=$("$repo/Tools/pg/pg-server.sh" start "$work/pg" $$)
  echo "PostgreSQL: $url"
  eval "$(start "$work/slurm")"
  sinfo
  local round status
  for round in first again; do
    mkdir -p "$work/$round"
    echo "+ sbatch --wait --array=0-1 --cpus-per-task=1 docs/deploy/sbrt-batch.slurm   # $round submission"
    status=0
    (cd "$work/$round" && SBRT=$sbrt SBRT_EXPORT=$work/cohort SBRT_DB=$url \
      sbatch --wait --array=0-1 --cpus-per-task=1 "$repo/docs/deploy/sbrt-batch.slurm") || status=$?
    echo "sbatch exit status: $status"
    for f in "$work/$round"/sbrt-batch-*_*.out; do echo "== $(basename "$f")"; cat "$f"; done
  done
  echo "+ psql: plans and distinct keys, failures, plans per patient (each exactly once)"
  psql "$url" -Atc "select count(*), count(distinct plan_key) from plans"
  psql "$url" -Atc "select count(*) from failures"
  psql "$url" -Atc "select patient_id, count(*) from plans group by patient_id order by patient_id" | tr '\n' ' '
  echo
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  demo) demo ;;
  *) echo "usage: $0 start DIR | stop DIR | demo" >&2; exit 2 ;;
esac
