"""Reconnect a completed setup into the same OAuth profile (issue 8 item 2; SECURITY.md items 33, 36).

Real views through Django's test client, the HDP emulator in-process (its database is what HDP
would hold), the sandbox provider's token endpoint played by ``responses``, and HDP's data-source
test refreshing through ``refresh_with_provider`` (replaced here by a provider that can refuse).
Its fixtures ``hdp``, ``admin_client`` and ``provider`` are in tests/helpers/connections.py.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.conf import settings
from django.urls import reverse

from portal.audit.models import AuditEntry
from portal.connections import checks
from portal.connections.models import ConnectionCheck
from portal.connections.status import State
from portal.hdp.client import HdpClient
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import RemoteObject, Run
from tests.helpers.connections import DROP_AFTER, OLD_REFRESH, sandbox_setup
from tests.helpers.refreshing_provider import id_token

NEW_REFRESH = "sentinel-new-refresh-42c9"
NEW_ACCESS = "sentinel-new-access-8f01"


@pytest.fixture
def events(caplog):
    caplog.set_level(logging.WARNING, logger="portal.security")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "portal.security"]


@pytest.fixture
def setup(admin_client, hdp):
    return sandbox_setup(hdp)


def _reconnect(admin_client, run, *, token_json, replace=False):
    """Press Reconnect, come back from the provider with a code; returns the callback's answer."""
    data = {"replace": "1"} if replace else {}
    start = admin_client.post(reverse("connections:reconnect", args=[run.pk]), data)
    assert start.status_code == 303, start.content[:500]
    location = start["Location"]
    assert location.startswith(settings.PORTAL_BASE_URL + "/sandbox/oauth/authorize/")
    state = parse_qs(urlsplit(location).query)["state"][0]
    with responses.RequestsMock() as token_endpoint:
        token_endpoint.post(settings.PORTAL_BASE_URL + "/sandbox/oauth/token/", json=token_json)
        answer = admin_client.get(
            reverse("oauth:callback", args=[run.app_name]), {"state": state, "code": "c"}
        )
        assert len(token_endpoint.calls) == 1
    return answer


def _tokens(sub="person-1", name="Sandbox Person", refresh_token=NEW_REFRESH):
    body = {
        "access_token": NEW_ACCESS,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "read offline_access",
    }
    if refresh_token:
        body["refresh_token"] = refresh_token
    if sub:
        body["id_token"] = id_token(sub, name)
    return body


def _profiles(hdp: HdpClient) -> list[str]:
    return [p.name for p in hdp.list_oauth_profiles() if p.name.startswith("Acme_Rc")]


def _stored_refresh(hdp: HdpClient, run: Run) -> str:
    profile = hdp.get_oauth_profile(run.remote_id("profile"))
    assert profile.refresh_token is not None
    return profile.refresh_token.get_secret_value()


def test_a_revoked_grant_is_reconnected_into_the_same_profile_and_the_test_passes(
    admin_client, setup, hdp, provider
):
    provider.refuse = "invalid_grant"
    check = checks.run_check(setup, hdp, trigger=ConnectionCheck.Trigger.MANUAL)
    assert check.state == State.NEEDS_RECONNECT
    profile_id = setup.remote_id("profile")

    page = admin_client.get(reverse("onboarding:step-verify", args=[setup.pk]))
    assert reverse("connections:reconnect", args=[setup.pk]) in page.content.decode()
    provider.refuse = ""
    answer = _reconnect(admin_client, setup, token_json=_tokens())
    assert answer.status_code == 303
    assert answer["Location"] == reverse("connections:reconnect-finish", args=[setup.pk])
    setup.refresh_from_db()
    assert setup.tokens_enc  # sealed until HDP holds them

    finish = admin_client.get(answer["Location"])
    body = finish.content.decode()
    assert finish.status_code == 200
    assert "HDP holds the new sign-in in the same OAuth profile." in body
    assert str(State.WORKING.label) in body
    assert NEW_REFRESH not in body and NEW_ACCESS not in body
    assert _profiles(hdp) == ["Acme_Rc_profile"]  # exactly one profile, the same one
    assert RemoteObject.objects.get(run=setup, kind="profile").remote_id == profile_id
    assert _stored_refresh(hdp, setup) == NEW_REFRESH
    assert provider.used[-1] == NEW_REFRESH  # HDP's test refreshed with the new grant
    last = ConnectionCheck.objects.filter(run=setup).latest("started_at")
    assert (last.trigger, last.state) == (ConnectionCheck.Trigger.RECONNECT, State.WORKING)
    setup.refresh_from_db()
    assert setup.tokens_enc == ""  # dropped once HDP took them (SECURITY.md item 14)
    assert (setup.provider_subject, setup.granted_scope) == ("person-1", "read offline_access")
    assert AuditEntry.objects.filter(action="oauth_profile_reconnected", run_id=setup.pk).count() == 1
    assert AuditEntry.objects.filter(action="oauth_reconsented", run_id=setup.pk).count() == 1
    # Reloading the finish page sends nothing again.
    admin_client.get(reverse("connections:reconnect-finish", args=[setup.pk]))
    assert ConnectionCheck.objects.filter(run=setup, trigger=ConnectionCheck.Trigger.RECONNECT).count() == 1


def test_another_provider_account_is_refused_and_hdp_keeps_its_refresh_token(admin_client, setup, hdp):
    answer = _reconnect(admin_client, setup, token_json=_tokens(sub="person-2", name="Someone Else"))
    assert answer["Location"] == reverse("connections:reconnect-finish", args=[setup.pk])
    page = admin_client.get(answer["Location"]).content.decode()
    assert "You signed in as Someone Else, but this connection was set up with Sandbox Person." in page
    assert "Nothing was changed." in page
    assert _stored_refresh(hdp, setup) == OLD_REFRESH
    setup.refresh_from_db()
    assert setup.tokens_enc == "" and setup.provider_subject == "person-1"
    assert OAuthFlow.objects.get(run=setup).error_code == "account_mismatch"


def test_replacing_the_account_is_explicit_names_both_and_is_audited(admin_client, setup, hdp, provider):
    page = admin_client.get(reverse("connections:reconnect-finish", args=[setup.pk])).content.decode()
    assert "Replace Sandbox Person with another account" in page
    answer = _reconnect(
        admin_client, setup, token_json=_tokens(sub="person-2", name="Someone Else"), replace=True
    )
    admin_client.get(answer["Location"])
    assert _stored_refresh(hdp, setup) == NEW_REFRESH
    assert _profiles(hdp) == ["Acme_Rc_profile"]
    setup.refresh_from_db()
    assert (setup.provider_subject, setup.provider_display_name) == ("person-2", "Someone Else")
    entry = AuditEntry.objects.get(action="provider_account_replaced", run_id=setup.pk)
    assert (entry.detail["previous_account"], entry.detail["new_account"]) == (
        "Sandbox Person",
        "Someone Else",
    )
    assert NEW_REFRESH not in json.dumps(entry.detail)


def test_no_refresh_token_on_reconnect_is_refused_and_hdp_unchanged(admin_client, setup, hdp):
    answer = _reconnect(admin_client, setup, token_json=_tokens(refresh_token=None))
    page = admin_client.get(answer["Location"]).content.decode()
    assert "no refresh token" in page
    assert _stored_refresh(hdp, setup) == OLD_REFRESH
    setup.refresh_from_db()
    assert setup.tokens_enc == ""


def test_a_lost_put_answer_keeps_the_tokens_and_try_again_puts_them_once_more(
    admin_client, setup, hdp, provider
):
    DROP_AFTER[("PUT", r"/api/mgmt/oauthprofiles/\d+$")] = 1
    answer = _reconnect(admin_client, setup, token_json=_tokens())
    page = admin_client.get(answer["Location"]).content.decode()
    assert "HDP did not answer in time" in page and "Try again" in page
    setup.refresh_from_db()
    assert setup.tokens_enc  # kept: HDP may or may not hold them
    assert AuditEntry.objects.filter(action="oauth_profile_reconnected").count() == 0

    retry = admin_client.post(reverse("connections:reconnect-finish", args=[setup.pk]))
    assert "HDP holds the new sign-in in the same OAuth profile." in retry.content.decode()
    assert _profiles(hdp) == ["Acme_Rc_profile"]  # no duplicate
    assert _stored_refresh(hdp, setup) == NEW_REFRESH
    setup.refresh_from_db()
    assert setup.tokens_enc == ""
    assert ConnectionCheck.objects.filter(run=setup).latest("started_at").state == State.WORKING


def test_a_hand_made_authorize_start_after_the_profile_exists_is_refused(admin_client, hdp, events):
    run = sandbox_setup(hdp, status=Run.Status.ACTIVE)
    response = admin_client.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert response.status_code == 303
    assert response["Location"] == reverse("onboarding:step-authorize", args=[run.pk])
    page = admin_client.get(response["Location"]).content.decode()
    assert (
        "HDP already holds this setup&#x27;s sign-in" in page
        or "HDP already holds this setup's sign-in" in page
    )
    assert OAuthFlow.objects.filter(run=run).count() == 0
    run.refresh_from_db()
    assert run.tokens_enc == ""
    assert any("oauth_start_refused" in e for e in events())
    # Nor can a reconnect start on a setup that is not complete.
    again = admin_client.post(reverse("connections:reconnect", args=[run.pk]), follow=True)
    assert OAuthFlow.objects.filter(run=run).count() == 0
    assert "Only a completed setup whose OAuth profile exists can be reconnected." in again.content.decode()


def test_a_consent_callback_after_the_profile_appeared_is_refused(admin_client, hdp, events):
    run = sandbox_setup(hdp, status=Run.Status.ACTIVE)
    profile = RemoteObject.objects.get(run=run, kind="profile")
    profile.delete()
    start = admin_client.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert start.status_code == 303 and "/sandbox/oauth/authorize/" in start["Location"]
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    profile.pk = None
    profile.save()  # the profile was made (another tab) while the person was at the provider
    with responses.RequestsMock() as token_endpoint:
        answer = admin_client.get(
            reverse("oauth:callback", args=[run.app_name]), {"state": state, "code": "c"}
        )
        assert len(token_endpoint.calls) == 0  # refused before the exchange
    assert answer.status_code == 400
    assert "no longer fits the setup" in answer.content.decode()
    run.refresh_from_db()
    assert run.tokens_enc == ""
    assert OAuthFlow.objects.get(run=run).error_code == "purpose_mismatch"
    assert any("oauth_purpose_mismatch" in e for e in events())


def test_the_connect_step_of_a_completed_setup_offers_reconnect(admin_client, setup):
    page = admin_client.get(reverse("onboarding:step-authorize", args=[setup.pk])).content.decode()
    assert reverse("connections:reconnect", args=[setup.pk]) in page
    assert reverse("onboarding:authorize-start", args=[setup.pk]) not in page
