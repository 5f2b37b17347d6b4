#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine, starting one the project's own way if none does:
#   bash scripts/docker/ensure-engine.sh            (CI calls it before `npm run images`)
# Nothing else starts an engine on a fresh CI machine. When none answers, Debian's docker.io (engine 20.10 with
# BuildKit inside; its /usr/bin/docker client builds with DOCKER_BUILDKIT=1, no buildx plugin needed) and debootstrap
# (scripts/images/build-base-image.sh makes the Node base image with it) are installed when missing, and `dockerd` is
# started in the background, logging to $SWITCHYARD_DOCKERD_LOG. Prints one line saying what it did; on failure, one
# line naming what is missing and the command that fixes it, and exits non-zero. Never waits without a deadline.
set -uo pipefail

# How long dockerd may take to answer after it is started: 60 s (it comes up in a few seconds here; a minute means
# it will not, and its log says why).
readonly START_DEADLINE_S=${SWITCHYARD_DOCKERD_START_DEADLINE_S:-60}
# apt-get update + install of docker.io and debootstrap: 10 minutes (about 1 on this VM type).
readonly APT_DEADLINE_S=600
readonly DOCKERD_LOG=${SWITCHYARD_DOCKERD_LOG:-/var/log/switchyard-dockerd.log}
readonly APT_LOG=/var/log/switchyard-docker-install.log
# Serialises concurrent callers (two test runs must not both start a dockerd).
readonly LOCK_FILE=/run/switchyard-docker-engine.lock

fail() {
  echo "docker: $*" >&2
  exit 1
}

# The engine answers when `docker info` reports a server version; any client talks to any engine for this.
engine_version() {
  local client
  for client in /usr/bin/docker docker; do
    command -v "$client" >/dev/null 2>&1 || continue
    timeout 10 "$client" info --format '{{.ServerVersion}}' 2>/dev/null | grep -E '^[0-9]' && return 0
  done
  return 1
}

if version=$(engine_version); then
  echo "docker: engine already running ($version)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  fail "no engine answers and starting one needs root; fix: sudo bash scripts/docker/ensure-engine.sh (or start your own Docker and add yourself to the docker group)"
fi

exec 9>"$LOCK_FILE" || fail "cannot open $LOCK_FILE; fix: run as root on a writable /run"
flock -w "$((START_DEADLINE_S + APT_DEADLINE_S))" 9 || fail "another ensure-engine.sh still holds $LOCK_FILE; fix: wait for it, or end it and rerun"
# Another caller may have started it while this one waited for the lock.
if version=$(engine_version); then
  echo "docker: engine already running ($version)"
  exit 0
fi

installed=""
missing=()
command -v dockerd >/dev/null 2>&1 && [ -x /usr/bin/docker ] || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || fail "missing ${missing[*]} and no apt-get here; fix: install Docker (https://docs.docker.com/engine/install/) and debootstrap with your system's package manager"
  {
    echo "== $(date -Is) apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive timeout "$APT_DEADLINE_S" apt-get update &&
      DEBIAN_FRONTEND=noninteractive timeout "$APT_DEADLINE_S" apt-get install -y --no-install-recommends "${missing[@]}"
  } >>"$APT_LOG" 2>&1 || fail "installing ${missing[*]} failed (log: $APT_LOG); fix: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  installed="installed ${missing[*]} and "
fi

command -v dockerd >/dev/null 2>&1 || fail "dockerd not found after installing docker.io; fix: apt-get install -y --no-install-recommends docker.io"

# setsid + nohup: dockerd outlives this script and the CI step that ran it; its own containerd is a child of it.
echo "== $(date -Is) dockerd started by scripts/docker/ensure-engine.sh" >>"$DOCKERD_LOG"
setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
pid=$!

deadline=$((SECONDS + START_DEADLINE_S))
until version=$(engine_version); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "docker: dockerd (pid $pid) exited while starting; last lines of $DOCKERD_LOG:" >&2
    tail -n 20 "$DOCKERD_LOG" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "docker: dockerd (pid $pid) did not answer within ${START_DEADLINE_S} s; last lines of $DOCKERD_LOG:" >&2
    tail -n 20 "$DOCKERD_LOG" >&2
    exit 1
  fi
  sleep 1
done
echo "docker: ${installed}started dockerd $version (pid $pid, log $DOCKERD_LOG)"
