#!/usr/bin/env bash
# Stops everything scripts/cluster/up.sh started, by the PIDs it recorded, and removes what it made: the pods'
# containers (through the node's containerd), the node's network namespace and veth (its iptables rules, CNI bridge
# and pod interfaces go with it), and the cgroups it created. The node's mounts lived in its own mount namespace and
# are gone with its processes. Image content and PKI stay in the state directory; --purge removes it too.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
purge=0; [ "${1:-}" = --purge ] && purge=1
STOP_DEADLINE=20

stop() { # name...: SIGTERM, wait, SIGKILL
  local name pid pids=()
  for name in "$@"; do pid=$(pid_of "$name"); alive "$pid" && { kill -TERM "$pid" 2>/dev/null; pids+=("$pid:$name"); }; done
  local deadline=$((SECONDS + STOP_DEADLINE)) entry
  for entry in "${pids[@]}"; do
    while alive "${entry%%:*}" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if alive "${entry%%:*}"; then log "${entry#*:} (pid ${entry%%:*}) ignored SIGTERM for ${STOP_DEADLINE} s; killing it"; kill -KILL "${entry%%:*}" 2>/dev/null; fi
  done
}

# The shims of this containerd (and only this one): identified by the socket address on their command line.
our_shims() {
  local p
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -q -- "containerd-shim.* -address $CTR_SOCK" && echo "${p#/proc/}"
  done
}

[ -d "$S" ] || { log "nothing to stop ($S absent)"; exit 0; }
stop kubelet kube-proxy
if alive "$(pid_of containerd)"; then
  # Kill every container and sandbox, then delete the tasks so their shims exit.
  tasks=$(ctr -a "$CTR_SOCK" -n k8s.io tasks ls -q 2>/dev/null || true)
  for t in $tasks; do ctr -a "$CTR_SOCK" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
  for t in $tasks; do
    for _ in $(seq 1 50); do ctr -a "$CTR_SOCK" -n k8s.io tasks delete "$t" >/dev/null 2>&1 && break; sleep 0.2; done
  done
fi
stop containerd
for pid in $(our_shims); do log "shim $pid outlived containerd; killing it"; kill -KILL "$pid" 2>/dev/null; done
stop node-init kube-scheduler kube-controller-manager kube-apiserver
stop etcd

if ip link show "$HOST_IF" >/dev/null 2>&1; then ip link del "$HOST_IF"; fi
if ip netns list | grep -qw "$NETNS"; then ip netns del "$NETNS" || log "could not delete netns $NETNS"; fi

# Cgroups: everything under the cluster's root (the kubelet's kubepods tree), deepest first, then the directories
# up.sh created. A cgroup that still has tasks is reported and left.
if [ -f "$S/cgroup-root" ]; then
  cgroot=$(cat "$S/cgroup-root")
  for c in $CONTROLLERS; do
    d="/sys/fs/cgroup/$c$cgroot"; [ -d "$d" ] || continue
    find "$d" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  if [ -f "$S/cgroups.created" ]; then
    tac "$S/cgroups.created" | while read -r d; do [ -d "$d" ] && { rmdir "$d" 2>/dev/null || log "cgroup $d not removed: $(wc -l < "$d/cgroup.procs") task(s) still in it"; }; done
  fi
fi

left=""
for f in "$S"/pids/*; do [ -f "$f" ] && alive "$(cat "$f")" && left="$left $(basename "$f"):$(cat "$f")"; done
[ -z "$left" ] || log "still running:$left"
if findmnt -rn -o TARGET | grep -q "^$S"; then log "mounts left in the host namespace under $S:"; findmnt -rn -o TARGET | grep "^$S" >&2; fi
rm -rf "$S/pids"
[ $purge = 1 ] && { rm -rf "$S"; log "removed $S"; }
log "down"
