#!/usr/bin/env bash
# Memory of the running cluster: RSS of each process up.sh started (and containerd's shims), and the pods' memory
# cgroup (usage and peak since the kubelet made it). Usage: scripts/cluster/mem.sh
set -uo pipefail
source "$(dirname "$0")/lib.sh"
total=0
for f in "$S"/pids/*; do
  pid=$(cat "$f"); alive "$pid" || continue
  kb=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status"); total=$((total + kb))
  printf '%-24s pid %-7s %6d MiB\n' "$(basename "$f")" "$pid" $((kb / 1024))
done
shims=0
for p in /proc/[0-9]*; do
  { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -q -- "containerd-shim.* -address $CTR_SOCK" || continue
  kb=$(awk '/^VmRSS/{print $2}' "$p/status" 2>/dev/null || echo 0); shims=$((shims + kb))
done
printf '%-24s %14d MiB\n' "shims" $((shims / 1024))
pods="/sys/fs/cgroup/memory$(cat "$S/cgroup-root" 2>/dev/null)/kubepods"
if [ -f "$pods/memory.usage_in_bytes" ]; then
  printf '%-24s %14d MiB (peak %d MiB)\n' "pods (kubepods cgroup)" $(($(cat "$pods/memory.usage_in_bytes") / 1048576)) $(($(cat "$pods/memory.max_usage_in_bytes") / 1048576))
fi
printf '%-24s %14d MiB (+ shims + pods)\n' "cluster processes" $((total / 1024))
