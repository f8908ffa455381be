#!/usr/bin/env bash
# Opt-in single-node SLURM tier for brgvc (BRGVC_SLURM_TIER=1).
#
# Installs SLURM 22.05 and MUNGE from Debian's archive and runs munged, slurmctld and slurmd
# for one node on 127.0.0.1, everything (configuration, state, logs, the munge socket) in a
# state folder outside the repository. dask-jobqueue's SLURMCluster then submits real batch
# jobs to it. The system's own /etc/slurm and munge service are left alone.
#
# Usage:
#   cluster/tier/slurm.sh install            # apt packages (idempotent)
#   cluster/tier/slurm.sh start STATE_DIR    # writes STATE_DIR/slurm.conf, starts the daemons
#   cluster/tier/slurm.sh stop STATE_DIR     # stops exactly the PIDs `start` recorded
#
# After `start`, export SLURM_CONF=STATE_DIR/slurm.conf for sbatch/squeue/scancel.
# Environment: BRGVC_SLURM_PORT_BASE (default 26817: slurmctld; slurmd is BASE+1).
set -euo pipefail

PACKAGES=(slurmctld slurmd slurm-client munge)
BASE=${BRGVC_SLURM_PORT_BASE:-26817}
NODE=brgvc-node

log() { printf '[slurm.sh] %s\n' "$*" >&2; }

install() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
      || { apt-get update && DEBIAN_FRONTEND=noninteractive \
             apt-get install -y --no-install-recommends "${missing[@]}"; }
  fi
  # The packages' postinst may start system services; this tier uses its own daemons only.
}

start() {
  local state=${1:?usage: start STATE_DIR}
  mkdir -p "$state"
  state=$(cd "$state" && pwd)
  mkdir -p "$state/ctld" "$state/spool" "$state/munge"
  local cpus mem host
  host=$(hostname -s)   # slurmctld only runs on the host named here
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)
  # A private munge key (the tier never uses the system's key).
  if [[ ! -f $state/munge/munge.key ]]; then
    dd if=/dev/urandom of="$state/munge/munge.key" bs=1 count=1024 2>/dev/null
  fi
  chmod 755 "$state/munge"   # the socket must be reachable; the key itself stays 0400
  chmod 400 "$state/munge/munge.key"
  cat >"$state/slurm.conf" <<CONF
ClusterName=brgvc
SlurmctldHost=$host(127.0.0.1)
MailProg=/bin/true
SlurmctldPort=$BASE
SlurmdPort=$((BASE + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pidfile
SlurmdPidFile=$state/slurmd.pidfile
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
  setsid /usr/sbin/munged --foreground --force --socket "$state/munge/munge.socket" \
    --key-file "$state/munge/munge.key" --pid-file "$state/munge/munged.pidfile" \
    --seed-file "$state/munge/munge.seed" --log-file "$state/munge/munged.log" \
    >"$state/munged.out" 2>&1 </dev/null &
  echo $! >"$state/munged.pid"
  local i
  for i in $(seq 1 50); do [[ -S $state/munge/munge.socket ]] && break; sleep 0.1; done
  [[ -S $state/munge/munge.socket ]] || { log "munged did not start; see $state/munged.out"; exit 1; }
  export SLURM_CONF=$state/slurm.conf
  setsid /usr/sbin/slurmctld -D -i -f "$state/slurm.conf" >"$state/slurmctld.out" 2>&1 </dev/null &
  echo $! >"$state/slurmctld.pid"
  setsid /usr/sbin/slurmd -D -N "$NODE" -f "$state/slurm.conf" >"$state/slurmd.out" 2>&1 </dev/null &
  echo $! >"$state/slurmd.pid"
  for i in $(seq 1 120); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -q -E '^(idle|mixed|allocated)'; then
      log "ready: SLURM_CONF=$state/slurm.conf"
      return 0
    fi
    sleep 0.5
  done
  log "node not idle after 60 s; see $state/slurmctld.log and $state/slurmd.log"
  sinfo -N -l >&2 || true
  exit 1
}

stop() {
  local state=${1:?usage: stop STATE_DIR} name pid i
  if [[ -f $state/slurm.conf ]]; then
    SLURM_CONF=$state/slurm.conf scancel --quiet --user "$(id -un)" 2>/dev/null || true
  fi
  for name in slurmd slurmctld munged; do
    [[ -f $state/$name.pid ]] || continue
    pid=$(cat "$state/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$state/$name.pid"
  done
}

case ${1:-install} in
  install) install ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 {install|start STATE_DIR|stop STATE_DIR}" >&2; exit 2 ;;
esac
