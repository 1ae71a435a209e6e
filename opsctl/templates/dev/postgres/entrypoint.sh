#!/bin/sh
# First start: create the cluster, the user and the database from POSTGRES_USER, POSTGRES_PASSWORD
# and POSTGRES_DB (as the stock image does); then run the server. Extra arguments (-c ...) pass on.
set -eu
bin=$(echo /usr/lib/postgresql/*/bin)
case "${1:-postgres}" in
    postgres) [ $# -gt 0 ] && shift ;;
    -*) ;;
    *) exec "$@" ;;  # another program (psql, pg_isready): run it as given
esac
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    "$bin/initdb" -D "$PGDATA" --username="$user" --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
    rm -f "$pwfile"
    echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
    if [ "$db" != postgres ]; then
        # Single-user mode: no socket is open while the database is created.
        printf 'CREATE DATABASE "%s" OWNER "%s";\n' "$db" "$user" | "$bin/postgres" --single -D "$PGDATA" postgres >/dev/null
    fi
    echo "opsctl-postgres: created database $db for user $user"
fi
unset POSTGRES_PASSWORD
exec "$bin/postgres" -D "$PGDATA" "$@"
