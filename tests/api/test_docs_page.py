"""/api/v1/docs in Chromium: Swagger UI from the portal's own static files, under the portal's CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page


@pytest.mark.browser
def test_the_interactive_docs_render_under_the_csp_without_a_cdn(api_live, page: Page):
    violations: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("request", lambda r: requests.append(r.url))
    page.goto(api_live + "/api/v1/docs")
    page.wait_for_selector("text=HDP Onboarding Portal API", timeout=15_000)
    page.wait_for_selector(
        '[data-path="/api/v1/setups"]', timeout=15_000
    )  # swagger-ui's path, split by <wbr>
    assert violations == []
    assert requests and all(url.startswith(api_live) for url in requests), requests


@pytest.mark.browser
def test_the_tokens_page_fits_a_phone_and_passes_axe(api_live, browser):
    from tests.helpers.axe import assert_no_serious_axe_violations
    from tests.helpers.sandbox import PASSWORDS

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(api_live + "/accounts/login/")
    page.fill("#id_username", "acme_admin")
    page.fill("#id_password", PASSWORDS["acme_admin"])
    page.click("main button[type=submit]")
    page.wait_for_url(api_live + "/")
    page.click("text=API tokens")
    page.fill("#id_name", "nightly report")
    page.check("input[value='setups:read']")
    page.click("main button[type=submit]")
    token = page.inner_text("#new-token")
    assert token.startswith("hdpp_")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert overflow is False
    assert_no_serious_axe_violations(page)
    context.close()
