"""Reconnect in Debian's Chromium: the portal talks to the HDP emulator over real HTTP and the sandbox
provider (django-oauth-toolkit, same live server) issues real tokens.

A finished setup loses its grant at the provider (its token rows deleted), HDP's check says
"needs reconnect", the admin presses Reconnect, consents again, and HDP's one profile (same id) holds
the new refresh token; HDP's test of the data source passes afterwards. The walk to a finished
setup is tests/helpers/e2e.py's ``finished_setup``.
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
from tests.helpers.e2e import HDP_ADMIN, at_provider, finish_after_consent, finished_setup
from tests.helpers.sandbox import PASSWORDS
from tests.helpers.wizard import choose_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000


def _step(page: Page, step: str) -> None:
    page.wait_for_url(re.compile(rf".*/setup/[0-9a-f-]+/{step}/(\?[a-z=0-9&]*)?$"))
    page.wait_for_selector("#step-heading")


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
    run = finished_setup(page, portal_url)
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
    at_provider(page)
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


def _idp_login(page: Page, idp_issuer: str, login: str | None) -> None:
    """At oidc-provider: sign in as ``login`` (None: the browser is signed in there already), then consent."""
    page.wait_for_url(idp_issuer + "/**")
    if login is not None:
        page.fill("input[name=login]", login)
        page.fill("input[name=password]", "any-password")
        page.click("button[type=submit]")
    page.click("button:has-text('Continue')")  # oidc-provider's consent


def _sign_in(page: Page, base: str) -> None:
    page.goto(base + reverse("accounts:login"))
    page.fill("#id_username", "acme_admin")
    page.fill("#id_password", PASSWORDS["acme_admin"])
    page.click("main button[type=submit]")
    page.wait_for_url(base + reverse("onboarding:runs"))


def test_a_reconnect_as_another_oidc_account_is_refused_and_hdp_keeps_its_token(
    page: Page, browser, portal_url: str
):
    from tests.helpers.oidc import start_oidc_provider

    page.set_default_timeout(TIMEOUT_MS)
    _sign_in(page, portal_url)
    page.click("main a:has-text('Start a new setup')")
    choose_store(page, "54:custom")
    _step(page, "app")
    redirect_uri = page.inner_text("#redirect-uri")
    with start_oidc_provider(redirect_uri) as idp:
        page.fill("#id_client_id", idp.client_id)
        page.fill("#id_client_secret", idp.client_secret)
        page.fill("#id_authorize_uri", idp.authorize_uri)
        page.fill("#id_token_uri", idp.token_uri)
        page.fill("#id_scope", "openid offline_access")
        page.fill("#id_extra_params", "prompt=consent")
        page.click("main button:has-text('Register in HDP and continue')")
        _step(page, "authorize")
        page.click("main button:has-text('Connect to')")
        _idp_login(page, idp.issuer, "alice")
        run = finish_after_consent(page)
        assert (run.provider_subject, run.provider_issuer) == ("alice", idp.issuer)  # from the id_token
        ids_before, refresh_before = _profile(run)

        # Another browser (no provider session): Reconnect, and sign in at the provider as bob.
        other = browser.new_context().new_page()
        other.set_default_timeout(TIMEOUT_MS)
        _sign_in(other, portal_url)
        other.goto(portal_url + reverse("onboarding:step-verify", args=[run.pk]))
        other.click("main .reconnect button:has-text('Reconnect')")
        _idp_login(other, idp.issuer, "bob")
        other.wait_for_url(portal_url + reverse("connections:reconnect-finish", args=[run.pk]))
        main = other.inner_text("main")
        assert "You signed in as bob, but this connection was set up with alice." in main, main
        assert "Nothing was changed." in main
        assert _profile(run) == (ids_before, refresh_before)  # HDP's profile untouched
        run.refresh_from_db()
        assert run.tokens_enc == "" and run.provider_subject == "alice"

        other.context.close()

        # In the first browser, still signed in at the provider as alice: accepted, same profile.
        page.goto(portal_url + reverse("onboarding:step-verify", args=[run.pk]))
        page.click("main .reconnect button:has-text('Reconnect')")
        _idp_login(page, idp.issuer, None)
        page.wait_for_url(portal_url + reverse("connections:reconnect-finish", args=[run.pk]))
        assert "HDP holds the new sign-in in the same OAuth profile." in page.inner_text("main")
        ids_after, refresh_after = _profile(run)
        assert ids_after == ids_before and refresh_after != refresh_before


def test_a_lost_answer_to_the_profile_put_is_explained_and_try_again_works(page: Page, portal_url: str):
    from portal.sandbox.hdp import faults

    page.set_default_timeout(TIMEOUT_MS)
    run = finished_setup(page, portal_url)
    ids_before, refresh_before = _profile(run)
    # HDP saves the new tokens, then its answer is lost (a 502 after the commit, over real HTTP).
    faults.arm("PUT", r"^/api/mgmt/oauthprofiles/\d+$", "commit_then_drop")
    page.goto(portal_url + reverse("onboarding:step-verify", args=[run.pk]))
    page.click("main .reconnect button:has-text('Reconnect')")
    at_provider(page)
    page.wait_for_url(portal_url + reverse("connections:reconnect-finish", args=[run.pk]))
    main = page.inner_text("main")
    assert "does not know whether it saved the new sign-in" in main, main
    run.refresh_from_db()
    assert run.tokens_enc  # kept until HDP is known to hold them

    page.click("main button:has-text('Try again')")
    page.wait_for_selector("main .outcome-ok")
    assert "HDP holds the new sign-in in the same OAuth profile." in page.inner_text("main")
    ids_after, refresh_after = _profile(run)
    assert ids_after == ids_before  # no duplicate profile
    assert refresh_after != refresh_before and RefreshToken.objects.filter(token=refresh_after).exists()
    run.refresh_from_db()
    assert run.tokens_enc == ""
