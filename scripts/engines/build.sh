#!/usr/bin/env bash
# Builds the real engines the tests run: kube-apiserver, kube-controller-manager and etcd (tools/engines/kubernetes),
# and Jaeger v2 (tools/engines/jaeger), from the Go module proxy at the versions those modules pin.
# Binaries are cached outside the work tree, keyed by the module's go.sum, so a second run (or CI after a session on
# the same machine) reuses them: $SWITCHYARD_CACHE (default ~/.cache/switchyard)/engines/<name>-<key>/.
# Usage: scripts/engines/build.sh kubernetes|jaeger ...   Prints, per engine, one line: its bin directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${SWITCHYARD_CACHE:-$HOME/.cache/switchyard}/engines"

if ! command -v go >/dev/null 2>&1; then
  echo "engines: no Go toolchain on PATH; install Go 1.24.6 or newer (https://go.dev/dl; Debian bookworm's golang-go is too old) and put its bin on PATH" >&2
  exit 2
fi

# What each engine's module builds, as import paths (a path ending in /cmd/<name> gives the binary <name>).
targets() {
  case "$1" in
    kubernetes) echo k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager ./cmd/etcd ;;
    jaeger) echo github.com/jaegertracing/jaeger/cmd/jaeger ;;
    *) echo "engines: unknown engine '$1' (known: kubernetes, jaeger)" >&2; return 2 ;;
  esac
}

# Kubernetes binaries report their version from link-time variables; helm and kubectl check it.
ldflags() {
  local module="$root/tools/engines/$1"
  if [ "$1" = kubernetes ]; then
    local v; v=$(cd "$module" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
    local minor; minor=$(echo "$v" | cut -d. -f2)
    local pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      printf -- '-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s -X %s.gitTreeState=clean ' "$pkg" "$v" "$pkg" "$pkg" "$minor" "$pkg"
    done
  fi
  printf -- '-s -w'
}

build() {
  local name="$1" module="$root/tools/engines/$1"
  local key; key=$(sha256sum "$module/go.mod" "$module/go.sum" $(find "$module" -name '*.go') | sha256sum | cut -c1-12)
  local bin="$cache/$name-$key"
  if [ -f "$bin/.complete" ]; then
    echo "engines: $name cached in $bin" >&2
    echo "$bin"
    return 0
  fi
  mkdir -p "$bin"
  local started=$SECONDS target out
  # Downloads first, bounded, so an unreachable proxy is one clear line rather than a build stuck on the network.
  if ! (cd "$module" && timeout 900 go mod download) >&2; then
    echo "engines: could not download $name's Go modules from $(go env GOPROXY) within 15 min; check the network or set GOPROXY" >&2
    return 1
  fi
  for target in $(targets "$name"); do
    out="$bin/$(basename "$target")"
    echo "engines: building $(basename "$target") ($name, $(cd "$module" && go list -m -f '{{.Path}} {{.Version}}' all | grep -m1 -E 'k8s.io/kubernetes |jaegertracing/jaeger ' || true))" >&2
    if ! (cd "$module" && CGO_ENABLED=0 timeout 2700 go build -trimpath -ldflags "$(ldflags "$name")" -o "$out" "$target") >&2; then
      echo "engines: building $target failed or took over 45 min (module $module)" >&2
      return 1
    fi
  done
  touch "$bin/.complete"
  echo "engines: $name built in $((SECONDS - started)) s into $bin" >&2
  echo "$bin"
}

[ $# -gt 0 ] || set -- kubernetes jaeger
for engine in "$@"; do build "$engine"; done
