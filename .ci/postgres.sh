#!/usr/bin/env bash
# PostgreSQL for the tests of the shared ledger (PostgresLedgerTest): Debian's PostgreSQL, its cluster started, a role
# zapi (password zapi-test, CREATEDB: each test class creates its own database) reached over TCP on 127.0.0.1:5432.
# Idempotent: run it as often as you like (as root).
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  apt-get update -q
  apt-get install -y -q postgresql
fi

version=$(pg_lsclusters --no-header | awk 'NR == 1 {print $1}')
cluster=$(pg_lsclusters --no-header | awk 'NR == 1 {print $2}')
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  cluster=main
  pg_createcluster "$version" "$cluster"
fi
if ! pg_lsclusters --no-header | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c {print $4}' | grep -q online; then
  pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
fi

su postgres -c "psql -v ON_ERROR_STOP=1 -q -d postgres" <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zapi') THEN
    CREATE ROLE zapi LOGIN CREATEDB PASSWORD 'zapi-test';
  ELSE
    ALTER ROLE zapi LOGIN CREATEDB PASSWORD 'zapi-test';
  END IF;
END
$$;
SQL
echo "PostgreSQL $version/$cluster is up on 127.0.0.1:5432 with role zapi (password zapi-test, CREATEDB)"
