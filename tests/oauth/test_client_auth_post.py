"""Client authentication at the token endpoint against a real server that enforces it.

npm oidc-provider with its client registered for ``client_secret_post`` refuses HTTP Basic with
invalid_client, as a provider that enforces its registered method does. The portal's code exchange
and refresh must send what the snapshot says; the HDP emulator's refresh must send what the data
source's ``ClientCredentialsMode`` says (HTTP Basic by default).
"""

from __future__ import annotations

import json
import socket
from unittest.mock import patch
from urllib.parse import urlsplit

import pytest
import requests

from portal.oauth import client, flows, safe_http
from portal.oauth.models import OAuthFlow
from portal.oauth.snapshot import FlowSnapshot
from portal.sandbox.hdp import refresh
from tests.helpers.oauth import start_flow
from tests.helpers.oidc import OidcServerError, complete_dev_interactions, start_oidc_provider

REAL_GETADDRINFO = socket.getaddrinfo
APP = "Post_app"
pytestmark = pytest.mark.django_db


@pytest.fixture
def idp(monkeypatch, settings):
    settings.OAUTH_ALLOW_LOOPBACK = True
    monkeypatch.setattr(safe_http.socket, "getaddrinfo", REAL_GETADDRINFO)
    try:
        server = start_oidc_provider(flows.redirect_uri_for(APP), token_auth="client_secret_post")
    except OidcServerError as exc:  # node or node_modules missing on this machine
        pytest.skip(str(exc))
    with server:
        yield server


def _config(idp, token_auth):
    return {
        "client_id": idp.client_id,
        "authorize_uri": idp.authorize_uri,
        "token_uri": idp.token_uri,
        "scope": "openid offline_access",
        "extra_params": {"prompt": "consent"},
        "token_auth": token_auth,
        "expected_issuer": idp.issuer,
        "app_id": 1,
        "app_name": APP,
    }


def _callback(signed_in, user, run, idp, token_auth):
    url, _, _ = start_flow(signed_in, user, run, _config(idp, token_auth))
    with requests.Session() as browser:
        back = complete_dev_interactions(browser, url, redirect_uri=flows.redirect_uri_for(APP))
    parts = urlsplit(back)
    with patch("portal.oauth.callback.client_secret_for", return_value=idp.client_secret):
        return signed_in.get(parts.path + "?" + parts.query)


def _messages(response):
    return [str(m) for m in response.wsgi_request._messages]


def test_post_exchange_is_accepted_and_its_refresh_token_refreshes_by_post(signed_in, user, run, idp):
    response = _callback(signed_in, user, run, idp, "post")
    assert response.status_code == 303 and response["Location"].endswith("/profile/"), _messages(response)
    assert OAuthFlow.objects.get().outcome == OAuthFlow.Outcome.SUCCEEDED
    run.refresh_from_db()
    tokens = json.loads(run.unseal("tokens"))
    assert tokens["access_token"] and tokens["refresh_token"]

    snapshot = FlowSnapshot.from_json({**_config(idp, "post"), "redirect_uri": flows.redirect_uri_for(APP)})
    refreshed = client.refresh(snapshot, idp.client_secret, tokens["refresh_token"])
    assert refreshed.access_token and refreshed.access_token != tokens["access_token"]


def test_basic_exchange_with_a_post_only_client_names_the_method(signed_in, user, run, idp):
    response = _callback(signed_in, user, run, idp, "basic")
    assert response.status_code == 303 and response["Location"].endswith("/authorize/")
    message = _messages(response)[0]
    assert "client ID or client secret" in message
    assert "HTTP Basic or in the request body" in message and "client_secret_post" in message
    assert idp.client_secret not in message
    run.refresh_from_db()
    assert run.tokens_enc == ""


def _refresh_token(signed_in, user, run, idp):
    response = _callback(signed_in, user, run, idp, "post")
    assert response["Location"].endswith("/profile/"), _messages(response)
    run.refresh_from_db()
    return json.loads(run.unseal("tokens"))["refresh_token"]


def test_emulator_refresh_by_http_basic_is_refused_like_hdp_would_be(signed_in, user, run, idp):
    token = _refresh_token(signed_in, user, run, idp)
    with pytest.raises(refresh.RefreshError) as excinfo:
        refresh.refresh_with_provider(idp.token_uri, idp.client_id, idp.client_secret, token)
    assert str(excinfo.value) == "the provider said invalid_client"


def test_emulator_refresh_with_client_credentials_mode_post_is_accepted(signed_in, user, run, idp):
    token = _refresh_token(signed_in, user, run, idp)
    tokens = refresh.refresh_with_provider(
        idp.token_uri, idp.client_id, idp.client_secret, token, mode="Post"
    )
    assert isinstance(tokens["access_token"], str) and tokens["access_token"]
