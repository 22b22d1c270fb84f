"""Step b: how the client authenticates at the token endpoint, and the refresh-token rotation note.

A custom provider's admin chooses client_secret_basic or client_secret_post; presets state theirs.
The choice is stored on the run, frozen into the sign-in's snapshot, and told to HDP's data source
where the store can be told (Autonomous REST ``ClientCredentialsMode``).
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from portal.oauth.models import OAuthFlow
from portal.sandbox.hdp.models import DataSource, OAuthApp
from tests.helpers.wizard import create_app, seal_tokens, start_run

HDP_BASIC_NOTE = 'id="token-auth-hdp"'


def _page(client, run):
    return client.get(reverse("onboarding:step-app", args=[run.pk])).content.decode()


def test_a_custom_provider_offers_the_choice_with_basic_first_and_checked(acme, hdp_log):
    page = _page(acme, start_run(acme, "54:custom"))
    assert "client_secret_basic" in page and "client_secret_post" in page
    assert re.search(r'<input type="radio" name="token_auth" value="basic"[^>]*\bchecked\b', page)
    assert not re.search(r'<input type="radio" name="token_auth" value="post"[^>]*\bchecked\b', page)
    assert HDP_BASIC_NOTE in page  # Google Analytics' data source cannot be told the method


def test_the_chosen_method_is_stored_and_frozen_into_the_sign_in(acme, hdp_log):
    run = start_run(acme, "54:custom")
    assert create_app(acme, run, token_auth="post").status_code == 303
    run.refresh_from_db()
    assert run.app_token_auth == "post"
    assert "<dd>In the request body (client_secret_post)" in _page(acme, run)  # the summary names it
    assert acme.post(reverse("onboarding:authorize-start", args=[run.pk])).status_code == 303
    assert OAuthFlow.objects.get(run=run).snapshot["token_auth"] == "post"


def test_no_choice_sent_means_http_basic(acme, hdp_log):
    run = start_run(acme, "54:custom")
    assert create_app(acme, run).status_code == 303
    run.refresh_from_db()
    assert run.app_token_auth == "basic"
    acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert OAuthFlow.objects.get(run=run).snapshot["token_auth"] == "basic"


def test_an_unknown_method_is_refused_before_hdp_is_called(acme, hdp_log):
    run = start_run(acme, "54:custom")
    response = create_app(acme, run, token_auth="private_key_jwt")
    assert response.status_code == 200
    assert 'id="id_token_auth-error"' in response.content.decode()
    assert not OAuthApp.objects.exists()


def test_a_preset_states_its_method_and_ignores_a_posted_one(acme, hdp_log):
    run = start_run(acme, "54:sandbox")
    assert 'name="token_auth"' not in _page(acme, run)
    assert create_app(acme, run, token_auth="post").status_code == 303
    run.refresh_from_db()
    assert run.app_token_auth == ""
    acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert OAuthFlow.objects.get(run=run).snapshot["token_auth"] == "basic"  # the sandbox preset's


def test_autonomous_rest_is_told_post_by_the_data_source_step(acme, hdp_log):
    run = start_run(acme, "63:custom")
    assert HDP_BASIC_NOTE not in _page(acme, run)  # this store can be told
    assert create_app(acme, run, name="Acme_REST_app", token_auth="post").status_code == 303
    seal_tokens(run)
    profile = acme.post(reverse("onboarding:step-profile", args=[run.pk]), {"name": "Acme_REST_profile"})
    assert profile.status_code == 303, profile.content[:2000]
    page = acme.get(reverse("onboarding:step-datasource", args=[run.pk])).content.decode()
    assert 'name="opt_ClientCredentialsMode"' not in page  # the portal sets it, the admin cannot undo it
    response = acme.post(reverse("onboarding:step-datasource", args=[run.pk]), {"name": "AcmeREST"})
    assert response.status_code == 303, response.content[:2000]
    ds = DataSource.objects.get(name="AcmeREST")
    assert ds.options["ClientCredentialsMode"] == "Post"
    assert ds.options["AuthenticationMethod"] == "OAuth2-AuthorizationCode"


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("54:sandbox", "issues a new refresh token each time one is used"),
        ("1002:microsoft", "Microsoft may issue a new refresh token"),
        ("1:salesforce", "Salesforce can be set to issue a new refresh token"),
        ("54:custom", "Some providers issue a new refresh token"),
    ],
)
def test_the_app_step_says_whether_the_provider_rotates_refresh_tokens(acme, hdp_log, choice, expected):
    page = _page(acme, start_run(acme, choice))
    assert 'id="rotation-note"' in page and expected in page


def test_google_which_keeps_its_refresh_token_gets_no_rotation_note(acme, hdp_log):
    assert 'id="rotation-note"' not in _page(acme, start_run(acme, "54:google_analytics"))


def _edit(client, run, **overrides):
    data = {
        "action": "edit",
        "client_id": "sandbox-portal-client",
        "client_secret": "",
        "authorize_uri": "http://127.0.0.1:8000/sandbox/oauth/authorize/",
        "token_uri": "http://127.0.0.1:8000/sandbox/oauth/token/",
        "scope": "read offline_access",
        "extra_params": "prompt=consent",
        "description": "",
        **overrides,
    }
    return client.post(reverse("onboarding:step-app", args=[run.pk]), data)


def test_changing_the_method_of_a_registered_custom_app_asks_for_a_new_consent(acme, hdp_log):
    run = start_run(acme, "54:custom")
    assert create_app(acme, run).status_code == 303
    seal_tokens(run)
    assert _edit(acme, run, token_auth="basic").status_code == 303  # nothing changed
    run.refresh_from_db()
    assert run.app_token_auth == "basic" and run.tokens_enc != ""

    assert _edit(acme, run, token_auth="post").status_code == 303
    run.refresh_from_db()
    assert run.app_token_auth == "post"
    assert run.tokens_enc == ""  # a changed sign-in setting asks for a new consent, as the others do
