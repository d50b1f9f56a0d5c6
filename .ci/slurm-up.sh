#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine (Debian's slurm-wlm + munge), for the Slurm test.
# Prints the pids it started to $1 so that slurm-down.sh stops exactly those.
set -euo pipefail
pids_file=$1
if ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
H=$(hostname -s)
D=/tmp/reingest-slurm
mkdir -p $D/state $D/spool
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$H CPUs=$(nproc) RealMemory=8000 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
munged --force
cat /run/munge/munged.pid > "$pids_file"
slurmctld
slurmd
for _ in $(seq 1 50); do
  [ -s $D/slurmctld.pid ] && [ -s $D/slurmd.pid ] && sinfo -h -o %T 2>/dev/null | grep -q idle && break
  sleep 0.2
done
cat $D/slurmctld.pid $D/slurmd.pid >> "$pids_file"
sinfo
