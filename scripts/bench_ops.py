"""``make bench`` (operations part, issue 23): what ``/metrics`` costs and what tracing costs.

1. Seeds 10,000 completed setups (one stored check each, a mix of statuses, 50 tenants), some
   notifications, webhook deliveries and queued tasks, then times the domain part of a scrape
   in-process (median of 20, with the number of SQL queries) and a whole ``/metrics`` scrape over HTTP
   against gunicorn (2 workers). Target: under 200 ms, a fixed number of queries.
2. Portals side by side on the same database and the same HDP emulator (its own process): one
   untraced, one with ``OTEL_EXPORTER_OTLP_ENDPOINT`` at a closed port (the collector is down), and a
   second untraced one whose difference from the first is the machine's noise. The same signed-in
   pages are requested from all, interleaved, in the same run; traced must stay within 10% of
   untraced (the batching exporter drops spans, it never slows a request).

Not a test: prints figures and verdicts ("holds" / "falls short"), exits 0 whenever it could measure.
127.0.0.1 only; a throwaway PostgreSQL cluster when its binaries exist, else SQLite (said in the output).
``--quick`` takes fewer samples.
"""

# ruff: noqa: S603, SIM115 - a local benchmark that starts its own servers with fixed argv
from __future__ import annotations

import argparse
import contextlib
import glob
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent.parent
PY = sys.executable
TOKEN = "bench-metrics-token"
SETUPS = 10_000
PAGES = ("/", "/setup/new/", "/connections/notifications/")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"bench_ops: {url} did not answer in {seconds:.0f} s")


def _pg(cmd: str) -> None:
    root = os.getuid() == 0
    subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", cmd] if root else ["sh", "-c", cmd], check=True)


def start_postgres(tmp: Path) -> str | None:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins:
        return None
    port = free_port()
    if os.getuid() == 0:
        shutil.chown(tmp, "postgres")
    _pg(
        f"{bins[-1]}/initdb -D {tmp / 'pg'} -A trust -U postgres >/dev/null && {bins[-1]}/pg_ctl -D {tmp / 'pg'} "
        f"-o '-k {tmp} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off -c max_connections=200' "
        f"-l {tmp}/pg.log -w start >/dev/null"
    )
    return f"postgres://postgres@127.0.0.1:{port}/postgres"


def stop_postgres(tmp: Path) -> None:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if bins and (tmp / "pg").exists():
        with contextlib.suppress(subprocess.CalledProcessError):
            _pg(f"{bins[-1]}/pg_ctl -D {tmp / 'pg'} -m fast stop >/dev/null 2>&1")


def seed(count: int) -> None:
    """10,000 completed setups of 50 tenants, each with one finished check; notifications, deliveries, tasks."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from portal.accounts.models import User
    from portal.connections.models import ConnectionCheck, Notification, WebhookDelivery
    from portal.onboarding.models import Run

    owner, _ = User.objects.get_or_create(username="bench_ops_owner", defaults={"hdp_tenant_id": 71})
    now = timezone.now()
    runs = Run.objects.bulk_create(
        [
            Run(owner=owner, tenant_id=1000 + i % 50, datastore_id=54, preset="sandbox", app_name=f"Ops_app_{i}",
                profile_name=f"Ops_profile_{i}", ds_name=f"ops_{i}", status=Run.Status.COMPLETED, completed_at=now)
            for i in range(count)
        ],
        batch_size=1000,
    )  # fmt: skip
    states = ["working"] * 7 + ["needs_reconnect", "broken", "hdp_unavailable"]
    checks = ConnectionCheck.objects.bulk_create(
        [
            ConnectionCheck(run=run, trigger="scheduled", started_at=now, expires_at=now + timedelta(minutes=5),
                            finished_at=now, state=states[i % len(states)], cause="test_passed")
            for i, run in enumerate(runs[: count - count // 20])  # 5% never checked
        ],
        batch_size=1000,
    )  # fmt: skip
    notes = Notification.objects.bulk_create(
        [
            Notification(run=check.run, found_by=check, kind="broke", state=check.state, created_at=now,
                         email_status="sent")
            for check in checks if check.state != "working"
        ][:500],
        batch_size=500,
    )  # fmt: skip
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(notification=n, host="hooks.example", status="delivered", created_at=now)
            for n in notes
        ]
    )
    DBTaskResult.objects.bulk_create(
        [
            DBTaskResult(args_kwargs={"args": [], "kwargs": {}}, task_path="portal.connections.tasks.check_setup",
                         backend_name="default", queue_name="default", run_after=now - timedelta(seconds=i),
                         status="READY")
            for i in range(100)
        ]
    )  # fmt: skip


def scrape_in_process(samples: int) -> dict[str, float]:
    """The database numbers of a scrape, computed (the cache missed) and read from the cache."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from portal.ops.collector import DomainCollector
    from portal.ops.views import metrics_text

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does after a bulk load
    DomainCollector().compute()  # warm: imports, plans
    out: dict[str, float] = {}
    for name, measure in (("computed", lambda: DomainCollector().compute()), ("cached", metrics_text)):
        times, queries = [], 0
        for _ in range(samples):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                measure()
                times.append((time.perf_counter() - started) * 1000)
            # BEGIN/COMMIT of the computation's transaction are not statements
            queries = len([q for q in ctx.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")])
        out[f"{name}_ms"], out[f"{name}_queries"] = statistics.median(times), queries
        out[f"{name}_max_ms"] = max(times)
    return out


def sign_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    client.get("/accounts/login/")
    r = client.post(
        "/accounts/login/",
        data={"username": "acme_admin", "password": "acme-admin-sandbox-pw",
              "csrfmiddlewaretoken": client.cookies.get("csrftoken") or ""},
        headers={"Referer": base + "/accounts/login/"},
    )  # fmt: skip
    if r.status_code != 302:
        raise SystemExit(f"bench_ops: sign-in failed ({r.status_code})")
    return client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    args = parser.parse_args()
    samples = 8 if args.quick else 50
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-ops-"))
    procs: list[subprocess.Popen[bytes]] = []
    started_all = time.monotonic()
    try:
        try:
            db_url = start_postgres(tmp) or f"sqlite:///{tmp / 'bench.sqlite3'}"
        except subprocess.CalledProcessError:
            db_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        emu_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PORTAL_ENV"))}
        env.update(
            DATABASE_URL=db_url,
            HDP_BASE_URL=f"http://127.0.0.1:{emu_port}",
            DJANGO_SETTINGS_MODULE="portal.settings",
            GUNICORN_WORKERS="2",
            PORTAL_HASHED_STATIC="0",
            LOG_LEVEL="WARNING",
            DB_CONN_MAX_AGE="60",
            HDP_STORE_CACHE_SECONDS="0",  # "/setup/new/" asks HDP for its store list on every request
            PORTAL_METRICS_TOKEN=TOKEN,
            PORTAL_METRICS_CACHE_SECONDS="0",  # over HTTP: every scrape computes (the worst case)
        )
        print(f"database: {'PostgreSQL (throwaway cluster)' if db_url.startswith('postgres') else 'SQLite'}")

        def manage(*command: str) -> None:
            subprocess.run([PY, "manage.py", *command], cwd=HERE, env=env, check=True, capture_output=True)

        manage("migrate", "--noinput")
        manage("seed_sandbox")

        # 1. The scrape at 10,000 setups, in-process (this process, same database).
        os.environ.update({k: v for k, v in env.items() if k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")})
        sys.path.insert(0, str(HERE))
        import django

        django.setup()
        seed(SETUPS)
        scrape = scrape_in_process(samples)
        from django.db import connections

        connections.close_all()

        procs.append(
            subprocess.Popen([PY, "manage.py", "hdp_emulator", "--port", str(emu_port)], cwd=HERE, env=env,
                             stdout=subprocess.DEVNULL, stderr=open(tmp / "emu.log", "wb"))
        )  # fmt: skip
        bases = {}
        for name, extra in (
            ("untraced", {}),
            ("traced", {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}"}),
            # A second untraced instance: the difference between two identical ones is this machine's noise.
            ("untraced-2", {}),
        ):
            port = free_port()
            server_env = {**env, **extra, "GUNICORN_BIND": f"127.0.0.1:{port}", "PORT": str(port),
                          "PROMETHEUS_MULTIPROC_DIR": str(tmp / f"metrics-{name}")}  # fmt: skip
            procs.append(
                subprocess.Popen([PY, "-m", "gunicorn", "-c", str(HERE / "gunicorn.conf.py"), "portal.wsgi:application"],
                                 cwd=HERE, env=server_env, stdout=subprocess.DEVNULL,
                                 stderr=open(tmp / f"gunicorn-{name}.log", "wb"))
            )  # fmt: skip
            bases[name] = f"http://127.0.0.1:{port}"
        wait_http(f"http://127.0.0.1:{emu_port}/api/mgmt/user")
        for base in bases.values():
            wait_http(base + "/healthz")

        scrape_ms = []
        with httpx.Client(base_url=bases["untraced"], timeout=30) as c:
            for _ in range(3):
                c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            for _ in range(samples):
                started = time.perf_counter()
                r = c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
                scrape_ms.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 200, r.status_code
        http_ms = statistics.median(scrape_ms)

        # 2. Traced (collector down) vs untraced: the same pages, interleaved, same run.
        clients = {name: sign_in(base) for name, base in bases.items()}
        for client in clients.values():
            for _ in range(5):  # warm both workers of each
                for page in PAGES:
                    client.get(page)
        times: dict[str, dict[str, list[float]]] = {n: {p: [] for p in PAGES} for n in clients}
        for _ in range(samples):
            for page in PAGES:
                for name, client in clients.items():
                    started = time.perf_counter()
                    r = client.get(page)
                    times[name][page].append((time.perf_counter() - started) * 1000)
                    assert r.status_code == 200, (name, page, r.status_code)

        print(f"\n== /metrics at {SETUPS:,} setups (PostgreSQL after ANALYZE), median of {samples}")
        print(f"database numbers computed in-process: {scrape['computed_ms']:.1f} ms (max {scrape['computed_max_ms']:.1f}), "
              f"{scrape['computed_queries']:.0f} SQL statements")  # fmt: skip
        print(f"scrape within PORTAL_METRICS_CACHE_SECONDS (cache hit): {scrape['cached_ms']:.1f} ms, "
              f"{scrape['cached_queries']:.0f} SQL statement")  # fmt: skip
        print(
            f"whole scrape over HTTP, computed every time (gunicorn, 2 workers): {http_ms:.1f} ms (max {max(scrape_ms):.1f})"
        )
        verdict = "holds" if http_ms < 200 and scrape["computed_ms"] < 200 else "falls short"
        print(f"target: under 200 ms with a bounded number of queries: {verdict}")
        print("\n== tracing on (OTLP endpoint at a closed port) vs off, same run, median ms")
        worst = 0.0
        for page in PAGES:
            off = statistics.median(times["untraced"][page])
            on = statistics.median(times["traced"][page])
            worst = max(worst, on / off - 1)
            print(f"{page:32s} untraced {off:7.1f}   traced {on:7.1f}   {100 * (on / off - 1):+5.1f}%")
        total_off = sum(statistics.median(times["untraced"][p]) for p in PAGES)
        total_on = sum(statistics.median(times["traced"][p]) for p in PAGES)
        overall = total_on / total_off - 1
        print(
            f"{'all pages':32s} untraced {total_off:7.1f}   traced {total_on:7.1f}   {100 * overall:+5.1f}%"
        )
        total_same = sum(statistics.median(times["untraced-2"][p]) for p in PAGES)
        print(
            f"{'noise (untraced vs untraced-2)':32s} untraced {total_off:7.1f}   untraced-2 {total_same:7.1f}   "
            f"{100 * (total_same / total_off - 1):+5.1f}%"
        )
        print(
            f"target: within 10%: {'holds' if overall <= 0.10 else 'falls short'} (worst page {100 * worst:+.1f}%)"
        )
        print(f"\nbench_ops took {time.monotonic() - started_all:.0f} s")
        return 0
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        stop_postgres(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
