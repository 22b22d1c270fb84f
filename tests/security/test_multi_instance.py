"""SECURITY.md item 31 and issue 4 part 7, on PostgreSQL: several requests and several portal
processes at once.

* Two portal processes (gunicorn, one shared PostgreSQL database, as behind a load balancer): a
  person signs in and starts the OAuth flow on instance A, the provider's redirect lands on
  instance B, and B completes the exchange (state, session and PKCE verifier all live in the
  database) and then creates the profile.
* Two requests committing the same wizard step at the same moment (same person, two tabs) make
  exactly one HDP POST; the other is told the step is already being worked on.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import requests
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from portal.oauth.models import OAuthFlow
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp import faults
from portal.sandbox.hdp.models import DataSource as EmuDataSource
from portal.sandbox.hdp.seed import seed_demo
from portal.sandbox.provider.seed import seed_provider
from tests.helpers.sandbox import PASSWORDS, PROVIDER_PASSWORD
from tests.helpers.wizard import HDP_REQUESTS, run_at_datasource, sign_in

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL shared by several processes/connections (scripts/test.sh runs it on PostgreSQL)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class _Form(HTMLParser):
    """The fields of the first <form> whose action matches (hidden inputs and their values)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "fields": {}})
        elif tag == "input" and self.forms and a.get("name"):
            fields = self.forms[-1]["fields"]
            assert isinstance(fields, dict)
            if a.get("type") in ("hidden", None) or a.get("type") == "hidden":
                fields[a["name"]] = a.get("value") or ""


def _hidden(html: str) -> dict[str, str]:
    parser = _Form()
    parser.feed(html)
    merged: dict[str, str] = {}
    for form in parser.forms:
        fields = form["fields"]
        assert isinstance(fields, dict)
        if "setlang" in str(form["action"]):
            continue  # the header's language choice is not part of the page's own form
        if "csrfmiddlewaretoken" in fields:
            merged.update(fields)
    return merged


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


@pytest.fixture
def two_instances(transactional_db, tmp_path):
    seed_demo()
    ports = [_free_port(), _free_port()]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    seed_provider([f"{urls[0]}/oauth/callback/Acme_GA_app/"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "HDP_", "DJANGO_ALLOW"))}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=_database_url(),
        PORTAL_BASE_URL=urls[0],  # the public address: both instances sit behind it
        HDP_BASE_URL=f"{urls[0]}/sandbox/hdp",
        PORTAL_SANDBOX="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="INFO",
    )
    procs = []
    logs = []
    try:
        for name, port in zip("AB", ports, strict=True):
            log = tmp_path / f"gunicorn-{name}.log"
            access = tmp_path / f"access-{name}.log"
            logs.append(access)
            procs.append(
                subprocess.Popen(
                    [
                        str(ROOT / ".venv/bin/gunicorn"),
                        "portal.wsgi:application",
                        "-b",
                        f"127.0.0.1:{port}",
                        "--worker-class",
                        "gthread",
                        "--workers",
                        "1",
                        "--threads",
                        "8",
                        "--timeout",
                        "60",
                        "--access-logfile",
                        str(access),
                        "--error-logfile",
                        str(log),
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
            )
        for url, proc in zip(urls, procs, strict=True):
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, (tmp_path / "gunicorn-A.log").read_text()
                try:
                    if requests.get(f"{url}/accounts/login/", timeout=5).status_code == 200:
                        break
                except (requests.ConnectionError, requests.Timeout):
                    pass  # not listening yet, or the first request still warming up on a loaded machine
                assert time.monotonic() < deadline, f"{url} did not start"
                time.sleep(0.2)
        yield urls, logs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        connections.close_all()


def test_flow_started_on_one_instance_finishes_on_the_other(two_instances):
    (a, b), (log_a, log_b) = two_instances
    browser = requests.Session()  # cookies are per host, not per port: one jar for A and B

    def get(url: str) -> requests.Response:
        response = browser.get(url, allow_redirects=False, timeout=30)
        assert response.status_code == 200, (url, response.status_code, response.text[:500])
        return response

    def post(url: str, data: dict[str, str], expect: int) -> requests.Response:
        response = browser.post(url, data=data, allow_redirects=False, timeout=60)
        assert response.status_code == expect, (url, response.status_code, response.text[:2000])
        return response

    # Instance A: sign in, choose the store with the sandbox preset, register the application.
    page = get(f"{a}/accounts/login/")
    post(f"{a}/accounts/login/", {"csrfmiddlewaretoken": _csrf(page.text), "username": "acme_admin",
                                  "password": PASSWORDS["acme_admin"]}, 302)  # fmt: skip
    page = get(f"{a}/setup/new/")
    step_app = post(
        f"{a}/setup/new/",
        {"csrfmiddlewaretoken": _csrf(page.text), "datastore": "54", "provider": "sandbox"},
        303,
    )
    app_url = a + urlsplit(step_app.headers["Location"]).path
    page = get(app_url)
    fields = {
        "csrfmiddlewaretoken": _csrf(page.text), "action": "create", "name": "Acme_GA_app",
        "client_id": "sandbox-portal-client", "client_secret": "sandbox-portal-secret",
        "authorize_uri": f"{a}/sandbox/oauth/authorize/", "token_uri": f"{a}/sandbox/oauth/token/",
        "scope": "read offline_access",
    }  # fmt: skip
    authorize = post(app_url, fields, 303)
    run = Run.objects.get()
    authorize_url = a + urlsplit(authorize.headers["Location"]).path
    page = get(authorize_url)
    start = post(f"{a}/setup/{run.pk}/authorize/start/", {"csrfmiddlewaretoken": _csrf(page.text)}, 303)

    # The provider (the sandbox provider, served by A): its sign-in, then consent.
    to_provider = start.headers["Location"]
    assert to_provider.startswith(f"{a}/sandbox/oauth/authorize/?")
    login_redirect = browser.get(to_provider, allow_redirects=False, timeout=30)
    assert login_redirect.status_code == 302
    login_url = (
        a + login_redirect.headers["Location"]
        if login_redirect.headers["Location"].startswith("/")
        else login_redirect.headers["Location"]
    )
    page = get(login_url)
    # The sign-in form's own "next" (the header's language choice carries one too, earlier on the page).
    nexts = re.findall(r'name="next" value="([^"]+)"', page.text)
    assert nexts
    next_url = re.match(r"(.*)", nexts[-1])
    assert next_url is not None
    back = post(login_url, {"csrfmiddlewaretoken": _csrf(page.text), "username": "sandbox_person",
                            "password": PROVIDER_PASSWORD, "next": next_url.group(1).replace("&amp;", "&")}, 303)  # fmt: skip
    consent = get(
        a + back.headers["Location"] if back.headers["Location"].startswith("/") else back.headers["Location"]
    )
    decided = post(f"{a}/sandbox/oauth/authorize/", {**_hidden(consent.text), "allow": "true"}, 302)
    callback = urlsplit(decided.headers["Location"])
    assert f"{callback.scheme}://{callback.netloc}" == a and callback.path == "/oauth/callback/Acme_GA_app/"

    # The load balancer sends the provider's redirect to instance B.
    on_b = urlunsplit(("http", urlsplit(b).netloc, callback.path, callback.query, ""))
    done = browser.get(on_b, allow_redirects=False, timeout=60)
    assert done.status_code == 303, done.text[:2000]
    assert urlsplit(done.headers["Location"]).path == f"/setup/{run.pk}/profile/"
    run.refresh_from_db()
    assert run.tokens_enc and run.consented_at is not None
    assert set(run.granted_scope.split()) == {"read", "offline_access"}
    assert OAuthFlow.objects.get(run=run).outcome == OAuthFlow.Outcome.SUCCEEDED

    # B finishes the next step too: the profile, with the tokens B received.
    page = get(f"{b}/setup/{run.pk}/profile/")
    post(
        f"{b}/setup/{run.pk}/profile/",
        {"csrfmiddlewaretoken": _csrf(page.text), "name": "Acme_GA_profile"},
        303,
    )
    profile = RemoteObject.objects.get(run=run, kind="profile")
    assert profile.outcome == RemoteObject.Outcome.CREATED and profile.remote_id
    run.refresh_from_db()
    assert run.tokens_enc == ""  # handed to HDP, dropped by the portal

    # The callback really was served by B, never by A.
    deadline = time.monotonic() + 5
    while "/oauth/callback/" not in log_b.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "/oauth/callback/" in log_b.read_text()
    assert "/oauth/callback/" not in log_a.read_text()


def test_two_tabs_committing_the_same_step_make_one_hdp_post(transactional_db, settings):
    settings.HDP_TRANSPORT_FACTORY = "tests.helpers.wizard.counting_transport"
    settings.HDP_BASE_URL = "http://hdp.test"
    seed_demo()
    first = Client()
    assert sign_in(first).status_code == 302
    run = run_at_datasource(first)
    second = Client()
    second.cookies = first.cookies  # the same browser, a second tab
    HDP_REQUESTS.clear()
    faults.arm("POST", r"^/api/mgmt/datasources$", "delay", delay=0.5, times=2)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def submit(browser: Client) -> None:
        try:
            barrier.wait()
            url = reverse("onboarding:step-datasource", args=[run.pk])
            statuses.append(browser.post(url, {"name": "AcmeGA"}).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    posts = Counter(r.url.path for r in HDP_REQUESTS if r.method == "POST")
    assert sorted(statuses) == [202, 303], statuses  # one created it, the other was told to wait
    assert EmuDataSource.objects.filter(name="AcmeGA").count() == 1
    made = EmuDataSource.objects.get(name="AcmeGA")
    # One create, then the one automatic check of the tab that created it (the waiting tab runs none).
    assert posts == Counter({"/api/mgmt/datasources": 1, f"/api/mgmt/datasources/{made.pk}/test": 1}), posts
    assert RemoteObject.objects.get(run=run, kind="datasource").outcome == RemoteObject.Outcome.CREATED
