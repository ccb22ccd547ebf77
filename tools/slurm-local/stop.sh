#!/usr/bin/env bash
# stop.sh [STATE_DIR] -- stop the local Slurm cluster started by start.sh.
#
# Cancels all jobs, then stops slurmd, slurmctld and munged using the pid files in
# STATE_DIR (default /tmp/slurm-local). Daemons not started by start.sh are left
# alone. Exits 0 even if nothing is running. Keeps STATE_DIR (logs, job state).
set -uo pipefail

STATE_DIR=$(realpath -m "${1:-/tmp/slurm-local}")

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop_pidfile() {  # stop_pidfile NAME PIDFILE: SIGTERM, wait up to 10 s, then SIGKILL
  local name=$1 f=$2 pid
  alive "$f" || { rm -f "$f"; return 0; }
  pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null
  for _ in {1..40}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop.sh: $name (pid $pid) ignored SIGTERM, killing" >&2
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
  echo "stop.sh: stopped $name (pid $pid)"
}

# Cancel all jobs and give them up to ~15 s to finish (KillWait=5).
if alive "$STATE_DIR/slurmctld.pid"; then
  jobs=$(squeue -h -o %A 2>/dev/null)
  [[ -n $jobs ]] && scancel $jobs 2>/dev/null
  for _ in {1..30}; do
    [[ -z $(squeue -h -t PD,R,S,CF,CG -o %i 2>/dev/null) ]] && break
    sleep 0.5
  done
fi

slurmd_was_ours=no
alive "$STATE_DIR/slurmd.pid" && slurmd_was_ours=yes
stop_pidfile slurmd "$STATE_DIR/slurmd.pid"
stop_pidfile slurmctld "$STATE_DIR/slurmctld.pid"
# Job step daemons of our slurmd that outlived it.
if [[ $slurmd_was_ours == yes ]]; then
  for pid in $(pgrep -x slurmstepd); do kill -KILL "$pid" 2>/dev/null; done
fi
stop_pidfile munged "$STATE_DIR/munged.pid"
exit 0
