"""SECURITY.md items 3, 7, 8, 17: authorization URL, hardened token exchange, refresh."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import replace
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests
import responses

from portal.oauth import client, errors
from portal.oauth.snapshot import FlowSnapshot
from tests.helpers.oauth import ACCESS, REFRESH, SECRET, token_json

TOKEN_URI = "https://token.example.com/oauth/token"
SNAPSHOT = FlowSnapshot.from_json(
    {
        "authorize_uri": "https://login.example.com/oauth/authorize?audience=api",
        "token_uri": TOKEN_URI,
        "client_id": "client-x",
        "scope": "read offline_access",
        "extra_params": {"prompt": "consent", "access_type": "offline"},
        "redirect_uri": "https://portal.test/oauth/callback/acme_app_x/",
        "expected_issuer": None,
        "token_auth": "basic",
        "preset": "custom",
        "app_id": 11,
        "app_name": "acme_app_x",
    }
)
CODE = "sentinel-code-5e1b"
VERIFIER = secrets.token_urlsafe(64)


def _query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _form(call):
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def test_authorization_url_has_s256_challenge_and_the_snapshot_parameters():
    url = client.build_authorization_url(SNAPSHOT, "st4te", VERIFIER)
    q = _query(url)
    assert url.startswith("https://login.example.com/oauth/authorize?")
    expected = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode().rstrip("=")
    assert q["code_challenge"] == expected and "=" not in q["code_challenge"]
    assert q["code_challenge_method"] == "S256"
    assert q["response_type"] == "code"
    assert q["client_id"] == "client-x"
    assert q["redirect_uri"] == SNAPSHOT.redirect_uri
    assert q["state"] == "st4te"
    assert q["scope"] == "read offline_access"
    assert q["prompt"] == "consent" and q["access_type"] == "offline"
    assert q["audience"] == "api"  # a query already in the authorize URI is kept
    assert "code_verifier" not in q and VERIFIER not in url


def test_authorization_url_refuses_reserved_extra_params():
    with pytest.raises(ValueError):
        client.build_authorization_url(
            replace(SNAPSHOT, extra_params={"redirect_uri": "https://evil"}), "s", VERIFIER
        )


def test_exchange_basic_auth_sends_code_verifier_and_redirect_uri(mocked):
    mocked.post(TOKEN_URI, json=token_json())
    result = client.exchange_code(SNAPSHOT, SECRET, CODE, VERIFIER)
    assert (result.access_token, result.refresh_token, result.token_type) == (ACCESS, REFRESH, "Bearer")
    assert result.scope == "read offline_access" and result.expires_at is not None
    assert len(mocked.calls) == 1
    body = _form(mocked.calls[0])
    assert body == {
        "grant_type": "authorization_code",
        "code": CODE,
        "redirect_uri": SNAPSHOT.redirect_uri,
        "code_verifier": VERIFIER,
    }
    user, _, password = (
        base64.b64decode(mocked.calls[0].request.headers["Authorization"][6:]).decode().partition(":")
    )
    assert (unquote(user), unquote(password)) == ("client-x", SECRET)
    assert ACCESS not in repr(result) and REFRESH not in repr(result)


def test_exchange_post_auth_puts_client_credentials_in_the_body(mocked):
    mocked.post(TOKEN_URI, json=token_json())
    client.exchange_code(replace(SNAPSHOT, token_auth="post"), SECRET, CODE, VERIFIER)
    body = _form(mocked.calls[0])
    assert body["client_id"] == "client-x" and body["client_secret"] == SECRET
    assert "Authorization" not in mocked.calls[0].request.headers


def test_basic_auth_form_encodes_special_characters(mocked):
    """RFC 6749 §2.3.1: the id and secret are form-urlencoded before Basic encoding."""
    mocked.post(TOKEN_URI, json=token_json())
    client.exchange_code(SNAPSHOT, "a:b/c+d", CODE, VERIFIER)
    raw = base64.b64decode(mocked.calls[0].request.headers["Authorization"][6:]).decode()
    assert raw == "client-x:a%3Ab%2Fc%2Bd"


def test_redirect_from_token_endpoint_is_not_followed(mocked):
    mocked.post(TOKEN_URI, status=307, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with pytest.raises(errors.RedirectReturned) as excinfo:
        client.exchange_code(SNAPSHOT, SECRET, CODE, VERIFIER)
    assert excinfo.value.code == "redirect_returned"
    assert len(mocked.calls) == 1


def test_timeout_fails_without_resending_the_code(mocked):
    mocked.post(TOKEN_URI, body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(errors.TokenExchangeError) as excinfo:
        client.exchange_code(SNAPSHOT, SECRET, CODE, VERIFIER)
    assert excinfo.value.code == "timeout"
    assert "Reconnect" in excinfo.value.user_message()
    assert len(mocked.calls) == 1


def test_timeout_is_passed_explicitly(mocked, settings):
    settings.OAUTH_TOKEN_TIMEOUT = 3.5
    seen = {}

    def callback(request):
        seen["timeout"] = request.req_kwargs.get("timeout")
        return (200, {}, '{"access_token": "a-token", "refresh_token": "r-token", "token_type": "Bearer"}')

    mocked.add_callback(responses.POST, TOKEN_URI, callback=callback)
    client.exchange_code(SNAPSHOT, SECRET, CODE, VERIFIER)
    assert seen["timeout"] == 3.5


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"body": requests.exceptions.SSLError("bad cert")}, "tls_error"),
        ({"body": requests.exceptions.ConnectionError("refused")}, "unreachable"),
        ({"body": "<html>login</html>", "status": 200, "content_type": "text/html"}, "non_json"),
        ({"body": "access_token=x&token_type=bearer", "status": 200}, "non_json"),
        ({"body": "<html>oops</html>", "status": 502, "content_type": "text/html"}, "server_error"),
        ({"json": ["not", "an", "object"], "status": 200}, "non_json"),
        ({"json": {"token_type": "Bearer"}, "status": 200}, "missing_access_token"),
        (
            {"json": {"error": "invalid_grant", "error_description": "Bad code"}, "status": 400},
            "invalid_grant",
        ),
        ({"json": {"error": "invalid_client"}, "status": 401}, "invalid_client"),
        ({"json": {"error": "unauthorized_client"}, "status": 400}, "unauthorized_client"),
        ({"json": {"error": "temporarily_unavailable"}, "status": 503}, "temporarily_unavailable"),
        ({"json": {"error": "server_error"}, "status": 500}, "server_error"),
    ],
)
def test_failures_map_to_plain_words(mocked, kwargs, code):
    mocked.post(TOKEN_URI, **kwargs)
    with pytest.raises(errors.OAuthError) as excinfo:
        client.exchange_code(SNAPSHOT, SECRET, CODE, VERIFIER)
    assert excinfo.value.code == code
    assert excinfo.value.explanation and excinfo.value.retry_hint
    assert str(excinfo.value) == code  # never provider text or a secret
    assert len(mocked.calls) == 1


def test_redirect_uri_mismatch_shows_the_uri_to_register(mocked):
    mocked.post(TOKEN_URI, status=400, json={"error": "redirect_uri_mismatch"})
    with pytest.raises(errors.OAuthError) as excinfo:
        client.exchange_code(SNAPSHOT, SECRET, CODE, VERIFIER)
    assert SNAPSHOT.redirect_uri in excinfo.value.user_message()


@pytest.mark.parametrize(
    "granted",
    ["offline_access read", "read", "read offline_access write", "https://api.example.com/auth/read"],
)
def test_reordered_superset_or_long_form_scope_succeeds(mocked, granted):
    """oauthlib would raise "Scope has changed"; we compare sets and accept abbreviations."""
    mocked.post(TOKEN_URI, json=token_json(scope=granted))
    assert client.exchange_code(SNAPSHOT, SECRET, CODE, VERIFIER).scope == granted


def test_omitted_scope_means_the_requested_scope(mocked):
    mocked.post(TOKEN_URI, json=token_json(scope=None))
    assert client.exchange_code(SNAPSHOT, SECRET, CODE, VERIFIER).scope == "read offline_access"


def test_granted_subset_is_refused(mocked):
    mocked.post(TOKEN_URI, json=token_json(scope="profile"))
    with pytest.raises(errors.InsufficientScope) as excinfo:
        client.exchange_code(SNAPSHOT, SECRET, CODE, VERIFIER)
    assert "read" in excinfo.value.explanation


@pytest.mark.parametrize(
    ("preset", "words"),
    [
        ("google_analytics", ["access_type=offline", "prompt=consent"]),
        ("microsoft", ["offline_access"]),
        ("salesforce", ["refresh_token"]),
        ("custom", ["offline_access", "prompt=consent"]),
        ("sandbox", ["offline_access"]),
    ],
)
def test_missing_refresh_token_names_the_parameter(mocked, settings, preset, words):
    settings.SANDBOX_ENABLED = True
    mocked.post(TOKEN_URI, json=token_json(refresh_token=None))
    with pytest.raises(errors.MissingRefreshToken) as excinfo:
        client.exchange_code(replace(SNAPSHOT, preset=preset), SECRET, CODE, VERIFIER)
    for word in words:
        assert word in excinfo.value.user_message()


def test_blocked_destination_is_an_oauth_error_and_nothing_is_sent(mocked, monkeypatch):
    import socket

    from portal.oauth import safe_http

    monkeypatch.setattr(
        safe_http.socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))],
    )
    mocked.post(TOKEN_URI, json=token_json())
    with pytest.raises(errors.BlockedDestinationError):
        client.exchange_code(SNAPSHOT, SECRET, CODE, VERIFIER)
    assert len(mocked.calls) == 0


def test_no_secret_reaches_the_logs_even_at_debug(mocked, console_at_debug):
    # The real console handler, with portal, requests_oauthlib, oauthlib, urllib3 and httpx at DEBUG.
    mocked.post(TOKEN_URI, json=token_json())
    client.exchange_code(SNAPSHOT, SECRET, CODE, VERIFIER)
    mocked.post(TOKEN_URI, status=400, json={"error": "invalid_grant"})
    with pytest.raises(errors.OAuthError):
        client.exchange_code(SNAPSHOT, SECRET, CODE, VERIFIER)
    text = console_at_debug.getvalue()
    assert "DEBUG requests_oauthlib" in text  # the loggers really were at DEBUG
    for sentinel in (SECRET, CODE, VERIFIER, ACCESS, REFRESH):
        assert sentinel not in text


def test_refresh_passes_client_auth_and_reports_no_rotation(mocked):
    mocked.post(TOKEN_URI, json=token_json(refresh_token=None))
    result = client.refresh(SNAPSHOT, SECRET, REFRESH)
    assert result.access_token == ACCESS
    assert result.refresh_token is None  # requests-oauthlib would have copied the old one in
    body = _form(mocked.calls[0])
    assert body["grant_type"] == "refresh_token" and body["refresh_token"] == REFRESH
    assert mocked.calls[0].request.headers["Authorization"].startswith("Basic ")


def test_refresh_post_auth_and_rotation(mocked):
    mocked.post(TOKEN_URI, json=token_json(refresh_token="rotated-refresh-token"))
    result = client.refresh(replace(SNAPSHOT, token_auth="post"), SECRET, REFRESH)
    assert result.refresh_token == "rotated-refresh-token"
    body = _form(mocked.calls[0])
    assert body["client_id"] == "client-x" and body["client_secret"] == SECRET


@pytest.mark.parametrize(
    ("preset", "words"),
    [
        ("google_analytics", "7 days"),
        ("microsoft", "90 days"),
        ("snowflake", "90 days"),
        ("custom", "expired"),
    ],
)
def test_refresh_invalid_grant_explains_the_provider_rule(mocked, preset, words):
    mocked.post(TOKEN_URI, status=400, json={"error": "invalid_grant"})
    with pytest.raises(errors.OAuthError) as excinfo:
        client.refresh(replace(SNAPSHOT, preset=preset), SECRET, REFRESH)
    assert words in excinfo.value.user_message()


def test_refresh_redirect_is_not_followed(mocked):
    mocked.post(TOKEN_URI, status=308, headers={"Location": "https://evil.example/steal"})
    mocked.post("https://evil.example/steal", json=token_json())
    with pytest.raises(errors.RedirectReturned):
        client.refresh(SNAPSHOT, SECRET, REFRESH)
    assert [c.request.url for c in mocked.calls] == [TOKEN_URI]
