"""Layout at a phone's width and a desktop's, in English and German, in Debian's Chromium.

The whole wizard is walked to a passing check with the walk of test_wizard_e2e.py (its helpers,
not a copy: when the wizard's flow changes there, this test follows). Every page the walk shows it
(each step, the sandbox console, the sandbox provider's sign-in and consent), then My setups, the
setup page, notifications, the provider's console and refusal page, and the support console's
reason page, tenant list and chain (signed in as ``support``), must have

- no horizontal scrolling: ``document.documentElement.scrollWidth <= window.innerWidth``;
- no short word split where it has no break opportunity ("acme_admi n"), no ``<dd>`` squeezed
  below half its list's width (the Connect step's 70 px column);
- no serious or critical axe-core violation.

German: the walk's selectors name English buttons, so the walk itself stays in English and each page
it reaches is opened again, with the same session cookies, in a second context that asks for German
(its locale's ``Accept-Language``); the checks run on that German copy. A GET of a step shows the
same step (the wizard keeps its state on the server); only the check's outcome box is the POST's,
so the German "f: setup complete" is the completed setup's verify page.

Four combinations share one browser (pytest-playwright's session ``browser``); each gets its own
contexts at its own viewport. ``LAYOUT_SCREENSHOTS=/tmp/shots`` saves every checked page.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, BrowserContext, Page

from portal.onboarding.models import Run
from portal.sandbox.hdp import faults
from portal.sandbox.provider.seed import ACCOUNT_PASSWORD, ACCOUNT_USERNAME, seed_provider
from tests.helpers.axe import assert_no_serious_axe_violations
from tests.helpers.e2e import (
    ACME_ADMIN,
    CHANGE_FILLED,
    CONNECT,
    GOOGLE_ANALYTICS_SANDBOX,
    REGISTER,
    TIMEOUT_MS,
    Journey,
    profile_datasource_check,
    register_at_console,
    sandbox_sign_in_and_allow,
    sign_in,
    start_setup,
    tab_to,
    wait_for_step,
)
from tests.helpers.pkce import make_pkce
from tests.helpers.sandbox import PASSWORDS
from tests.helpers.sandbox_provider import authorize_url
from tests.helpers.wizard import choose_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SUPPORT = ("support", PASSWORDS["support"])
ACME_TENANT_ID = 71
SCREENSHOTS = os.environ.get("LAYOUT_SCREENSHOTS", "")

# What sticks out past the right edge, for the failure message (the widest few, innermost first).
_OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    // A box wider than the page, or a box whose text runs out of it past the page's edge.
    const spills = r.left + el.scrollWidth > width + 0.5 && getComputedStyle(el).overflowX === 'visible';
    if (r.width && (r.right > width + 0.5 || spills)) {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
      out.push({el: name, right: Math.round(r.right), text: (el.textContent || '').trim().slice(0, 50)});
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width,
          culprits: out.slice(-6)};
}"""


# Short words split over two lines where they have no break opportunity
# (``overflow-wrap: anywhere`` in a table squeezes a column to a few letters: "acme_admi / n"); a
# break after a hyphen is fine, and so is any break inside a <code> box (long addresses wrap there
# on purpose). And definition values squeezed into a column less than half their list's width.
_SQUEEZED_JS = """() => {
  const broken = [];
  // A word shorter than half the page's column never needs to break (long ids and addresses may).
  const room = document.querySelector('main').clientWidth / 2;
  const cells = document.querySelectorAll('main td, main th, main dd');
  for (const cell of cells) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest('code')) continue;
      const re = /[^\\s\\-\u2010\u2011]{2,}/g;
      for (let m = re.exec(node.data); m; m = re.exec(node.data)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const rects = [...range.getClientRects()].filter(r => r.width > 0);
        const tops = new Set(rects.map(r => Math.round(r.top)));
        const wide = rects.reduce((w, r) => w + r.width, 0);
        if (tops.size > 1 && wide < room) broken.push(m[0]);
      }
    }
  }
  const narrow = [...document.querySelectorAll('main dd')]
    .filter(dd => dd.getBoundingClientRect().width < dd.parentElement.getBoundingClientRect().width * 0.5)
    .map(dd => (dd.textContent || '').trim().slice(0, 40));
  return {broken: broken.slice(0, 8), narrow: narrow.slice(0, 8)};
}"""


def layout_problems(page: Page) -> list[str]:
    """What is wrong with the page's layout as it is now (nothing: an empty list)."""
    problems = []
    if not page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"):
        problems.append(f"scrolls sideways: {page.evaluate(_OVERFLOW_JS)}")
    squeezed = page.evaluate(_SQUEEZED_JS)
    if squeezed["broken"]:
        problems.append(f"words broken mid-word: {squeezed['broken']}")
    if squeezed["narrow"]:
        problems.append(f"values squeezed into a narrow column: {squeezed['narrow']}")
    return problems


@dataclass
class LayoutJourney(Journey):
    """A Journey whose per-page check (``axe``, called by the walk helpers) also measures overflow,
    and, for another language, checks a copy of the page opened in that language."""

    lang: str = "en"
    # For another language: a context of the same browser at the same viewport, asking for it.
    viewer: BrowserContext | None = None
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def axe(self, page: Page, label: str) -> None:
        if self.viewer is None:
            self._check(page, label)
            return
        # The same browser session (the portal's and the provider's sign-in live in the session
        # cookie, which changes at each sign-in), seen by a browser that asks for another language.
        self.viewer.clear_cookies()
        self.viewer.add_cookies(page.context.cookies())
        copy = self.viewer.pages[0] if self.viewer.pages else self.viewer.new_page()
        copy.set_default_timeout(TIMEOUT_MS)
        copy.goto(page.url)
        assert copy.evaluate("() => document.documentElement.lang") == self.lang, copy.url
        self._check(copy, label)

    def _check(self, page: Page, label: str) -> None:
        """Every problem of every page is collected, so one run lists them all."""
        if SCREENSHOTS:  # for a person to look at: LAYOUT_SCREENSHOTS=/tmp/shots pytest ...
            width = page.viewport_size["width"] if page.viewport_size else 0
            name = re.sub(r"[^a-z0-9]+", "-", f"{width}-{self.lang}-{len(self.checked):02d}-{label}".lower())
            page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
        found = layout_problems(page)
        try:
            assert_no_serious_axe_violations(page)
        except AssertionError as violations:
            found.append(str(violations))
        self.problems += [f"{label} ({page.url}): {problem}" for problem in found]
        self.checked.append(label)


LOCALES = {"en": "en-US", "de": "de-DE"}


def _context(browser: Browser, viewport: dict[str, int], lang: str = "en") -> BrowserContext:
    """No language cookie: the language comes from the browser's Accept-Language (its locale)."""
    return browser.new_context(viewport=viewport, locale=LOCALES[lang])


def _open(journey: LayoutJourney, page: Page, path: str, label: str) -> None:
    page.goto(journey.base + path)
    journey.axe(page, label)


def _walk_the_wizard(journey: LayoutJourney, page: Page) -> Run:
    """Sign-in to a passing check, every page checked (the walk of test_wizard_e2e.py)."""
    sign_in(page, journey.base, *ACME_ADMIN, journey)
    journey.axe(page, "My setups (empty)")
    start_setup(journey, page, GOOGLE_ANALYTICS_SANDBOX, axe=True)
    journey.axe(page, "b: application")
    secret = register_at_console(journey, page, page.inner_text("#redirect-uri"))
    journey.fill(page, "#id_client_secret", secret)
    journey.click(page, REGISTER)
    wait_for_step(page, "authorize")
    journey.axe(page, "c: connect")
    journey.click(page, CONNECT)
    sandbox_sign_in_and_allow(journey, page)
    profile_datasource_check(journey, page, axe=True)
    return Run.objects.get(status=Run.Status.COMPLETED)


def _support_console(journey: LayoutJourney, page: Page) -> None:
    sign_in(page, journey.base, *SUPPORT)
    page.goto(journey.base + reverse("support:tenants"))
    page.wait_for_selector("#id_reason")  # the console asks why before showing any tenant
    journey.axe(page, "support: reason")
    page.fill("#id_reason", "Layout check, ticket 12")
    page.click("main button[type=submit]")
    page.wait_for_url(journey.base + reverse("support:tenants"))
    journey.axe(page, "support: tenants")
    _open(journey, page, reverse("support:tenant", args=[ACME_TENANT_ID]), "support: tenant chain")


@pytest.mark.parametrize(
    ("viewport", "lang"),
    [(PHONE, "en"), (PHONE, "de"), (DESKTOP, "en"), (DESKTOP, "de")],
    ids=["390-en", "390-de", "1280-en", "1280-de"],
)
def test_every_page_fits_and_passes_axe(browser: Browser, e2e_portal: str, viewport, lang):
    viewer = _context(browser, viewport, lang) if lang != "en" else None
    journey = LayoutJourney(e2e_portal, lang=lang, viewer=viewer)
    context = _context(browser, viewport)
    try:
        page = journey.watch(context.new_page())
        run = _walk_the_wizard(journey, page)
        _open(journey, page, reverse("onboarding:runs"), "My setups (one completed)")
        _open(journey, page, reverse("connections:setup", args=[run.pk]), "setup page")
        _open(journey, page, reverse("connections:notifications"), "notifications")
        _open(journey, page, reverse("sandbox_provider:login"), "provider sign-in (signed in)")
        _open(journey, page, reverse("sandbox_provider:console"), "sandbox console (a grant)")
        refused = authorize_url("https://elsewhere.example/cb", state="x", code_challenge=make_pkce()[1])
        _open(journey, page, refused, "provider refusal")
    finally:
        context.close()

    support_context = _context(browser, viewport)
    try:
        _support_console(journey, journey.watch(support_context.new_page()))
    finally:
        support_context.close()
        if viewer is not None:
            viewer.close()

    expected = {
        "sign-in",
        "My setups (empty)",
        "a: data store",
        "b: application",
        "sandbox console",
        "c: connect",
        "provider sign-in",
        "provider consent",
        "d: profile",
        "e: data source",
        "f: setup complete",  # the check runs by itself: no separate "f: check" page any more
        "My setups (one completed)",
        "setup page",
        "notifications",
        "sandbox console (a grant)",
        "provider refusal",
        "support: reason",
        "support: tenants",
        "support: tenant chain",
    }
    assert expected <= set(journey.checked), expected - set(journey.checked)
    assert not journey.problems, "\n".join(journey.problems)
    print(f"\n{viewport['width']} px, {lang}: {len(journey.checked)} pages fit and pass axe")


# --- the longest names: HDP's 100 characters, no space to break at ----------------------------------
def _long_name(suffix: str) -> str:
    """100 characters, no space, no hyphen: the portal's own suggestion for the Autonomous REST
    Connector (``Acme_AutonomousRESTConnector_profile``) stretched to HDP's longest name."""
    stem = "Acme_AutonomousRESTConnector_" * 4
    return f"{stem[: 99 - len(suffix)]}_{suffix}"


LONG_APP, LONG_PROFILE, LONG_DS = _long_name("app"), _long_name("profile"), _long_name("datasource")
SAVE_PROFILE = "main button:has-text('Save in HDP and continue')"
CREATE_DS = "main button:has-text('Create in HDP and continue')"


def _walk_with_long_names(journey: LayoutJourney, page: Page) -> Run:
    """The wizard to a passing check with a 100-character name for the application, the profile and
    the data source; every page checked."""
    sign_in(page, journey.base, *ACME_ADMIN)
    start_setup(journey, page, GOOGLE_ANALYTICS_SANDBOX)
    page.fill("#id_name", LONG_APP)
    page.wait_for_function(
        "(name) => document.querySelector('#redirect-uri')?.textContent.includes(name)", arg=LONG_APP
    )
    journey.axe(page, "b: application")
    secret = register_at_console(journey, page, page.inner_text("#redirect-uri"))
    page.fill("#id_client_secret", secret)
    page.click(REGISTER)
    wait_for_step(page, "authorize")
    journey.axe(page, "c: connect")
    page.click(CONNECT)
    sandbox_sign_in_and_allow(journey, page, axe=False)
    wait_for_step(page, "profile")
    page.fill("#id_name", LONG_PROFILE)
    journey.axe(page, "d: profile")
    page.click(SAVE_PROFILE)
    wait_for_step(page, "datasource")
    page.fill("#id_name", LONG_DS)
    page.fill("#id_opt_DefaultView", "123456789")
    journey.axe(page, "e: data source")
    page.click(CREATE_DS)
    wait_for_step(page, "verify")
    outcome = page.wait_for_selector("main .outcome")
    assert "outcome-ok" in (outcome.get_attribute("class") or ""), outcome.inner_text()
    journey.axe(page, "f: setup complete")
    return Run.objects.get(status=Run.Status.COMPLETED)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_every_page_fits_with_hdps_longest_names(browser: Browser, e2e_portal: str, viewport):
    """At 390 px (and 1280 px), names of 100 characters without a space (application, profile, data source) fit on
    every page that shows them: the wizard's steps, My setups, the setup page, the sandbox console
    and the support console's tenant list and tenant page (its chain)."""
    journey = LayoutJourney(e2e_portal)
    context = _context(browser, viewport)
    try:
        page = journey.watch(context.new_page())
        run = _walk_with_long_names(journey, page)
        assert (run.app_name, run.ds_name) == (LONG_APP, LONG_DS)
        _open(journey, page, reverse("onboarding:runs"), "My setups")
        _open(journey, page, reverse("connections:setup", args=[run.pk]), "setup page")
        _open(journey, page, reverse("sandbox_provider:console"), "sandbox console (a grant)")
    finally:
        context.close()
    support_context = _context(browser, viewport)
    try:
        page = journey.watch(support_context.new_page())
        _support_console(journey, page)
        assert LONG_PROFILE in page.inner_text("main"), "the tenant page shows the long names"
    finally:
        support_context.close()
    assert {"setup page", "My setups", "support: tenant chain"} <= set(journey.checked), journey.checked
    assert not journey.problems, "\n".join(journey.problems)


# --- what the provider's new look must keep: keyboard only, and no JavaScript ----------------------
def test_the_sandbox_provider_by_keyboard_only_at_phone_width(browser: Browser, e2e_portal: str):
    """Sign in and Allow at the provider with Tab, typing and Enter; every focus shows."""
    context = _context(browser, PHONE)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        sign_in(page, e2e_portal, *ACME_ADMIN)
        # The portal's own callback (CSP form-action keeps the answer on this origin); it refuses
        # this state it never issued, which is not what this test looks at.
        callback = e2e_portal + "/oauth/callback/Keyboard_app/"
        seed_provider([callback])
        page.goto(e2e_portal + authorize_url(callback, state="kb", code_challenge=make_pkce()[1]))
        page.wait_for_selector("input[name=username]")
        tab_to(page, "button[value=de]")  # the header's language choice is reachable first
        tab_to(page, "input[name=username]")
        page.keyboard.type(ACCOUNT_USERNAME)
        tab_to(page, "input[name=password]")
        page.keyboard.type(ACCOUNT_PASSWORD)
        tab_to(page, "main button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_selector("main [name=allow]")
        assert "acme_admin (Acme)" not in page.inner_text("body")  # the portal person is not shown
        tab_to(page, "main [name=allow]")
        page.keyboard.press("Enter")
        page.wait_for_url(callback + "?*")
        assert "code=" in page.url and "state=kb" in page.url
    finally:
        context.close()


def test_the_provider_language_choice_works_without_javascript(browser: Browser, e2e_portal: str):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="en-US")
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        login = e2e_portal + reverse("sandbox_provider:login")
        page.goto(login)
        assert page.inner_text("h1") == "Sign in to the sandbox provider"
        page.click("header button[value=de]")
        page.wait_for_selector("html[lang=de]")
        assert page.url == login  # `next` brought the person back to the provider's page
        assert page.inner_text("h1") == "Beim Sandbox-Anbieter anmelden"
        assert page.locator("header.provider-header").count() == 1
    finally:
        context.close()


# Builds the bad layouts with the CSSOM (element.style): the page's CSP blocks style="" attributes.
_SQUEEZE_JS = """() => {
  const main = document.querySelector('main');
  main.insertAdjacentHTML('beforeend', '<dl id=one><dt>Owner</dt><dd>acme_admin</dd></dl>'
    + '<dl id=two><dt>A very long term that takes all the room</dt><dd>value</dd></dl>');
  Object.assign(document.querySelector('#one dd').style, {width: '3rem', overflowWrap: 'anywhere'});
  Object.assign(document.querySelector('#two').style, {display: 'grid', gridTemplateColumns: 'max-content 1fr'});
}"""
_WIDEN_JS = """() => {
  const wide = document.createElement('div');
  wide.id = 'wide';
  wide.textContent = 'wide';
  wide.style.width = '600px';
  document.querySelector('main').append(wide);
}"""


def test_the_layout_check_catches_what_it_is_for(browser: Browser, e2e_portal: str):
    """The harness itself: a word split mid-word in a squeezed column, a definition value squeezed
    into a sliver, and a too-wide box must each be reported; the page as served is clean."""
    context = _context(browser, PHONE)
    try:
        page = context.new_page()
        page.goto(e2e_portal + reverse("sandbox_provider:login"))
        assert layout_problems(page) == []
        page.evaluate(_SQUEEZE_JS)
        problems = " ".join(layout_problems(page))
        assert "words broken mid-word: ['acme_admin']" in problems, problems
        assert "values squeezed into a narrow column: ['acme_admin', 'value']" in problems, problems
        assert "scrolls sideways" not in problems
        page.evaluate(_WIDEN_JS)
        problems = " ".join(layout_problems(page))
        assert "scrolls sideways" in problems and "div#wide" in problems, problems
    finally:
        context.close()


# --- the busy notice: above the form, never over it ---------------------------------------------------
_BUSY_OVERLAPS_JS = """(label) => {
  const busy = document.getElementById('busy').getBoundingClientRect();
  const form = [...document.querySelectorAll('main form')].find(f => f.textContent.includes(label));
  const hits = [];
  for (const el of form.querySelectorAll('input:not([type=hidden]), select, textarea, button')) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    const apart = r.right <= busy.left || r.left >= busy.right || r.bottom <= busy.top || r.top >= busy.bottom;
    if (!apart) hits.push(el.id || el.name || el.textContent.trim().slice(0, 30));
  }
  return {hits, busy: {top: busy.top, bottom: busy.bottom, height: busy.height},
          inView: busy.top >= 0 && busy.bottom <= window.innerHeight};
}"""


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_the_busy_notice_shows_without_covering_the_form(browser: Browser, e2e_portal: str, viewport):
    """While a slowed HDP call runs: "Working with HDP…" is on screen, announced (role=status), and
    covers neither the pressed button nor any field of the form."""
    context = _context(browser, viewport)
    try:
        page = context.new_page()
        journey = LayoutJourney(e2e_portal)
        journey.watch(page)
        sign_in(page, e2e_portal, *ACME_ADMIN)
        start_setup(journey, page, GOOGLE_ANALYTICS_SANDBOX)
        faults.arm("POST", r"^/api/mgmt/oauthapps$", "delay", delay=3.0)
        page.fill("#id_client_secret", "any-secret-while-hdp-is-slow")
        page.click(REGISTER)
        busy = page.locator("#busy")
        busy.wait_for(state="visible", timeout=2_000)  # within the 3 s HDP takes
        assert busy.get_attribute("role") == "status" and "Working with HDP" in busy.inner_text()
        seen = page.evaluate(_BUSY_OVERLAPS_JS, "Register in HDP and continue")
        assert seen["busy"]["height"] > 0 and seen["inView"], seen
        assert seen["hits"] == [], seen
        wait_for_step(page, "authorize")  # the slow call still finished
        assert not busy.is_visible()
    finally:
        context.close()


# --- error states at a phone's width, English and German ----------------------------------------------
SUBMIT = "main form button[type=submit]"  # no button text: the same walk in either language


def _walk_the_error_states(journey: LayoutJourney, page: Page) -> None:
    """HDP down on step a, a field error on step b, the Connect step after a wrong client secret,
    and the sandbox provider's redirect-mismatch page; each checked where it lands."""
    base = journey.base
    sign_in(page, base, *ACME_ADMIN)
    faults.arm("GET", r"^/api/mgmt/datastores", "status", status=503, times=10)
    page.goto(base + reverse("onboarding:new"))
    page.wait_for_selector("#banner")
    # Not "HDP offers no data store" with a Continue that goes nowhere: the fix is to ask HDP again.
    assert page.locator(SUBMIT).count() == 0
    assert page.locator("main .actions a.primary").get_attribute("href") == reverse("onboarding:new")
    journey.axe(page, "a: HDP down banner")
    faults.clear()
    page.goto(base + reverse("onboarding:new"))
    choose_store(page, submit=SUBMIT)
    wait_for_step(page, "app")
    page.press("#id_name", "Enter")  # no client secret yet
    page.wait_for_selector("#id_client_secret-error")
    journey.axe(page, "b: field error")
    seed_provider([page.inner_text("#redirect-uri")])  # registered at the provider, as the console does
    page.fill("#id_client_secret", "not-the-secret-the-provider-gave")
    page.press("#id_client_secret", "Enter")
    wait_for_step(page, "authorize")
    page.click(SUBMIT)
    sandbox_sign_in_and_allow(journey, page, axe=False)
    page.wait_for_selector("#fix-edit-app a")  # the fix: "Edit the application"
    journey.axe(page, "c: wrong client secret")
    refused = authorize_url("https://elsewhere.example/cb", state="x", code_challenge=make_pkce()[1])
    page.goto(base + refused)
    page.wait_for_selector("#redirect-mismatch #redirect-uri")  # the address to register, and Copy
    journey.axe(page, "provider: redirect mismatch")


@pytest.mark.parametrize("lang", ["en", "de"])
def test_error_states_fit_and_pass_axe_at_phone_width(browser: Browser, e2e_portal: str, lang):
    context = _context(browser, PHONE, lang)  # the whole walk in this language (no English selectors)
    journey = LayoutJourney(e2e_portal, lang=lang)
    try:
        page = journey.watch(context.new_page())
        _walk_the_error_states(journey, page)
        assert page.evaluate("() => document.documentElement.lang") == lang
    finally:
        context.close()
    expected = {
        "a: HDP down banner",
        "b: field error",
        "c: wrong client secret",
        "provider: redirect mismatch",
    }
    assert set(journey.checked) == expected, journey.checked
    assert not journey.problems, "\n".join(journey.problems)


# --- keyboard only, and without JavaScript: preset facts, the choices, the fixes on error pages -------
def _to_the_app_step(page: Page, base: str) -> None:
    sign_in(page, base, *ACME_ADMIN)
    page.goto(base + reverse("onboarding:new"))
    choose_store(page, submit=SUBMIT)
    wait_for_step(page, "app")


def test_preset_facts_and_the_edit_fix_by_keyboard_only(browser: Browser, e2e_portal: str):
    """'Change these settings' opens with Enter and its fields are reachable with Tab; after a wrong
    client secret, 'Edit the application' is reached with Tab and opens the edit form with Enter."""
    context = _context(browser, PHONE)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        _to_the_app_step(page, e2e_portal)
        assert not page.locator("#id_token_uri").is_visible()  # a fact, until the person asks to change it
        tab_to(page, "#change-filled summary")
        page.keyboard.press("Enter")
        assert page.locator("#change-filled").get_attribute("open") is not None
        tab_to(page, "#id_token_uri")
        assert page.locator("#id_token_uri").is_visible()
        seed_provider([page.inner_text("#redirect-uri")])
        tab_to(page, "#id_client_secret", back=True)
        page.keyboard.type("not-the-secret-the-provider-gave")
        page.keyboard.press("Enter")
        wait_for_step(page, "authorize")
        tab_to(page, SUBMIT)
        page.keyboard.press("Enter")
        sandbox_sign_in_and_allow(Journey(e2e_portal, run_axe=False), page, axe=False)
        page.wait_for_selector("#fix-edit-app a")
        tab_to(page, "#fix-edit-app a")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/app/\?edit=1#edit-app$"))
        assert page.locator("details#edit-app[open] input[type=password]").is_visible()
    finally:
        context.close()


def test_preset_facts_and_the_fixes_work_without_javascript(browser: Browser, e2e_portal: str):
    """The same with JavaScript off (real form posts and links), plus the HDP-down Try again and
    the provider's redirect-mismatch 'I've registered it, try again'."""
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="en-US")
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        sign_in(page, e2e_portal, *ACME_ADMIN)
        faults.arm("GET", r"^/api/mgmt/datastores", "status", status=503, times=3)
        page.goto(e2e_portal + reverse("onboarding:new"))
        page.wait_for_selector("#banner")
        faults.clear()
        page.click("main .actions a:has-text('Try again')")
        choose_store(page, submit=SUBMIT)  # HDP answered this time: the stores
        wait_for_step(page, "app")
        page.click(CHANGE_FILLED)
        page.fill("#id_scope", "read offline_access")
        seed_provider([page.inner_text("#redirect-uri")])
        page.fill("#id_client_secret", "not-the-secret-the-provider-gave")
        page.click(REGISTER)
        wait_for_step(page, "authorize")
        page.click(CONNECT)
        sandbox_sign_in_and_allow(Journey(e2e_portal, run_axe=False), page, axe=False)
        page.click("#fix-edit-app a:has-text('Edit the application')")
        page.wait_for_url(re.compile(r".*/app/\?edit=1#edit-app$"))
        assert page.locator("details#edit-app[open] input[type=password]").is_visible()
        # The portal's own callback path, unregistered (CSP form-action keeps the answer on this origin).
        callback = e2e_portal + "/oauth/callback/Retry_app/"
        page.goto(e2e_portal + authorize_url(callback, state="r", code_challenge=make_pkce()[1]))
        retry = page.locator('main a:has-text("I\'ve registered it, try again")')
        seed_provider([callback])  # the person registers it, then follows the link
        retry.click()
        page.click("main [name=allow]")  # no refusal any more: the consent page, then back with a code
        page.wait_for_url(callback + "?*")
        assert "code=" in page.url and "state=r" in page.url
    finally:
        context.close()
