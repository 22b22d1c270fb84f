"""Issue 22 "Done when": real ``manage.py db_worker`` processes, the HDP emulator over real HTTP, and the
sandbox provider (the portal itself, served from a thread) issuing 10-minute refresh tokens.

The consent is made 9 min 35 s "ago" (freezegun on the test process, where the provider runs), so its
refresh tokens end about 25 s from now in real time, as the provider said (``refresh_token_expires_in:
600``). The warning offsets are scaled down to 15 and 8 seconds (FORESIGHT_WARN_BEFORE). Scheduler
rounds run in the test process (``health.schedule_round``), as cron would run them; the worker sends
the e-mails (file backend) and the signed webhooks (a local receiver) and runs the checks.

The database is shared with the subprocesses as in tests/connections/test_workers.py (a copy of the
SQLite test database in a file, or the PostgreSQL test database itself).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from portal.accounts.models import User
from portal.connections import foresight, health, notify
from portal.connections.models import ConnectionCheck, Notification
from portal.connections.status import State
from portal.oauth import client as oauth_client
from portal.oauth.snapshot import FlowSnapshot
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp.emulator import mock_transport
from portal.sandbox.hdp.models import OAuthProfile
from portal.sandbox.hdp.seed import seed_demo
from portal.sandbox.hdp.wsgi import build_server
from portal.sandbox.provider import lifetimes, seed
from tests.helpers.pkce import make_pkce
from tests.helpers.receiver import Receiver, serve
from tests.helpers.sandbox import PASSWORDS
from tests.helpers.sandbox_provider import authorize_url, callback_params, sign_in_and_consent

ROOT = Path(__file__).resolve().parents[2]
SECRET = "webhook-secret-for-the-foresight-test"
REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback/Sandbox_app/"
AUTONOMOUS_REST = 63
SCOPE = "openid read offline_access"
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def shared_db(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    if connection.vendor != "sqlite":
        s = connection.settings_dict
        yield f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
        return
    connection.ensure_connection()
    saved, saved_name = connection.connection, connection.settings_dict["NAME"]
    path = tmp_path / "portal.sqlite3"
    copy = sqlite3.connect(path)
    saved.backup(copy)
    copy.execute("PRAGMA journal_mode=WAL")
    copy.close()
    connection.connection = None
    connection.settings_dict["NAME"] = str(path)
    try:
        yield f"sqlite:///{path}"
    finally:
        connection.close()
        connection.settings_dict["NAME"] = saved_name
        connection.connection = saved


def _thread(server: Any) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def stack(shared_db: str, tmp_path: Path, settings: Any) -> Iterator[Any]:
    hdp_server = build_server("127.0.0.1", 0)
    portal_server = make_server("127.0.0.1", 0, WSGIHandler(), server_class=WSGIServer, handler_class=_Quiet)
    _thread(hdp_server)
    _thread(portal_server)
    emulator = f"http://127.0.0.1:{hdp_server.server_address[1]}"
    portal = f"http://127.0.0.1:{portal_server.server_address[1]}"
    settings.SANDBOX_ENABLED = True
    settings.PORTAL_BASE_URL = portal
    settings.HDP_BASE_URL = emulator
    settings.HDP_TRANSPORT_FACTORY = None
    settings.HEALTH_CHECK_JITTER = 0
    settings.HEALTH_CHECK_INTERVAL = 1
    settings.HEALTH_CHECK_LEASE = 3
    settings.FORESIGHT_WARN_BEFORE = [15, 8]
    mail_dir = tmp_path / "mail"
    procs: list[subprocess.Popen[bytes]] = []
    with serve() as receiver:
        settings.HEALTH_WEBHOOK_URL = receiver.url + "/hook"
        settings.HEALTH_WEBHOOK_SECRET = SECRET
        env = {
            **os.environ,
            "PORTAL_ENV": "dev",
            "DATABASE_URL": shared_db,
            "HDP_BASE_URL": emulator,
            "PORTAL_BASE_URL": portal,
            "SANDBOX_ENABLED": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
            "HEALTH_WEBHOOK_URL": receiver.url + "/hook",
            "HEALTH_WEBHOOK_SECRET": SECRET,
            "HEALTH_CHECK_JITTER_SECONDS": "0",
            "HEALTH_CHECK_INTERVAL_SECONDS": "1",
            "HEALTH_CHECK_LEASE_SECONDS": "3",
            "FORESIGHT_WARN_BEFORE_SECONDS": "15,8",
            "CONNECTION_CHECK_TIMEOUT_SECONDS": "5",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)

        class Stack:
            hook: Receiver = receiver
            base = portal

            def worker(self) -> subprocess.Popen[bytes]:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "manage.py",
                        "db_worker",
                        "--interval",
                        "0.1",
                        "--no-startup-delay",
                        "--no-reload",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                procs.append(proc)
                return proc

            def emails(self) -> list[str]:
                return [p.read_text() for p in sorted(mail_dir.glob("*.log"))] if mail_dir.exists() else []

        try:
            yield Stack()
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            hdp_server.shutdown()
            portal_server.shutdown()
            hdp_server.server_close()
            portal_server.server_close()


def until(condition: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or condition}")


def wait_until(moment: Any) -> None:
    delay = (moment - timezone.now()).total_seconds()
    if delay > 0:
        time.sleep(delay)


def _snapshot(base: str) -> FlowSnapshot:
    return FlowSnapshot.from_json(
        {
            "authorize_uri": f"{base}/sandbox/oauth/authorize/",
            "token_uri": f"{base}/sandbox/oauth/token/",
            "client_id": django_settings.SANDBOX_PROVIDER_CLIENT_ID,
            "scope": SCOPE,
            "extra_params": {"prompt": "consent"},
            "redirect_uri": REDIRECT_URI,
            "expected_issuer": None,
            "token_auth": "basic",
            "preset": "sandbox",
            "app_id": 1,
            "app_name": "Sandbox_app",
        }
    )


def consent(base: str) -> oauth_client.TokenResult:
    """sandbox_person allows the portal offline access; the portal's own client exchanges the code over HTTP."""
    verifier, challenge = make_pkce()
    url = authorize_url(REDIRECT_URI, state="s", code_challenge=challenge, scope=SCOPE)
    code = callback_params(sign_in_and_consent(Client(), url))["code"]
    return oauth_client.exchange_code(
        _snapshot(base), django_settings.SANDBOX_PROVIDER_CLIENT_SECRET, code, verifier
    )


def completed_setup(base: str, result: oauth_client.TokenResult) -> Run:
    """A completed setup whose HDP profile holds the consent's refresh token, as the wizard leaves it."""
    with httpx.Client(
        transport=mock_transport(), base_url="http://hdp", auth=("acme_admin", PASSWORDS["acme_admin"])
    ) as hdp:
        app = hdp.post(
            "/api/mgmt/oauthapps",
            json={
                "name": "Sandbox_app",
                "dataStore": AUTONOMOUS_REST,
                "clientId": django_settings.SANDBOX_PROVIDER_CLIENT_ID,
                "clientSecret": django_settings.SANDBOX_PROVIDER_CLIENT_SECRET,
                "authorizeURI": f"{base}/sandbox/oauth/authorize/",
                "tokenURI": f"{base}/sandbox/oauth/token/",
                "scope": SCOPE,
            },
        ).json()
        profile = hdp.post(
            "/api/mgmt/oauthprofiles",
            json={"name": "Sandbox_profile", "oauthAppId": app["id"], "refreshToken": result.refresh_token},
        ).json()
        ds = hdp.post(
            "/api/mgmt/datasources",
            json={
                "name": "sandbox_ds",
                "dataStore": AUTONOMOUS_REST,
                "connectionType": "Cloud",
                "options": {"OAuthProfileId": str(profile["id"])},
            },
        ).json()
    owner, _ = User.objects.get_or_create(
        username="acme_admin", defaults={"hdp_tenant_id": 71, "email": "ada@acme.example"}
    )
    run = Run.objects.create(
        owner=owner,
        tenant_id=71,
        tenant_name="Acme",
        datastore_id=AUTONOMOUS_REST,
        datastore_name="Autonomous REST Connector",
        preset="sandbox",
        ds_name="sandbox_ds",
        app_name="Sandbox_app",
        profile_name="Sandbox_profile",
        status=Run.Status.COMPLETED,
        completed_at=timezone.now(),
    )
    for kind, obj in (("app", app), ("profile", profile), ("datasource", ds)):
        RemoteObject.objects.create(
            run=run, kind=kind, name=obj["name"], remote_id=obj["id"], outcome=RemoteObject.Outcome.CREATED
        )
    run.record_consent(
        result.as_json(), scope=result.scope, expires_at=result.expires_at, lifetime=result.lifetime
    )
    run.tokens_enc = ""  # HDP holds them now
    run.save(update_fields=["tokens_enc"])
    return run


@pytest.fixture
def lapsing(stack: Any) -> tuple[Any, Run]:
    """A setup signed in 9 min 35 s ago with the console at "10 minutes": ~25 s left."""
    seed_demo()
    seed.seed_provider([REDIRECT_URI])
    lifetimes.set_lifetime(django_settings.SANDBOX_PROVIDER_CLIENT_ID, 600)
    with freeze_time(timezone.now() - timedelta(minutes=9, seconds=35)):
        result = consent(stack.base)
        run = completed_setup(stack.base, result)
    assert result.lifetime["refresh_token_expires_in"] == 600
    return stack, run


def signed_in() -> Client:
    browser = Client()
    response = browser.post(
        reverse("accounts:login"), {"username": "acme_admin", "password": PASSWORDS["acme_admin"]}
    )
    assert response.status_code == 302
    return browser


def verified(hook: Any) -> dict[str, Any]:
    """The webhook's event data, once its Standard Webhooks signature checks out with the deployment's secret."""
    event: dict[str, Any] = notify.signer(SECRET).verify(
        hook.body, hook.headers
    )  # raises if it does not verify
    with pytest.raises(Exception):  # noqa: B017 (any refusal will do)
        notify.signer("another-secret").verify(hook.body, hook.headers)
    assert event["type"] == event["data"]["event"]
    data: dict[str, Any] = event["data"]
    return data


def expiring_hooks(stack: Any) -> list[dict[str, Any]]:
    return [b for b in (verified(h) for h in stack.hook.hooks) if b["event"] == "connection.expiring"]


def test_pages_show_the_providers_end_warnings_arrive_once_and_the_lapse_is_named(lapsing):
    stack, run = lapsing
    end = foresight.for_run(run).end
    assert end is not None and run.consented_at is not None
    assert end == run.consented_at + timedelta(seconds=600)
    browser = signed_in()
    page = browser.get(reverse("connections:setup", args=[run.pk])).content.decode()
    assert "Sign-in valid until" in page and "the sandbox provider said 10 minutes at the sign-in of" in page
    mine = browser.get(reverse("onboarding:runs")).content.decode()
    assert "Sign-in valid until" in mine and "the sandbox provider said 10 minutes" in mine

    stack.worker()
    # 15 s before the end: one warning, by e-mail and signed webhook; a second round adds nothing.
    wait_until(end - timedelta(seconds=14))
    health.schedule_round()
    health.schedule_round()
    until(lambda: len(stack.emails()) == 1 and len(expiring_hooks(stack)) == 1, what="the first warning")
    [first] = expiring_hooks(stack)
    assert first["setup"]["id"] == str(run.pk) and first["expected_end"] == end.isoformat()
    assert "is expected to lapse at" in stack.emails()[0]
    # 8 s before: the second offset, once.
    wait_until(end - timedelta(seconds=7))
    health.schedule_round()
    until(lambda: len(stack.emails()) == 2 and len(expiring_hooks(stack)) == 2, what="the second warning")
    health.schedule_round()
    # Every check so far passed (the refresh token still worked).
    until(lambda: not ConnectionCheck.objects.filter(finished_at__isnull=True).exists(), what="checks to end")
    assert set(ConnectionCheck.objects.values_list("state", flat=True)) <= {State.WORKING}

    # No reconnect: the first check after the end finds it broken, and the e-mail names the foreseen lapse.
    wait_until(end + timedelta(seconds=2))
    health.schedule_round()
    until(
        lambda: Notification.objects.filter(kind=Notification.Kind.BROKE, email_status="sent").exists(),
        timeout=40,
        what="the broke e-mail",
    )
    broke = ConnectionCheck.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()
    assert broke is not None and broke.state == State.NEEDS_RECONNECT
    assert broke.provider_error == "invalid_grant"
    texts = stack.emails()
    assert len([t for t in texts if "is expected to lapse at" in t]) == 2
    assert any("This was foreseen: the sign-in was expected to lapse at" in t for t in texts)
    broke_hook = until(
        lambda: [b for b in (verified(h) for h in stack.hook.hooks) if b["event"] == "connection.broke"],
        what="the broke webhook",
    )
    assert broke_hook[0]["foreseen_lapse_at"] == end.isoformat()


def test_a_reconnect_moves_the_date_and_no_further_warning_is_sent(lapsing):
    stack, run = lapsing
    old_end = foresight.for_run(run).end
    assert old_end is not None
    stack.worker()
    wait_until(old_end - timedelta(seconds=14))
    health.schedule_round()
    until(lambda: len(stack.emails()) == 1 and len(expiring_hooks(stack)) == 1, what="the warning")

    # Reconnect: a new consent (another ten minutes); HDP's profile gets the new refresh token.
    result = consent(stack.base)
    run.record_consent(
        result.as_json(),
        scope=result.scope,
        expires_at=result.expires_at,
        purpose="reconnect",
        lifetime=result.lifetime,
    )
    OAuthProfile.objects.filter(name="Sandbox_profile").update(refresh_token=result.refresh_token)
    foresight.close_warnings(run)
    run.refresh_from_db()
    new_end = foresight.for_run(run).end
    assert new_end is not None and new_end - old_end > timedelta(minutes=9)
    assert run.signin_facts["replaced"] is True
    assert Notification.objects.get(kind=Notification.Kind.EXPIRING).closed_at is not None
    page = signed_in().get(reverse("connections:setup", args=[run.pk])).content.decode()
    assert foresight.when(new_end) in page

    # Past the old end: no further warning, and the connection still works.
    wait_until(old_end + timedelta(seconds=2))
    health.schedule_round()
    until(
        lambda: ConnectionCheck.objects.filter(finished_at__gt=old_end).exists(),
        timeout=40,
        what="a check after the old end",
    )
    health.schedule_round()
    time.sleep(2)  # give the worker time to send anything it (wrongly) would
    assert len(stack.emails()) == 1 and len(expiring_hooks(stack)) == 1
    assert Notification.objects.filter(kind=Notification.Kind.EXPIRING).count() == 1
    last = ConnectionCheck.objects.filter(finished_at__gt=old_end).order_by("-finished_at").first()
    assert last is not None and last.state == State.WORKING
