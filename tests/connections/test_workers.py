"""Done when: real ``manage.py db_worker`` processes, the HDP emulator over real HTTP, a real provider call.

Each test shares one database with its subprocesses: on PostgreSQL the test database itself; on
SQLite the (in-memory) test database is copied to a file for the test and the test's connection
switched to it, so workers, schedulers and the test see the same rows. The emulator is served over
HTTP from a thread of the test process; its data-source test refreshes at the application's token
URI, a local server (``receiver``) that answers ``invalid_grant`` while the grant is "revoked"
(what a provider answers once its refresh token rows are deleted). The same server records the
webhook. E-mail goes to the file backend, one file per message.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from portal.accounts.models import User
from portal.connections import checks, health
from portal.connections.models import ConnectionCheck, HealthSchedule, Notification, WebhookDelivery
from portal.connections.status import State
from portal.hdp.schemas import DataSourceCreate, OAuthAppCreate, OAuthProfileCreate
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp.seed import seed_demo
from portal.sandbox.hdp.wsgi import build_server
from tests.helpers.engine import make_client
from tests.helpers.receiver import Receiver, serve

ROOT = Path(__file__).resolve().parents[2]
# A Standard Webhooks secret (whsec_ + base64 of the key), as docs/deploy.md tells an operator to make one.
SECRET = "whsec_" + base64.b64encode(b"webhook-secret-for-the-worker-test").decode()
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


@pytest.fixture
def shared_db(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    """A DATABASE_URL the subprocesses can open, holding the very rows this test reads and writes."""
    if connection.vendor != "sqlite":
        s = connection.settings_dict
        yield f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
        return
    connection.ensure_connection()
    saved, saved_name = connection.connection, connection.settings_dict["NAME"]
    path = tmp_path / "portal.sqlite3"
    copy = sqlite3.connect(path)
    saved.backup(copy)
    copy.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the workers' writes
    copy.close()
    connection.connection = None
    connection.settings_dict["NAME"] = str(path)
    try:
        yield f"sqlite:///{path}"
    finally:
        connection.close()
        connection.settings_dict["NAME"] = saved_name
        connection.connection = saved


@pytest.fixture
def emulator(shared_db: str) -> Iterator[str]:
    server = build_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def provider_and_hook() -> Iterator[Receiver]:
    with serve() as server:
        yield server


@pytest.fixture
def stack(shared_db, emulator, provider_and_hook, tmp_path, settings):
    settings.HDP_BASE_URL = emulator
    settings.HDP_TRANSPORT_FACTORY = None
    settings.HEALTH_CHECK_JITTER = 0
    settings.HEALTH_CHECK_INTERVAL = 1  # due again a second after each check: one round = one check
    settings.HEALTH_CHECK_LEASE = 3
    mail_dir = tmp_path / "mail"
    env = {
        **os.environ,
        "PORTAL_ENV": "dev",
        "DATABASE_URL": shared_db,
        "HDP_BASE_URL": emulator,
        "PORTAL_BASE_URL": "http://127.0.0.1:8000",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "HEALTH_WEBHOOK_URL": provider_and_hook.url + "/hook",
        "HEALTH_WEBHOOK_SECRET": SECRET,
        "HEALTH_CHECK_JITTER_SECONDS": "0",
        "HEALTH_CHECK_INTERVAL_SECONDS": "1",
        "HEALTH_CHECK_LEASE_SECONDS": "3",
        "CONNECTION_CHECK_TIMEOUT_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    procs: list[subprocess.Popen[bytes]] = []

    class Stack:
        receiver = provider_and_hook

        def manage(self, *args: str) -> subprocess.Popen[bytes]:
            proc = subprocess.Popen(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            procs.append(proc)
            return proc

        def worker(self) -> subprocess.Popen[bytes]:
            return self.manage("db_worker", "--interval", "0.1", "--no-startup-delay", "--no-reload")

        def emails(self) -> list[str]:
            return [p.read_text() for p in sorted(mail_dir.glob("*.log"))] if mail_dir.exists() else []

    yield Stack()
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def until(condition: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or condition}")


def make_setup(token_uri: str, name: str = "acme_ga") -> Run:
    """A completed setup whose application refreshes at ``token_uri``, as the wizard leaves it."""
    hdp_client = make_client()
    app = hdp_client.create_oauth_app(
        OAuthAppCreate(
            name=f"{name}_app",
            data_store=54,
            tenant_id=71,
            client_id="their-client",
            client_secret=SecretStr("their-secret"),
            authorize_uri=token_uri.replace("/token", "/authorize"),
            token_uri=token_uri,
        )
    )
    profile = hdp_client.create_oauth_profile(
        OAuthProfileCreate(name=f"{name}_profile", oauth_app_id=app.id, refresh_token=SecretStr("rt-1"))
    )
    ds = hdp_client.create_datasource(
        DataSourceCreate(name=name, data_store=54, options={"OAuthProfileId": str(profile.id)})
    )
    owner, _ = User.objects.get_or_create(
        username="acme_admin", defaults={"hdp_tenant_id": 71, "email": "ada@acme.example"}
    )
    run = Run.objects.create(
        owner=owner,
        tenant_id=71,
        tenant_name="Acme",
        datastore_id=54,
        datastore_name="Google Analytics",
        ds_name=name,
        app_name=app.name,
        profile_name=profile.name,
        status=Run.Status.COMPLETED,
        completed_at=timezone.now(),
    )
    for kind, obj in (("app", app), ("profile", profile), ("datasource", ds)):
        RemoteObject.objects.create(
            run=run, kind=kind, name=obj.name, remote_id=obj.id, outcome=RemoteObject.Outcome.CREATED
        )
    return run


def one_round_checked(run: Run, count: int) -> ConnectionCheck:
    """Run a scheduler round and wait for the worker to finish the setup's ``count``-th check."""
    time.sleep(1.1)  # HEALTH_CHECK_INTERVAL: the setup is due again
    assert health.schedule_round() == 1
    until(
        lambda: ConnectionCheck.objects.filter(run=run, finished_at__isnull=False).count() >= count,
        what=f"check {count}",
    )
    return ConnectionCheck.objects.filter(run=run).order_by("-finished_at").first()  # type: ignore[return-value]


def verify(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """What a receiver does: the standardwebhooks library's own verification (raises if it fails)."""
    return Webhook(SECRET).verify(body, headers)  # type: ignore[no-any-return]


def test_a_revoked_grant_is_told_once_and_its_recovery_once(stack):
    seed_demo()
    run = make_setup(stack.receiver.url + "/token")
    stack.worker()
    assert one_round_checked(run, 1).state == State.WORKING
    assert stack.emails() == [] and stack.receiver.hooks == []

    stack.receiver.revoked = True
    assert one_round_checked(run, 2).state == State.NEEDS_RECONNECT
    until(lambda: WebhookDelivery.objects.filter(status="delivered").count() == 1, what="webhook 1")
    until(lambda: len(stack.emails()) == 1, what="e-mail 1")
    assert one_round_checked(run, 3).state == State.NEEDS_RECONNECT  # still revoked: no second message

    stack.receiver.revoked = False  # the admin reconnected
    assert one_round_checked(run, 4).state == State.WORKING
    until(lambda: WebhookDelivery.objects.filter(status="delivered").count() == 2, what="webhook 2")
    until(lambda: len(stack.emails()) == 2, what="e-mail 2")
    time.sleep(0.5)  # nothing else arrives late
    broke, recovered = stack.emails()
    assert "Needs reconnect" in broke and "refused to refresh" in broke and f"/setup/{run.pk}/" in broke
    assert "working again" in recovered and "ada@acme.example" in recovered
    assert "rt-1" not in broke + recovered and "their-secret" not in broke + recovered
    assert len(stack.receiver.hooks) == 2
    for hook, event in zip(stack.receiver.hooks, ("connection.broke", "connection.recovered"), strict=True):
        verified = verify(hook.headers, hook.body)
        assert verified["type"] == event and json.loads(hook.body)["data"]["event"] == event
    assert Notification.objects.filter(email_status="sent").count() == 2


def test_two_schedulers_at_once_enqueue_each_setup_once(stack):
    seed_demo()
    runs = [make_setup(stack.receiver.url + "/token", name=f"ds_{i}") for i in range(30)]
    first, second = stack.manage("schedule_health_checks"), stack.manage("schedule_health_checks")
    for proc in (first, second):
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    from django_tasks_db.models import DBTaskResult

    queued = [r.args_kwargs["args"][0] for r in DBTaskResult.objects.all()]
    assert sorted(queued) == sorted(str(r.pk) for r in runs)
    assert HealthSchedule.objects.exclude(claim="").count() == 30


def test_a_worker_killed_mid_check_leaves_no_setup_stuck(stack):
    seed_demo()
    run = make_setup(stack.receiver.url + "/token")
    stack.receiver.token_delay = 30  # the provider hangs: the worker is mid-check
    assert health.schedule_round() == 1
    victim = stack.worker()
    until(lambda: checks.status_for(run).state == State.CHECKING, what="the check to start")
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    stack.receiver.token_delay = 0
    until(lambda: checks.status_for(run).state != State.CHECKING, timeout=10, what="the check to expire")
    stack.worker()
    time.sleep(3.1)  # HEALTH_CHECK_LEASE: the killed task's claim runs out
    assert health.schedule_round() == 1
    until(lambda: checks.status_for(run).state == State.WORKING, what="the next round's check")
    stuck = ConnectionCheck.objects.filter(run=run).order_by("started_at").first()
    assert stuck is not None and stuck.abandoned and stuck.finished_at is not None
