"""The support console lists a tenant's open handoff links (who made them, for which setup, until when;
never the link) and revokes one with a stated reason, audited (issue 19). Self-contained."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.oauth import handoff
from portal.oauth.models import HandoffLink
from portal.onboarding.models import Run
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.sandbox import PASSWORDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(settings, client):
    settings.HDP_TRANSPORT_FACTORY = "portal.sandbox.hdp.emulator.mock_transport"
    settings.HDP_BASE_URL = "http://hdp.test"
    settings.PORTAL_BASE_URL = "http://portal.test"
    seed_demo()
    assert (
        client.post(
            reverse("accounts:login"), {"username": "support", "password": PASSWORDS["support"]}
        ).status_code
        == 302
    )
    reason = {"reason": "SUP-77 owner reports a stray link", "next": reverse("support:tenants")}
    assert client.post(reverse("support:reason"), reason).status_code == 303
    return client


def _link(tenant_id: int = 71) -> tuple[HandoffLink, str]:
    admin = User.objects.create(username=f"admin_{tenant_id}", hdp_tenant_id=tenant_id)
    run = Run.objects.create(
        owner=admin, tenant_id=tenant_id, tenant_name="Acme", datastore_name="Google Analytics 4"
    )
    start = handoff.StartParams(client_id="cid", authorize_uri="https://a.example/auth", token_uri="https://a.example/token",
                                scope="read", token_auth="basic", app_id=1, app_name="app")  # fmt: skip
    shown = handoff.Shown(
        admin="Ada", tenant="Acme", store="GA4", provider="Google", preset="custom", scope="read"
    )
    return handoff.create(run, purpose="consent", created_by=admin, start=start, shown=shown)


def test_open_links_are_listed_without_the_link_and_revoked_with_a_reason(staff):
    link, token = _link()
    _other_tenant, _ = _link(72)
    page = staff.get(reverse("support:tenant", args=[71])).content.decode()
    assert "Open links to account owners" in page and "admin_71" in page and "Google Analytics 4" in page
    assert "admin_72" not in page
    assert token not in page and link.token_hash not in page

    url = reverse("support:revoke-handoff", args=[71, link.pk])
    refused = staff.post(url, {"revoke_reason": "no"})
    assert refused.status_code == 303
    link.refresh_from_db()
    assert link.state == "waiting"

    done = staff.post(url, {"revoke_reason": "Owner says they never asked for it"})
    assert done.status_code == 303
    link.refresh_from_db()
    assert link.state == "revoked" and link.ended_by == "support"
    assert link.end_reason == "support: Owner says they never asked for it"
    entry = AuditEntry.objects.get(action="support.revoke_handoff", detail__outcome="revoked")
    assert entry.detail["revoke_reason"] == "Owner says they never asked for it"
    assert entry.detail["reason"] == "SUP-77 owner reports a stray link"
    assert AuditEntry.objects.filter(action="handoff.revoked", actor="support").exists()
    assert Client().get(reverse("oauth:handoff", args=[token])).status_code == 410

    # Another tenant's link is not reachable through this tenant's address.
    assert (
        staff.post(
            reverse("support:revoke-handoff", args=[71, _other_tenant.pk]), {"revoke_reason": "wrong tenant"}
        ).status_code
        == 404
    )
