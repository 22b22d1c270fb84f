"""Benchmark of scheduled health checks: 10,000 setups, the HDP emulator, 1, 2 and 4 ``db_worker`` processes.

Not a test: it prints checks per second and HDP requests per check for each worker count. Every
byte goes to 127.0.0.1 (the emulator subprocess and a local token endpoint it refreshes at). The
database is a throwaway SQLite file (``--database-url`` takes a PostgreSQL URL instead; it must be
an empty database you may drop rows from). Each worker count is measured for ``--seconds`` (30 by
default) and the time for all setups extrapolated from it, so the run takes a few minutes.

    python scripts/bench_health.py [--setups 10000] [--seconds 30] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class TokenEndpoint(BaseHTTPRequestHandler):
    """The provider HDP refreshes with: always a fresh access token."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"access_token": "bench-access", "token_type": "Bearer"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--setups", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=30.0, help="measuring window per worker count")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-health-"))
    db_url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    emulator_port = free_port()
    hdp_url = f"http://127.0.0.1:{emulator_port}"
    env = {
        **os.environ,
        "PORTAL_ENV": "dev",
        "DATABASE_URL": db_url,
        "HDP_BASE_URL": hdp_url,
        "HEALTH_WEBHOOK_URL": "",
        "HEALTH_CHECK_JITTER_SECONDS": "0",
        "HEALTH_CHECK_CONCURRENCY": "64",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    os.environ.update({k: v for k, v in env.items() if k != "LOG_LEVEL"})
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult
    from pydantic import SecretStr

    from portal.accounts.models import User
    from portal.connections import health
    from portal.connections.models import ConnectionCheck, HealthSchedule
    from portal.hdp.client import HdpClient
    from portal.hdp.schemas import DataSourceCreate, OAuthAppCreate, OAuthProfileCreate
    from portal.onboarding.models import RemoteObject, Run
    from portal.sandbox.hdp.emulator import mock_transport
    from portal.sandbox.hdp.seed import seed_demo

    print(
        f"database: {'SQLite file ' + str(tmp) if not args.database_url else 'given URL'}; HDP emulator {hdp_url}"
    )
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    seed_demo()

    token = ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
    threading.Thread(target=token.serve_forever, daemon=True).start()
    token_uri = f"http://127.0.0.1:{token.server_address[1]}/token"

    # One application, profile and data source in the emulator, shared by every setup (each check
    # still reads all three and runs HDP's test, which refreshes at the token endpoint).
    hdp = HdpClient("http://hdp", "portal_svc", "portal-svc-sandbox-pw", on_behalf_of="acme_admin",
                    transport=mock_transport())  # fmt: skip
    app = hdp.create_oauth_app(
        OAuthAppCreate(name="bench_app", data_store=54, tenant_id=71, client_id="bench",
                       client_secret=SecretStr("bench-secret"), authorize_uri=token_uri, token_uri=token_uri)
    )  # fmt: skip
    profile = hdp.create_oauth_profile(
        OAuthProfileCreate(name="bench_profile", oauth_app_id=app.id, refresh_token=SecretStr("bench-rt"))
    )
    ds = hdp.create_datasource(
        DataSourceCreate(name="bench_ds", data_store=54, options={"OAuthProfileId": str(profile.id)})
    )
    owner, _ = User.objects.get_or_create(username="acme_admin", defaults={"hdp_tenant_id": 71})
    now = timezone.now()
    runs = [
        Run(owner=owner, tenant_id=71, tenant_name="Acme", datastore_id=54, ds_name=f"bench_{i}",
            status=Run.Status.COMPLETED, completed_at=now)
        for i in range(args.setups)
    ]  # fmt: skip
    Run.objects.bulk_create(runs, batch_size=1000)
    RemoteObject.objects.bulk_create(
        [
            RemoteObject(run=run, kind=kind, name=name, remote_id=rid, outcome=RemoteObject.Outcome.CREATED)
            for run in runs
            for kind, name, rid in (("app", app.name, app.id), ("profile", profile.name, profile.id),
                                    ("datasource", ds.name, ds.id))
        ],
        batch_size=3000,
    )  # fmt: skip
    print(f"seeded {args.setups} setups in {time.monotonic() - started:.0f} s")

    emulator = subprocess.Popen(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", "hdp_emulator", "--port", str(emulator_port)],
        cwd=ROOT,
        env={**env, "LOG_LEVEL": "INFO"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    requests_seen = [0]

    def count_requests() -> None:
        assert emulator.stderr is not None
        for line in emulator.stderr:
            if "hdp-emulator " in line:
                requests_seen[0] += 1

    threading.Thread(target=count_requests, daemon=True).start()
    time.sleep(2)

    print(f"\n{'workers':>7} {'enqueue s':>9} {'checks/s':>9} {'HDP req/check':>13} {'est. all, s':>11}")
    try:
        for n in [int(w) for w in args.workers.split(",")]:
            DBTaskResult.objects.all().delete()
            ConnectionCheck.objects.all().delete()
            HealthSchedule.objects.all().delete()
            t = time.monotonic()
            enqueued = health.schedule_round()
            enqueue_s = time.monotonic() - t
            workers = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "manage.py",
                        "db_worker",
                        "--interval",
                        "0.05",
                        "--no-startup-delay",
                        "--no-reload",
                        "--verbosity",
                        "0",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
                for _ in range(n)
            ]
            try:
                deadline = time.monotonic() + 60
                while not ConnectionCheck.objects.filter(finished_at__isnull=False).exists():
                    if time.monotonic() > deadline:
                        raise SystemExit("no check finished within 60 s: is the emulator up?")
                    time.sleep(0.2)
                done0, req0, t0 = (
                    ConnectionCheck.objects.filter(finished_at__isnull=False).count(),
                    requests_seen[0],
                    time.monotonic(),
                )
                time.sleep(args.seconds)
                done1, req1, t1 = (
                    ConnectionCheck.objects.filter(finished_at__isnull=False).count(),
                    requests_seen[0],
                    time.monotonic(),
                )
            finally:
                for w in workers:
                    w.terminate()
                for w in workers:
                    w.wait(timeout=30)
            checks = done1 - done0
            rate = checks / (t1 - t0)
            per_check = (req1 - req0) / checks if checks else float("nan")
            print(
                f"{n:>7} {enqueue_s:>9.1f} {rate:>9.1f} {per_check:>13.2f} {enqueued / rate if rate else float('inf'):>11.0f}"
            )
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
        token.shutdown()
    print(
        f"\nEach worker count was measured for {args.seconds:.0f} s after its first check finished; "
        f"'est. all' extrapolates that rate to all {args.setups} setups (not measured end to end). "
        f"Total {time.monotonic() - started:.0f} s."
    )


if __name__ == "__main__":
    main()
