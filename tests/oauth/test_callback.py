"""SECURITY.md items 1-6, 8, 9, 14-15, 19, 23: flow start and the callback view, end to end with a
mocked token endpoint (responses) and a patched client-secret lookup."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from freezegun import freeze_time

from portal.audit.models import AuditEntry
from portal.lib import crypto
from portal.oauth import flows
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import Run
from tests.helpers.oauth import (
    ACCESS,
    CONFIG_X,
    CONFIG_Y,
    REFRESH,
    SECRET,
    login_again,
    request_for,
    start_flow,
    token_body,
    token_json,
)

CODE = "sentinel-auth-code-9c4e"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def secret_lookup():
    with patch("portal.oauth.callback.client_secret_for", return_value=SECRET) as mock:
        yield mock


def callback_url(app_name=CONFIG_X["app_name"], **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("oauth:callback", args=[app_name]) + ("?" + query if query else "")


def authorize_step(run):
    return reverse("onboarding:step-authorize", kwargs={"run_id": run.pk})


def profile_step(run):
    return reverse("onboarding:step-profile", kwargs={"run_id": run.pk})


def messages_of(response):
    return [str(m) for m in response.wsgi_request._messages]


# --- start ---------------------------------------------------------------------------------------


def test_start_stores_only_hashes_and_an_encrypted_verifier(signed_in, user, run):
    url, state, query = start_flow(signed_in, user, run)
    flow = OAuthFlow.objects.get()
    assert flow.state_hash == hashlib.sha256(state.encode()).hexdigest()
    assert state not in json.dumps(flow.snapshot) and state not in flow.code_verifier_enc
    session_key = signed_in.cookies["sessionid"].value
    assert flow.session_key_hash == hashlib.sha256(session_key.encode()).hexdigest()
    assert (flow.user, flow.run, flow.tenant_id) == (user, run, 71)
    verifier = crypto.decrypt(flow.code_verifier_enc, aad=flow.aad())
    assert 43 <= len(verifier) <= 128
    assert query["code_challenge"] == base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()
    ).decode().rstrip("=")
    assert query["code_challenge_method"] == "S256"
    assert verifier not in url
    assert flow.expires_at - flow.created_at <= timedelta(seconds=601)
    assert flow.snapshot["token_uri"] == CONFIG_X["token_uri"]
    assert flow.snapshot["redirect_uri"] == "https://portal.test/oauth/callback/acme_app_x/"


def test_each_flow_gets_fresh_state_and_verifier(signed_in, user, run):
    _, state1, q1 = start_flow(signed_in, user, run)
    _, state2, q2 = start_flow(signed_in, user, run)
    assert state1 != state2 and q1["code_challenge"] != q2["code_challenge"]
    assert len(set(OAuthFlow.objects.values_list("code_verifier_enc", flat=True))) == 2


def test_redirect_uri_ignores_spoofed_host_headers(signed_in, user, run, settings):
    settings.ALLOWED_HOSTS = ["*"]
    _, _, query = start_flow(
        signed_in, user, run, HTTP_HOST="evil.example", HTTP_X_FORWARDED_HOST="evil.example"
    )
    assert query["redirect_uri"] == "https://portal.test/oauth/callback/acme_app_x/"
    assert flows.redirect_uri_for("acme_app_x") == query["redirect_uri"]


def test_start_refuses_someone_elses_run(client, other_user, run):
    client.force_login(other_user)
    with pytest.raises(PermissionDenied):
        flows.start(request_for(client, other_user), run, **CONFIG_X)
    assert OAuthFlow.objects.count() == 0


@pytest.mark.parametrize(
    "override",
    [
        {"token_uri": "https://169.254.169.254/token"},
        {"token_uri": "https://token.attacker.net/token"},
        {"authorize_uri": "https://login.example.com/a?redirect_uri=https://evil"},
        {"extra_params": {"state": "fixed"}},
        {"token_auth": "none"},
        {"app_name": "bad name"},
    ],
)
def test_start_revalidates_what_it_is_given(signed_in, user, run, override):
    """An app reused from HDP could hold any URI: start() checks again, before anything is stored."""
    with pytest.raises(ValidationError):
        flows.start(request_for(signed_in, user), run, **{**CONFIG_X, **override})
    assert OAuthFlow.objects.count() == 0


def test_start_is_rate_limited(signed_in, user, run, settings):
    settings.RATELIMIT_OAUTH_START_PER_MINUTE = 2
    start_flow(signed_in, user, run)
    start_flow(signed_in, user, run)
    with pytest.raises(flows.RateLimited):
        start_flow(signed_in, user, run)


# --- the happy path ------------------------------------------------------------------------------


def test_success_stores_encrypted_tokens_and_redirects_to_the_profile_step(
    signed_in, user, run, mocked, security_events
):
    mocked.post(CONFIG_X["token_uri"], json=token_json())
    _, state, query = start_flow(signed_in, user, run)
    response = signed_in.get(callback_url(code=CODE, state=state))
    assert response.status_code == 303
    assert response["Location"] == profile_step(run)
    assert "code" not in response["Location"] and state not in response["Location"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert len(mocked.calls) == 1
    body = token_body(mocked.calls[0])
    flow = OAuthFlow.objects.get()
    assert body["code"] == CODE
    assert body["code_verifier"] == crypto.decrypt(flow.code_verifier_enc, aad=flow.aad())
    assert body["redirect_uri"] == query["redirect_uri"]  # byte-identical (RFC 6749 §4.1.3)
    run.refresh_from_db()
    tokens = json.loads(run.unseal("tokens"))
    assert (tokens["access_token"], tokens["refresh_token"], tokens["token_type"]) == (
        ACCESS,
        REFRESH,
        "Bearer",
    )
    assert tokens["expires_at"] and tokens["scope"] == "read offline_access"
    assert run.consented_at and run.token_expires_at and run.granted_scope == "read offline_access"
    assert flow.outcome == OAuthFlow.Outcome.SUCCEEDED and flow.consumed_at
    assert AuditEntry.objects.filter(run=run, action="oauth_consented").count() == 1
    assert security_events() == []


def test_tokens_are_encrypted_at_rest(signed_in, user, run, mocked):
    mocked.post(CONFIG_X["token_uri"], json=token_json())
    _, state, _ = start_flow(signed_in, user, run)
    signed_in.get(callback_url(code=CODE, state=state))
    with connection.cursor() as cursor:
        cursor.execute("SELECT tokens_enc FROM onboarding_run WHERE id = %s", [run.pk.hex])
        row = cursor.fetchone()
        if row is None:
            cursor.execute("SELECT tokens_enc FROM onboarding_run WHERE id = %s", [str(run.pk)])
            row = cursor.fetchone()
        raw = row[0]
        assert raw.startswith("v1.")
        for sentinel in (ACCESS, REFRESH, SECRET, CODE):
            assert sentinel not in raw
        cursor.execute("SELECT * FROM portal_oauth_oauthflow")
        dump = repr(cursor.fetchall())
    for sentinel in (ACCESS, REFRESH, SECRET, CODE):
        assert sentinel not in dump


def test_token_ciphertext_cannot_be_moved_to_another_run(signed_in, user, run, mocked):
    mocked.post(CONFIG_X["token_uri"], json=token_json())
    _, state, _ = start_flow(signed_in, user, run)
    signed_in.get(callback_url(code=CODE, state=state))
    run.refresh_from_db()
    other = Run.objects.create(owner=user, tenant_id=72, tokens_enc=run.tokens_enc)
    with pytest.raises(crypto.DecryptionError):
        other.unseal("tokens")


def test_two_flows_in_one_session_complete_independently(signed_in, user, run, mocked):
    """SECURITY.md item 2: tab A (config X) and tab B (config Y), each with its own snapshot."""
    mocked.post(CONFIG_X["token_uri"], json=token_json())
    mocked.post(CONFIG_Y["token_uri"], json=token_json(scope="data.read offline_access"))
    _, state_a, _ = start_flow(signed_in, user, run, CONFIG_X)
    _, state_b, _ = start_flow(signed_in, user, run, CONFIG_Y)
    flow_a, flow_b = (OAuthFlow.objects.get(state_hash=flows.sha256(s)) for s in (state_a, state_b))

    assert signed_in.get(callback_url(code="code-a", state=state_a)).status_code == 303
    assert [c.request.url for c in mocked.calls] == [CONFIG_X["token_uri"]]
    first = mocked.calls[0].request
    assert token_body(mocked.calls[0])["code_verifier"] == crypto.decrypt(
        flow_a.code_verifier_enc, aad=flow_a.aad()
    )
    assert base64.b64decode(first.headers["Authorization"][6:]).decode().startswith("client-x:")

    response = signed_in.get(
        callback_url(CONFIG_Y["app_name"], code="code-b", state=state_b, iss="https://auth.other.org")
    )
    assert response.status_code == 303 and response["Location"] == profile_step(run)
    second = token_body(mocked.calls[1])
    assert mocked.calls[1].request.url == CONFIG_Y["token_uri"]
    assert second["client_id"] == "client-y" and second["client_secret"] == SECRET  # token_auth=post
    assert second["code_verifier"] == crypto.decrypt(flow_b.code_verifier_enc, aad=flow_b.aad())
    assert second["redirect_uri"].endswith("/oauth/callback/acme_app_y/")


def test_config_edited_after_start_uses_the_snapshot(signed_in, user, run, mocked):
    mocked.post(CONFIG_X["token_uri"], json=token_json())
    mocked.post("https://new.example.com/token", json=token_json())
    _, state, _ = start_flow(signed_in, user, run)
    Run.objects.filter(pk=run.pk).update(
        app_token_uri="https://new.example.com/token", app_client_id="changed", app_name="other_app"
    )
    assert signed_in.get(callback_url(code=CODE, state=state)).status_code == 303
    assert [c.request.url for c in mocked.calls] == [CONFIG_X["token_uri"]]


@pytest.mark.parametrize("granted", ["offline_access read", "read offline_access extra.scope"])
def test_reordered_or_superset_scope_succeeds(signed_in, user, run, mocked, granted):
    mocked.post(CONFIG_X["token_uri"], json=token_json(scope=granted))
    _, state, _ = start_flow(signed_in, user, run)
    response = signed_in.get(callback_url(code=CODE, state=state))
    assert response["Location"] == profile_step(run)
    run.refresh_from_db()
    assert run.granted_scope == granted


def test_matching_iss_by_origin_is_accepted(signed_in, user, run, mocked):
    mocked.post(CONFIG_X["token_uri"], json=token_json())
    _, state, _ = start_flow(signed_in, user, run)
    response = signed_in.get(callback_url(code=CODE, state=state, iss="https://login.example.com"))
    assert response.status_code == 303 and response["Location"] == profile_step(run)


# --- refusals before any token call (400 + exactly one security event) ----------------------------


def _assert_refused(response, mocked, security_events, event):
    assert response.status_code == 400
    assert response["Referrer-Policy"] == "no-referrer"
    assert len(mocked.calls) == 0
    events = security_events()
    assert len(events) == 1, [e.getMessage() for e in events]
    assert f'"event": "{event}"' in events[0].getMessage()
    body = response.content.decode()
    assert CODE not in body


def test_state_from_another_session_is_refused(
    client, signed_in, user, run, mocked, security_events, django_user_model
):
    _, state, _ = start_flow(signed_in, user, run)
    from django.test import Client

    other_browser = Client()
    other_browser.force_login(user)
    response = other_browser.get(callback_url(code=CODE, state=state))
    _assert_refused(response, mocked, security_events, "oauth_session_mismatch")
    assert state not in security_events()[0].getMessage()
    assert OAuthFlow.objects.get().consumed_at is None  # the rightful tab can still finish


def test_state_of_another_user_is_refused(signed_in, user, other_user, run, mocked, security_events):
    _, state, _ = start_flow(signed_in, user, run)
    flow = OAuthFlow.objects.get()
    OAuthFlow.objects.filter(pk=flow.pk).update(user=other_user)
    response = signed_in.get(callback_url(code=CODE, state=state))
    _assert_refused(response, mocked, security_events, "oauth_user_mismatch")


def test_missing_state_is_refused(signed_in, user, run, mocked, security_events):
    start_flow(signed_in, user, run)
    response = signed_in.get(callback_url(code=CODE))
    _assert_refused(response, mocked, security_events, "oauth_state_missing")


def test_unknown_state_is_refused(signed_in, user, run, mocked, security_events):
    start_flow(signed_in, user, run)
    response = signed_in.get(callback_url(code=CODE, state="made-up-state"))
    _assert_refused(response, mocked, security_events, "oauth_state_unknown")


def test_flow_older_than_ten_minutes_is_refused(signed_in, user, run, mocked, security_events):
    with freeze_time() as frozen:
        _, state, _ = start_flow(signed_in, user, run)
        frozen.tick(timedelta(minutes=11))
        response = signed_in.get(callback_url(code=CODE, state=state))
    _assert_refused(response, mocked, security_events, "oauth_flow_expired")
    assert OAuthFlow.objects.get().outcome == OAuthFlow.Outcome.FAILED


def test_flow_within_ten_minutes_is_accepted(signed_in, user, run, mocked):
    mocked.post(CONFIG_X["token_uri"], json=token_json())
    with freeze_time() as frozen:
        _, state, _ = start_flow(signed_in, user, run)
        frozen.tick(timedelta(minutes=9))
        response = signed_in.get(callback_url(code=CODE, state=state))
    assert response.status_code == 303 and len(mocked.calls) == 1


def test_replay_is_refused_and_the_code_is_exchanged_once(signed_in, user, run, mocked, security_events):
    mocked.post(CONFIG_X["token_uri"], json=token_json())
    _, state, _ = start_flow(signed_in, user, run)
    assert signed_in.get(callback_url(code=CODE, state=state)).status_code == 303
    assert len(mocked.calls) == 1
    response = signed_in.get(callback_url(code=CODE, state=state))
    assert response.status_code == 400
    assert len(mocked.calls) == 1
    assert "already used" in response.content.decode()
    assert profile_step(run) in response.content.decode()  # link to the setup
    assert len(security_events()) == 1 and "oauth_replay" in security_events()[0].getMessage()


def test_iss_mismatch_is_refused_before_the_token_call(signed_in, user, run, mocked, security_events):
    _, state, _ = start_flow(signed_in, user, run, CONFIG_Y)
    response = signed_in.get(
        callback_url(CONFIG_Y["app_name"], code=CODE, state=state, iss="https://attacker.example")
    )
    _assert_refused(response, mocked, security_events, "oauth_iss_mismatch")
    assert OAuthFlow.objects.get().outcome == OAuthFlow.Outcome.FAILED


def test_iss_of_another_origin_is_refused_without_expected_issuer(
    signed_in, user, run, mocked, security_events
):
    _, state, _ = start_flow(signed_in, user, run)
    response = signed_in.get(callback_url(code=CODE, state=state, iss="https://token.example.com"))
    _assert_refused(response, mocked, security_events, "oauth_iss_mismatch")


def test_app_key_mismatch_is_refused(signed_in, user, run, mocked, security_events):
    _, state, _ = start_flow(signed_in, user, run)
    response = signed_in.get(callback_url("acme_app_y", code=CODE, state=state))
    _assert_refused(response, mocked, security_events, "oauth_path_mismatch")
    # The flow is burnt: the right path does not work afterwards either.
    assert signed_in.get(callback_url(code=CODE, state=state)).status_code == 400
    assert len(mocked.calls) == 0


@pytest.mark.parametrize("param", ["code", "state"])
def test_duplicated_parameters_are_refused(signed_in, user, run, mocked, security_events, param):
    _, state, _ = start_flow(signed_in, user, run)
    url = callback_url(code=CODE, state=state) + f"&{param}=second"
    response = signed_in.get(url)
    _assert_refused(response, mocked, security_events, "oauth_callback_repeated_params")


def test_logout_ends_pending_flows(signed_in, user, run, mocked, security_events):
    _, state, _ = start_flow(signed_in, user, run)
    signed_in.logout()
    assert OAuthFlow.objects.get().outcome == OAuthFlow.Outcome.FAILED
    signed_in.force_login(user)
    response = signed_in.get(callback_url(code=CODE, state=state))
    assert response.status_code == 400 and len(mocked.calls) == 0


def test_login_again_ends_pending_flows(signed_in, user, run, mocked):
    _, state, _ = start_flow(signed_in, user, run)
    login_again(signed_in, user)  # a new login cycles the session key
    assert OAuthFlow.objects.get().outcome == OAuthFlow.Outcome.FAILED
    assert signed_in.get(callback_url(code=CODE, state=state)).status_code == 400
    assert len(mocked.calls) == 0


def test_anonymous_callback_with_unknown_state_is_refused_without_a_login_redirect(client, mocked):
    response = client.get(callback_url(code=CODE, state="x"))
    assert response.status_code == 400 and "Location" not in response
    assert CODE not in response.content.decode()
    assert len(mocked.calls) == 0


# --- the provider said no, or the exchange failed (303 back to the authorize step) ---------------


def test_access_denied_is_a_cancel_message_without_token_call(signed_in, user, run, mocked, security_events):
    _, state, _ = start_flow(signed_in, user, run)
    response = signed_in.get(callback_url(error="access_denied", state=state))
    assert response.status_code == 303 and response["Location"] == authorize_step(run)
    assert response["Referrer-Policy"] == "no-referrer"
    assert len(mocked.calls) == 0
    assert "cancelled" in messages_of(response)[0]
    assert OAuthFlow.objects.get().outcome == OAuthFlow.Outcome.DENIED
    assert security_events() == []  # a person saying no is not an attack


def test_error_description_is_rendered_escaped(signed_in, user, run, mocked):
    _, state, _ = start_flow(signed_in, user, run)
    response = signed_in.get(
        reverse("oauth:callback", args=["acme_app_x"]),
        {"error": "invalid_scope", "error_description": "<script>alert(1)</script>", "state": state},
        follow=True,
    )
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert len(mocked.calls) == 0


def test_tokens_in_the_callback_url_are_ignored(signed_in, user, run, mocked):
    mocked.post(CONFIG_X["token_uri"], json=token_json())
    _, state, _ = start_flow(signed_in, user, run)
    response = signed_in.get(
        callback_url(code=CODE, state=state, access_token="EVIL", refresh_token="EVIL", token_type="EVIL")
    )
    assert response.status_code == 303
    run.refresh_from_db()
    tokens = json.loads(run.unseal("tokens"))
    assert "EVIL" not in json.dumps(tokens)
    assert tokens["access_token"] == ACCESS


def _failed_exchange(signed_in, user, run):
    _, state, _ = start_flow(signed_in, user, run)
    response = signed_in.get(callback_url(code=CODE, state=state))
    assert response.status_code == 303 and response["Location"] == authorize_step(run)
    run.refresh_from_db()
    assert run.tokens_enc == ""
    assert OAuthFlow.objects.get().outcome == OAuthFlow.Outcome.FAILED
    return response


def test_redirect_from_token_endpoint_fails_without_second_request(signed_in, user, run, mocked):
    mocked.post(CONFIG_X["token_uri"], status=307, headers={"Location": "http://169.254.169.254/"})
    response = _failed_exchange(signed_in, user, run)
    assert len(mocked.calls) == 1
    assert "redirect" in messages_of(response)[0]


def test_timeout_fails_and_the_code_is_not_resent(signed_in, user, run, mocked):
    import requests

    mocked.post(CONFIG_X["token_uri"], body=requests.exceptions.ReadTimeout())
    response = _failed_exchange(signed_in, user, run)
    assert len(mocked.calls) == 1
    assert "Reconnect" in messages_of(response)[0]


def test_non_json_token_response_is_a_message_not_a_500(signed_in, user, run, mocked):
    mocked.post(CONFIG_X["token_uri"], body="<html>Sign in</html>", content_type="text/html")
    response = _failed_exchange(signed_in, user, run)
    assert "not a token response" in messages_of(response)[0]


def test_missing_refresh_token_stores_nothing_and_names_the_parameter(signed_in, user, run, mocked):
    mocked.post(CONFIG_X["token_uri"], json=token_json(refresh_token=None))
    response = _failed_exchange(signed_in, user, run)
    message = messages_of(response)[0]
    assert "refresh token" in message and "offline_access" in message and "prompt=consent" in message
    assert ACCESS not in message


def test_invalid_client_message_names_the_fix_and_no_secret(signed_in, user, run, mocked):
    mocked.post(
        CONFIG_X["token_uri"], status=401, json={"error": "invalid_client", "error_description": SECRET}
    )
    response = _failed_exchange(signed_in, user, run)
    message = messages_of(response)[0]
    assert "client ID or client secret" in message and SECRET not in message


def test_blocked_destination_fails_with_one_security_event(
    signed_in, user, run, mocked, security_events, monkeypatch
):
    import socket

    from portal.oauth import safe_http

    _, state, _ = start_flow(signed_in, user, run)
    monkeypatch.setattr(
        safe_http.socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))],
    )
    mocked.post(CONFIG_X["token_uri"], json=token_json())
    response = signed_in.get(callback_url(code=CODE, state=state))
    assert response.status_code == 303 and len(mocked.calls) == 0
    events = security_events()
    assert len(events) == 1 and "oauth_blocked_destination" in events[0].getMessage()


def test_no_sentinel_in_logs_or_pages(signed_in, user, run, mocked, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    mocked.post(CONFIG_X["token_uri"], json=token_json())
    _, state, _ = start_flow(signed_in, user, run)
    first = signed_in.get(callback_url(code=CODE, state=state), follow=True)
    replay = signed_in.get(callback_url(code=CODE, state=state))
    for sentinel in (ACCESS, REFRESH, SECRET, CODE, state):
        assert sentinel not in caplog.text
        assert sentinel not in first.content.decode() and sentinel not in replay.content.decode()
        for cookie in signed_in.cookies.values():
            assert sentinel not in cookie.value


def test_callback_query_is_not_in_the_location(signed_in, user, run, mocked):
    _, state, _ = start_flow(signed_in, user, run)
    response = signed_in.get(callback_url(error="server_error", state=state))
    assert parse_qs(urlsplit(response["Location"]).query) == {}


def test_purge_deletes_flows_a_day_past_expiry(signed_in, user, run):
    from io import StringIO

    from django.core.management import call_command

    with freeze_time() as frozen:
        start_flow(signed_in, user, run)
        frozen.tick(timedelta(hours=23))
        call_command("purge_oauth_flows", stdout=StringIO())
        assert OAuthFlow.objects.count() == 1
        frozen.tick(timedelta(hours=2))
        out = StringIO()
        call_command("purge_oauth_flows", stdout=out)
    assert OAuthFlow.objects.count() == 0 and "Deleted 1" in out.getvalue()
