"""Reconnect in Debian's Chromium: the portal talks to the HDP emulator over real HTTP and the sandbox
provider (django-oauth-toolkit, same live server) issues real tokens.

A finished setup loses its grant at the provider (its token rows deleted), HDP's check says
"needs reconnect", the admin presses Reconnect, consents again, and HDP's one profile (same id) holds
the new refresh token; HDP's test of the data source passes afterwards. Self-contained: only the
pytest-playwright ``page`` and pytest-django's ``live_server`` come from outside.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse
from oauth2_provider.models import AccessToken, RefreshToken
from playwright.sync_api import Page

from portal.connections import checks
from portal.connections.models import ConnectionCheck
from portal.connections.status import State
from portal.hdp.client import HdpClient
from portal.onboarding.models import Run
from portal.sandbox.hdp.seed import seed_demo
from portal.sandbox.provider.seed import ACCOUNT_PASSWORD, ACCOUNT_USERNAME, seed_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000
HDP_ADMIN = ("d2cadmin", "d2cadmin-sandbox-pw")


@pytest.fixture
def portal_url(live_server, settings) -> str:
    settings.HDP_BASE_URL = live_server.url + "/sandbox/hdp"
    settings.HDP_TRANSPORT_FACTORY = None
    settings.PORTAL_BASE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    settings.OAUTH_ALLOW_LOOPBACK = True
    seed_demo()
    seed_provider([])
    return str(live_server.url)


def _step(page: Page, step: str) -> None:
    page.wait_for_url(re.compile(rf".*/setup/[0-9a-f-]+/{step}/$"))
    page.wait_for_selector("#step-heading")


def _at_provider(page: Page) -> None:
    """Sign in at the sandbox provider if it asks, then Allow."""
    page.wait_for_selector("input[name=username], main [name=allow]")
    if page.locator("input[name=username]").count():
        page.fill("input[name=username]", ACCOUNT_USERNAME)
        page.fill("input[name=password]", ACCOUNT_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_selector("main [name=allow]")
    page.click("main [name=allow]")


def _finished_setup(page: Page, base: str) -> Run:
    page.goto(base + reverse("accounts:login"))
    page.fill("#id_username", "acme_admin")
    page.fill("#id_password", "acme-admin-sandbox-pw")
    page.click("main button[type=submit]")
    page.wait_for_url(base + reverse("onboarding:runs"))
    page.click("main a:has-text('Start a new setup')")
    page.select_option("#id_store_preset", "54:sandbox")
    page.click("main button:has-text('Continue')")
    _step(page, "app")
    redirect_uri = page.inner_text("#redirect-uri")
    seed_provider([redirect_uri])  # registered at the provider, as an admin would at its console
    console = page.context.new_page()
    console.goto(base + reverse("sandbox_provider:console"))
    secret = console.locator("dt:has-text('Client secret') + dd code").inner_text()
    console.close()
    page.fill("#id_client_secret", secret)
    page.click("main button:has-text('Register in HDP and continue')")
    _step(page, "authorize")
    page.click("main button:has-text('Connect to')")
    _at_provider(page)
    _step(page, "profile")
    page.click("main button:has-text('Save in HDP and continue')")
    _step(page, "datasource")
    page.fill("#id_opt_DefaultView", "123456789")
    page.click("main button:has-text('Create in HDP and continue')")
    _step(page, "verify")
    page.click("main button:has-text('Check the connection')")
    assert "Working" in page.wait_for_selector("main .outcome").inner_text()
    run = Run.objects.get(status=Run.Status.COMPLETED)
    return run


def _profile(run: Run) -> tuple[list[int], str]:
    """The ids of HDP's profiles of the setup's app, and the refresh token the setup's one holds."""
    with HdpClient(settings.HDP_BASE_URL, *HDP_ADMIN) as admin:
        app_id = run.remote_id("app")
        ids = [
            p.id for p in admin.list_oauth_profiles() if admin.get_oauth_profile(p.id).oauth_app_id == app_id
        ]
        held = admin.get_oauth_profile(run.remote_id("profile")).refresh_token
    return [int(i) for i in ids], held.get_secret_value() if held else ""


def test_a_revoked_grant_is_reconnected_into_the_same_profile(page: Page, portal_url: str):
    page.set_default_timeout(TIMEOUT_MS)
    run = _finished_setup(page, portal_url)
    ids_before, refresh_before = _profile(run)
    assert len(ids_before) == 1 and refresh_before

    # The grant is revoked at the provider: every token of the app is gone.
    RefreshToken.objects.all().delete()
    AccessToken.objects.all().delete()
    with HdpClient.service(on_behalf_of="acme_admin") as client:
        check = checks.run_check(run, client, trigger=ConnectionCheck.Trigger.MANUAL)
    assert check.state == State.NEEDS_RECONNECT

    page.goto(portal_url + reverse("onboarding:step-verify", args=[run.pk]))
    page.click("main .reconnect button:has-text('Reconnect')")
    _at_provider(page)
    page.wait_for_url(portal_url + reverse("connections:reconnect-finish", args=[run.pk]))
    main = page.inner_text("main")
    assert "HDP holds the new sign-in in the same OAuth profile." in main, main
    assert str(State.WORKING.label) in main

    ids_after, refresh_after = _profile(run)
    assert ids_after == ids_before  # the same profile id, nothing created
    assert refresh_after and refresh_after != refresh_before
    assert RefreshToken.objects.filter(token=refresh_after).exists()  # the provider's new grant
    with HdpClient.service(on_behalf_of="acme_admin") as client:
        result = client.test_datasource(run.remote_id("datasource"))
    assert result.success, (result.message, result.detail)
    run.refresh_from_db()
    assert run.tokens_enc == ""
