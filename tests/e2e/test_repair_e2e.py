"""Repair in Debian's Chromium: the portal talks to the HDP emulator over real HTTP and the sandbox
provider (django-oauth-toolkit, same live server) issues real tokens.

A finished setup's OAuth profile is deleted in HDP (which strips the data source's link), Check now
says "Broken", the admin presses Repair, signs in at the provider again, and HDP ends with exactly one
profile for the app, the data source pointing at it, and a passing test of the data source.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page

from portal.connections.status import State
from portal.hdp.client import HdpClient
from tests.helpers.axe import assert_no_serious_axe_violations
from tests.helpers.e2e import HDP_ADMIN, at_provider, finished_setup

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000


def test_a_deleted_profile_is_repaired_with_the_data_source_repointed(page: Page, e2e_portal: str):
    page.set_default_timeout(TIMEOUT_MS)
    run = finished_setup(page, e2e_portal)
    app_id, old_profile, ds_id = (run.remote_id(k) for k in ("app", "profile", "datasource"))
    with HdpClient.service(on_behalf_of="acme_admin") as client:
        client.delete_oauth_profile(old_profile)  # outside the portal, as someone in HDP would

    page.goto(e2e_portal + reverse("connections:setup", args=[run.pk]))
    page.click("#setup-status button:has-text('Check now')")
    page.wait_for_selector("#setup-status .status-broken")
    assert "The OAuth profile no longer exists in HDP" in page.inner_text("#setup-status")
    assert str(State.WORKING.label) not in page.inner_text("#setup-status .outcome-title")

    page.click("#repair a:has-text('Repair')")
    page.wait_for_url(e2e_portal + reverse("connections:repair", args=[run.pk]))
    assert_no_serious_axe_violations(page, "main")
    page.click("main button:has-text('Repair and sign in at the provider')")
    at_provider(page)
    page.wait_for_url(e2e_portal + reverse("connections:repair-finish", args=[run.pk]))
    main = page.inner_text("main")
    assert "The repair is done." in main, main
    assert str(State.WORKING.label) in main
    assert_no_serious_axe_violations(page, "main")

    with HdpClient(settings.HDP_BASE_URL, *HDP_ADMIN) as admin:
        profiles = [p for p in admin.list_oauth_profiles() if int(p.oauth_app_id or 0) == app_id]
        assert len(profiles) == 1  # exactly one profile for the app
        new_profile = int(profiles[0].id)
        assert new_profile != old_profile
        assert f"now uses OAuth profile {new_profile}" in main
    with HdpClient.service(on_behalf_of="acme_admin") as client:
        assert client.get_datasource(ds_id).options["OAuthProfileId"] == str(new_profile)
        result = client.test_datasource(ds_id)
    assert result.success, (result.message, result.detail)
    run.refresh_from_db()
    assert run.tokens_enc == "" and run.remote_id("profile") == new_profile
