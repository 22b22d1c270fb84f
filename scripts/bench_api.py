"""``make bench``'s API lines: ``GET /api/v1/setups`` (a page of 100) at 10,000 setups against the bare
signed-in view, its SQL query count at 100 and at 10,000 setups, and what token authentication costs
over session authentication.

The portal runs as in production (gunicorn + gunicorn.conf.py, one worker) on a throwaway database
(PostgreSQL when its binaries exist, as scripts/bench.py; else SQLite, said in the output). The
setups, the person, the session and the token are written straight into the database by this
script's ``--seed`` part (a Django process on the same database): no HDP call is needed, the token's
and the session's HDP re-checks are fresh. Not a test: it prints verdicts and exits 0 whenever it
could measure.
"""

# ruff: noqa: S603 - a local benchmark that starts its own server with fixed argv
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "scripts"))
from bench import free_port, pct, start_postgres, stop_postgres, verdict, wait_http  # noqa: E402

PY = sys.executable


# --- the Django part (run as a subprocess with the server's settings and database) -----------------
def seed(total: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from portal.accounts import recheck
    from portal.accounts.models import User
    from portal.api import tokens
    from portal.connections.models import ConnectionCheck
    from portal.onboarding.models import RemoteObject, Run

    person, _ = User.objects.get_or_create(
        username="acme_admin",
        defaults={
            "hdp_user_id": 4,
            "hdp_tenant_id": 71,
            "hdp_tenant_name": "Acme",
            "hdp_tenants_administered": [{"id": 71, "name": "Acme"}],
            "hdp_permissions": [12],
        },
    )
    have = Run.objects.filter(owner=person).count()
    now = timezone.now()
    runs = [
        Run(
            owner=person,
            status=Run.Status.COMPLETED,
            tenant_id=71,
            tenant_name="Acme",
            datastore_id=54,
            datastore_name="Google Analytics",
            app_name=f"bench_{i}_app",
            profile_name=f"bench_{i}_profile",
            ds_name=f"bench_{i}",
            granted_scope="openid offline_access",
            completed_at=now,
        )
        for i in range(have, total)
    ]
    Run.objects.bulk_create(runs, batch_size=1000)
    objects = [
        RemoteObject(run=run, kind=kind, name=f"{run.ds_name}_{kind}", remote_id=n, outcome="created")
        for run in runs
        for n, kind in enumerate(("app", "profile", "datasource"), start=1)
    ]
    RemoteObject.objects.bulk_create(objects, batch_size=3000)
    ConnectionCheck.objects.bulk_create(
        [
            ConnectionCheck(
                run=run, trigger="scheduled", started_at=now, expires_at=now, finished_at=now,
                state="working" if i % 10 else "needs_reconnect",
                cause="test_passed" if i % 10 else "refresh_refused",
            )
            for i, run in enumerate(runs)
        ],
        batch_size=1000,
    )  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # planner statistics, as autovacuum keeps them in a live database
    _row, token = tokens.create(person, name="bench", scopes=["setups:read"], days=1, is_support=False)
    session = SessionStore()
    session[SESSION_KEY] = str(person.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = person.get_session_auth_hash()
    session[recheck.CHECKED_KEY] = time.time() + 3600  # no HDP re-check during the bench
    session.create()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get("/api/v1/setups?limit=100")  # the token's once-a-minute last-used write, outside the count
    with CaptureQueriesContext(connection) as queries:
        answer = client.get("/api/v1/setups?limit=100")
    query_count = len(queries)  # now: the log is a bounded deque that later queries rotate
    assert answer.status_code == 200, answer.content[:300]
    from portal.api import setups
    from portal.connections import checks

    def clock(call: Any) -> float:
        call()
        start = time.perf_counter()
        for _ in range(5):
            call()
        return (time.perf_counter() - start) * 200

    rows = setups.page(person, state=None, tenant=None, store=None, cursor=None, limit=100)[0]
    ids = [r.pk for r in rows]
    parts = {
        # The page's one query: its rows with their statuses, HDP ids and last passing checks.
        "page (rows, statuses, hdp ids, forecasts)": clock(
            lambda: setups.page(person, state=None, tenant=None, store=None, cursor=None, limit=100)
        ),
        "statuses_for (other pages)": clock(lambda: checks.statuses_for(ids)),
        "whole answer (test client)": clock(lambda: client.get("/api/v1/setups?limit=100")),
    }
    return {
        "parts": parts,
        "token": token,
        "session": session.session_key,
        "cookie": settings.SESSION_COOKIE_NAME,
        "queries": query_count,
        "setups": Run.objects.count(),
    }


def auth_cost(samples: int) -> dict[str, float]:
    """In-process: token authentication (portal/api/auth.py) vs session authentication (the session
    and auth middleware's user lookup), each on a fresh request, p50 in ms."""
    import django

    django.setup()
    from django.contrib.auth import get_user
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory
    from django.utils import timezone

    from portal.api.auth import TokenAuth
    from portal.api.models import ApiToken

    token_value = os.environ["BENCH_TOKEN"]
    session_key = os.environ["BENCH_SESSION"]
    from django.conf import settings

    factory, auth = RequestFactory(), TokenAuth()
    ApiToken.objects.update(last_used_at=timezone.now())
    token_ms, bare_token_ms, session_ms = [], [], []
    limit = settings.API_RATELIMIT_PER_MINUTE
    for _ in range(samples):
        request = factory.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token_value}")
        start = time.perf_counter()
        auth(request)
        token_ms.append((time.perf_counter() - start) * 1000)
        settings.API_RATELIMIT_PER_MINUTE = 0
        request = factory.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token_value}")
        start = time.perf_counter()
        auth(request)
        bare_token_ms.append((time.perf_counter() - start) * 1000)
        settings.API_RATELIMIT_PER_MINUTE = limit
        request = factory.get("/bench/bare/")
        start = time.perf_counter()
        request.session = SessionStore(session_key)
        user = get_user(request)
        assert user.is_authenticated
        session_ms.append((time.perf_counter() - start) * 1000)
    return {
        "token": statistics.median(token_ms),
        "token_without_limit": statistics.median(bare_token_ms),
        "session": statistics.median(session_ms),
    }


# --- the HTTP part ----------------------------------------------------------------------------------
def timed(client: httpx.Client, path: str, samples: int, **headers: str) -> list[float]:
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        answer = client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"bench_api: {path} answered {answer.status_code}: {answer.text[:200]}")
    return times


def django_part(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [PY, __file__, *args], cwd=HERE, env=env, check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--auth-cost", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--setups", type=int, default=10_000)
    args = parser.parse_args()
    if args.seed is not None:
        print(json.dumps(seed(args.seed)))
        return 0
    if args.auth_cost is not None:
        print(json.dumps(auth_cost(args.auth_cost)))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    server = None
    database = start_postgres(tmp)
    engine = "PostgreSQL" if database else "SQLite"
    database = database or f"sqlite:///{tmp / 'db.sqlite3'}"
    port = free_port()
    env = {
        **os.environ,
        "PORTAL_ENV": "dev",
        "DATABASE_URL": database,
        "DB_CONN_MAX_AGE": "60",
        "PORT": str(port),
        "PORTAL_BENCH_VIEWS": "1",
        "API_RATELIMIT_PER_MINUTE": str(10**9),  # counted (its SQL is part of the cost), never reached
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PYTHONPATH": str(HERE),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "4",
    }
    try:
        subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=HERE, env=env, check=True)
        small = django_part(env, "--seed", "100")
        big = django_part(env, "--seed", str(args.setups))
        server = subprocess.Popen(
            [PY, "-m", "gunicorn", "-c", "gunicorn.conf.py", "portal.wsgi:application"],
            cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/accounts/login/")
        with httpx.Client(base_url=base, timeout=60) as client:
            client.cookies.set(big["cookie"], big["session"])
            bearer = {"Authorization": f"Bearer {big['token']}"}
            timed(client, "/bench/bare/", 10)
            timed(client, "/api/v1/setups?limit=100", 5, **bearer)
            bare = timed(client, "/bench/bare/", args.samples)
            page = timed(client, "/api/v1/setups?limit=100", args.samples, **bearer)
            client.cookies.clear()
            me = timed(client, "/api/v1/me", args.samples, **bearer)
        cost = django_part({**env, "BENCH_TOKEN": big["token"], "BENCH_SESSION": big["session"]},
                           "--auth-cost", str(args.samples * 2))  # fmt: skip
        bare50, page50 = statistics.median(bare), statistics.median(page)
        print(f"\nAPI ({engine}, gunicorn 1 worker; {big['setups']} setups, {args.samples} samples each)")
        print(f"  bare signed-in view            p50 {bare50:6.1f} ms  p99 {pct(bare, 99):6.1f} ms")
        print(
            f"  GET /api/v1/setups (100 rows)  p50 {page50:6.1f} ms  p99 {pct(page, 99):6.1f} ms  "
            f"{page50 / bare50:.2f}x bare (target 3x: {verdict(page50 <= 3 * bare50)})"
        )
        print(
            f"  GET /api/v1/me (token)         p50 {statistics.median(me):6.1f} ms  p99 {pct(me, 99):6.1f} ms"
        )
        print(
            f"  SQL queries per page: {small['queries']} at {small['setups']} setups, {big['queries']} at "
            f"{big['setups']} ({verdict(small['queries'] == big['queries'])}: independent of the number)"
        )
        extra = cost["token"] - cost["session"]
        print(
            f"  token auth p50 {cost['token']:.2f} ms vs session auth p50 {cost['session']:.2f} ms: "
            f"+{extra:.2f} ms (target <= 2 ms: {verdict(extra <= 2)}); without the per-token rate limit's "
            f"counter {cost['token_without_limit']:.2f} ms"
        )
        print(
            "  in-process parts of the page (ms): "
            + ", ".join(f"{k} {v:.1f}" for k, v in big["parts"].items())
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if engine == "PostgreSQL":
            stop_postgres(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
