"""Rotate the client secret in Debian's Chromium (issue 8 item 4): the portal talks to the HDP emulator
over real HTTP and HDP's test refreshes at the sandbox provider (django-oauth-toolkit, same live server).

The admin rotates the secret in the sandbox provider's console, the setup's check goes non-working
(the provider refuses the client), the admin enters the new secret on the setup page, and HDP's
application holds it: no consent page is visited, the profile keeps its refresh token, and the check
passes.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page

from portal.connections.status import Cause, State
from portal.hdp.client import HdpClient
from portal.oauth.models import OAuthFlow
from tests.helpers.axe import assert_no_serious_axe_violations
from tests.helpers.e2e import HDP_ADMIN, finished_setup

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000


def _app_and_refresh_token(run) -> tuple[str, str]:
    with HdpClient(settings.HDP_BASE_URL, *HDP_ADMIN) as admin:
        app = admin.get_oauth_app(run.remote_id("app"))
        profile = admin.get_oauth_profile(run.remote_id("profile"))
    secret = app.client_secret.get_secret_value() if app.client_secret else ""
    token = profile.refresh_token.get_secret_value() if profile.refresh_token else ""
    return secret, token


def test_a_rotated_secret_is_entered_on_the_setup_page_without_consent(page: Page, portal_url: str):
    page.set_default_timeout(TIMEOUT_MS)
    run = finished_setup(page, portal_url)
    old_secret, refresh_before = _app_and_refresh_token(run)
    flows_before = OAuthFlow.objects.count()

    # At the provider's console: "New client secret", copied from the one time it is shown.
    console = page.context.new_page()
    console.goto(portal_url + reverse("sandbox_provider:console"))
    console.click("main form button:has-text('New client secret')")
    new_secret = console.inner_text("#new-client-secret")
    assert_no_serious_axe_violations(console)
    console.close()
    assert new_secret and new_secret != old_secret

    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url) if frame == page.main_frame else None)
    setup_url = portal_url + reverse("connections:setup", args=[run.pk])
    page.goto(setup_url)
    page.click("#setup-status button:has-text('Check now')")
    page.wait_for_selector("#setup-status .outcome-fail")
    status = page.inner_text("#setup-status .outcome")
    assert str(State.BROKEN.label) in status and str(Cause.CLIENT_REFUSED.label) in status, status
    assert_no_serious_axe_violations(page)  # the setup page with its "Client secret and scopes" section

    page.fill("#rotate-secret", new_secret)
    page.click("#rotate button:has-text('Save the new secret and check')")
    page.wait_for_url(setup_url + "#setup-status")
    main = page.inner_text("main")
    assert "HDP holds the new client secret. The connection was checked with it." in main, main
    assert str(State.WORKING.label) in page.inner_text("#setup-status .outcome-ok")
    assert new_secret not in page.content()  # write-only: never echoed

    secret_after, refresh_after = _app_and_refresh_token(run)
    assert secret_after == new_secret  # HDP's application was updated
    # The same profile and sign-in: its refresh token changed only because HDP's refreshes at the
    # sandbox provider (which rotates refresh tokens) wrote the new one back; no new consent was made.
    assert refresh_after and refresh_before
    with HdpClient(settings.HDP_BASE_URL, *HDP_ADMIN) as admin:
        ids = [
            p.id
            for p in admin.list_oauth_profiles()
            if admin.get_oauth_profile(p.id).oauth_app_id == run.remote_id("app")
        ]
    assert [int(i) for i in ids] == [run.remote_id("profile")]
    assert OAuthFlow.objects.count() == flows_before
    assert not [u for u in visited if "/sandbox/oauth/authorize" in u or "/sandbox/provider/login" in u], (
        visited
    )
    with HdpClient.service(on_behalf_of="acme_admin") as client:
        result = client.test_datasource(run.remote_id("datasource"))
    assert result.success, (result.message, result.detail)
