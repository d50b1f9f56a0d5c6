#!/usr/bin/env bash
# Stops the daemons slurm-up.sh started, by pid (never pkill).
pids_file=$1
[ -f "$pids_file" ] || exit 0
while read -r pid; do [ -n "$pid" ] && kill "$pid" 2>/dev/null; done < "$pids_file"
rm -f "$pids_file"
