"""issue 23: /healthz, /readyz and /metrics in-process (the gunicorn tests are in test_gunicorn.py)."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import DatabaseError, connection
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from portal.lib import metrics
from portal.ops import views

TOKEN = "metrics-token-for-tests-7c1f"


def families(text: str) -> dict[str, str]:
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def test_healthz_answers_without_sign_in_or_database(client):
    # No django_db mark: any database access would raise.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Content-Type"] == "application/json"


def test_healthz_ignores_the_host_header(client):
    """A kubelet or load balancer probes the instance by its address, not by the portal's host name."""
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200


@pytest.mark.django_db
def test_readyz_ready_with_database_and_migrations(client, settings, django_assert_max_num_queries):
    settings.PORTAL_READYZ_HDP = "off"
    with django_assert_max_num_queries(1):
        response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready" and body["database"] == "ok" and body["hdp"] == "not_checked"


@pytest.mark.django_db
def test_readyz_503_when_a_migration_is_not_applied(client, settings):
    settings.PORTAL_READYZ_HDP = "off"
    app, name = views._leaf_migrations()[0]
    MigrationRecorder.Migration.objects.filter(app=app, name=name).delete()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "migrations_pending"


@pytest.mark.django_db
def test_readyz_503_when_the_database_fails(client, settings, monkeypatch):
    settings.PORTAL_READYZ_HDP = "off"

    def broken(*args, **kwargs):
        raise DatabaseError("connection to server at 10.0.0.9, user secret-db-user failed")

    monkeypatch.setattr(views.MigrationRecorder.Migration.objects, "filter", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert b"secret-db-user" not in response.content


@pytest.mark.django_db
def test_readyz_reports_hdp_and_fails_only_when_required(client, settings):
    settings.HDP_BASE_URL = "http://127.0.0.1:9"  # closed port: refused at once
    settings.PORTAL_READYZ_HDP = "report"
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["hdp"] == "unreachable"
    settings.PORTAL_READYZ_HDP = "require"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["hdp"] == "unreachable"


@pytest.mark.django_db
def test_readyz_hdp_ok_with_the_emulator(client, hdp_log, settings):
    settings.PORTAL_READYZ_HDP = "require"
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["hdp"] == "ok"
    assert [r.url.path for r in hdp_log] == ["/api/healthcheck"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"]
)
def test_metrics_404_without_the_right_token(client, settings, header):
    settings.PORTAL_METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 404
    assert b"hdp_portal" not in response.content
    # The same answer as any address the portal does not have.
    assert response.content == client.get("/no-such-page").content.replace(b"/no-such-page", b"/metrics")


@pytest.mark.django_db
def test_metrics_404_when_no_token_is_configured(client, settings):
    settings.PORTAL_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.django_db
def test_metrics_token_never_logged(client, settings, console_at_debug):
    settings.PORTAL_METRICS_TOKEN = TOKEN
    client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}-wrong")
    assert TOKEN not in console_at_debug.getvalue()


@pytest.mark.django_db
def test_metrics_families_and_types(client, settings, hdp_log):
    settings.PORTAL_METRICS_TOKEN = TOKEN
    client.get("/accounts/login/")
    metrics.observe_hdp("GET", "/api/mgmt/oauthapps/123", "ok", 0.02)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    found = families(response.content.decode())
    assert found["hdp_portal_request_duration_seconds"] == "histogram"
    assert found["hdp_portal_hdp_request_duration_seconds"] == "histogram"
    assert found["hdp_portal_setups"] == "gauge"
    assert found["hdp_portal_checks"] == "counter"
    assert found["hdp_portal_task_queue_depth"] == "gauge"
    assert found["hdp_portal_task_oldest_queued_age_seconds"] == "gauge"
    text = response.content.decode()
    assert 'hdp_portal_request_duration_seconds_count{status_class="2xx",view="accounts:login"}' in text
    assert 'operation="get_oauth_app"' in text and "/123" not in text
    assert "hdp_portal_database_metrics_up 1.0" in text


def test_hdp_operation_is_a_fixed_name():
    assert metrics.hdp_operation("GET", "/api/mgmt/datasources/42") == "get_datasource"
    assert metrics.hdp_operation("POST", "/api/mgmt/datasources/42/test") == "test_datasource"
    assert metrics.hdp_operation("GET", "/api/mgmt/oauthprofiles/7/stats") == "get_oauth_profile_stats"
    assert metrics.hdp_operation("GET", "/api/mgmt/whatever/evil-name") == "other"
    assert metrics.status_class(204) == "2xx" and metrics.status_class(503) == "5xx"
    # Every client method's path is in the table (none falls back to "other").
    assert len(set(metrics.HDP_OPERATIONS.values())) == len(metrics.HDP_OPERATIONS)


def test_json_log_lines(settings):
    from portal.lib.logging import JsonFormatter, RedactSecretsFilter, register_secret, set_request_context

    register_secret("sentinel-json-secret-4411")
    set_request_context(request_id="req-12345678", person_id=7, tenant_id=71)
    record = logging.LogRecord(
        "portal.x", logging.WARNING, __file__, 1, "saw %s", ("sentinel-json-secret-4411",), None
    )
    assert RedactSecretsFilter().filter(record)
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert "\n" not in line
    assert data["level"] == "WARNING" and data["logger"] == "portal.x"
    assert data["message"] == "saw [redacted]"
    assert (data["request_id"], data["person_id"], data["tenant_id"]) == ("req-12345678", 7, 71)
    assert "trace_id" not in data  # tracing off
    assert data["time"].endswith("+00:00")


@pytest.mark.django_db
def test_domain_numbers_from_the_database(settings):
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from portal.accounts.models import User
    from portal.connections.models import ConnectionCheck
    from portal.onboarding.models import Run
    from portal.ops.collector import QUERIES, DomainCollector

    settings.PORTAL_METRICS_CACHE_SECONDS = 0
    owner = User.objects.create(username="ops_owner")
    now = timezone.now()

    def setup(tenant: int, *states: str) -> Run:
        run = Run.objects.create(owner=owner, tenant_id=tenant, status=Run.Status.COMPLETED, completed_at=now)
        for n, state in enumerate(states):  # oldest first; "" = abandoned
            at = now - timedelta(hours=len(states) - n)
            ConnectionCheck.objects.create(
                run=run, trigger="scheduled", started_at=at, expires_at=at, finished_at=at, state=state,
                abandoned=not state,
            )  # fmt: skip
        return run

    setup(71, "broken", "working")
    setup(71, "working", "broken")
    setup(72, "needs_reconnect", "")  # the abandoned newest says nothing: still needs_reconnect
    setup(72)
    Run.objects.create(owner=owner, tenant_id=72)  # not completed: not a setup
    DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}}, task_path="x.y", backend_name="default", queue_name="default",
        run_after=now - timedelta(seconds=120), status="READY",
    )  # fmt: skip
    with CaptureQueriesContext(connection) as ctx:
        families = {f.name: f for f in DomainCollector(per_tenant=False, now=now).collect()}
    selects = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == QUERIES, selects  # whatever the number of setups
    setups = {s.labels["status"]: s.value for s in families["hdp_portal_setups"].samples}
    assert setups == {"working": 1, "broken": 1, "needs_reconnect": 1, "hdp_unavailable": 0, "not_checked": 1}
    checks = {
        (s.labels["trigger"], s.labels["result"]): s.value for s in families["hdp_portal_checks"].samples
    }
    assert checks == {("scheduled", "working"): 2, ("scheduled", "broken"): 2, ("scheduled", "needs_reconnect"): 1,
                      ("scheduled", "abandoned"): 1}  # fmt: skip
    depth = {s.labels["state"]: s.value for s in families["hdp_portal_task_queue_depth"].samples}
    assert depth == {"due": 1, "scheduled": 0, "running": 0}
    assert families["hdp_portal_task_oldest_queued_age_seconds"].samples[0].value == pytest.approx(120, abs=1)

    per_tenant = {f.name: f for f in DomainCollector(per_tenant=True, now=now).collect()}
    by_tenant = {
        (s.labels["tenant"], s.labels["status"]): s.value for s in per_tenant["hdp_portal_setups"].samples
    }
    assert by_tenant == {("71", "working"): 1, ("71", "broken"): 1, ("72", "needs_reconnect"): 1,
                         ("72", "not_checked"): 1}  # fmt: skip


@pytest.mark.django_db
def test_sign_ins_lapsing_within_1_3_and_14_days(settings):
    """issue 23 over issue 22: the same expected end the setup page shows, counted per window."""
    from datetime import timedelta

    from django.utils import timezone

    from portal.accounts.models import User
    from portal.connections import foresight
    from portal.connections.models import ConnectionCheck
    from portal.onboarding.models import Run
    from portal.ops.collector import DomainCollector

    settings.PORTAL_METRICS_CACHE_SECONDS = 0
    owner = User.objects.create(username="ops_owner")
    now = timezone.now()

    def setup(tenant: int, *, said_days: float | None = None, rule: str = "", days: int | None = None,
              signed_days_ago: float = 0, preset: str = "custom") -> Run:  # fmt: skip
        at = now - timedelta(days=signed_days_ago)
        facts = {"at": at.isoformat()}
        if said_days is not None:
            facts["refresh_token_expires_in"] = int(said_days * 86400)
        return Run.objects.create(
            owner=owner, tenant_id=tenant, status=Run.Status.COMPLETED, completed_at=at, consented_at=at,
            preset=preset, signin_facts=facts, signin_rule=rule, signin_rule_days=days,
        )  # fmt: skip

    setup(71, said_days=0.5)  # the provider said 12 hours: within 1, 3 and 14 days
    setup(71, said_days=90, signed_days_ago=88)  # 2 days left: within 3 and 14
    setup(72, rule="fixed_days", days=30, signed_days_ago=20)  # 10 days left: within 14
    setup(72, said_days=7, signed_days_ago=8)  # lapsed a day ago
    sliding = setup(72, rule="sliding_days", days=10, signed_days_ago=9.5)  # used 5 days ago: 5 days left
    ConnectionCheck.objects.create(
        run=sliding, trigger="scheduled", started_at=now - timedelta(days=5), expires_at=now,
        finished_at=now - timedelta(days=5), state="working", cause="test_passed",
    )  # fmt: skip
    setup(72)  # custom, no rule: no known end
    Run.objects.create(
        owner=owner, tenant_id=72, signin_facts={"refresh_token_expires_in": 60}
    )  # not completed
    ends = {r.pk: foresight.for_run(r).end for r in Run.objects.filter(status=Run.Status.COMPLETED)}
    assert sum(e is not None and now < e <= now + timedelta(days=14) for e in ends.values()) == 4

    families = {f.name: f for f in DomainCollector(per_tenant=False, now=now).collect()}
    lapsing = {s.labels["within_days"]: s.value for s in families["hdp_portal_setups_lapsing"].samples}
    assert lapsing == {"1": 1, "3": 2, "14": 4}
    assert families["hdp_portal_setups_lapsed"].samples[0].value == 1

    per_tenant = {f.name: f for f in DomainCollector(per_tenant=True, now=now).collect()}
    by_tenant = {
        (s.labels["tenant"], s.labels["within_days"]): s.value
        for s in per_tenant["hdp_portal_setups_lapsing"].samples
    }
    assert by_tenant == {("71", "1"): 1, ("71", "3"): 2, ("71", "14"): 2, ("72", "14"): 2}


@pytest.mark.django_db
def test_a_scrape_within_the_cache_time_reads_one_row(settings, django_assert_num_queries):
    from portal.ops.collector import DomainCollector

    settings.PORTAL_METRICS_CACHE_SECONDS = 30
    first = [f.name for f in DomainCollector().collect()]
    with django_assert_num_queries(1):
        again = [f.name for f in DomainCollector().collect()]
    assert again == first and "hdp_portal_setups" in first


@pytest.mark.django_db
def test_metrics_still_answer_with_the_database_down(client, settings, monkeypatch):
    from portal.ops.collector import DomainCollector

    settings.PORTAL_METRICS_TOKEN = TOKEN

    def down(self):
        raise DatabaseError("could not connect to server")

    monkeypatch.setattr(DomainCollector, "collect", down)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    text = response.content.decode()
    assert "hdp_portal_database_metrics_up 0.0" in text
    assert "hdp_portal_request_duration_seconds" in text and "hdp_portal_setups" not in text
