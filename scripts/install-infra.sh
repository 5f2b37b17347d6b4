#!/usr/bin/env bash
# Makes sure PostgreSQL and RabbitMQ are installed and running, and prometheus/promtool installed (the observability
# tests run them, never as a service), on a Debian machine (run as root).
# CI calls it; on a developer machine `npm start` tells you to when either is missing.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "install-infra: run as root (sudo bash scripts/install-infra.sh)" >&2
  exit 2
fi

missing=()
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v rabbitmq-server >/dev/null 2>&1 || missing+=(rabbitmq-server)
# promtool and prometheus: the observability tests check the rules and scrape the services with a real Prometheus.
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-infra: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Is something answering on a TCP port of this machine?
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() { # port name seconds
  for _ in $(seq 1 "$3"); do
    listening "$1" && return 0
    sleep 1
  done
  echo "install-infra: $2 did not start listening on 127.0.0.1:$1 within $3 s" >&2
  return 1
}

if ! listening 5432; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "install-infra: starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for_port 5432 PostgreSQL 30
fi
# Local trust auth for the postgres user over TCP is what the tests expect (Debian's default is peer/scram).
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  echo "install-infra: allowing trust auth from 127.0.0.1 in $hba"
  sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$version" main reload
fi

if ! listening 5672; then
  echo "install-infra: starting RabbitMQ"
  rabbitmq-server -detached
  wait_for_port 5672 RabbitMQ 90
fi
# RabbitMQ's own exporter on :15692: observability/prometheus/prometheus.yml scrapes it and
# e2e/test/observability.e2e-spec.ts checks the broker metrics the rules and dashboards name against it.
if ! listening 15692; then
  echo "install-infra: enabling rabbitmq_prometheus"
  rabbitmq-plugins enable rabbitmq_prometheus
  wait_for_port 15692 "RabbitMQ's exporter" 30
fi
echo "install-infra: PostgreSQL on 127.0.0.1:5432 and RabbitMQ on 127.0.0.1:5672 (metrics :15692) are up"
