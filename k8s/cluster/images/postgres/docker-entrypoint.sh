#!/bin/bash
# The part of the official postgres image's entrypoint charts/postgres relies on: on an empty $PGDATA, initdb with
# the superuser $POSTGRES_USER/$POSTGRES_PASSWORD, run /docker-entrypoint-initdb.d (*.sh sourced, *.sql via psql)
# against a server listening on the socket only, stop it; then run postgres listening on every address.
set -Eeo pipefail
: "${POSTGRES_USER:=postgres}" "${PGDATA:=/var/lib/postgresql/data}"
export POSTGRES_USER PGDATA
if [ "${1:-postgres}" = postgres ]; then
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    [ -n "${POSTGRES_PASSWORD:-}" ] || { echo "entrypoint: POSTGRES_PASSWORD is empty" >&2; exit 1; }
    mkdir -p "$PGDATA" && chmod 700 "$PGDATA"
    pwfile=$(mktemp) && printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA" >/dev/null
    rm -f "$pwfile"
    printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" -w start
    export PGHOST=/var/run/postgresql
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sh) echo "entrypoint: sourcing $f"; . "$f" ;;
        *.sql) echo "entrypoint: running $f"; psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -f "$f" ;;
      esac
    done
    unset PGHOST
    pg_ctl -D "$PGDATA" -m fast -w stop
    echo "entrypoint: init done"
  fi
  shift || true
  exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql "$@"
fi
exec "$@"
