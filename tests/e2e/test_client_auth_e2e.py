"""A custom provider that enforces client_secret_post, walked in Chromium to a passing HDP check.

npm oidc-provider registers the client for ``client_secret_post`` and refuses HTTP Basic with 401
invalid_client (tests/js/oidc_server.mjs). The admin picks "in the request body" at the application
step; the portal's code exchange sends the secret in the body, and the data source step tells the
Autonomous REST Connector ``ClientCredentialsMode=Post``, so HDP's refresh (the emulator's, as HDP
would) is accepted too. The other stores cannot be told, which the application step says.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.helpers.e2e import (
    ACME_ADMIN,
    ACME_TENANT_ID,
    CONNECT,
    CREATE_DS,
    REGISTER,
    SAVE_PROFILE,
    Journey,
    assert_one_working_chain,
    hdp_state,
    sign_in,
    start_setup,
    wait_for_step,
)
from tests.helpers.oidc import start_oidc_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REST_CUSTOM = "63:custom"
HDP_BASIC_NOTE = "#token-auth-hdp"


def test_custom_provider_enforcing_client_secret_post_with_autonomous_rest(page: Page, e2e_portal: str):
    journey = Journey(e2e_portal)
    journey.watch(page)
    before = hdp_state(ACME_TENANT_ID)
    sign_in(page, e2e_portal, *ACME_ADMIN)
    start_setup(journey, page, REST_CUSTOM)
    assert page.is_checked("#id_token_auth_0")  # HTTP Basic unless the admin says otherwise
    assert "client_secret_post" in page.inner_text("#id_token_auth-wrap")
    assert page.query_selector(HDP_BASIC_NOTE) is None  # Autonomous REST can be told the method
    assert "new refresh token" in page.inner_text("#rotation-note")
    redirect_uri = page.inner_text("#redirect-uri")

    with start_oidc_provider(redirect_uri, token_auth="client_secret_post") as idp:
        journey.fill(page, "#id_client_id", idp.client_id)
        journey.fill(page, "#id_client_secret", idp.client_secret)
        journey.fill(page, "#id_authorize_uri", idp.authorize_uri)
        journey.fill(page, "#id_token_uri", idp.token_uri)
        journey.fill(page, "#id_scope", "openid offline_access")
        journey.fill(page, "#id_extra_params", "prompt=consent")
        page.check("#id_token_auth_1")  # in the request body (client_secret_post)
        journey.axe(page, "b: application (custom, client_secret_post)")
        journey.click(page, REGISTER)
        wait_for_step(page, "authorize")
        journey.click(page, CONNECT)

        page.wait_for_url(idp.issuer + "/**")
        journey.fill(page, "input[name=login]", "alice")
        journey.fill(page, "input[name=password]", "any-password")
        journey.click(page, "button[type=submit]")
        journey.click(page, "button:has-text('Continue')")  # oidc-provider's consent

        wait_for_step(page, "profile")  # the exchange by client_secret_post was accepted
        journey.click(page, SAVE_PROFILE)
        wait_for_step(page, "datasource")
        page.wait_for_selector(CREATE_DS)
        assert page.query_selector("#id_opt_ClientCredentialsMode") is None  # the portal sets it
        journey.axe(page, "e: data source (Autonomous REST)")
        journey.click(page, CREATE_DS)
        wait_for_step(page, "verify")  # HDP's check runs by itself
        outcome = page.wait_for_selector("main .outcome")
        assert "outcome-ok" in (outcome.get_attribute("class") or ""), outcome.inner_text()
        print("\n" + journey.report("custom provider enforcing client_secret_post, Autonomous REST"))

        after = hdp_state(ACME_TENANT_ID, test=True)  # HDP refreshes at oidc-provider by Post
    assert_one_working_chain(before, after)
    ds = next(d for d in after.datasources if d.id not in {b.id for b in before.datasources})
    assert ds.options["ClientCredentialsMode"] == "Post"
    assert ds.options["AuthenticationMethod"] == "OAuth2-AuthorizationCode"


def test_a_store_that_cannot_be_told_the_method_says_hdp_uses_basic(page: Page, e2e_portal: str):
    journey = Journey(e2e_portal)
    sign_in(page, e2e_portal, *ACME_ADMIN)
    start_setup(journey, page, "54:custom")  # Google Analytics: no ClientCredentialsMode
    note = page.inner_text(HDP_BASIC_NOTE)
    assert "HTTP Basic" in note and "must accept" in note
