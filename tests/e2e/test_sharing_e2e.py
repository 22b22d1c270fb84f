"""Who can use it (issue 20), in Debian's Chromium with the portal talking to the HDP emulator over real HTTP.

A setup through the custom preset against an independent OAuth server (oidc-provider, account "alice"),
then the optional last step: share with acme_user ("Query the data") under the "reads as" sentence naming
alice. acme_user, signed in to the emulator's API with their own password, sees the data source; a user it
is not shared with does not. On the setup's page a share with the whole tenant replaces the user share
(HDP's rule), and a share removed in HDP directly shows as gone.
"""

from __future__ import annotations

import re

import httpx
import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page

from portal.hdp.client import HdpClient
from portal.onboarding.models import RemoteObject
from portal.sandbox.hdp.models import HdpUser
from tests.helpers.e2e import ACME_ADMIN, ACME_TENANT_ID, HDP_ADMIN, Journey, sign_in, wait_for_step
from tests.helpers.oidc import start_oidc_provider
from tests.helpers.sandbox import PASSWORDS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTINUE = "main button:has-text('Continue')"


def _datasources_seen_by(user: str) -> list[str]:
    """The data source names ``user``'s own ``GET /api/mgmt/datasources`` lists (HTTP Basic as that user)."""
    response = httpx.get(
        settings.HDP_BASE_URL + "/api/mgmt/datasources", auth=(user, PASSWORDS[user]), timeout=10
    )
    assert response.status_code == 200, response.text
    return [d["name"] for d in response.json()["dataSources"]]


def _complete_a_setup(journey: Journey, page: Page, base: str) -> None:
    """Steps a to f with the custom preset and oidc-provider; ends on "Setup complete"."""
    journey.click(page, "main a:has-text('Start a new setup')")
    journey.click(page, "label[for='store-54']")
    journey.click(page, CONTINUE)
    journey.click(page, "label[for='provider-custom']")
    journey.click(page, CONTINUE)
    wait_for_step(page, "app")
    redirect_uri = page.inner_text("#redirect-uri")
    with start_oidc_provider(redirect_uri) as idp:
        journey.fill(page, "#id_client_id", idp.client_id)
        journey.fill(page, "#id_client_secret", idp.client_secret)
        journey.fill(page, "#id_authorize_uri", idp.authorize_uri)
        journey.fill(page, "#id_token_uri", idp.token_uri)
        journey.fill(page, "#id_scope", "openid profile offline_access")
        journey.click(page, "main button:has-text('Register in HDP and continue')")
        wait_for_step(page, "authorize")
        journey.click(page, "main button:has-text('Connect to')")
        page.wait_for_url(idp.issuer + "/**")
        journey.fill(page, "input[name=login]", "alice")
        journey.fill(page, "input[name=password]", "any-password")
        journey.click(page, "button[type=submit]")
        journey.click(page, "button:has-text('Continue')")  # oidc-provider's consent
        wait_for_step(page, "profile")
        journey.click(page, "main button:has-text('Save in HDP and continue')")
        wait_for_step(page, "datasource")
        journey.fill(page, "#id_opt_DefaultView", "123456789")
        journey.click(page, "main button:has-text('Create in HDP and continue')")
        wait_for_step(page, "verify")
        page.wait_for_selector("main .outcome-ok")
    assert page.inner_text("#step-heading") == "Setup complete"


def test_share_read_as_the_consenting_account_tenant_rule_and_a_share_removed_in_hdp(
    page: Page, e2e_portal: str
):
    journey = Journey(e2e_portal)
    journey.watch(page)
    sign_in(page, e2e_portal, *ACME_ADMIN)
    _complete_a_setup(journey, page, e2e_portal)

    ds_record = RemoteObject.objects.get(kind=RemoteObject.Kind.DATASOURCE, run__owner__username="acme_admin")
    ds_name, ds_id = ds_record.name, int(ds_record.remote_id or 0)
    acme_user = HdpUser.objects.get(user_name="acme_user").pk
    assert ds_name in _datasources_seen_by("acme_admin")
    assert ds_name not in _datasources_seen_by("acme_user")  # usable only by its owner until shared

    # The optional last step.
    journey.click(page, "#choose-who")
    wait_for_step(page, "share")
    journey.axe(page, "who can use it")
    assert page.is_checked("#scope-only-me")  # "Only me" is the default
    reads_as = page.inner_text("#reads-as")
    assert re.fullmatch(
        r"Everyone you share with reads Google Analytics as alice, with what that account may see\.", reads_as
    ), reads_as
    page.check("#scope-users")
    page.check(f"#user-{acme_user}")
    journey.choose(page, f"#access-{acme_user}", "query")
    journey.click(page, "#share-form button:has-text('Share')")
    page.wait_for_selector("#share-message")
    assert "Saved. HDP now has exactly these shares." in page.inner_text("#share-message")
    row = page.inner_text(f"#share-user-{acme_user}")
    assert "acme_user" in row and "Query the data" in row

    # What HDP holds, seen by the people themselves over HTTP.
    assert ds_name in _datasources_seen_by("acme_user")
    assert ds_name not in _datasources_seen_by("globex_admin")
    assert ds_name not in _datasources_seen_by("d2cuser")

    # The setup's page: the whole tenant replaces the user share (HDP's rule).
    journey.click(page, 'main a:has-text("Open the setup\'s page")')
    page.wait_for_selector("#sharing #share-form")  # loaded in place from HDP by htmx
    journey.axe(page, "setup page with shares")
    assert page.inner_text(f"#share-user-{acme_user}")
    page.uncheck(f"#user-{acme_user}")
    page.check("#scope-tenant")
    journey.choose(page, "#tenant-access", "query")
    journey.click(page, "#share-form button:has-text('Share')")
    page.wait_for_selector("#share-message")
    assert "The whole tenant Acme" in page.inner_text(f"#share-tenant-{ACME_TENANT_ID}")
    assert page.locator(f"#share-user-{acme_user}").count() == 0
    base = settings.HDP_BASE_URL
    with HdpClient(base, *HDP_ADMIN, on_behalf_of=ACME_ADMIN[0]) as owner:
        assert owner.list_shared_users(ds_id) == []
        assert [(t.tenant_id, sorted(t.permissions)) for t in owner.list_shared_tenants(ds_id)] == [
            (ACME_TENANT_ID, [5, 6, 7])
        ]
        assert ds_name in _datasources_seen_by("acme_user")  # through the tenant now

        # Removed in HDP directly (as HDP's administrator would): the page shows it gone.
        owner.unshare_tenant(ds_id, ACME_TENANT_ID)
    page.goto(e2e_portal + reverse("connections:setup", args=[ds_record.run_id]))
    page.wait_for_selector("#sharing #share-drift")
    assert "gone from HDP: The whole tenant Acme" in page.inner_text("#share-drift")
    assert page.is_visible("#shares-none")
    assert ds_name not in _datasources_seen_by("acme_user")
