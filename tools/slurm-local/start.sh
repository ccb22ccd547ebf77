#!/usr/bin/env bash
# start.sh [STATE_DIR] -- start a single-node, CPU-only Slurm cluster on localhost.
#
# Starts munged (as user munge), slurmctld and slurmd (as root) with their pid/log/state
# files in STATE_DIR (default /tmp/slurm-local), writes /etc/slurm/slurm.conf (copy kept in
# STATE_DIR), and waits until the node is idle and `srun true` works.
# No accounting database, no cgroups; one partition "cpu". Needs root.
# Idempotent: exits 0 at once if the cluster from a previous run is healthy.
# Stop it with stop.sh [STATE_DIR].
set -euo pipefail

STATE_DIR=$(realpath -m "${1:-/tmp/slurm-local}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=/etc/slurm/slurm.conf
KEY=/etc/munge/munge.key
MUNGE_SOCK=/run/munge/munge.socket.2
MUNGE_LOG=/var/log/munge/munged.log
NODE=$(hostname -s)

die() {  # die MESSAGE [LOGFILE]: one-line reason, then the log's tail
  echo "start.sh: ERROR: $1" >&2
  if [[ -n ${2:-} && -f $2 ]]; then echo "--- tail of $2:" >&2; tail -n 15 "$2" >&2; fi
  exit 1
}
alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }  # alive PIDFILE
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
node_state() { timeout 5 sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n1; }

[[ $(id -u) -eq 0 ]] || die "must be run as root"
for c in munged munge unmunge slurmctld slurmd sinfo srun scontrol; do
  command -v "$c" >/dev/null || die "'$c' not found (apt-get install slurm-wlm munge)"
done

# Already running from a previous start.sh and healthy? Then nothing to do.
if alive "$STATE_DIR/slurmctld.pid" && alive "$STATE_DIR/slurmd.pid" && munge_ok &&
   [[ $(node_state) =~ ^(idle|mixed|allocated|completing)$ ]]; then
  echo "start.sh: Slurm already running (state dir $STATE_DIR, node $NODE is $(node_state))"
  exit 0
fi
# Half-running leftovers from an earlier start.sh: clean up first.
"$HERE/stop.sh" "$STATE_DIR" >/dev/null 2>&1 || true
for d in slurmctld slurmd; do  # (zombies, state Z, do not count)
  pids=$(ps -eo pid=,stat=,comm= | awk -v n="$d" '$3 == n && $2 !~ /^Z/ {printf "%s ", $1}')
  [[ -z $pids ]] || die "a $d not started by start.sh is running (pid ${pids% })"
done

mkdir -p "$STATE_DIR/ctld" "$STATE_DIR/slurmd"

# --- munge: create the key if missing, start munged unless one already answers.
# munged runs as user munge with Debian's default paths (it may not be able to reach
# STATE_DIR); start.sh copies its pid file to STATE_DIR/munged.pid and links the log.
for d in /run/munge:0755 /var/lib/munge:0711 /var/log/munge:0700; do
  [[ -d ${d%:*} ]] || install -d -o munge -g munge -m "${d#*:}" "${d%:*}"
done
if [[ ! -s $KEY ]]; then
  [[ -d /etc/munge ]] || install -d -o munge -g munge -m 0700 /etc/munge
  dd if=/dev/urandom of="$KEY" bs=1024 count=1 status=none
  chown munge:munge "$KEY" && chmod 0400 "$KEY"
fi
if ! munge_ok; then
  rm -f "$MUNGE_SOCK" /run/munge/munged.pid
  runuser -u munge -- munged --key-file="$KEY" || die "munged failed to start" "$MUNGE_LOG"
  for _ in {1..20}; do munge_ok && break; sleep 0.25; done
  munge_ok || die "munged is not answering on $MUNGE_SOCK" "$MUNGE_LOG"
  for _ in {1..20}; do [[ -s /run/munge/munged.pid ]] && break; sleep 0.25; done
  cp /run/munge/munged.pid "$STATE_DIR/munged.pid" || die "munged wrote no pid file" "$MUNGE_LOG"
fi
ln -sfn "$MUNGE_LOG" "$STATE_DIR/munged.log"

# --- slurm.conf: CPUs and memory from this machine (keep 10%, at least 512 MB, free).
CPUS=$(nproc)
MEM_MB=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
HEADROOM=$(( MEM_MB / 10 > 512 ? MEM_MB / 10 : 512 ))
REAL_MEM=$(( MEM_MB - HEADROOM > 256 ? MEM_MB - HEADROOM : 256 ))
mkdir -p "$(dirname "$CONF")"
cat > "$STATE_DIR/slurm.conf" <<CONF
# Written by $HERE/start.sh on $(date -Is) -- single-node local test cluster.
ClusterName=local
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE_DIR/ctld
SlurmdSpoolDir=$STATE_DIR/slurmd
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$STATE_DIR/slurmctld.log
SlurmdLogFile=$STATE_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups, no accounting.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
# Schedule single CPUs (several 1-CPU jobs side by side); memory is bookkept, not enforced.
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=$(( REAL_MEM / CPUS ))
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=900
KillWait=5
SlurmdTimeout=120
SlurmctldTimeout=60
InactiveLimit=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MEM State=UNKNOWN
PartitionName=cpu Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
cp "$STATE_DIR/slurm.conf" "$CONF"

# --- daemons
for d in slurmctld slurmd; do
  rm -f "$STATE_DIR/$d.pid"
  "$d" || die "$d failed to start" "$STATE_DIR/$d.log"
  for _ in {1..40}; do [[ -s $STATE_DIR/$d.pid ]] && break; sleep 0.25; done
  alive "$STATE_DIR/$d.pid" || die "$d did not start" "$STATE_DIR/$d.log"
done

# --- wait (up to ~60 s) for an idle node and a working trivial job
deadline=$(( SECONDS + 60 ))
while :; do
  alive "$STATE_DIR/slurmctld.pid" || die "slurmctld died" "$STATE_DIR/slurmctld.log"
  alive "$STATE_DIR/slurmd.pid" || die "slurmd died" "$STATE_DIR/slurmd.log"
  [[ $(node_state) == idle ]] && break
  (( SECONDS < deadline )) || die "node $NODE not idle after 60 s (state: '$(node_state)')" "$STATE_DIR/slurmd.log"
  sleep 1
done
left=$(( deadline - SECONDS > 10 ? deadline - SECONDS : 10 ))
timeout "$left" srun -N1 -n1 -t 1 --quiet true ||
  die "test job 'srun -N1 -n1 true' failed" "$STATE_DIR/slurmctld.log"
echo "start.sh: Slurm is up (node $NODE: $CPUS CPUs, ${REAL_MEM} MB; partition cpu; state dir $STATE_DIR)"
