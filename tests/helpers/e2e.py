"""End-to-end browser tests: Debian's Chromium drives the portal, and the portal talks to the HDP
emulator over real HTTP (the emulator is mounted at ``/sandbox/hdp`` of the same live server).

Nothing here patches the portal: ``HDP_TRANSPORT_FACTORY`` is off, so every HDP call is an
``httpx`` request over a socket, exactly as against a real HDP server. What HDP holds at the end is
read back over HTTP too (:func:`hdp_state`), as HDP's own administrator would see it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page

from portal.hdp.client import HdpClient
from portal.hdp.schemas import OAuthApp, OAuthProfile
from portal.onboarding.models import Run
from portal.sandbox.hdp.seed import seed_demo
from portal.sandbox.provider.seed import ACCOUNT_PASSWORD, ACCOUNT_USERNAME, seed_provider
from tests.helpers.axe import assert_no_serious_axe_violations
from tests.helpers.sandbox import PASSWORDS
from tests.helpers.wizard import choose_store

ACME_TENANT_ID = 71
ACME_ADMIN = ("acme_admin", PASSWORDS["acme_admin"])
HDP_ADMIN = ("d2cadmin", PASSWORDS["d2cadmin"])
TIMEOUT_MS = 10_000


@pytest.fixture
def e2e_portal(live_server, settings) -> str:
    """The live server's URL; the portal reaches HDP (the emulator) over real HTTP."""
    settings.HDP_BASE_URL = live_server.url + "/sandbox/hdp"
    settings.HDP_TRANSPORT_FACTORY = None
    settings.PORTAL_BASE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    settings.OAUTH_ALLOW_LOOPBACK = True
    seed_demo()
    seed_provider([])
    return str(live_server.url)


# --- counting what a person does -------------------------------------------------------------------
@dataclass
class Journey:
    """Counts what the person does (clicks, typed fields, choices, keys) and what the browser
    loads (whole documents vs. htmx swaps), and runs axe on each page it is told about."""

    base: str
    # Off for pages without JavaScript: axe runs as JavaScript (page.evaluate would wait forever).
    run_axe: bool = True
    counts: Counter[str] = field(default_factory=Counter)
    axe_pages: list[str] = field(default_factory=list)

    def watch(self, page: Page, tab: str = "") -> Page:
        page.set_default_timeout(TIMEOUT_MS)
        loads = f"page loads ({tab} tab)" if tab else "page loads"
        page.on("load", lambda _page: self.counts.update([loads]))
        page.on("request", self._on_request)
        return page

    def _on_request(self, request: Any) -> None:
        headers = request.headers
        if headers.get("hx-request") == "true" and "/validate/" not in request.url:
            self.counts.update(["htmx requests"])

    def click(self, page: Page, selector: str) -> None:
        self.counts.update(["clicks"])
        page.click(selector)

    def fill(self, page: Page, selector: str, value: str) -> None:
        self.counts.update(["fields typed"])
        page.fill(selector, value)

    def choose(self, page: Page, selector: str, value: str) -> None:
        self.counts.update(["choices made"])
        page.select_option(selector, value)

    def axe(self, page: Page, label: str) -> None:
        """Zero serious or critical axe-core violations on this page, as it is now."""
        if not self.run_axe:
            return
        assert_no_serious_axe_violations(page)
        self.axe_pages.append(label)

    def report(self, title: str) -> str:
        order = ("clicks", "fields typed", "choices made", "copied from console", "page loads")
        counted = [f"{self.counts[k]} {k}" for k in order]
        counted += [f"{n} {k}" for k, n in sorted(self.counts.items()) if k.startswith("page loads (")]
        counted.append(f"{self.counts['htmx requests']} htmx requests (swaps in place or HX-Redirect)")
        return f"{title}: " + ", ".join(counted)


# --- steps a person takes --------------------------------------------------------------------------
def sign_in(page: Page, base: str, user: str, pw: str, journey: Journey | None = None) -> None:
    page.goto(base + reverse("accounts:login"))
    if journey is not None:
        journey.axe(page, "sign-in")
        journey.fill(page, "#id_username", user)
        journey.fill(page, "#id_password", pw)
        journey.click(page, "main button[type=submit]")
    else:
        page.fill("#id_username", user)
        page.fill("#id_password", pw)
        page.click("main button[type=submit]")
    page.wait_for_url(base + reverse("onboarding:runs"))


def register_at_console(journey: Journey, page: Page, redirect_uri: str) -> str:
    """In a second tab, as at a real provider's console: register the redirect URI (unless it is
    registered already) and copy the client secret. Returns the secret."""
    console = journey.watch(page.context.new_page(), tab="console")
    try:
        console.goto(journey.base + reverse("sandbox_provider:console"))
        journey.axe(console, "sandbox console")
        registered = console.locator("ul[aria-labelledby=redirect-uris-heading] code").all_inner_texts()
        if redirect_uri not in registered:
            journey.fill(console, "input[name=redirect_uri]", redirect_uri)
            journey.click(console, "main form:has(input[name=redirect_uri]) button[type=submit]")
            console.wait_for_selector(
                f"ul[aria-labelledby=redirect-uris-heading] code:text-is('{redirect_uri}')"
            )
        secret = console.locator(
            "dt:has-text('Client secret') + dd code"
        ).inner_text()  # the person copies it from the console
        journey.counts.update(["copied from console"])
    finally:
        console.close()
    assert secret
    return secret


def sandbox_sign_in_and_allow(journey: Journey, page: Page, *, axe: bool = True) -> None:
    """At the sandbox provider: its sign-in page, then its consent page (Allow)."""
    page.wait_for_selector("input[name=username]")
    if axe:
        journey.axe(page, "provider sign-in")
    journey.fill(page, "input[name=username]", ACCOUNT_USERNAME)
    journey.fill(page, "input[name=password]", ACCOUNT_PASSWORD)
    journey.click(page, "main button[type=submit]")
    page.wait_for_selector("main [name=allow]")
    if axe:
        journey.axe(page, "provider consent")
    journey.click(page, "main [name=allow]")


def wait_for_step(page: Page, step: str) -> None:
    page.wait_for_url(re.compile(rf".*/setup/[0-9a-f-]+/{step}/(\?[a-z=0-9&]*)?$"))
    page.wait_for_selector("#step-heading")


# --- what HDP holds, read over HTTP ------------------------------------------------------------------
@dataclass
class HdpState:
    apps: list[OAuthApp]
    profiles: list[OAuthProfile]
    datasources: list[Any]
    tests: dict[int, Any] = field(default_factory=dict)

    def profile_has_refresh_token(self, profile: OAuthProfile) -> bool:
        token = profile.refresh_token
        return token is not None and bool(token.get_secret_value())


def hdp_state(tenant_id: int, *, owner: str = ACME_ADMIN[0], test: bool = False) -> HdpState:
    """What HDP holds for ``tenant_id``, read over HTTP as HDP's administrator: the tenant's OAuth
    apps (with details), the profiles using them (each fetched by id, which includes the tokens),
    ``owner``'s data sources (with options), and with ``test=True`` a fresh HDP test of each."""
    base = settings.HDP_BASE_URL
    assert base.startswith("http://") and base.endswith("/sandbox/hdp"), base
    with HdpClient(base, *HDP_ADMIN) as admin, HdpClient(base, *HDP_ADMIN, on_behalf_of=owner) as acting:
        apps = [admin.get_oauth_app(a.id) for a in admin.list_oauth_apps(tenant_id=tenant_id)]
        app_ids = {a.id for a in apps}
        profiles = [admin.get_oauth_profile(p.id) for p in admin.list_oauth_profiles()]
        profiles = [p for p in profiles if p.oauth_app_id in app_ids]
        datasources = acting.list_datasources()
        tests = {ds.id: acting.test_datasource(ds.id) for ds in datasources} if test else {}
    return HdpState(apps=apps, profiles=profiles, datasources=datasources, tests=tests)


def assert_one_working_chain(before: HdpState, after: HdpState) -> None:
    """Exactly one new app, one profile with a refresh token, one data source linked to that
    profile, and a fresh HDP test of it passes."""
    new_apps = [a for a in after.apps if a.id not in {b.id for b in before.apps}]
    new_profiles = [p for p in after.profiles if p.id not in {b.id for b in before.profiles}]
    new_ds = [d for d in after.datasources if d.id not in {b.id for b in before.datasources}]
    assert len(new_apps) == 1, after.apps
    assert len(new_profiles) == 1, after.profiles
    assert len(new_ds) == 1, after.datasources
    profile = new_profiles[0]
    assert profile.oauth_app_id == new_apps[0].id
    assert after.profile_has_refresh_token(profile), "HDP's profile holds no refresh token"
    assert new_ds[0].options.get("OAuthProfileId") == str(profile.id), new_ds[0].options
    result = after.tests[new_ds[0].id]
    assert result.success, (result.message, result.detail)


@pytest.fixture
def portal_url(e2e_portal: str) -> str:
    """The live portal reaching the emulator over real HTTP (``e2e_portal``)."""
    return e2e_portal


# --- the wizard's walk (tests/e2e/test_wizard_e2e.py, test_layout.py, test_client_auth_e2e.py) -------------
GOOGLE_ANALYTICS_SANDBOX = "54:sandbox"
GOOGLE_ANALYTICS_CUSTOM = "54:custom"
CONTINUE = "main button:has-text('Continue')"
REGISTER = "main button:has-text('Register in HDP and continue')"
CONNECT = "main button:has-text('Connect to')"
SAVE_PROFILE = "main button:has-text('Save in HDP and continue')"
CREATE_DS = "main button:has-text('Create in HDP and continue')"
CHECK = "main button:has-text('Check the connection')"
CHANGE_FILLED = "main summary:has-text('Change these settings')"


def start_setup(journey: Journey, page: Page, choice: str, *, axe: bool = False) -> None:
    """My setups -> step a -> choose -> step b."""
    journey.click(page, "main a:has-text('Start a new setup')")
    page.wait_for_selector("input[name=datastore]")
    if axe:
        journey.axe(page, "a: data store")
    store, _sep, provider = choice.partition(":")
    journey.click(page, f"label[for='store-{store}']")
    journey.click(page, CONTINUE)
    page.wait_for_selector(f"#provider-{provider}")
    assert page.locator("#chosen-store").is_visible()  # the chosen store stays on screen
    if axe:
        journey.axe(page, "a: provider")
    journey.click(page, f"label[for='provider-{provider}']")
    journey.click(page, CONTINUE)
    wait_for_step(page, "app")
    page.wait_for_selector("#id_client_secret")


def profile_datasource_check(journey: Journey, page: Page, *, axe: bool) -> None:
    """Steps d, e, f: save the profile, create the data source; HDP's check runs by itself."""
    wait_for_step(page, "profile")
    if axe:
        journey.axe(page, "d: profile")
    journey.click(page, SAVE_PROFILE)
    wait_for_step(page, "datasource")
    page.wait_for_selector("#id_opt_DefaultView")
    if axe:
        journey.axe(page, "e: data source")
    journey.fill(page, "#id_opt_DefaultView", "123456789")  # GA has no required option; fill one
    journey.click(page, CREATE_DS)
    wait_for_step(page, "verify")
    outcome = page.wait_for_selector("main .outcome")  # no extra click: the check ran by itself
    assert "outcome-ok" in (outcome.get_attribute("class") or ""), outcome.inner_text()
    assert "Connection works: HDP connected to the data store." in outcome.inner_text()
    assert page.inner_text("#step-heading") == "Setup complete"
    assert page.title().startswith("Setup complete")
    assert "(you are here)" not in page.inner_text("nav.stepper-nav")
    assert page.locator("#setup-complete a:has-text('Back to my setups')").count() == 1
    assert page.query_selector(CHECK) is None
    if axe:
        journey.axe(page, "f: setup complete")


# --- keyboard focus -------------------------------------------------------------------------------
FOCUS_VISIBLE_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const shadow = s.boxShadow && s.boxShadow !== 'none';
  return {id: el.id, tag: el.tagName, text: (el.textContent || '').trim().slice(0, 60),
          visible: outline || !!shadow, outline: s.outline, shadow: s.boxShadow};
}"""


def focused(page: Page) -> dict:
    info = page.evaluate(FOCUS_VISIBLE_JS)
    assert info is not None, "nothing has focus"
    return info


def tab_to(page: Page, selector: str, *, back: bool = False, limit: int = 40) -> dict:
    """Press Tab (or Shift+Tab) until the focused element matches ``selector``; its focus must show."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if page.locator(selector).first.evaluate("el => el === document.activeElement"):
            info = focused(page)
            assert info["visible"], f"focus on {selector} is not visible: {info}"
            return info
    raise AssertionError(f"{limit} presses of Tab never reached {selector}")


# --- a finished setup, walked without counting (tests/e2e/test_reconnect_e2e.py, test_repair_e2e.py, test_rotate_e2e.py)
def at_provider(page: Page) -> None:
    """Sign in at the sandbox provider if it asks, then Allow."""
    page.wait_for_selector("input[name=username], main [name=allow]")
    if page.locator("input[name=username]").count():
        page.fill("input[name=username]", ACCOUNT_USERNAME)
        page.fill("input[name=password]", ACCOUNT_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_selector("main [name=allow]")
    page.click("main [name=allow]")


def finished_setup(page: Page, base: str) -> Run:
    page.goto(base + reverse("accounts:login"))
    page.fill("#id_username", "acme_admin")
    page.fill("#id_password", PASSWORDS["acme_admin"])
    page.click("main button[type=submit]")
    page.wait_for_url(base + reverse("onboarding:runs"))
    page.click("main a:has-text('Start a new setup')")
    choose_store(page, "54:sandbox")
    wait_for_step(page, "app")
    redirect_uri = page.inner_text("#redirect-uri")
    seed_provider([redirect_uri])  # registered at the provider, as an admin would at its console
    console = page.context.new_page()
    console.goto(base + reverse("sandbox_provider:console"))
    secret = console.locator("dt:has-text('Client secret') + dd code").inner_text()
    console.close()
    page.fill("#id_client_secret", secret)
    page.click("main button:has-text('Register in HDP and continue')")
    wait_for_step(page, "authorize")
    page.click("main button:has-text('Connect to')")
    at_provider(page)
    return finish_after_consent(page)


def finish_after_consent(page) -> Run:
    """Steps d-f after the consent: save the profile, create the data source, check it works."""
    wait_for_step(page, "profile")
    page.click("main button:has-text('Save in HDP and continue')")
    wait_for_step(page, "datasource")
    page.fill("#id_opt_DefaultView", "123456789")
    page.click("main button:has-text('Create in HDP and continue')")
    wait_for_step(page, "verify")  # HDP's check runs by itself
    assert "Connection works" in page.wait_for_selector("main .outcome").inner_text()
    return Run.objects.get(status=Run.Status.COMPLETED)
