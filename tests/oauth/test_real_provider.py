"""The whole flow against an independent, certified OAuth server (npm oidc-provider on loopback):
start -> provider login/consent (over HTTP, no browser) -> portal callback -> real token exchange
through the DNS-pinned session (loopback allowed only because tests run with OAUTH_ALLOW_LOOPBACK).
It checks what mocks cannot: PKCE S256 and RFC 6749 §2.3.1 Basic encoding accepted by a real AS,
RFC 9207 ``iss`` on the callback, and no refresh token without ``prompt=consent``."""

from __future__ import annotations

import json
import socket
from unittest.mock import patch
from urllib.parse import urlsplit

import pytest
import requests

from portal.oauth import flows, safe_http
from portal.oauth.models import OAuthFlow
from tests.helpers.oauth import start_flow
from tests.helpers.oidc import OidcServerError, complete_dev_interactions, start_oidc_provider

REAL_GETADDRINFO = socket.getaddrinfo
APP = "Test_app"
pytestmark = pytest.mark.django_db


@pytest.fixture
def idp(monkeypatch, settings):
    settings.OAUTH_ALLOW_LOOPBACK = True
    monkeypatch.setattr(safe_http.socket, "getaddrinfo", REAL_GETADDRINFO)
    try:
        server = start_oidc_provider(flows.redirect_uri_for(APP))
    except OidcServerError as exc:  # node or node_modules missing on this machine
        pytest.skip(str(exc))
    with server:
        yield server


def _config(idp, **extra):
    return {
        "client_id": idp.client_id,
        "authorize_uri": idp.authorize_uri,
        "token_uri": idp.token_uri,
        "scope": "openid offline_access",
        "extra_params": {"prompt": "consent"},
        "token_auth": "basic",
        "expected_issuer": idp.issuer,
        "app_id": 1,
        "app_name": APP,
        **extra,
    }


def _consent(idp, url):
    with requests.Session() as browser:
        back = complete_dev_interactions(browser, url, redirect_uri=flows.redirect_uri_for(APP))
    parts = urlsplit(back)
    return parts.path + "?" + parts.query


def test_full_flow_against_oidc_provider(signed_in, user, run, idp):
    url, _, _ = start_flow(signed_in, user, run, _config(idp))
    callback = _consent(idp, url)
    assert "iss=" in callback
    with patch("portal.oauth.callback.client_secret_for", return_value=idp.client_secret):
        response = signed_in.get(callback)
    assert response.status_code == 303, [str(m) for m in response.wsgi_request._messages]
    assert response["Location"].endswith("/profile/")
    run.refresh_from_db()
    tokens = json.loads(run.unseal("tokens"))
    assert tokens["access_token"] and tokens["refresh_token"]
    assert OAuthFlow.objects.get().outcome == OAuthFlow.Outcome.SUCCEEDED


def test_without_prompt_consent_the_portal_refuses_the_tokens(signed_in, user, run, idp):
    url, _, _ = start_flow(signed_in, user, run, _config(idp, extra_params={}))
    callback = _consent(idp, url)
    with patch("portal.oauth.callback.client_secret_for", return_value=idp.client_secret):
        response = signed_in.get(callback)
    assert response.status_code == 303 and response["Location"].endswith("/authorize/")
    message = [str(m) for m in response.wsgi_request._messages][0]
    assert "refresh token" in message and "prompt=consent" in message
    run.refresh_from_db()
    assert run.tokens_enc == ""


def test_wrong_secret_is_invalid_client(signed_in, user, run, idp):
    url, _, _ = start_flow(signed_in, user, run, _config(idp))
    callback = _consent(idp, url)
    with patch("portal.oauth.callback.client_secret_for", return_value="wrong-secret"):
        response = signed_in.get(callback)
    message = [str(m) for m in response.wsgi_request._messages][0]
    assert "client ID or client secret" in message
