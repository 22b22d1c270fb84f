"""The language choice in a real browser (Debian's Chromium via Playwright): keyboard only, no
JavaScript needed, and the German page is as accessible as the English one (axe-core)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.sandbox.hdp.seed import seed_demo
from portal.sandbox.provider.seed import seed_provider
from tests.helpers.axe import assert_no_serious_axe_violations
from tests.helpers.sandbox import PASSWORDS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def portal(live_server, settings):
    settings.HDP_TRANSPORT_FACTORY = "tests.helpers.wizard.counting_transport"
    settings.HDP_BASE_URL = "http://hdp.test"
    settings.PORTAL_BASE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    settings.DEBUG = True  # static files from the finders (no collectstatic in tests)
    seed_demo()
    seed_provider([])
    return live_server.url


def _tab_to(page, label: str, limit: int = 25) -> None:
    """Press Tab until the focused element reads ``label`` (fails if it never does)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == label:
            return
    raise AssertionError(f"{label!r} is not reachable with the Tab key")


def test_switch_to_german_with_the_keyboard_on_my_setups(page, portal):
    page.goto(portal + reverse("accounts:login"))
    assert page.get_attribute("html", "lang") == "en"
    page.fill("#id_username", "acme_admin")
    page.fill("#id_password", PASSWORDS["acme_admin"])
    page.press("#id_password", "Enter")
    page.wait_for_url(portal + reverse("onboarding:runs"))
    assert page.inner_text("h1") == "My setups"

    _tab_to(page, "Deutsch")
    page.keyboard.press("Enter")
    page.wait_for_selector("html[lang=de]")
    assert page.url == portal + reverse("onboarding:runs")  # `next` brought the person back
    assert page.inner_text("h1") == "Meine Einrichtungen"
    assert page.get_by_role("link", name="Neue Einrichtung starten").is_visible()
    assert page.get_by_role("button", name="Abmelden").is_visible()
    assert page.get_attribute("button[value=de]", "aria-current") == "true"
    assert_no_serious_axe_violations(page)

    page.goto(portal + reverse("sandbox_provider:console"))  # the provider follows the choice
    assert page.inner_text("h1") == "Konsole des Sandbox-OAuth-Anbieters"
    assert_no_serious_axe_violations(page)


def test_the_choice_works_without_javascript(browser, portal):
    context = browser.new_context(java_script_enabled=False, locale="fr-FR")
    try:
        page = context.new_page()
        page.goto(portal + reverse("accounts:login"))
        assert page.inner_text("h1") == "Se connecter"  # Accept-Language from the browser's locale
        page.click("button[value=en]")
        page.wait_for_selector("html[lang=en]")
        assert page.inner_text("h1") == "Sign in"
    finally:
        context.close()
