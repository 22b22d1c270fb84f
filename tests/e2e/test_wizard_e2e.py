"""The whole wizard in Debian's Chromium, with the portal talking to the HDP emulator over real HTTP.

1. The sandbox provider (django-oauth-toolkit in the same server), axe-core on every page.
2. An independent OAuth server (npm oidc-provider on loopback) entered through the custom preset.
3. The same journey with JavaScript switched off (forms post, redirects navigate).
4. Keyboard only on steps a and b: focus goes to the new step's heading or the first error.
5. A consent without offline_access: refused in plain words, nothing saved in HDP.

Each journey ends by reading HDP back over HTTP (tests/helpers/e2e.py, ``hdp_state``).
"""

from __future__ import annotations

import contextlib

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.helpers.axe import assert_no_serious_axe_violations
from tests.helpers.e2e import (
    ACME_ADMIN,
    ACME_TENANT_ID,
    CHANGE_FILLED,
    CONNECT,
    GOOGLE_ANALYTICS_CUSTOM,
    GOOGLE_ANALYTICS_SANDBOX,
    REGISTER,
    Journey,
    assert_one_working_chain,
    focused,
    hdp_state,
    profile_datasource_check,
    register_at_console,
    sandbox_sign_in_and_allow,
    sign_in,
    start_setup,
    tab_to,
    wait_for_step,
)
from tests.helpers.oidc import start_oidc_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_full_wizard_with_the_sandbox_provider(page: Page, e2e_portal: str):
    journey = Journey(e2e_portal)
    journey.watch(page)
    before = hdp_state(ACME_TENANT_ID)

    sign_in(page, e2e_portal, *ACME_ADMIN, journey)
    journey.axe(page, "My setups (empty)")
    start_setup(journey, page, GOOGLE_ANALYTICS_SANDBOX, axe=True)
    journey.axe(page, "b: application")
    assert page.input_value("#id_client_id")  # the sandbox preset fills the fixed client id
    assert "read your sandbox data" in page.inner_text("#preset-facts")  # facts, not blank inputs
    assert not page.locator("#id_token_uri").is_visible()  # behind "Change these settings"
    assert page.title().startswith("OAuth application")  # the tab names the current step
    redirect_uri = page.inner_text("#redirect-uri")
    assert redirect_uri == e2e_portal + "/oauth/callback/Acme_GoogleAnalytics_app/"
    secret = register_at_console(journey, page, redirect_uri)
    journey.fill(page, "#id_client_secret", secret)
    journey.click(page, REGISTER)
    wait_for_step(page, "authorize")
    journey.axe(page, "c: connect")
    journey.click(page, CONNECT)
    sandbox_sign_in_and_allow(journey, page)
    profile_datasource_check(journey, page, axe=True)
    happy = journey.report("Happy path, sandbox provider")
    print("\n" + happy)

    after = hdp_state(ACME_TENANT_ID, test=True)
    assert_one_working_chain(before, after)
    assert journey.counts["page loads (console tab)"] == 2  # the console, and it again after adding the URI

    # A second setup, cancelled from step b: the confirmation page and My setups with rows.
    journey.click(page, "main a:has-text('Back to my setups')")
    page.wait_for_url(e2e_portal + reverse("onboarding:runs"))
    journey.axe(page, "My setups (one completed)")
    start_setup(journey, page, GOOGLE_ANALYTICS_SANDBOX)
    journey.click(page, "main a:has-text('Cancel this setup')")
    page.wait_for_selector("main button:has-text('Yes, cancel and delete')")
    journey.axe(page, "cancel confirmation")
    journey.click(page, "main button:has-text('Yes, cancel and delete')")
    page.wait_for_url(e2e_portal + reverse("onboarding:runs"))
    assert "The setup was cancelled." in page.inner_text("main")
    assert len(hdp_state(ACME_TENANT_ID).apps) == len(after.apps)  # nothing was created, nothing lost
    print(f"axe pages ({len(journey.axe_pages)}): {', '.join(journey.axe_pages)}")


def test_full_wizard_with_oidc_provider_via_custom_preset(page: Page, e2e_portal: str):
    journey = Journey(e2e_portal)
    journey.watch(page)
    before = hdp_state(ACME_TENANT_ID)
    sign_in(page, e2e_portal, *ACME_ADMIN)
    start_setup(journey, page, GOOGLE_ANALYTICS_CUSTOM)
    # What the custom preset fills in: nothing but prompt=consent.
    assert page.input_value("#id_client_id") == ""
    assert page.input_value("#id_authorize_uri") == ""
    assert page.input_value("#id_token_uri") == ""
    assert page.input_value("#id_scope") == ""
    assert page.input_value("#id_extra_params") == "prompt=consent"
    redirect_uri = page.inner_text("#redirect-uri")
    assert redirect_uri.startswith(e2e_portal + "/oauth/callback/")

    with start_oidc_provider(redirect_uri) as idp:
        journey.fill(page, "#id_client_id", idp.client_id)
        journey.fill(page, "#id_client_secret", idp.client_secret)
        journey.fill(page, "#id_authorize_uri", idp.authorize_uri)
        journey.fill(page, "#id_token_uri", idp.token_uri)
        journey.fill(page, "#id_scope", "openid offline_access")
        journey.fill(page, "#id_extra_params", "prompt=consent")
        journey.axe(page, "b: application (custom)")
        journey.click(page, REGISTER)
        wait_for_step(page, "authorize")
        assert "127.0.0.1" in page.inner_text(CONNECT)  # a custom provider is named by its host
        journey.axe(page, "c: connect (custom)")
        journey.click(page, CONNECT)

        page.wait_for_url(idp.issuer + "/**")
        journey.fill(page, "input[name=login]", "alice")
        journey.fill(page, "input[name=password]", "any-password")
        journey.click(page, "button[type=submit]")
        journey.click(page, "button:has-text('Continue')")  # oidc-provider's consent
        profile_datasource_check(journey, page, axe=False)
        print("\n" + journey.report("Happy path, oidc-provider via the custom preset"))

        after = hdp_state(ACME_TENANT_ID, test=True)  # HDP refreshes at oidc-provider's token endpoint
    assert_one_working_chain(before, after)
    app = next(a for a in after.apps if a.id not in {b.id for b in before.apps})
    assert app.token_uri == idp.token_uri
    assert app.client_id == idp.client_id


def test_wizard_works_with_javascript_off(browser: Browser, e2e_portal: str):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        journey = Journey(e2e_portal, run_axe=False)
        journey.watch(page)
        before = hdp_state(ACME_TENANT_ID)
        sign_in(page, e2e_portal, *ACME_ADMIN, journey)
        start_setup(journey, page, GOOGLE_ANALYTICS_SANDBOX)
        redirect_uri = page.inner_text("#redirect-uri")  # rendered by the server, no inline check
        secret = register_at_console(journey, page, redirect_uri)
        journey.fill(page, "#id_client_secret", secret)
        journey.click(page, REGISTER)
        wait_for_step(page, "authorize")
        journey.click(page, CONNECT)
        sandbox_sign_in_and_allow(journey, page, axe=False)
        profile_datasource_check(journey, page, axe=False)
        print("\n" + journey.report("Happy path, JavaScript off"))
        assert journey.counts["htmx requests"] == 0  # every step was a real form post or link
        assert journey.counts["page loads"] >= 10
    finally:
        context.close()
    assert_one_working_chain(before, hdp_state(ACME_TENANT_ID, test=True))


# --- keyboard only ---------------------------------------------------------------------------------
def _focus_lands_on(page: Page, element_id: str) -> dict:
    """Focus moves after htmx settles (a few ms after the swap): wait for it, then describe it."""
    with contextlib.suppress(PlaywrightTimeoutError):  # the caller's assertion says where focus went
        page.wait_for_function(
            "id => document.activeElement && document.activeElement.id === id", arg=element_id, timeout=3_000
        )
    return focused(page)


def test_keyboard_only_step(page: Page, e2e_portal: str):
    page.set_default_timeout(10_000)
    sign_in(page, e2e_portal, *ACME_ADMIN)
    tab_to(page, "main a[href$='/setup/new/']")
    page.keyboard.press("Enter")
    page.wait_for_selector("input[name=datastore]")

    # Step a: submit with nothing chosen (Space on the button) -> focus on the invalid choice.
    first = page.get_attribute("input[name=datastore] >> nth=0", "id")
    tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Space")
    page.wait_for_selector("#id_datastore-error")
    focused = _focus_lands_on(page, first)
    assert focused["id"] == first, focused
    assert focused["visible"], focused
    assert_no_serious_axe_violations(page)  # the error state too
    for _ in range(40):  # arrow keys move through the radio cards of the group
        if page.is_checked("#store-54"):
            break
        page.keyboard.press("ArrowDown")
    assert page.is_checked("#store-54")
    tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#provider-sandbox")
    tab_to(page, "input[name=provider]")
    for _ in range(10):
        if page.is_checked("#provider-sandbox"):
            break
        page.keyboard.press("ArrowDown")
    assert page.is_checked("#provider-sandbox")
    tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    wait_for_step(page, "app")
    page.wait_for_selector("#id_client_secret")
    heading = _focus_lands_on(page, "step-heading")
    assert heading["id"] == "step-heading", heading
    assert heading["visible"], heading  # h1:focus drops the outline; the focus ring's shadow stays

    # Step b: back and forth with Tab / Shift+Tab, submit without the secret -> focus on it.
    tab_to(page, REGISTER)
    tab_to(page, "#id_name", back=True)
    page.keyboard.press("Enter")  # implicit submission from a text field
    page.wait_for_selector("#id_client_secret-error")
    focused = _focus_lands_on(page, "id_client_secret")
    assert focused["id"] == "id_client_secret", focused
    assert focused["visible"], focused
    assert_no_serious_axe_violations(page)
    page.keyboard.type("sandbox-portal-secret")
    tab_to(page, REGISTER)
    page.keyboard.press("Enter")
    wait_for_step(page, "authorize")
    assert len(hdp_state(ACME_TENANT_ID).apps) == 1


def test_missing_refresh_token_is_refused_in_the_browser(page: Page, e2e_portal: str):
    journey = Journey(e2e_portal)
    journey.watch(page)
    sign_in(page, e2e_portal, *ACME_ADMIN)
    start_setup(journey, page, GOOGLE_ANALYTICS_SANDBOX)
    assert page.input_value("#id_scope") == "openid read offline_access"
    secret = register_at_console(journey, page, page.inner_text("#redirect-uri"))
    journey.fill(page, "#id_client_secret", secret)
    journey.click(page, CHANGE_FILLED)
    journey.fill(page, "#id_scope", "openid read")  # no offline_access: no refresh token
    journey.click(page, REGISTER)
    wait_for_step(page, "authorize")
    journey.click(page, CONNECT)
    sandbox_sign_in_and_allow(journey, page, axe=False)

    wait_for_step(page, "authorize")
    message = page.locator("main [role=alert]").inner_text()
    assert "no refresh token" in message, message
    assert "offline_access" in message, message
    assert "Nothing was saved." in message
    journey.axe(page, "c: connect, refused")
    state = hdp_state(ACME_TENANT_ID)
    assert state.profiles == []
    assert len(state.apps) == 1  # the app step did its work; only the sign-in was refused
