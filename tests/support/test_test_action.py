"""POST "Test data source": HDP's verdict in plain words, audited, rate limited, POST + CSRF only."""

from __future__ import annotations

import html as html_lib

import pytest
from django.test import Client
from django.urls import reverse

from portal.audit.models import AuditEntry
from portal.sandbox.hdp import faults, refresh
from tests.helpers.sandbox import PASSWORDS
from tests.helpers.support import make_app, make_datasource, make_profile


@pytest.fixture
def ds(hdp_log):
    app = make_app("Acme_GA_app")
    profile = make_profile(app.id, "Acme_GA_profile")
    return make_datasource("AcmeGA", profile.id)


def _url(ds_id: int, tenant_id: int = 71) -> str:
    return reverse("support:test-datasource", args=[tenant_id, ds_id])


def test_a_passing_test_says_working_and_is_audited(staff, hdp_log, ds, monkeypatch):
    monkeypatch.setattr(refresh, "refresh_with_provider", lambda *a, **k: {"access_token": "new-at"})
    hdp_log.clear()
    response = staff.post(_url(ds.id))
    assert response.status_code == 200
    html = html_lib.unescape(response.content.decode())
    assert "Working: HDP connected data source AcmeGA to its data store." in html
    test_calls = [r for r in hdp_log if r.method == "POST"]
    assert [(r.url.path, r.url.params.get("user")) for r in test_calls] == [
        (f"/api/mgmt/datasources/{ds.id}/test", "acme_admin")
    ]
    entry = AuditEntry.objects.get(action="support.test_datasource")
    assert entry.actor == "support" and entry.tenant_id == 71
    assert entry.detail["datasource_id"] == ds.id and entry.detail["owner"] == "acme_admin"
    assert entry.detail["outcome"] == "passed"
    assert entry.detail["reason"] == "SUP-1234 GA source stopped working"


def test_a_failing_test_explains_and_names_the_admin_to_ask(staff, hdp_log, ds, monkeypatch):
    def refuse(*args, **kwargs):
        raise refresh.RefreshError("the provider said invalid_grant")

    monkeypatch.setattr(refresh, "refresh_with_provider", refuse)
    response = staff.post(_url(ds.id))
    assert response.status_code == 200
    html = html_lib.unescape(response.content.decode())
    assert "Not working: HDP could not connect data source AcmeGA." in html
    assert "invalid_grant" in html  # HDP's own words, escaped
    assert "ask the tenant admin acme_admin to open My setups and reconnect" in html
    assert "http://portal.test" + reverse("onboarding:runs") in html
    assert AuditEntry.objects.get(action="support.test_datasource").detail["outcome"] == "failed"


def test_a_data_source_of_another_tenant_is_not_tested(staff, hdp_log, ds):
    hdp_log.clear()
    response = staff.post(_url(ds.id, tenant_id=72))
    assert response.status_code == 404
    assert "No user of this tenant owns a data source with that id" in response.content.decode()
    assert not [r for r in hdp_log if r.method == "POST"]
    assert AuditEntry.objects.get(action="support.test_datasource").detail["outcome"] == "not_found"


def test_hdp_down_during_the_test_is_a_banner(staff, hdp_log, ds):
    faults.arm("POST", r"/test$", "status", status=503, times=5)
    response = staff.post(_url(ds.id))
    assert response.status_code == 503
    html = html_lib.unescape(response.content.decode())
    assert 'id="banner"' in html and "HDP had an internal problem" in html
    assert AuditEntry.objects.get(action="support.test_datasource").detail["outcome"] == "hdp_error"


def test_the_test_is_rate_limited(staff, hdp_log, ds, settings):
    settings.RATELIMIT_TEST_PER_MINUTE = 2
    assert staff.post(_url(ds.id)).status_code == 200
    assert staff.post(_url(ds.id)).status_code == 200
    hdp_log.clear()
    response = staff.post(_url(ds.id))
    assert response.status_code == 429
    assert "Wait a minute" in response.content.decode()
    assert hdp_log == []
    outcomes = list(AuditEntry.objects.filter(action="support.test_datasource").order_by("id").values_list(
        "detail__outcome", flat=True))  # fmt: skip
    assert outcomes == ["failed", "failed", "rate_limited"]


def test_the_test_is_post_only(staff, hdp_log, ds):
    hdp_log.clear()
    assert staff.get(_url(ds.id)).status_code == 405
    assert hdp_log == []
    assert not AuditEntry.objects.filter(action="support.test_datasource").exists()


def test_the_test_needs_a_csrf_token(hdp_log, ds):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("accounts:login"))
    token = client.cookies["csrftoken"].value
    login = client.post(reverse("accounts:login"),
                        {"username": "support", "password": PASSWORDS["support"], "csrfmiddlewaretoken": token})  # fmt: skip
    assert login.status_code == 302
    token = client.cookies["csrftoken"].value  # rotated at sign-in
    reason = client.post(reverse("support:reason"), {"reason": "SUP-77 csrf", "csrfmiddlewaretoken": token})
    assert reason.status_code == 303
    hdp_log.clear()
    assert client.post(_url(ds.id)).status_code == 403
    assert hdp_log == []
    page = client.get(reverse("support:tenant", args=[71]))
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    assert client.post(_url(ds.id), {"csrfmiddlewaretoken": token}).status_code == 200


def test_change_the_reason_from_a_test_result_leads_back_to_the_tenant_page(staff, hdp_log, ds):
    html = staff.post(_url(ds.id)).content.decode()
    assert "/support/reason/?next=/support/tenants/71/" in html
    assert "next=/support/tenants/71/datasources" not in html
