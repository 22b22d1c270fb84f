"""Handoff links in Debian's Chromium (issue 19): two separate browser contexts, the tenant admin signed
in to the portal and the provider account's owner never signed in to it; the portal talks to the HDP
emulator over real HTTP and the sandbox provider (django-oauth-toolkit's OpenID provider, same live
server) issues real tokens and id_tokens.

Each test walks several states of a link; the report lists which test shows which state:
revoked (by the admin) and expired -> refused with one plain page; fetched by a plain GET (a mail
scanner) -> still works; used (first consent) -> the wizard continues into a profile and a passing
data source; used again -> "already used"; refused (another provider account on a reconnect link) ->
HDP's refresh token unchanged; used (reconnect of a revoked grant) -> the same profile id, a passing
check, and the admin's page shows it without a manual reload. The link is never in the log output.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken
from playwright.sync_api import Browser, Page

from portal.connections import checks
from portal.connections.models import ConnectionCheck
from portal.connections.status import State
from portal.hdp.client import HdpClient
from portal.oauth.models import HandoffLink
from portal.onboarding.models import Run
from portal.sandbox.provider.seed import (
    ACCOUNT_PASSWORD,
    ACCOUNT_USERNAME,
    OWNER_PASSWORD,
    OWNER_USERNAME,
    seed_provider,
)
from tests.helpers.e2e import HDP_ADMIN
from tests.helpers.sandbox import PASSWORDS
from tests.helpers.wizard import choose_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000


@pytest.fixture
def portal_url(e2e_portal: str, settings) -> str:
    settings.RATELIMIT_OAUTH_START_PER_MINUTE = 50
    return e2e_portal


@pytest.fixture
def logs(caplog):
    """Every record that reaches the root logger, from DEBUG up (the portal's own loggers)."""
    caplog.set_level(logging.DEBUG)
    return caplog


def _new_page(browser: Browser) -> Page:
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def _sign_in(page: Page, base: str) -> None:
    page.goto(base + reverse("accounts:login"))
    page.fill("#id_username", "acme_admin")
    page.fill("#id_password", PASSWORDS["acme_admin"])
    page.click("main button[type=submit]")
    page.wait_for_url(base + reverse("onboarding:runs"))


def _step(page: Page, step: str) -> None:
    page.wait_for_url(re.compile(rf".*/setup/[0-9a-f-]+/{step}/(\?[a-z=0-9&]*)?$"))
    page.wait_for_selector("#step-heading")


def _at_provider(page: Page, username: str, password: str) -> None:
    """Sign in at the sandbox provider (a fresh browser always has to), then Allow."""
    page.wait_for_selector("input[name=username]")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_selector("main [name=allow]")
    page.click("main [name=allow]")


def _ask_owner(page: Page, *, email: str = "", note: str = "") -> str:
    """Open "Ask the account owner", make the link, and copy it from the readonly field."""
    page.click("summary:has-text('Ask the account owner')")
    if email:
        page.fill("#id_handoff-email", email)
    if note:
        page.fill("#id_handoff-note", note)
    page.click("main button:has-text('Make the link')")
    page.wait_for_selector("#handoff-url")
    url = page.input_value("#handoff-url")
    assert url.startswith(settings.PORTAL_BASE_URL + "/oauth/h/")
    return url


def _owner_refused(browser: Browser, url: str) -> str:
    owner = _new_page(browser)
    response = owner.goto(url)
    assert response is not None and response.status == 410, response and response.status
    text = owner.inner_text("main")
    owner.context.close()
    return text


def _until_authorize(page: Page, base: str) -> Run:
    page.click("main a:has-text('Start a new setup')")
    choose_store(page, "54:sandbox")
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
    return Run.objects.get(status=Run.Status.ACTIVE)


def _profile_and_datasource(page: Page) -> Run:
    _step(page, "profile")
    page.click("main button:has-text('Save in HDP and continue')")
    _step(page, "datasource")
    page.fill("#id_opt_DefaultView", "123456789")
    page.click("main button:has-text('Create in HDP and continue')")
    _step(page, "verify")
    assert "Connection works" in page.wait_for_selector("main .outcome").inner_text()
    return Run.objects.get(status=Run.Status.COMPLETED)


def _tokens_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def test_a_first_consent_through_a_link_continues_into_a_working_data_source(
    page: Page, browser: Browser, portal_url: str, logs, capfd
):
    page.set_default_timeout(TIMEOUT_MS)
    _sign_in(page, portal_url)
    run = _until_authorize(page, portal_url)
    links: list[str] = []

    # Revoked: the admin makes a link and revokes it; the owner gets the one plain page.
    links.append(_ask_owner(page))
    page.click("main a:has-text('Back to the setup')")
    page.click("#handoff-state button:has-text('Revoke the link')")
    page.wait_for_selector("#handoff-state:has-text('Revoked')")
    assert "This link does not work" in _owner_refused(browser, links[-1])

    # Expired: a link whose time is up (its expiry moved into the past) gets the same page.
    links.append(_ask_owner(page))
    HandoffLink.objects.filter(state="waiting").update(expires_at=timezone.now() - timedelta(minutes=1))
    assert "This link does not work" in _owner_refused(browser, links[-1])

    # A mail scanner fetches the new link with a plain GET first: that burns nothing.
    page.click("main a:has-text('Back to the setup')")
    links.append(_ask_owner(page, email="owen@acme.example", note="For the sandbox data, please"))
    url = links[-1]
    scanned = requests.get(url, timeout=10, allow_redirects=False)
    assert scanned.status_code == 200 and "Continue to" in scanned.text
    assert scanned.headers["Referrer-Policy"] == "no-referrer"
    page.click("main a:has-text('Back to the setup')")
    page.wait_for_selector("#handoff-state:has-text('Waiting for owen@acme.example to sign in')")

    # The owner, in a browser that never signed in to the portal.
    owner = _new_page(browser)
    owner.goto(url)
    main = owner.inner_text("main")
    assert "acme_admin (Acme) asks you" in main or "(Acme) asks you" in main, main
    assert "For the sandbox data, please" in main and "shares it with" in main
    owner.click("main button:has-text('Continue to')")
    _at_provider(owner, OWNER_USERNAME, OWNER_PASSWORD)
    owner.wait_for_url(portal_url + reverse("oauth:handoff-result"))
    done = owner.inner_text("main")
    assert "Done: you can close this page." in done
    assert str(run.pk) not in owner.content() and "client" not in done.lower()
    owner.goto(url)
    assert "This link was already used" in owner.inner_text("main")
    owner.context.close()

    # The admin's Connect step notices by itself (htmx polling reloads the page), then continues.
    page.wait_for_selector("#handoff-state:has-text('Used by Owen Owner')")
    run.refresh_from_db()
    assert run.provider_display_name == "Owen Owner" and run.tokens_enc
    page.goto(portal_url + reverse("onboarding:resume", args=[run.pk]))
    run = _profile_and_datasource(page)
    with HdpClient(settings.HDP_BASE_URL, *HDP_ADMIN) as admin:
        held = admin.get_oauth_profile(run.remote_id("profile")).refresh_token
    assert held is not None and RefreshToken.objects.filter(token=held.get_secret_value()).exists()

    out, err = capfd.readouterr()
    for link in links:
        token = _tokens_of(link)
        assert token not in logs.text and token not in out and token not in err


def _finished_setup(page: Page, base: str) -> Run:
    _until_authorize(page, base)
    page.click("main button:has-text('Connect to')")
    _at_provider(page, ACCOUNT_USERNAME, ACCOUNT_PASSWORD)
    return _profile_and_datasource(page)


def _profile(run: Run) -> tuple[list[int], str]:
    with HdpClient(settings.HDP_BASE_URL, *HDP_ADMIN) as admin:
        app_id = run.remote_id("app")
        ids = [
            p.id for p in admin.list_oauth_profiles() if admin.get_oauth_profile(p.id).oauth_app_id == app_id
        ]
        held = admin.get_oauth_profile(run.remote_id("profile")).refresh_token
    return [int(i) for i in ids], held.get_secret_value() if held else ""


def test_a_reconnect_link_refuses_another_account_and_reconnects_the_right_one(
    page: Page, browser: Browser, portal_url: str, logs, capfd
):
    page.set_default_timeout(TIMEOUT_MS)
    _sign_in(page, portal_url)
    run = _finished_setup(page, portal_url)
    assert run.provider_display_name == "Sandra Person"
    ids_before, refresh_before = _profile(run)

    # The grant is revoked at the provider; HDP's check says "needs reconnect".
    RefreshToken.objects.all().delete()
    AccessToken.objects.all().delete()
    with HdpClient.service(on_behalf_of="acme_admin") as client:
        assert (
            checks.run_check(run, client, trigger=ConnectionCheck.Trigger.MANUAL).state
            == State.NEEDS_RECONNECT
        )

    # A reconnect link, used by the other sandbox person: refused, nothing in HDP changes.
    setup_url = portal_url + reverse("connections:setup", args=[run.pk])
    page.goto(setup_url)
    first = _ask_owner(page)
    owner = _new_page(browser)
    owner.goto(first)
    owner.click("main button:has-text('Continue to')")
    _at_provider(owner, OWNER_USERNAME, OWNER_PASSWORD)
    owner.wait_for_url(portal_url + reverse("oauth:handoff-result"))
    refused = owner.inner_text("main")
    assert "different account" in refused and "Sandra" not in refused
    owner.context.close()
    assert _profile(run) == (ids_before, refresh_before)
    run.refresh_from_db()
    assert run.tokens_enc == "" and run.provider_display_name == "Sandra Person"

    # A new link; the admin keeps the setup page open while the right account signs in.
    page.goto(setup_url)
    assert "Refused" in page.inner_text("#handoff-state")
    second = _ask_owner(page)
    page.goto(setup_url)
    page.wait_for_selector("#handoff-state:has-text('Waiting for')")
    owner = _new_page(browser)
    owner.goto(second)
    owner.click("main button:has-text('Continue to')")
    _at_provider(owner, ACCOUNT_USERNAME, ACCOUNT_PASSWORD)
    owner.wait_for_url(portal_url + reverse("oauth:handoff-result"))
    assert "Done: you can close this page." in owner.inner_text("main")
    owner.context.close()

    # Without a manual reload, the admin's page shows the link used and the connection working.
    page.wait_for_selector("#handoff-state:has-text('Used by Sandra Person')")
    # The status first says "Checking" (the check after the reconnect is queued), then the result.
    page.wait_for_selector(f"#setup-status .outcome:has-text('{State.WORKING.label}')")
    ids_after, refresh_after = _profile(run)
    assert ids_after == ids_before  # the same profile id, nothing created
    assert refresh_after and refresh_after != refresh_before
    with HdpClient.service(on_behalf_of="acme_admin") as client:
        result = client.test_datasource(run.remote_id("datasource"))
    assert result.success, (result.message, result.detail)

    out, err = capfd.readouterr()
    for link in (first, second):
        token = _tokens_of(link)
        assert token not in logs.text and token not in out and token not in err
