#!/usr/bin/env bash
# A one-node Slurm for tests, everything under BASE: `slurm_cluster.sh start BASE` starts munged,
# slurmctld and slurmd and waits for the node to be idle; `slurm_cluster.sh stop BASE` stops them by
# the pids in their pid files. Clients use SLURM_CONF=BASE/etc/slurm.conf.
set -euo pipefail
cmd=$1
base=$2

stop() {
  # Jobs first, so no task outlives the daemons.
  if [ -f "$base"/etc/slurm.conf ] && [ -f "$base"/slurmctld.pid ]; then
    SLURM_CONF="$base"/etc/slurm.conf timeout 10 scancel --quiet --user=root 2>/dev/null || true
  fi
  for pidfile in "$base"/slurmd-localhost.pid "$base"/slurmctld.pid "$base"/munge-run/munged.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi

for tool in munged slurmctld slurmd sbatch mungekey runuser; do
  command -v "$tool" >/dev/null || { echo "slurm_cluster: $tool is missing (tools/setup.sh installs it)" >&2; exit 1; }
done
mkdir -p "$base"/etc "$base"/state "$base"/spool "$base"/log "$base"/munge "$base"/munge-run
chown munge:munge "$base"/munge "$base"/munge-run
chmod 0700 "$base"/munge
chmod 0755 "$base"/munge-run "$base"
mungekey -c -k "$base"/munge/munge.key 2>/dev/null || mungekey -c -f -k "$base"/munge/munge.key
chown munge:munge "$base"/munge/munge.key
chmod 0400 "$base"/munge/munge.key
cpus=$(nproc)
cat > "$base"/etc/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=localhost
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$base/munge-run/munge.socket.2
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool/slurmd-%n
SlurmctldPidFile=$base/slurmctld.pid
SlurmdPidFile=$base/slurmd-%n.pid
SlurmctldLogFile=$base/log/slurmctld.log
SlurmdLogFile=$base/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
ReturnToService=2
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
runuser -u munge -- munged --socket="$base"/munge-run/munge.socket.2 --key-file="$base"/munge/munge.key \
  --pid-file="$base"/munge-run/munged.pid --log-file="$base"/munge/munged.log --seed-file="$base"/munge/munged.seed
export SLURM_CONF="$base"/etc/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N localhost
for _ in $(seq 100); do
  if sinfo -h -o %T 2>/dev/null | grep -q idle; then exit 0; fi
  sleep 0.1
done
echo "slurm_cluster: the node did not become idle; logs in $base/log" >&2
stop
exit 1
