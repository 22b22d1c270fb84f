"""Connection status in the support console: the same stored check the owner sees, and "Check this tenant now"."""

from __future__ import annotations

import html as html_lib

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime

from portal.audit.models import AuditEntry
from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause, State
from portal.onboarding.models import Run
from portal.sandbox.hdp import refresh
from tests.helpers.support import make_app, make_datasource, make_profile, make_run, sign_in, stored
from tests.helpers.tasks import drain, queued

Trigger = ConnectionCheck.Trigger


@pytest.fixture
def setup(hdp_log):
    """A completed setup of acme_admin whose app, profile and data source exist in HDP."""
    app = make_app("Acme_GA_app")
    profile = make_profile(app.id, "Acme_GA_profile")
    ds = make_datasource("AcmeGA", profile.id)
    return make_run(
        status=Run.Status.COMPLETED,
        objects=[
            ("app", app.name, app.id, "created"),
            ("profile", profile.name, profile.id, "created"),
            ("datasource", ds.name, ds.id, "created"),
        ],
    )


def text(response) -> str:
    assert response.status_code == 200, response.content[:1000]
    return html_lib.unescape(response.content.decode())


@pytest.mark.parametrize(
    ("state", "cause", "shown"),
    [
        (State.WORKING, Cause.TEST_PASSED, "Working"),
        (State.NEEDS_RECONNECT, Cause.REFRESH_REFUSED, "Needs reconnect"),
        (State.BROKEN, Cause.DATASOURCE_MISSING, "Broken"),
        (State.HDP_UNAVAILABLE, Cause.HDP_UNAVAILABLE, "HDP unavailable"),
    ],
)
def test_one_stored_check_is_shown_alike_to_support_and_to_the_owner(
    staff, hdp_log, setup, state, cause, shown
):
    check = stored(setup, state, cause)
    when = f"{date_format(localtime(check.finished_at), 'DATETIME_FORMAT')} UTC"
    hdp_log.clear()
    tenants = text(staff.get(reverse("support:tenants")))
    acme_row = next(r for r in tenants.split("<tr>") if reverse("support:tenant", args=[71]) in r)
    assert shown in acme_row and when in acme_row
    assert [r for r in hdp_log if "/test" in r.url.path] == []  # no HDP test for the list
    tenant = text(staff.get(reverse("support:tenant", args=[71]))).split('id="runs-heading"', 1)[1]
    assert shown in tenant and when in tenant
    owner = sign_in(Client(), "acme_admin")
    setup_page = text(owner.get(reverse("connections:setup", args=[setup.pk])))
    assert shown in setup_page and when in setup_page
    my_setups = text(owner.get(reverse("onboarding:runs"))).split("<tbody>", 1)[1]
    assert shown in my_setups and when in my_setups


def test_the_tenant_list_shows_the_worst_status_of_the_tenants_setups(staff, setup):
    stored(setup, State.WORKING, Cause.TEST_PASSED, hours=1)
    other = make_run(status=Run.Status.COMPLETED)
    stored(other, State.NEEDS_RECONNECT, Cause.REFRESH_REFUSED, hours=5)
    globex = make_run("globex_admin", tenant_id=72, status=Run.Status.COMPLETED)
    stored(globex, State.WORKING, Cause.TEST_PASSED)
    rows = text(staff.get(reverse("support:tenants"))).split("<tr>")
    acme_row = next(r for r in rows if reverse("support:tenant", args=[71]) in r)
    globex_row = next(r for r in rows if reverse("support:tenant", args=[72]) in r)
    assert "Needs reconnect" in acme_row and "Working" not in acme_row
    assert "Working" in globex_row


def test_check_this_tenant_now_queues_support_checks_that_run_through_the_task(
    staff, hdp_log, setup, monkeypatch
):
    monkeypatch.setattr(refresh, "refresh_with_provider", lambda *a, **k: {"access_token": "new-at"})
    make_run(status=Run.Status.ACTIVE)  # not a setup yet: not checked
    hdp_log.clear()
    response = staff.post(reverse("support:check-tenant", args=[71]))
    assert response.status_code == 303
    assert hdp_log == []  # queued, not run in the request
    assert len(queued("check_setup")) == 1
    page = text(staff.get(response["Location"]))
    assert "1 check was queued" in page
    entry = AuditEntry.objects.get(action="support.check_tenant")
    assert entry.actor == "support" and entry.tenant_id == 71 and entry.detail["setups"] == 1
    assert entry.detail["reason"]
    drain()
    check = ConnectionCheck.objects.get(run=setup)
    assert (check.trigger, check.requested_by, check.state) == (Trigger.SUPPORT, "support", State.WORKING)
    assert "Working" in text(staff.get(reverse("support:tenant", args=[71]))).split('id="runs-heading"', 1)[1]


def test_check_this_tenant_now_is_rate_limited(staff, setup, settings):
    settings.RATELIMIT_TEST_PER_MINUTE = 1
    assert staff.post(reverse("support:check-tenant", args=[71])).status_code == 303
    response = staff.post(reverse("support:check-tenant", args=[71]))
    assert response.status_code == 429 and "Wait a minute" in response.content.decode()
    assert len(queued("check_setup")) == 1


def test_check_this_tenant_needs_a_stated_reason_and_staff(staff_no_reason, setup):
    response = staff_no_reason.post(reverse("support:check-tenant", args=[71]))
    assert response.status_code == 303 and reverse("support:reason") in response["Location"]
    owner = sign_in(Client(), "acme_admin")
    assert owner.post(reverse("support:check-tenant", args=[71])).status_code == 403
    assert queued("check_setup") == []
