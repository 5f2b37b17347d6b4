#!/usr/bin/env bash
# Builds the node-side binaries of the single-node cluster from the Go module proxy:
#   node    -> kubelet, kube-scheduler, kube-proxy (tools/engines/cluster, k8s.io/kubernetes at the release
#              tools/engines/kubernetes pins; stamped with that version like scripts/engines/build.sh does)
#   coredns -> coredns (tools/engines/cluster/coredns)
#   pause   -> pause (tools/engines/cluster/pause, a tiny static Go program for the sandbox image)
# Cached like scripts/engines/build.sh: $SWITCHYARD_CACHE (default ~/.cache/switchyard)/engines/cluster-<what>-<key>/.
# Usage: scripts/cluster/build.sh node|coredns|pause ...   Prints, per target, one line: its bin directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${SWITCHYARD_CACHE:-$HOME/.cache/switchyard}/engines"
command -v go >/dev/null || { echo "cluster: no Go toolchain on PATH (see scripts/engines/build.sh)" >&2; exit 2; }

module_of() {
  case "$1" in
    node) echo "$root/tools/engines/cluster" ;;
    coredns) echo "$root/tools/engines/cluster/coredns" ;;
    pause) echo "$root/tools/engines/cluster/pause" ;;
    *) echo "cluster: unknown target '$1' (known: node, coredns, pause)" >&2; return 2 ;;
  esac
}
targets() {
  case "$1" in
    node) echo k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy ;;
    coredns) echo ./cmd/coredns ;;
    pause) echo ./cmd/pause ;;
  esac
}
ldflags() {
  if [ "$1" = node ]; then
    local v minor pkg
    v=$(cd "$2" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
    minor=$(echo "$v" | cut -d. -f2)
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      printf -- '-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s -X %s.gitTreeState=clean ' "$pkg" "$v" "$pkg" "$pkg" "$minor" "$pkg"
    done
  fi
  printf -- '-s -w'
}
build() {
  local name="$1" module; module=$(module_of "$1")
  # Only this module's own files (a nested module has its own key).
  local key; key=$(sha256sum "$module/go.mod" "$module/go.sum" $(find "$module" -name '*.go' -not -path "$module/coredns/*" -not -path "$module/pause/*") | sha256sum | cut -c1-12)
  local bin="$cache/cluster-$name-$key"
  if [ -f "$bin/.complete" ]; then echo "cluster: $name cached in $bin" >&2; echo "$bin"; return 0; fi
  mkdir -p "$bin"
  local started=$SECONDS target
  (cd "$module" && timeout 900 go mod download) >&2 || { echo "cluster: could not download $name's modules within 15 min" >&2; return 1; }
  for target in $(targets "$name"); do
    echo "cluster: building $(basename "$target")" >&2
    (cd "$module" && CGO_ENABLED=0 timeout 2700 go build -trimpath -ldflags "$(ldflags "$name" "$module")" -o "$bin/$(basename "$target")" "$target") >&2 \
      || { echo "cluster: building $target failed or took over 45 min" >&2; return 1; }
  done
  touch "$bin/.complete"
  echo "cluster: $name built in $((SECONDS - started)) s into $bin" >&2
  echo "$bin"
}
[ $# -gt 0 ] || set -- node coredns pause
for t in "$@"; do build "$t"; done
