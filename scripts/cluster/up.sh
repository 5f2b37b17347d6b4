#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this host, from parts built here (no kind, no image registry):
#   host network namespace:  etcd, kube-apiserver (on 10.250.0.1:6443), kube-controller-manager, kube-scheduler
#   node network namespace "switchyard-node" (veth 10.250.0.1 <-> 10.250.0.2) + a private mount namespace:
#                            containerd (Debian's, own config/root/state/socket), kubelet, kube-proxy (iptables),
#                            CNI bridge "sy-cni0" (pods 10.244.0.0/24) from Debian's containernetworking-plugins
#   cgroups:                 kubelet's cgroup root <this shell's memory cgroup>/switchyard-cluster (cgroupfs, v1)
#   images:                  pause + CoreDNS built from source into FROM-scratch images; the project's images moved
#                            from Docker with `docker save | ctr import`; CoreDNS applied as the DNS add-on.
# Usage: scripts/cluster/up.sh     (state in $SWITCHYARD_CLUSTER_DIR, default /var/lib/switchyard-cluster)
#        env CLUSTER_IMAGES="img:tag ..." to import other Docker images (default: switchyard/*:dev that exist)
# Prints KUBECONFIG=<path> as its last line. scripts/cluster/down.sh stops and removes everything it made.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
t0=$SECONDS
step() { log "[$((SECONDS - t0)) s] $*"; }
fail() {
  log "FAILED: $*"
  for f in "$S"/logs/*.log; do [ -f "$f" ] && { echo "--- last lines of $f ---" >&2; tail -n 15 "$f" >&2; }; done
  [ "${CLUSTER_KEEP_ON_FAILURE:-}" = 1 ] || bash "$root/scripts/cluster/down.sh" >&2 || true
  exit 1
}
[ "$(id -u)" = 0 ] || { log "needs root (network and mount namespaces, cgroups)"; exit 2; }
for tool in ip nsenter unshare openssl /usr/bin/containerd /usr/sbin/runc /usr/bin/ctr /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/portmap /usr/lib/cni/loopback conntrack iptables; do
  command -v "$tool" >/dev/null || { log "missing $tool: apt-get install -y --no-install-recommends containerd runc containernetworking-plugins conntrack iptables iproute2 openssl"; exit 2; }
done

if [ -f "$S/pids/kube-apiserver" ] && alive "$(pid_of kube-apiserver)"; then
  log "already running (scripts/cluster/down.sh stops it)"; echo "KUBECONFIG=$S/admin.kubeconfig"; exit 0
fi
# Leftovers of a crashed run.
if [ -d "$S/pids" ] || ip netns list | grep -qw "$NETNS"; then bash "$root/scripts/cluster/down.sh" >&2 || true; fi

step "building engines (cached after the first time)"
cp_bin=$(bash "$root/scripts/engines/build.sh" kubernetes | tail -1)
mapfile -t bins < <(bash "$root/scripts/cluster/build.sh" node coredns pause)
[ ${#bins[@]} = 3 ] || fail "building the node binaries"
node_bin=${bins[0]} coredns_bin=${bins[1]} pause_bin=${bins[2]}

step "state in $S"
# A fresh etcd each time, so fresh volumes too (a Postgres data directory would not match new Secrets).
rm -rf "$S/etcd" "$S/logs" "$S/pids" "$S/cni" "$S/kubelet" "$S/pod-logs" "$S/containerd/state" "$S/volumes"
mkdir -p "$S"/{logs,pids,pki,cni/net.d,cni/ipam,kubelet,pod-logs,containerd}
: > "$S/resolv.conf"

# PKI: the control plane's CA, admin and service-account keys (scripts/kube/pki.mjs), plus a serving certificate
# for the addresses this cluster's API server is reached at.
node --input-type=module -e "import { ensurePki } from '$root/scripts/kube/pki.mjs'; ensurePki('$S/pki');"
if [ ! -f "$S/pki/cluster-apiserver.crt" ]; then
  ( cd "$S/pki"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out cluster-apiserver.key 2>/dev/null
    openssl req -new -key cluster-apiserver.key -subj /CN=kube-apiserver -out cluster-apiserver.csr
    printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature,keyEncipherment extendedKeyUsage=serverAuth \
      "subjectAltName=IP:$HOST_IP,IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" > cluster-apiserver.ext
    openssl x509 -req -in cluster-apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -extfile cluster-apiserver.ext -out cluster-apiserver.crt 2>/dev/null )
fi
b64() { base64 -w0 "$1"; }
cat > "$S/admin.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: switchyard-cluster
  cluster: {server: "https://$HOST_IP:$API_PORT", certificate-authority-data: $(b64 "$S/pki/ca.crt")}
users:
- name: switchyard-admin
  user: {client-certificate-data: $(b64 "$S/pki/admin.crt"), client-key-data: $(b64 "$S/pki/admin.key")}
contexts:
- name: switchyard-cluster
  context: {cluster: switchyard-cluster, user: switchyard-admin, namespace: default}
current-context: switchyard-cluster
KC

CGROUP_ROOT=$(cgroup_root); echo "$CGROUP_ROOT" > "$S/cgroup-root"
fill() { sed -e "s#@STATE@#$S#g" -e "s#@NODE_IP@#$NODE_IP#g" -e "s#@NODE_NAME@#$NODE_NAME#g" -e "s#@POD_CIDR@#$POD_CIDR#g" \
  -e "s#@POD_SUBNET@#$POD_SUBNET#g" -e "s#@DNS_IP@#$DNS_IP#g" -e "s#@CGROUP_ROOT@#$CGROUP_ROOT#g" "$1"; }
cfg="$root/k8s/cluster/config"
fill "$cfg/containerd.toml" > "$S/containerd/config.toml"
fill "$cfg/10-switchyard.conflist" > "$S/cni/net.d/10-switchyard.conflist"
fill "$cfg/kubelet.yaml" > "$S/kubelet.yaml"
fill "$cfg/kube-proxy.yaml" > "$S/kube-proxy.yaml"

step "network: netns $NETNS, veth $HOST_IF $HOST_IP <-> $NODE_IF $NODE_IP"
ip netns add "$NETNS"
ip link add "$HOST_IF" type veth peer name "$NODE_IF" netns "$NETNS"
ip addr add "$HOST_IP/30" dev "$HOST_IF"; ip link set "$HOST_IF" up
ip -n "$NETNS" link set lo up
ip -n "$NETNS" addr add "$NODE_IP/30" dev "$NODE_IF"; ip -n "$NETNS" link set "$NODE_IF" up
ip -n "$NETNS" route add default via "$HOST_IP"
ip route add "$POD_CIDR" via "$NODE_IP" dev "$HOST_IF"
ip route add "$SVC_CIDR" via "$NODE_IP" dev "$HOST_IF"
nsenter --net="/run/netns/$NETNS" sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.ipv4.conf.all.route_localnet=1

step "cgroups: $CGROUP_ROOT in each v1 controller"
: > "$S/cgroups.created"
for c in $CONTROLLERS; do
  base="/sys/fs/cgroup/$c"; [ -d "$base" ] || continue
  path="$base"
  IFS=/ read -ra parts <<< "${CGROUP_ROOT#/}"
  for part in "${parts[@]}"; do
    parent="$path"; path="$path/$part"
    if [ ! -d "$path" ]; then
      mkdir "$path"; echo "$path" >> "$S/cgroups.created"
      if [ "$c" = cpuset ]; then cat "$parent/cpuset.cpus" > "$path/cpuset.cpus"; cat "$parent/cpuset.mems" > "$path/cpuset.mems"; fi
    fi
  done
done

launch() { local name="$1"; shift; setsid "$@" >"$S/logs/$name.log" 2>&1 </dev/null & echo $! > "$S/pids/$name"; }
step "control plane: etcd, kube-apiserver https://$HOST_IP:$API_PORT"
launch etcd "$cp_bin/etcd" --name=switchyard-cluster --data-dir="$S/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="switchyard-cluster=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level=warn
launch kube-apiserver "$cp_bin/kube-apiserver" --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address="$HOST_IP" --advertise-address="$HOST_IP" --secure-port="$API_PORT" --cert-dir="$S/pki" \
  --tls-cert-file="$S/pki/cluster-apiserver.crt" --tls-private-key-file="$S/pki/cluster-apiserver.key" --client-ca-file="$S/pki/ca.crt" \
  --kubelet-client-certificate="$S/pki/admin.crt" --kubelet-client-key="$S/pki/admin.key" --kubelet-preferred-address-types=InternalIP \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local --service-account-key-file="$S/pki/service-accounts.pub" \
  --service-account-signing-key-file="$S/pki/service-accounts.key" --service-cluster-ip-range="$SVC_CIDR" \
  --service-node-port-range=30000-32767 --authorization-mode=Node,RBAC --profiling=false --v=1
KUBECTL=$(k8s_tool kubectl); k() { "$KUBECTL" --kubeconfig "$S/admin.kubeconfig" --request-timeout=10s "$@"; }
deadline=$((SECONDS + 120))
until k get --raw /readyz >/dev/null 2>&1; do
  alive "$(pid_of kube-apiserver)" && alive "$(pid_of etcd)" || fail "etcd or kube-apiserver exited"
  [ $SECONDS -lt $deadline ] || fail "kube-apiserver not ready within 120 s"; sleep 1
done
step "kube-apiserver ready; kube-controller-manager, kube-scheduler"
launch kube-controller-manager "$cp_bin/kube-controller-manager" --kubeconfig="$S/admin.kubeconfig" --leader-elect=false \
  --secure-port=0 --root-ca-file="$S/pki/ca.crt" --service-account-private-key-file="$S/pki/service-accounts.key" \
  --use-service-account-credentials=true --controllers='*' --allocate-node-cidrs=true --cluster-cidr="$POD_CIDR" \
  --node-cidr-mask-size=24 --service-cluster-ip-range="$SVC_CIDR" --v=1
launch kube-scheduler "$node_bin/kube-scheduler" --kubeconfig="$S/admin.kubeconfig" --leader-elect=false \
  --bind-address=127.0.0.1 --secure-port=10259 --v=1

step "node: containerd, kubelet, kube-proxy in netns $NETNS (private mount namespace)"
launch node-init nsenter --net="/run/netns/$NETNS" -- unshare --mount --propagation private -- \
  bash "$root/scripts/cluster/node-init.sh" "$node_bin"
deadline=$((SECONDS + 60))
until [ -S "$CTR_SOCK" ] && ctr -a "$CTR_SOCK" version >/dev/null 2>&1; do
  alive "$(pid_of node-init)" || fail "the node's init exited"
  [ $SECONDS -lt $deadline ] || fail "containerd not serving within 60 s"; sleep 0.5
done

step "images: pause, coredns (FROM scratch) and the project's, Docker -> the node's containerd"
DOCKER=/usr/bin/docker; [ -x "$DOCKER" ] || DOCKER=docker
DOCKER_BUILDKIT=0 "$DOCKER" build -q -t switchyard.local/pause:dev -f "$root/k8s/cluster/images/pause/Dockerfile" "$pause_bin" >/dev/null
DOCKER_BUILDKIT=0 "$DOCKER" build -q -t switchyard.local/coredns:dev -f "$root/k8s/cluster/images/coredns/Dockerfile" "$coredns_bin" >/dev/null
images="switchyard.local/pause:dev switchyard.local/coredns:dev"
for image in ${CLUSTER_IMAGES-switchyard/user-service:dev switchyard/order-service:dev switchyard/topology-operator:dev switchyard.local/postgres:dev switchyard.local/rabbitmq:dev}; do
  "$DOCKER" image inspect "$image" >/dev/null 2>&1 && images="$images $image" || log "  (no Docker image $image; not imported)"
done
"$DOCKER" save $images | ctr -a "$CTR_SOCK" -n k8s.io images import - >/dev/null || fail "image import"
step "  imported: $images"

deadline=$((SECONDS + 180))
until [ "$(k get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; do
  for p in kube-controller-manager kube-scheduler kubelet kube-proxy containerd; do alive "$(pid_of $p)" || fail "$p exited"; done
  [ $SECONDS -lt $deadline ] || fail "node $NODE_NAME not Ready within 180 s"; sleep 1
done
step "node $NODE_NAME Ready"

mkdir -p "$S"/volumes/pv{1,2,3,4,5,6} && chmod 0777 "$S"/volumes/pv*
for addon in coredns storage; do fill "$root/k8s/cluster/addons/$addon.yaml" | k apply -f - >/dev/null || fail "applying the $addon add-on"; done
k -n kube-system rollout status deployment/coredns --timeout=120s >&2 || fail "CoreDNS not available within 120 s"
step "CoreDNS ready; cluster up in $((SECONDS - t0)) s"
echo "KUBECONFIG=$S/admin.kubeconfig"
