"""``/healthz``, ``/readyz`` and ``/metrics`` (docs/deploy.md "Operations").

They are answered by :class:`portal.ops.middleware.OpsEndpointsMiddleware` at the top of the stack,
before host validation, the HTTPS redirect, sessions and sign-in: a load balancer or a kubelet probes
the instance by its own address over plain HTTP, and a probe must not cost a session read. None of them
uses the Host header or says anything secret.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from functools import cache

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, CollectorRegistry, Gauge, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from portal.hdp.client import HdpClient
from portal.hdp.errors import HdpError
from portal.ops.collector import DomainCollector

logger = logging.getLogger("portal.ops")


def _json(data: dict[str, object], status: int = 200) -> HttpResponse:
    response = HttpResponse(json.dumps(data), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. No database, no HDP (a restart would not fix either)."""
    return _json({"status": "ok"})


@cache
def _leaf_migrations() -> tuple[tuple[str, str], ...]:
    """The newest migration of each app in this code (read from disk once per process, no query)."""
    return tuple(sorted(MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes()))


def _database() -> tuple[bool, str]:
    """(ready, detail): one query that also proves every app's newest migration is applied."""
    leaves = _leaf_migrations()
    match = Q()
    for app, name in leaves:
        match |= Q(app=app, name=name)
    try:
        applied = MigrationRecorder.Migration.objects.filter(match).count() if leaves else 0
    except DatabaseError as exc:
        # The class name only: a driver's message may carry the host or the user name.
        logger.warning("readyz: database unreachable (%s)", type(exc).__name__)
        connection.close()
        return False, "unreachable"
    if applied < len(leaves):
        return False, "migrations_pending"
    return True, "ok"


def _hdp() -> str:
    if settings.PORTAL_READYZ_HDP == "off" or not settings.HDP_BASE_URL:
        return "not_checked"
    try:
        with HdpClient(
            settings.HDP_BASE_URL,
            settings.HDP_SERVICE_USER,
            settings.HDP_SERVICE_PASSWORD,
            timeout=settings.PORTAL_READYZ_HDP_TIMEOUT,
        ) as client:
            client.healthcheck()
    except HdpError:
        return "unreachable"
    return "ok"


def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: the database answers and its migrations are applied; HDP is reported, and fails
    readiness only with ``PORTAL_READYZ_HDP=require``."""
    started = time.monotonic()
    db_ok, db_detail = _database()
    hdp = _hdp() if db_ok else "not_checked"
    ready = db_ok and (hdp == "ok" or settings.PORTAL_READYZ_HDP != "require")
    body: dict[str, object] = {
        "status": "ready" if ready else "not_ready",
        "database": db_detail,
        "hdp": hdp,
        "duration_ms": round((time.monotonic() - started) * 1000),
    }
    return _json(body, 200 if ready else 503)


def token_matches(request: HttpRequest) -> bool:
    """``Authorization: Bearer <PORTAL_METRICS_TOKEN>``, compared in constant time; never logged."""
    token = settings.PORTAL_METRICS_TOKEN
    if not token:
        return False
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_text() -> bytes:
    """Every worker's request/HDP/provider/consent metrics plus the domain numbers from the database."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        in_process = generate_latest(registry)
    else:
        in_process = generate_latest(REGISTRY)
    try:
        domain = CollectorRegistry()
        domain.register(DomainCollector())  # collects once here, to check it
        numbers = generate_latest(domain)
    except DatabaseError as exc:
        # The request/HDP numbers stay readable while the database is down; the gap says why.
        logger.warning("metrics: database numbers unavailable (%s)", type(exc).__name__)
        connection.close()
        numbers = b""
    up = CollectorRegistry()
    Gauge(
        "hdp_portal_database_metrics_up",
        "1 when this scrape could read the database numbers (setups, checks, tasks...), else 0.",
        registry=up,
    ).set(1 if numbers else 0)
    return in_process + numbers + generate_latest(up)


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format 0.0.4 (every Prometheus reads it); called only with the right token."""
    response = HttpResponse(metrics_text(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
