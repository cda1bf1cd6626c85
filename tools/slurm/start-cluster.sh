#!/usr/bin/env bash
# Bring up a one-node SLURM cluster on this Debian machine, for testing the SLURM
# profile (profiles/slurm) end to end: tests/test_slurm.py, called by .ci/run.
#
#   sudo tools/slurm/start-cluster.sh               # as root; idempotent, no stdin needed
#   sudo tools/slurm/start-cluster.sh --no-install  # start an installed SLURM only
#
# Installs slurm-wlm and munge from Debian's packages when absent, writes a
# slurm.conf for this machine (its CPUs and memory, select/cons_tres, no accounting
# database), creates a munge key, starts munged, slurmctld and slurmd, and waits
# until `sinfo` shows the node idle. Running it again on a live cluster does nothing.
set -euo pipefail

NODE=$(hostname -s)
CONF_DIR=/etc/slurm
STATE_DIR=/var/lib/brainnet-slurm
LOG_DIR=/var/log/slurm
TIMEOUT=${SLURM_UP_TIMEOUT:-60}
INSTALL=1
case "${1:-}" in
    "") ;;
    --no-install) INSTALL=0 ;;
    *) echo "usage: $0 [--no-install]" >&2; exit 2 ;;
esac

say() { echo "start-cluster: $*"; }

node_state() { sinfo --noheader --nodes="$NODE" --format=%T 2>/dev/null | head -n1; }

# up: idle, or already running jobs (mixed, allocated, completing)
up() { [[ "$1" =~ ^(idle|mixed|allocated|completing) ]]; }

if command -v sinfo >/dev/null && up "$(node_state)"; then
    say "node $NODE is already up ($(node_state))"
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    say "must run as root to install and start SLURM" >&2
    exit 1
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v munged >/dev/null; then
    if [[ $INSTALL -eq 0 ]]; then
        say "slurm-wlm or munge is not installed (run without --no-install)" >&2
        exit 1
    fi
    say "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge </dev/null
fi

# The node as slurmd sees it; memory from /proc/meminfo, as slurmd reads it.
CPUS=$(nproc)
MEM_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
mkdir -p "$CONF_DIR" "$STATE_DIR/slurmctld" "$STATE_DIR/slurmd" "$LOG_DIR"
cat >"$CONF_DIR/slurm.conf" <<EOF
# Written by brainnet's tools/slurm/start-cluster.sh: one node, no accounting.
ClusterName=brainnet
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
# No cgroups in containers: track processes by parent id and bind no tasks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# Allocate single CPUs and megabytes of memory (cons_tres), as a real site does.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
# Without an accounting database sacct cannot answer; squeue keeps a finished
# job visible for MinJobAge seconds, long enough for snakemake's status checks.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=300
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation=$STATE_DIR/slurmctld
SlurmdSpoolDir=$STATE_DIR/slurmd
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=main Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
say "wrote $CONF_DIR/slurm.conf: node $NODE, $CPUS CPUs, $MEM_MB MB"

if [[ ! -s /etc/munge/munge.key ]]; then
    say "creating a munge key"
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge

alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "starting munged"
    runuser -u munge -- /usr/sbin/munged
fi
if ! alive "$STATE_DIR/slurmctld.pid"; then
    say "starting slurmctld"
    slurmctld
fi
if ! alive "$STATE_DIR/slurmd.pid"; then
    say "starting slurmd"
    slurmd
fi

for ((waited = 0; waited < TIMEOUT; waited++)); do
    state=$(node_state || true)
    if up "$state"; then
        say "node $NODE is $state"
        sinfo
        exit 0
    fi
    case "$state" in
        down* | drain*) scontrol update nodename="$NODE" state=resume 2>/dev/null || true ;;
    esac
    sleep 1
done
say "node $NODE not idle after ${TIMEOUT}s (state: ${state:-none}); see $LOG_DIR" >&2
exit 1
