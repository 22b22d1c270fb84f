"""The sandbox preset end to end against the portal's own django-oauth-toolkit provider, served by
pytest-django's live server: the token exchange really goes over loopback HTTP through the
DNS-pinned session, with Basic client authentication and PKCE, as in the demo (`make run`)."""

from __future__ import annotations

import json
import socket
from unittest.mock import patch
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client

from portal.oauth import flows, presets, safe_http
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import Run
from portal.sandbox.provider.seed import seed_provider
from tests.helpers.oauth import start_flow
from tests.helpers.sandbox_provider import sign_in_and_consent

REAL_GETADDRINFO = socket.getaddrinfo
APP = "Sandbox_app"


@pytest.fixture
def sandbox(live_server, settings, monkeypatch):
    settings.SANDBOX_ENABLED = True
    settings.OAUTH_ALLOW_LOOPBACK = True
    settings.PORTAL_BASE_URL = live_server.url
    monkeypatch.setattr(safe_http.socket, "getaddrinfo", REAL_GETADDRINFO)
    seed_provider([flows.redirect_uri_for(APP)])
    return presets.get_preset("sandbox")


@pytest.mark.django_db(transaction=True)
def test_sandbox_preset_round_trip(client, signed_in, user, run, sandbox):
    Run.objects.filter(pk=run.pk).update(preset="sandbox")
    run.refresh_from_db()
    url, state, _ = start_flow(
        signed_in,
        user,
        run,
        {
            "client_id": sandbox.client_id,
            "authorize_uri": sandbox.authorize_uri,
            "token_uri": sandbox.token_uri,
            "scope": sandbox.scope,
            "extra_params": dict(sandbox.extra_params),
            "token_auth": sandbox.token_auth,
            "expected_issuer": sandbox.expected_issuer,
            "app_id": 1,
            "app_name": APP,
        },
    )
    # The provider's login and consent pages, in another browser (the provider has its own session).
    provider_browser = Client()
    parts = urlsplit(url)
    callback = sign_in_and_consent(provider_browser, parts.path + "?" + parts.query)
    assert callback.startswith(flows.redirect_uri_for(APP))
    back = urlsplit(callback)
    with patch(
        "portal.oauth.callback.client_secret_for", return_value=django_settings.SANDBOX_PROVIDER_CLIENT_SECRET
    ):
        response = signed_in.get(back.path + "?" + back.query)
    assert response.status_code == 303, [str(m) for m in response.wsgi_request._messages]
    run.refresh_from_db()
    tokens = json.loads(run.unseal("tokens"))
    assert tokens["refresh_token"] and tokens["access_token"]
    assert set(run.granted_scope.split()) == {"openid", "read", "offline_access"}
    assert OAuthFlow.objects.get().outcome == OAuthFlow.Outcome.SUCCEEDED
