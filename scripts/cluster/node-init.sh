#!/usr/bin/env bash
# The node's first process (started by up.sh in the node's network namespace and a private mount namespace of its
# own): hides the kubelet's global kernel tunables behind files, starts containerd, kubelet and kube-proxy, records
# their PIDs and waits. Every mount made here (overlay root filesystems, secret tmpfs, pod netns) lives in this
# mount namespace and is gone with its last process.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bin="$1"
echo $$ > "$S/pids/node-init"

# The kubelet sets vm.overcommit_memory=1, kernel.panic=10, kernel.panic_on_oops=1, ... machine-wide (they are not
# per-namespace): on a shared VM that is not ours to change. It reads before it writes, so let it read what it wants.
mkdir -p "$S/fake-sysctl"
for kv in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
  f="${kv%%=*}" v="${kv#*=}"
  [ "$(cat "/proc/sys/$f")" = "$v" ] && continue
  echo "$v" > "$S/fake-sysctl/${f//\//.}"
  mount --bind "$S/fake-sysctl/${f//\//.}" "/proc/sys/$f"
done

run() { local name="$1"; shift; "$@" >"$S/logs/$name.log" 2>&1 </dev/null & echo $! > "$S/pids/$name"; }
run containerd /usr/bin/containerd --config "$S/containerd/config.toml"
for _ in $(seq 1 120); do [ -S "$CTR_SOCK" ] && break; sleep 0.5; done
[ -S "$CTR_SOCK" ] || { echo "node-init: containerd made no socket in 60 s" >&2; exit 1; }
run kubelet "$bin/kubelet" --config="$S/kubelet.yaml" --kubeconfig="$S/admin.kubeconfig" --root-dir="$S/kubelet" \
  --cert-dir="$S/kubelet/pki" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
run kube-proxy "$bin/kube-proxy" --config="$S/kube-proxy.yaml" --v=1
trap 'exit 0' TERM INT
wait
