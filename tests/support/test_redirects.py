"""No support response sends anyone off the portal: no provider redirect, no OAuth flow started."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.test import Client
from django.urls import reverse

from portal.hdp.client import HdpClient
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import Run
from tests.helpers.support import (
    AUTHORIZE_URI,
    make_app,
    make_datasource,
    make_profile,
    make_run,
    sign_in,
    state_reason,
)


def _assert_stays_on_the_portal(response) -> None:
    if response.has_header("Location"):
        target = urlsplit(response["Location"])
        assert not target.scheme and not target.netloc, response["Location"]
        assert target.path.startswith(("/support/", "/accounts/login/"))
    for header in ("HX-Redirect", "HX-Location"):
        assert not response.has_header(header)


def test_no_support_response_is_a_redirect_off_the_portal(hdp_log, monkeypatch):
    from portal.sandbox.hdp import refresh

    monkeypatch.setattr(refresh, "refresh_with_provider", lambda *a, **k: {"access_token": "x"})
    app = make_app("Acme_GA_app")
    profile = make_profile(app.id, "Acme_GA_profile")
    ds = make_datasource("AcmeGA", profile.id)
    orphan = make_datasource("AcmeGA2", profile.id)
    with HdpClient.service("acme_admin") as c:
        c.delete_oauth_profile(profile.id)  # now both data sources need a reconnect
    make_run(status=Run.Status.ACTIVE, objects=[("profile", "Acme_GA_profile", profile.id, "created")])
    flows_before = OAuthFlow.objects.count()

    anonymous, outsider, staff = Client(), sign_in(Client(), "acme_admin"), sign_in(Client(), "support")
    urls = [reverse("support:tenants"), reverse("support:tenant", args=[71]), reverse("support:reason"),
            reverse("support:reason") + "?next=https://evil.example/"]  # fmt: skip
    responses = []
    for client in (anonymous, outsider, staff):
        responses += [client.get(u) for u in urls]
        responses.append(client.post(reverse("support:test-datasource", args=[71, ds.id])))
    responses.append(
        staff.post(reverse("support:reason"), {"reason": "SUP-5 x", "next": "https://evil.example/"})
    )
    state_reason(staff)
    responses += [staff.get(u) for u in urls]
    for ds_id in (ds.id, orphan.id):
        responses.append(staff.post(reverse("support:test-datasource", args=[71, ds_id])))
    assert len(responses) == 22
    for response in responses:
        _assert_stays_on_the_portal(response)
        body = response.content.decode()
        assert AUTHORIZE_URI not in body and "/sandbox/oauth/authorize" not in body
        assert "/authorize/start/" not in body  # no link or form that starts a consent
    chain_page = staff.get(reverse("support:tenant", args=[71])).content.decode()
    assert "Ask the tenant admin acme_admin to open their setup (or My setups) and reconnect" in chain_page
    assert OAuthFlow.objects.count() == flows_before
