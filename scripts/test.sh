#!/usr/bin/env bash
# The whole suite: static checks, then pytest on SQLite, then pytest again on a throwaway
# PostgreSQL cluster (recipe from docs/testing.md). Exits non-zero on any failure, and when
# pytest collects no test at all (its exit code 5).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
start=$(date +%s)

echo "== lint and types"
$BIN/ruff check .
$BIN/ruff format --check .
$BIN/mypy portal

echo "== migrations are up to date"
$BIN/python manage.py makemigrations --check --dry-run >/dev/null

echo "== production settings pass check --deploy"
PORTAL_ENV=prod SECRET_KEY="ci-$(head -c 64 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')" \
  ALLOWED_HOSTS=portal.example.com PORTAL_BASE_URL=https://portal.example.com \
  DATABASE_URL=postgres://u:p@127.0.0.1:1/db HDP_BASE_URL=https://hdp.example.com:8443 \
  HDP_SERVICE_USER=svc HDP_SERVICE_PASSWORD=x \
  PORTAL_ENCRYPTION_KEYS="k1:$($BIN/python -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')" \
  $BIN/python manage.py check --deploy --fail-level WARNING

run_pytest() {
  local label=$1; shift
  echo "== pytest on $label"
  set +e
  $BIN/python -m pytest "$@"
  local rc=$?
  set -e
  if [ $rc -eq 5 ]; then echo "pytest collected no tests on $label: failing." >&2; exit 1; fi
  if [ $rc -ne 0 ]; then echo "pytest failed on $label (exit $rc)." >&2; exit $rc; fi
}

unset DATABASE_URL
run_pytest SQLite -q

# Throwaway PostgreSQL cluster.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGDIR=$(mktemp -d)
PGPORT=${PGPORT:-55432}
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
cleanup() { as_pg "$PGBIN/pg_ctl -D $PGDIR/data -m fast stop" >/dev/null 2>&1 || true; rm -rf "$PGDIR"; }
trap cleanup EXIT
as_pg "$PGBIN/initdb -D $PGDIR/data -A trust -U postgres >/dev/null && $PGBIN/pg_ctl -D $PGDIR/data -o '-k $PGDIR -c listen_addresses=127.0.0.1 -p $PGPORT -c fsync=off -c max_connections=200' -l $PGDIR/log -w start >/dev/null"
export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
run_pytest PostgreSQL -q

echo "== all green in $(( $(date +%s) - start )) s"
