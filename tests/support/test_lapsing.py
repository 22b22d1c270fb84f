"""Issue 22 item 5: the support console lists, across tenants, the setups whose sign-in lapses within
14 days, soonest first, with the exact Reconnect link to send the tenant admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import User
from portal.onboarding.models import Run
from portal.sandbox.hdp.seed import seed_demo
from portal.support import rows
from tests.helpers.sandbox import PASSWORDS

DAY = 86400
pytestmark = pytest.mark.django_db


def make(name: str, tenant: int, lifetime: int | None, *, status: str = Run.Status.COMPLETED) -> Run:
    owner, _ = User.objects.get_or_create(username=f"admin{tenant}", defaults={"hdp_tenant_id": tenant})
    now = timezone.now()
    return Run.objects.create(
        owner=owner,
        tenant_id=tenant,
        tenant_name=f"Tenant {tenant}",
        datastore_name="Snowflake",
        preset="snowflake",
        ds_name=name,
        status=status,
        completed_at=now,
        consented_at=now,
        signin_facts={"refresh_token_expires_in": lifetime, "at": now.isoformat()},
    )


def test_rows_are_the_setups_lapsing_within_14_days_soonest_first():
    soon = make("soon", 71, 2 * DAY)
    sooner = make("sooner", 72, DAY)
    make("later", 73, 30 * DAY)
    make("cancelled", 74, DAY, status=Run.Status.CANCELLED)
    found = rows.lapsing_rows("http://portal.test", timezone.now())
    assert [r.run.ds_name for r in found] == ["sooner", "soon"]
    assert found[0].reconnect_url == f"http://portal.test/connections/setups/{sooner.pk}/reconnect/"
    assert found[1].line.startswith("Sign-in valid until") and found[1].line.endswith("(2 days)")
    assert found[0].basis[0].startswith("Snowflake said 1 day")
    assert soon.pk in {r.run.pk for r in found}


def test_a_lapsed_setup_not_yet_reconnected_stays_listed():
    make("lapsed", 71, DAY)
    found = rows.lapsing_rows("http://portal.test", timezone.now() + timedelta(days=2))
    assert [r.run.ds_name for r in found] == ["lapsed"]
    assert found[0].line.startswith("Sign-in lapsed at")


def test_the_page_lists_them_with_a_copyable_reconnect_link(staff):
    run = make("acme_snow", 71, 3 * DAY)
    html = staff.get(reverse("support:lapsing")).content.decode()
    assert "Sign-ins lapsing soon" in html
    link = f"http://portal.test/connections/setups/{run.pk}/reconnect/"
    assert f'value="{link}" readonly' in html
    assert 'data-copy="lapsing-link-1"' in html
    assert "<details" in html and "Snowflake said 3 days" in html
    tenants = staff.get(reverse("support:tenants")).content.decode()
    assert reverse("support:lapsing") in tenants


def test_the_page_needs_staff(client, settings):
    settings.HDP_TRANSPORT_FACTORY = "portal.sandbox.hdp.emulator.mock_transport"
    settings.HDP_BASE_URL = "http://hdp.test"
    seed_demo()
    client.post(reverse("accounts:login"), {"username": "acme_admin", "password": PASSWORDS["acme_admin"]})
    assert client.get(reverse("support:lapsing")).status_code in (403, 404)
