#!/bin/bash
# Runs once, when the postgres container initialises an empty data volume (/docker-entrypoint-initdb.d).
# POSTGRES_DB (= DARKREACH_PG_DB) holds the Dagster instance; this creates DARKREACH_STORE_DB (campaign
# registry, test costs, reliability, checkpoints), owned by POSTGRES_USER, if it is another database.
#
# The names reach the SQL as psql variables only (:'name' quotes a literal, format('%I') an identifier): the
# shell never pastes a value into a statement, so no name, whatever its quotes or semicolons, changes the SQL.
set -euo pipefail

db="${DARKREACH_STORE_DB:-}"
if [ -z "$db" ] || [ "$db" = "$POSTGRES_DB" ]; then
    exit 0
fi
echo "darkreach: creating database $db unless it exists"
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v db="$db" -v owner="$POSTGRES_USER" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
