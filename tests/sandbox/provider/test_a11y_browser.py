"""The sandbox provider's pages in real Chromium: axe finds nothing serious, under the real CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from portal.sandbox.provider.seed import seed_provider
from tests.helpers.axe import assert_no_serious_axe_violations, run_axe
from tests.helpers.pkce import make_pkce
from tests.helpers.sandbox import PROVIDER_PASSWORD
from tests.helpers.sandbox_provider import authorize_url

pytestmark = pytest.mark.browser


def test_console_has_no_serious_axe_violations(live_server, page: Page):
    seed_provider(["http://127.0.0.1:9/oauth/callback/Sandbox_app/"])
    response = page.goto(live_server.url + "/sandbox/provider/")
    assert response is not None and "script-src" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="Sandbox OAuth provider console")).to_be_visible()
    assert_no_serious_axe_violations(page)


def test_login_and_consent_pages_have_no_serious_axe_violations(live_server, page: Page):
    redirect_uri = "http://127.0.0.1:9/oauth/callback/Sandbox_app/"
    seed_provider([redirect_uri])
    page.goto(live_server.url + authorize_url(redirect_uri, state="s", code_challenge=make_pkce()[1]))
    expect(page.get_by_role("heading", name="Sign in to the sandbox provider")).to_be_visible()
    assert_no_serious_axe_violations(page)

    page.get_by_label("User name").fill("sandbox_person")
    page.get_by_label("Password").fill(PROVIDER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Allow")).to_be_visible()
    assert_no_serious_axe_violations(page)


def test_the_check_fails_on_a_serious_violation(live_server, page: Page):
    """The harness itself: a page with an unlabelled field and an image without alt must fail."""
    page.goto(live_server.url + "/sandbox/provider/login/")
    page.evaluate(
        """() => { const i = document.createElement('input'); document.querySelector('main').append(i);
                   const img = document.createElement('img'); img.src = 'data:,'; document.querySelector('main').append(img); }"""
    )
    ids = {v["id"] for v in run_axe(page)}
    assert {"label", "image-alt"} <= ids
    with pytest.raises(AssertionError, match=r"\[critical\] (label|image-alt)"):
        assert_no_serious_axe_violations(page)
