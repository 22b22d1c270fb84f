"""gunicorn settings for the portal (``gunicorn -c gunicorn.conf.py portal.wsgi:application``).

Why threads (gthread): most of a page's time is spent waiting on HDP (up to the read timeout when HDP
hangs), not on CPU. With sync workers, one slow HDP call per worker stalls every other person; with
threads a worker keeps serving while some of its threads wait. Sizing (docs/deploy.md, "Workers"):
``workers = 2 x cores + 1`` for CPU, ``threads`` for the waiting; each thread may hold one PostgreSQL
connection (persistent, ``DB_CONN_MAX_AGE``), so workers x threads must stay under max_connections.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn import glogging

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
# 32: a hung HDP holds a thread for up to HDP_READ_TIMEOUT_MS, and 50 such waits must leave threads
# free for everyone else (with 16 x 3 workers the 49th hung call queued the other pages; make bench).
threads = int(os.environ.get("GUNICORN_THREADS", 32))
# Above the worst HDP wait a page can make (read timeout plus one retry), so gunicorn never kills a
# worker that is only waiting for HDP.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (bounded memory growth), jittered so they do not restart together.
max_requests = 5000
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None

# Prometheus metrics of all workers (portal/lib/metrics.py): prometheus-client's multiprocess mode. Each
# worker writes its counters and histograms to files in this directory and /metrics sums them, so a
# scrape counts every worker's requests. The directory belongs to this gunicorn: emptied at start (no
# counts from an earlier run), and a worker's live gauges are dropped when it exits.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hdp-portal-metrics-")


def on_starting(server: Any) -> None:
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # prometheus-client's files only, whatever else is there
        stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


class RedactingLogger(glogging.Logger):
    """gunicorn's logger with every access-log line passed through portal.lib.logging.redact: a
    handoff link's path (/oauth/h/<token>/, issue 19) or a callback's code never reaches the log."""

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        from portal.lib.logging import redact

        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


logger_class = RedactingLogger
