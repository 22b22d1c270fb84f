"""The wizard in a real browser (Debian's Chromium via Playwright): htmx swaps, inline checks,
focus after errors, the copy button, CSP, and the consent round trip with the sandbox provider.

Marked ``browser``; the rest of the wizard is covered without a browser.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from portal.onboarding.models import Run
from portal.sandbox.hdp.seed import seed_demo
from portal.sandbox.provider.seed import seed_provider
from tests.helpers.sandbox import PASSWORDS, PROVIDER_PASSWORD
from tests.helpers.wizard import choose_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def portal(live_server, settings):
    settings.HDP_TRANSPORT_FACTORY = "tests.helpers.wizard.counting_transport"
    settings.HDP_BASE_URL = "http://hdp.test"
    settings.PORTAL_BASE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    settings.OAUTH_ALLOW_LOOPBACK = True
    settings.DEBUG = True  # static files from the finders (no collectstatic in tests)
    seed_demo()
    seed_provider([])
    return live_server.url


@pytest.fixture
def console_errors(page):
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    return found


def sign_in(page, base):
    page.goto(base + reverse("accounts:login"))
    page.fill("#id_username", "acme_admin")
    page.fill("#id_password", PASSWORDS["acme_admin"])
    page.click("main button[type=submit]")
    page.wait_for_url(base + reverse("onboarding:runs"))


def test_steps_swap_in_place_with_inline_checks_and_focus(page, portal, console_errors):
    sign_in(page, portal)
    page.click("text=Start a new setup")
    page.click("main button:has-text('Continue')")  # nothing chosen: error, focus on the choice
    page.wait_for_selector("#id_datastore-error")
    assert page.locator(":focus").get_attribute("name") == "datastore"
    choose_store(page, "54:sandbox")
    page.wait_for_selector("#id_client_secret")
    run = Run.objects.get()
    assert page.url.endswith(reverse("onboarding:step-app", args=[run.pk]))  # HX-Push-Url
    assert page.locator(":focus").get_attribute("id") == "step-heading"

    page.fill("#id_name", "bad name")  # inline check as the admin types
    page.wait_for_selector("#id_name-error")
    assert "remove: space" in page.inner_text("#id_name-error")
    page.fill("#id_name", "Acme_browser_app")
    page.wait_for_selector("#id_name-error", state="detached")
    page.wait_for_selector("#redirect-uri:has-text('/oauth/callback/Acme_browser_app/')")

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("button[data-copy]")
    page.wait_for_selector(".copy-status:has-text('Copied')")

    page.fill("#id_client_secret", "secret-sentinel")
    page.click("main summary:has-text('Change these settings')")  # the preset's addresses, behind Change
    page.fill("#id_token_uri", "https://evil.example/token")
    page.click("main button:has-text('Register in HDP and continue')")
    page.wait_for_selector("#id_token_uri-error")
    assert page.locator(":focus").get_attribute("id") == "id_token_uri"
    assert page.input_value("#id_name") == "Acme_browser_app"
    assert page.input_value("#id_client_secret") == ""
    assert console_errors == []


def test_consent_round_trip_in_one_browser(page, portal, console_errors):
    page.set_default_timeout(8_000)
    sign_in(page, portal)
    page.click("text=Start a new setup")
    choose_store(page, "54:sandbox")
    page.wait_for_selector("#id_client_secret")
    redirect_uri = page.inner_text("#redirect-uri")
    console = page.context.new_page()
    console.goto(portal + "/sandbox/provider/")
    console.fill("input[name=redirect_uri]", redirect_uri)
    console.click("main form:has(input[name=redirect_uri]) button[type=submit]")
    # Close only once the registration has landed: closing a tab mid-navigation can hang Chromium.
    console.wait_for_selector(f"ul[aria-labelledby=redirect-uris-heading] code:text-is('{redirect_uri}')")
    console.close()
    page.fill("#id_client_secret", "sandbox-portal-secret")
    page.click("main button:has-text('Register in HDP and continue')")
    page.wait_for_url(re.compile(r".*/authorize/$"))
    page.click("main button:has-text('Connect to')")
    page.fill("input[name=username]", "sandbox_person")
    page.fill("input[name=password]", PROVIDER_PASSWORD)
    page.click("main button[type=submit]")
    page.click("main [name=allow], main button:has-text('Allow')")
    page.wait_for_url(re.compile(r".*/profile/$"), timeout=10_000)
    page.click("main button:has-text('Save in HDP and continue')")
    page.wait_for_selector("#id_opt_DefaultView")
    run = Run.objects.get()
    assert run.remote("profile").remote_id is not None
    assert run.tokens_enc == ""  # HDP holds the tokens now
    assert console_errors == []


def test_a_retry_clears_the_old_error_banner_when_it_starts(page, portal, console_errors):
    sign_in(page, portal)
    page.click("text=Start a new setup")
    choose_store(page, "54:sandbox")
    page.wait_for_selector("#id_client_secret")
    # An error banner from an earlier attempt, then the form is sent again (htmx starts the request).
    page.evaluate(
        """() => {
        const banner = document.createElement('div');
        banner.id = 'banner'; banner.className = 'alert alert-error'; banner.textContent = 'old error';
        document.querySelector('#wizard').prepend(banner);
        const form = document.querySelector('#wizard form[hx-post]');
        form.dispatchEvent(new CustomEvent('htmx:beforeRequest', {bubbles: true, detail: {elt: form}}));
    }"""
    )
    assert page.locator("#banner").count() == 0  # gone as the retry starts, not when it ends
    assert console_errors == []
