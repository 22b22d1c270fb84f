#!/usr/bin/env bash
# The suite as CI runs it (`make test` runs `make lint` first): migrations and production settings are
# checked, then pytest runs on SQLite and on a throwaway PostgreSQL cluster (docs/testing.md "Two
# databases"), both passes at the same time, each with pytest-xdist workers. Every test runs once:
#   - on PostgreSQL (production's database): every test that may use the database, except browser tests and
#     the sandbox's own tests;
#   - on SQLite (`make run`'s database): the browser tests (the journeys a person makes on `make run`), the tests
#     of the sandbox (tests/sandbox/: the HDP emulator and the provider `make run` serves) and the tests that
#     cannot touch a database at all (the same result on either).
# tests/conftest.py marks each test `browser`, `database` and/or `sandbox` at collection. TEST_PASSES=full runs the
# whole suite on both databases (twice the time). Each pass writes its output to a file, printed after both
# ended. Exits non-zero when either pass fails, and when a pass collects no test at all (pytest's exit code 5).
#
#   PYTEST_WORKERS=2   xdist workers per pass (default 2; 0 = no xdist)
#   TEST_PASSES=serial run the SQLite pass, then the PostgreSQL pass (default: both at once)
#   TEST_PASSES=full   the whole suite on each database, both at once
#   PGPORT=NNNNN       the cluster's first port to try (default: a free one)
#   PYTEST_ARGS="..."  more pytest arguments for both passes (e.g. "tests/connections -x")
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
start=$(date +%s)
WORKERS=${PYTEST_WORKERS:-2}
read -r -a EXTRA <<<"${PYTEST_ARGS:-}"

# Bytecode is cached (__pycache__, ignored by git) even where the environment says PYTHONDONTWRITEBYTECODE
# (this machine's does): without it, each of the four pytest workers compiles and assertion-rewrites every
# test module again (about 7 s of CPU each), and each server or worker process a test starts compiles the
# portal again (about 0.5 s each). One collection in the background, while the checks below and the
# PostgreSQL start keep one core busy, writes the cache the workers then read (docs/testing.md).
unset PYTHONDONTWRITEBYTECODE
$BIN/python -m pytest -q --collect-only -p no:cacheprovider >/dev/null 2>&1 &
warm_pid=$!

echo "== migrations are up to date"
$BIN/python manage.py makemigrations --check --dry-run >/dev/null

echo "== production settings pass check --deploy"
PORTAL_ENV=prod SECRET_KEY="ci-$(head -c 64 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')" \
  ALLOWED_HOSTS=portal.example.com PORTAL_BASE_URL=https://portal.example.com \
  DATABASE_URL=postgres://u:p@127.0.0.1:1/db HDP_BASE_URL=https://hdp.example.com:8443 \
  HDP_SERVICE_USER=svc HDP_SERVICE_PASSWORD=x \
  PORTAL_ENCRYPTION_KEYS="k1:$($BIN/python -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')" \
  $BIN/python manage.py check --deploy --fail-level WARNING

# --- a throwaway PostgreSQL cluster on a free port ------------------------------------------------------
FIRST_PORT=${PGPORT:-}
unset PGPORT  # a PGPORT in the environment would reach initdb and pg_ctl; the URL names the port
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGDIR=$(mktemp -d)
OUT=$(mktemp -d)
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
cleanup() {
  as_pg "$PGBIN/pg_ctl -D $PGDIR/data -m fast stop" >/dev/null 2>&1 || true
  rm -rf "$PGDIR" "$OUT"
}
trap cleanup EXIT
free_port() {
  $BIN/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
start_pg() {  # $1: the attempt, which names the server log
  PGLOG=$PGDIR/log.$1
  as_pg "$PGBIN/pg_ctl -D $PGDIR/data -o '-k $PGDIR -c listen_addresses=127.0.0.1 -p $PG_PORT -c fsync=off -c max_connections=200' -l $PGLOG -w -t 120 start" >/dev/null
}
show_pg_log() {
  echo "--- PostgreSQL server log:" >&2
  cat "$PGLOG" >&2 2>/dev/null || echo "(no log written)" >&2
  echo "---" >&2
}

echo "== PostgreSQL cluster"
as_pg "$PGBIN/initdb -D $PGDIR/data -A trust -U postgres >/dev/null"
PG_PORT=${FIRST_PORT:-$(free_port)}
if ! start_pg 1; then
  # A port taken between the pick and the start, or a slow machine: show why, then once more elsewhere.
  echo "pg_ctl could not start PostgreSQL on port $PG_PORT." >&2
  show_pg_log
  as_pg "$PGBIN/pg_ctl -D $PGDIR/data -m immediate stop" >/dev/null 2>&1 || true
  PG_PORT=$(free_port)
  echo "Retrying once on port $PG_PORT." >&2
  if ! start_pg 2; then
    echo "pg_ctl could not start PostgreSQL on port $PG_PORT either: failing." >&2
    show_pg_log
    exit 1
  fi
fi
echo "PostgreSQL $(basename "$(dirname "$PGBIN")") on 127.0.0.1:$PG_PORT"
PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"

wait "$warm_pid" || true  # a collection error shows again, with its message, in the passes

# --- the two pytest passes ---------------------------------------------------------------------------
XDIST=()
[ "$WORKERS" != 0 ] && XDIST=(-n "$WORKERS" --dist worksteal)

if [ "${TEST_PASSES:-parallel}" = full ]; then
  SQLITE_SELECT=() PG_SELECT=()
else
  SQLITE_SELECT=(-m "browser or sandbox or not database") PG_SELECT=(-m "database and not browser and not sandbox")
fi

run_pass() {  # name, DATABASE_URL (empty for SQLite): output to $OUT/<name>.log, exit code to .rc
  local name=$1 url=$2 began rc
  began=$(date +%s)
  set +e
  if [ -n "$url" ]; then
    DATABASE_URL=$url $BIN/python -m pytest -q "${PG_SELECT[@]}" "${XDIST[@]}" "${EXTRA[@]}" >"$OUT/$name.log" 2>&1
  else
    env -u DATABASE_URL $BIN/python -m pytest -q "${SQLITE_SELECT[@]}" "${XDIST[@]}" "${EXTRA[@]}" \
      >"$OUT/$name.log" 2>&1
  fi
  rc=$?
  set -e
  echo "$rc" >"$OUT/$name.rc"
  echo "$(($(date +%s) - began))" >"$OUT/$name.seconds"
}

if [ "${TEST_PASSES:-parallel}" = serial ]; then
  echo "== pytest on SQLite, then on PostgreSQL (${WORKERS} workers each; each test once)"
  run_pass SQLite ""
  run_pass PostgreSQL "$PG_URL"
else
  what="each test once"
  [ "${TEST_PASSES:-parallel}" = full ] && what="the whole suite on each"
  echo "== pytest on SQLite and on PostgreSQL at the same time (${WORKERS} workers each; $what)"
  run_pass SQLite "" &
  sqlite_pid=$!
  run_pass PostgreSQL "$PG_URL" &
  postgres_pid=$!
  wait "$sqlite_pid" "$postgres_pid" || true
fi

failed=0
for name in SQLite PostgreSQL; do
  rc=$(cat "$OUT/$name.rc" 2>/dev/null || echo 1)
  echo "== pytest on $name ($(cat "$OUT/$name.seconds" 2>/dev/null || echo '?') s): $(tail -n 1 "$OUT/$name.log")"
  if [ "$rc" -eq 5 ] && [ ${#EXTRA[@]} -gt 0 ]; then
    : # PYTEST_ARGS chose tests that all belong to the other pass
  elif [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests on $name: failing." >&2
    failed=1
  elif [ "$rc" -ne 0 ]; then
    echo "pytest failed on $name (exit $rc); its output from the first failure:" >&2
    # From pytest's FAILURES/ERRORS section on, or the whole output when there is none (a crash).
    awk '/^=+ (FAILURES|ERRORS) =+$/ { on = 1 } on' "$OUT/$name.log" | grep -q . &&
      awk '/^=+ (FAILURES|ERRORS) =+$/ { on = 1 } on' "$OUT/$name.log" >&2 ||
      cat "$OUT/$name.log" >&2
    failed=1
  fi
done
[ "$failed" -eq 0 ] || exit 1

echo "== all green in $(($(date +%s) - start)) s"
