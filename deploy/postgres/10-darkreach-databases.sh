#!/bin/bash
# Runs once, when the postgres container initialises an empty data volume (/docker-entrypoint-initdb.d).
# POSTGRES_DB (= DARKREACH_PG_DB) holds the Dagster instance; this creates the database(s) named at the end
# of DARKREACH_REGISTRY_URL and DARKREACH_CHECKPOINTS (campaign registry, test costs, reliability,
# checkpoints), owned by POSTGRES_USER. Both URLs come from deploy/.env (env_file of the postgres service).
set -euo pipefail

db_of() {  # postgresql://user:pw@host:5432/NAME?opts -> NAME
    local rest="${1##*/}"
    printf '%s' "${rest%%\?*}"
}

for url in "${DARKREACH_REGISTRY_URL:-}" "${DARKREACH_CHECKPOINTS:-}"; do
    case "$url" in postgresql*://*) ;; *) continue ;; esac
    db="$(db_of "$url")"
    [ -n "$db" ] && [ "$db" != "$POSTGRES_DB" ] || continue
    exists="$(psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$db'")"
    if [ "$exists" != "1" ]; then
        echo "darkreach: creating database $db"
        psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\""
    fi
done
