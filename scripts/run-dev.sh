#!/usr/bin/env bash
# `make run`: the portal, one background worker and the health-check scheduler, stopped together by Ctrl-C.
# Development only (production runs each as its own service: docs/deploy.md "Health checks").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
# Sandbox: check each setup every two minutes so a revoked grant shows quickly (production: 24 h).
export HEALTH_CHECK_INTERVAL_SECONDS=${HEALTH_CHECK_INTERVAL_SECONDS:-120}
export HEALTH_CHECK_JITTER_SECONDS=${HEALTH_CHECK_JITTER_SECONDS:-10}
export SCHEDULE_EVERY=${SCHEDULE_EVERY:-30}
# Sandbox: warn of a lapsing sign-in 5 and 2 minutes ahead too, so a 10-minute refresh token shows the walk
# (README "See a lapse coming"; production: 14, 3 and 1 days).
export FORESIGHT_WARN_BEFORE_SECONDS=${FORESIGHT_WARN_BEFORE_SECONDS:-1209600,259200,86400,300,120}

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

$PY manage.py runserver "127.0.0.1:$PORT" &
pids+=($!)
# E-mails are printed here by the console backend (EMAIL_BACKEND overrides).
$PY manage.py db_worker --no-reload --interval 1 &
pids+=($!)
# The scheduler is a one-shot command (cron in production); here a shell loop runs it.
( while sleep "$SCHEDULE_EVERY"; do $PY manage.py schedule_health_checks --verbosity 0 || true; done ) &
pids+=($!)
echo "Portal on http://127.0.0.1:$PORT, a task worker and the health scheduler (every ${SCHEDULE_EVERY}s). Ctrl-C stops all three."
# Exit (and stop the others) as soon as any of them stops.
wait -n
