"""Issue 22 in Debian's Chromium: the application step asks a Google setup whether its app is published
or still in Testing (published preselected, with its source), and a rule changed on a setup page moves
the sign-in's expected end, its basis behind a <details> that opens without JavaScript."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page

from portal.accounts.models import User
from portal.onboarding.models import RemoteObject, Run
from tests.helpers.axe import assert_no_serious_axe_violations
from tests.helpers.e2e import ACME_ADMIN, TIMEOUT_MS, sign_in, wait_for_step

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CONTINUE = "main button:has-text('Continue')"


def test_the_app_step_asks_a_google_setup_published_or_testing(page: Page, e2e_portal: str):
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, e2e_portal, *ACME_ADMIN)
    page.click("main a:has-text('Start a new setup')")
    page.wait_for_selector("input[name=datastore]")
    page.click("label[for='store-54']")
    page.click(CONTINUE)
    page.wait_for_selector("#provider-google_analytics")
    page.click("label[for='provider-google_analytics']")
    page.click(CONTINUE)
    wait_for_step(page, "app")
    question = page.locator("#id_signin_rule-wrap")
    assert "Is the app published, or still in Testing?" in question.inner_text()
    assert page.is_checked("#id_signin_rule_0")  # published: Google's documented default
    assert "consent screen is in Testing gets refresh tokens that end after 7 days" in question.inner_text()
    page.click("label[for='id_signin_rule_1']")
    assert page.is_checked("#id_signin_rule_1")
    assert_no_serious_axe_violations(page)


def _google_setup(days_ago: int) -> Run:
    owner = User.objects.get(username=ACME_ADMIN[0])
    signed_in = timezone.now() - timedelta(days=days_ago)
    run = Run.objects.create(
        owner=owner,
        tenant_id=71,
        tenant_name="Acme",
        datastore_id=54,
        datastore_name="Google Analytics",
        preset="google_analytics",
        ds_name="acme_ga",
        app_name="Acme_GA_app",
        profile_name="Acme_GA_profile",
        status=Run.Status.COMPLETED,
        completed_at=signed_in,
        consented_at=signed_in,
        signin_facts={"at": signed_in.isoformat(), "expires_in": 3599, "refresh_token_expires_in": None},
    )
    for n, kind in enumerate(("app", "profile", "datasource"), start=1):
        RemoteObject.objects.create(
            run=run, kind=kind, name=f"acme_{kind}", remote_id=900 + n, outcome=RemoteObject.Outcome.CREATED
        )
    return run


def test_the_rule_is_changed_on_the_setup_page(page: Page, e2e_portal: str):
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, e2e_portal, *ACME_ADMIN)
    run = _google_setup(days_ago=2)
    page.goto(e2e_portal + reverse("connections:setup", args=[run.pk]))
    line = page.locator("#signin .signin-line")
    assert line.inner_text().startswith("Sign-in valid until")  # published: six months without use
    page.click("#signin .signin-rule summary")
    page.click("label[for='signin_signin_rule_1']")  # still in Testing
    page.click("#signin button:has-text('Save the rule')")
    page.wait_for_url("**#signin")
    assert "The sign-in lifetime rule was saved" in page.inner_text("main")
    assert line.inner_text().endswith("(5 days)")
    page.click("#signin .signin-basis summary")
    assert "7 days after the sign-in of" in page.inner_text("#signin .signin-basis")
    assert "keeps the same refresh token" in page.inner_text("#signin .signin-basis")
    assert_no_serious_axe_violations(page)
    run.refresh_from_db()
    assert run.signin_rule == "google_testing"


def test_the_basis_opens_without_javascript(browser, e2e_portal: str):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, e2e_portal, *ACME_ADMIN)
    run = _google_setup(days_ago=1)
    Run.objects.filter(pk=run.pk).update(signin_rule="google_testing")
    page.goto(e2e_portal + reverse("connections:setup", args=[run.pk]))
    page.click("#signin .signin-basis summary")
    assert page.locator("#signin .signin-basis li").first.is_visible()
    assert "7 days after the sign-in of" in page.inner_text("#signin .signin-basis")
    context.close()
