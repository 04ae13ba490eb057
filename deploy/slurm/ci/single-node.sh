#!/bin/bash
# A throw-away single-node Slurm on this machine, for the CI test of deploy/slurm (Debian's slurm-wlm
# 22.05 and munge: apt-get install slurm-wlm munge). Everything lives in STATE (key, config, logs, pid
# files) and in a short folder under /tmp for the sockets and the spool (a Unix socket path must stay
# under 108 bytes); ports 16817/16818; nothing under /etc is used or changed. Works as root without
# systemd: ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, no cgroup.conf.
#
#   single-node.sh start STATE   # prints "export SLURM_CONF=STATE/slurm.conf" when the node is idle
#   single-node.sh stop STATE    # stops only the daemons this script started (by their pid files)
set -u
cmd=${1:-}; state=${2:-}
if [ -z "$cmd" ] || [ -z "$state" ]; then echo "usage: $0 start|stop STATE" >&2; exit 2; fi
state=$(mkdir -p "$state" && cd "$state" && pwd)
conf=$state/slurm.conf

stop() {
  for name in slurmd slurmctld munged; do
    if [ -f "$state/$name.pid" ]; then
      pid=$(cat "$state/$name.pid")
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null
      rm -f "$state/$name.pid"
    fi
  done
  if [ -f "$state/short" ]; then rm -rf "$(cat "$state/short")"; rm -f "$state/short"; fi
}

case $cmd in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop STATE" >&2; exit 2 ;;
esac

for tool in munged slurmctld slurmd sbatch sinfo; do
  command -v "$tool" >/dev/null 2>&1 || { echo "cannot start: $tool not installed (apt-get install slurm-wlm munge)" >&2; exit 3; }
done
[ "$(id -u)" = 0 ] || { echo "cannot start: the single-node Slurm runs its daemons as root (this is uid $(id -u))" >&2; exit 3; }
short=$(mktemp -d /tmp/slurm.XXXXXX)
echo "$short" > "$state/short"
mkdir -p "$state/ctld" "$short/spool" "$short/munge"
chmod 700 "$short/munge"
head -c 1024 /dev/urandom > "$short/munge/munge.key"
chmod 400 "$short/munge/munge.key"
munged --force --key-file="$short/munge/munge.key" --socket="$short/munge/socket" \
  --pid-file="$state/munged.pid" --log-file="$state/munged.log" --seed-file="$short/munge/seed" \
  || { echo "cannot start: munged failed ($(tail -1 "$state/munged.log" 2>/dev/null))" >&2; stop; exit 3; }
cat > "$conf" <<CONF
ClusterName=repro-ci
SlurmctldHost=localhost
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$short/munge/socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$short/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
NodeName=localhost CPUs=2 State=UNKNOWN
PartitionName=ci Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$conf
slurmctld -f "$conf" || { echo "cannot start: slurmctld failed ($(tail -1 "$state/slurmctld.log" 2>/dev/null))" >&2; stop; exit 3; }
slurmd -N localhost -f "$conf" || { echo "cannot start: slurmd failed ($(tail -1 "$state/slurmd.log" 2>/dev/null))" >&2; stop; exit 3; }
for _ in $(seq 100); do
  if sinfo -h -N -o %t 2>/dev/null | grep -q idle; then echo "export SLURM_CONF=$conf"; exit 0; fi
  sleep 0.2
done
echo "cannot start: the node did not become idle in 20 s ($(tail -1 "$state/slurmctld.log" 2>/dev/null); $(tail -1 "$state/slurmd.log" 2>/dev/null))" >&2
stop
exit 3
