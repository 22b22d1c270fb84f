"""issue 23 "Done when", against the running portal under gunicorn with 2 workers (PostgreSQL):

* after one onboarding over HTTP (sandbox provider, real consent), a revoked grant and a "Check now",
  /metrics has every family with the right type, and the request counts of both workers add up;
* /metrics is 404 without the token;
* a wizard request produces a trace (sent to a local OTLP/HTTP receiver) with HDP and database spans,
  and no canary secret (passwords, client secret, code, state, tokens) is in any span;
* /readyz answers 503 within a second with the database stopped (its own PostgreSQL cluster) while
  /healthz stays 200, and 200 again once the database is back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from django.db import connection, connections
from oauth2_provider import models as dot_models
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from portal.onboarding.models import Run
from portal.sandbox.hdp.seed import seed_demo
from portal.sandbox.provider.seed import seed_provider
from tests.helpers.sandbox import PASSWORDS, PROVIDER_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ops-test-metrics-token-51f0"
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="gunicorn workers share the database: PostgreSQL only (scripts/test.sh runs this pass)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url(name: str | None = None, port: int | None = None) -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{port or db['PORT'] or 5432}/{name or db['NAME']}"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


class _Forms(HTMLParser):
    """The hidden inputs of each <form> on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append((a.get("action") or "", {}))
        elif tag == "input" and self.forms and a.get("name") and a.get("type") == "hidden":
            self.forms[-1][1][str(a["name"])] = a.get("value") or ""


def _consent_fields(html: str) -> dict[str, str]:
    """The hidden inputs of the sandbox provider's consent form (not the header's language choice)."""
    parser = _Forms()
    parser.feed(html)
    merged: dict[str, str] = {}
    for action, fields in parser.forms:
        if "setlang" not in action and "csrfmiddlewaretoken" in fields:
            merged.update(fields)
    return merged


class Receiver(BaseHTTPRequestHandler):
    """A tiny OTLP/HTTP traces endpoint: decodes each ExportTraceServiceRequest into plain spans."""

    spans: list[dict[str, object]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        {
                            "trace_id": span.trace_id.hex(),
                            "name": span.name,
                            "kind": span.kind,
                            "attributes": {a.key: str(a.value).strip() for a in span.attributes},
                            "events": [str(e) for e in span.events],
                            "raw": str(span),
                        }
                    )
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(b"")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def otlp_receiver() -> Iterator[tuple[str, list[dict[str, object]]]]:
    Receiver.spans = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", Receiver.spans
    finally:
        server.shutdown()
        server.server_close()


def start_gunicorn(tmp_path: Path, database_url: str, **extra: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "HDP_", "DJANGO_ALLOW", "OTEL_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=database_url,
        PORTAL_BASE_URL=url,
        HDP_BASE_URL=f"{url}/sandbox/hdp",
        PORTAL_SANDBOX="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PORTAL_METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="2",
        GUNICORN_THREADS="8",
        LOG_LEVEL="WARNING",
        **extra,
    )
    log = tmp_path / "gunicorn.log"
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "portal.wsgi:application",
         "--error-logfile", str(log)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, log.read_text() if log.exists() else "gunicorn exited"
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            pass
        assert time.monotonic() < deadline, f"{url} did not start"
        time.sleep(0.2)
    return url, proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def scrape(url: str) -> dict[str, object]:
    response = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text[:500]
    return {f.name: f for f in text_string_to_metric_families(response.text)}


def samples(family: object, suffix: str = "") -> dict[tuple[tuple[str, str], ...], float]:
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for sample in family.samples:  # type: ignore[attr-defined]
        if sample.name == family.name + suffix:  # type: ignore[attr-defined]
            out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


class Browser:
    """A requests session that counts the requests it sends, each on a new connection (so the kernel
    spreads them over both workers), and checks every status."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["Connection"] = "close"
        self.sent = 0

    def get(self, path: str, expect: int = 200) -> requests.Response:
        self.sent += 1
        url = path if path.startswith("http") else self.base + path
        response = self.session.get(url, allow_redirects=False, timeout=60)
        assert response.status_code == expect, (url, response.status_code, response.text[:1500])
        return response

    def post(self, path: str, data: dict[str, str], expect: int) -> requests.Response:
        self.sent += 1
        url = path if path.startswith("http") else self.base + path
        response = self.session.post(url, data=data, allow_redirects=False, timeout=60)
        assert response.status_code == expect, (url, response.status_code, response.text[:1500])
        return response


def onboard(browser: Browser) -> tuple[Run, str]:
    """One onboarding over HTTP: sign in, store, app, consent at the sandbox provider, profile,
    data source (its check runs at once). Returns the run and the callback's query string."""
    a = browser.base
    page = browser.get("/accounts/login/")
    browser.post("/accounts/login/", {"csrfmiddlewaretoken": _csrf(page.text), "username": "acme_admin",
                                      "password": PASSWORDS["acme_admin"]}, 302)  # fmt: skip
    page = browser.get("/setup/new/")
    step_app = browser.post(
        "/setup/new/",
        {"csrfmiddlewaretoken": _csrf(page.text), "datastore": "54", "provider": "sandbox"},
        303,
    )
    app_path = urlsplit(step_app.headers["Location"]).path
    page = browser.get(app_path)
    fields = {
        "csrfmiddlewaretoken": _csrf(page.text), "action": "create", "name": "Acme_GA_app",
        "client_id": "sandbox-portal-client", "client_secret": "sandbox-portal-secret",
        "authorize_uri": f"{a}/sandbox/oauth/authorize/", "token_uri": f"{a}/sandbox/oauth/token/",
        "scope": "read offline_access",
    }  # fmt: skip
    authorize = browser.post(app_path, fields, 303)
    run = Run.objects.get()
    page = browser.get(urlsplit(authorize.headers["Location"]).path)
    start = browser.post(f"/setup/{run.pk}/authorize/start/", {"csrfmiddlewaretoken": _csrf(page.text)}, 303)
    login_redirect = browser.get(start.headers["Location"], 302)
    login_url = login_redirect.headers["Location"]
    page = browser.get(login_url)
    nexts = re.findall(r'name="next" value="([^"]+)"', page.text)
    back = browser.post(login_url, {"csrfmiddlewaretoken": _csrf(page.text), "username": "sandbox_person",
                                    "password": PROVIDER_PASSWORD, "next": nexts[-1].replace("&amp;", "&")}, 303)  # fmt: skip
    consent = browser.get(back.headers["Location"])
    decided = browser.post(
        "/sandbox/oauth/authorize/", {**_consent_fields(consent.text), "allow": "true"}, 302
    )
    callback = urlsplit(decided.headers["Location"])
    assert callback.path == "/oauth/callback/Acme_GA_app/" and "code" in parse_qs(callback.query)
    done = browser.get(f"{callback.path}?{callback.query}", 303)
    profile_path = urlsplit(done.headers["Location"]).path
    page = browser.get(profile_path)
    made = browser.post(
        profile_path, {"csrfmiddlewaretoken": _csrf(page.text), "name": "Acme_GA_profile"}, 303
    )
    ds_path = urlsplit(made.headers["Location"]).path
    page = browser.get(ds_path)
    browser.post(ds_path, {"csrfmiddlewaretoken": _csrf(page.text), "name": "AcmeGA"}, 303)
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED, run.status
    return run, callback.query


def test_metrics_and_traces_under_two_workers(transactional_db, tmp_path, otlp_receiver):
    receiver_url, spans = otlp_receiver
    seed_demo()
    url, proc = start_gunicorn(
        tmp_path, _database_url(), OTEL_EXPORTER_OTLP_ENDPOINT=receiver_url, OTEL_BSP_SCHEDULE_DELAY="100"
    )
    seed_provider([f"{url}/oauth/callback/Acme_GA_app/"])
    try:
        assert requests.get(f"{url}/metrics", timeout=10).status_code == 404
        assert (
            requests.get(f"{url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10).status_code
            == 404
        )

        browser = Browser(url)
        run, callback_query = onboard(browser)
        # The person removes the portal's access at the provider (what the sandbox console's
        # "Revoke access" does), then checks the setup: HDP's refresh is refused.
        for model in (dot_models.get_refresh_token_model(), dot_models.get_access_token_model()):
            model.objects.all().delete()
        page = browser.get(f"/connections/setups/{run.pk}/")
        browser.post(f"/connections/setups/{run.pk}/check/", {"csrfmiddlewaretoken": _csrf(page.text)}, 303)
        # A burst of pages on new connections, so that both workers serve some.
        visitor = Browser(url)
        for _ in range(30):
            visitor.get("/accounts/login/")

        found = scrape(url)
        types = {name: family.type for name, family in found.items()}
        assert types["hdp_portal_request_duration_seconds"] == "histogram"
        assert types["hdp_portal_hdp_request_duration_seconds"] == "histogram"
        assert types["hdp_portal_provider_token_duration_seconds"] == "histogram"
        assert types["hdp_portal_consent_flows"] == "counter"
        assert types["hdp_portal_setups"] == "gauge"
        assert types["hdp_portal_checks"] == "counter"
        assert types["hdp_portal_notifications"] == "counter"
        assert types["hdp_portal_webhook_deliveries"] == "counter"
        assert types["hdp_portal_task_queue_depth"] == "gauge"
        assert types["hdp_portal_task_oldest_queued_age_seconds"] == "gauge"

        setups = samples(found["hdp_portal_setups"])
        assert setups[(("status", "needs_reconnect"),)] == 1
        assert sum(setups.values()) == 1
        checks = samples(found["hdp_portal_checks"], "_total")
        assert checks[(("result", "working"), ("trigger", "setup"))] == 1
        assert checks[(("result", "needs_reconnect"), ("trigger", "manual"))] == 1
        notes = samples(found["hdp_portal_notifications"], "_total")
        assert [dict(labels)["kind"] for labels, n in notes.items() if n] == ["broke"]  # told once
        flows = samples(found["hdp_portal_consent_flows"], "_total")
        assert flows[(("outcome", "started"), ("purpose", "consent"))] == 1
        assert flows[(("outcome", "completed"), ("purpose", "consent"))] == 1
        tokens = samples(found["hdp_portal_provider_token_duration_seconds"], "_count")
        assert tokens[(("grant", "authorization_code"), ("outcome", "ok"), ("preset", "sandbox"))] == 1
        hdp = samples(found["hdp_portal_hdp_request_duration_seconds"], "_count")
        operations = {dict(labels)["operation"] for labels in hdp}
        assert {
            "create_oauth_app",
            "create_oauth_profile",
            "create_datasource",
            "test_datasource",
        } <= operations
        assert "other" not in operations

        # Counts add up across both workers: every request this test sent (pages, the two 404s of
        # /metrics) is counted once, whichever worker served it; every HDP call a worker recorded was
        # served as a request by the emulator (the sandbox's HDP, in the same gunicorn). The sandbox
        # token endpoint is left out: HDP's own refreshes (the emulator's) call it as well.
        requests_by_view = samples(found["hdp_portal_request_duration_seconds"], "_count")
        internal = ("hdp_emulator:api", "sandbox_provider:token")
        counted = sum(n for labels, n in requests_by_view.items() if dict(labels)["view"] not in internal)
        sent = browser.sent + visitor.sent + 2
        assert counted == sent, (counted, sent, requests_by_view)
        hdp_served = sum(
            n for labels, n in requests_by_view.items() if dict(labels)["view"] == "hdp_emulator:api"
        )
        assert hdp_served == sum(hdp.values()) > 0
        assert requests_by_view[(("status_class", "2xx"), ("view", "accounts:login"))] >= 31
        pids = {p.stem.rsplit("_", 1)[-1] for p in (tmp_path / "metrics").glob("histogram_*.db")}
        assert len(pids) == 2, pids  # both workers recorded requests

        # The trace of the profile POST: the request, HDP calls (the portal's and httpx's) and queries.
        deadline = time.monotonic() + 10

        def profile_trace() -> list[dict[str, object]]:
            servers = [s for s in spans if s["kind"] == 2 and "/profile/" in json.dumps(s["attributes"])
                       and "POST" in s["name"]]  # fmt: skip
            if not servers:
                return []
            return [s for s in spans if s["trace_id"] == servers[0]["trace_id"]]

        while time.monotonic() < deadline and not (
            any(s["name"].startswith("HDP ") for s in profile_trace())
            and any("db.system" in s["attributes"] for s in profile_trace())
        ):
            time.sleep(0.2)
        in_trace = profile_trace()
        names = [s["name"] for s in in_trace]
        assert "HDP create_oauth_profile" in names, names
        assert any(s["kind"] == 3 and "http.url" in s["attributes"] or "url.full" in s["attributes"]
                   for s in in_trace if not s["name"].startswith("HDP ")), names  # fmt: skip
        assert any("postgresql" in s["attributes"].get("db.system", "") for s in in_trace), names

        # Canaries: no secret the onboarding handled is in any span the collector received.
        code = parse_qs(callback_query)["code"][0]
        state = parse_qs(callback_query)["state"][0]
        canaries = {
            "admin password": PASSWORDS["acme_admin"],
            "service password": "portal-svc-sandbox-pw",
            "provider password": PROVIDER_PASSWORD,
            "client secret": "sandbox-portal-secret",
            "code": code,
            "state": state,
            "metrics token": TOKEN,
        }
        everything = "\n".join(str(s["raw"]) for s in spans)
        assert "/oauth/callback/Acme_GA_app/" in everything
        assert [
            what
            for what, value in canaries.items()
            if value in everything or quote(value, safe="") in everything
        ] == []
    finally:
        stop(proc)
        connections.close_all()


@pytest.fixture
def own_cluster(transactional_db, tmp_path_factory) -> Iterator[tuple[str, object]]:
    """A throwaway PostgreSQL cluster holding a copy of the test database (schema and migrations)."""
    pgbin = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
    base = Path(tempfile.mkdtemp(prefix="ops-pg-"))
    port = _free_port()
    as_root = os.geteuid() == 0

    def pg(command: str) -> None:
        argv = ["su", "postgres", "-s", "/bin/sh", "-c", command] if as_root else ["sh", "-c", command]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    if as_root:
        shutil.chown(base, "postgres")
    data = base / "data"
    start = f"{pgbin}/pg_ctl -D {data} -o '-k {base} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off' -l {base}/log -w start"
    pg(f"{pgbin}/initdb -D {data} -A trust -U postgres >/dev/null && {start}")
    try:
        source = _database_url()
        target = f"postgres://postgres@127.0.0.1:{port}/postgres"
        dump = subprocess.run(
            [f"{pgbin}/pg_dump", "--no-owner", "--no-acl", source], check=True, capture_output=True
        )
        subprocess.run([f"{pgbin}/psql", "-q", "-v", "ON_ERROR_STOP=1", target], input=dump.stdout, check=True,
                       capture_output=True)  # fmt: skip

        class Cluster:
            url = target

            @staticmethod
            def stop() -> None:
                pg(f"{pgbin}/pg_ctl -D {data} -m fast -w stop")

            @staticmethod
            def start() -> None:
                pg(start)

        yield target, Cluster
    finally:
        pg(f"{pgbin}/pg_ctl -D {data} -m immediate -w stop || true")
        shutil.rmtree(base, ignore_errors=True)


def test_readyz_follows_the_database(own_cluster, tmp_path):
    database_url, cluster = own_cluster
    url, proc = start_gunicorn(tmp_path, database_url, PORTAL_READYZ_HDP="report")
    try:
        ready = requests.get(f"{url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["database"] == "ok"

        cluster.stop()  # type: ignore[attr-defined]
        for _ in range(4):  # both workers, with and without a connection they held
            started = time.monotonic()
            down = requests.get(f"{url}/readyz", timeout=10)
            assert time.monotonic() - started < 1.0
            assert down.status_code == 503, down.text
            assert down.json() == {**down.json(), "status": "not_ready", "database": "unreachable"}
            assert requests.get(f"{url}/healthz", timeout=5).status_code == 200

        cluster.start()  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while (back := requests.get(f"{url}/readyz", timeout=10)).status_code != 200:
            assert time.monotonic() < deadline, back.text
            time.sleep(0.2)
        assert back.json()["database"] == "ok"
    finally:
        stop(proc)
