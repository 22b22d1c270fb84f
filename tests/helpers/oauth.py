"""Constants and helpers shared by the OAuth tests, and the ``public_dns`` fixture (loaded by tests/conftest.py)."""

from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from portal.oauth import flows, safe_http

PUBLIC_IP = "93.184.215.14"
SECRET = "sentinel-client-secret-3f9a"
ACCESS = "sentinel-access-token-71c2"
REFRESH = "sentinel-refresh-token-a8d0"

CONFIG_X = {
    "client_id": "client-x",
    "authorize_uri": "https://login.example.com/oauth/authorize",
    "token_uri": "https://token.example.com/oauth/token",
    "scope": "read offline_access",
    "extra_params": {"prompt": "consent"},
    "token_auth": "basic",
    "expected_issuer": None,
    "app_id": 11,
    "app_name": "acme_app_x",
}
CONFIG_Y = {
    "client_id": "client-y",
    "authorize_uri": "https://auth.other.org/authorize",
    "token_uri": "https://api.other.org/token",
    "scope": "data.read offline_access",
    "extra_params": {},
    "token_auth": "post",
    "expected_issuer": "https://auth.other.org",
    "app_id": 12,
    "app_name": "acme_app_y",
}


def request_for(client, user, **meta):
    """A request sharing ``client``'s session, for calling flows.start directly."""
    request = RequestFactory().get("/runs/x/authorize/", **meta)
    request.user = user
    request.session = SessionStore(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    return request


def start_flow(client, user, run, config=None, **meta):
    """Start a flow; return (authorize_url, state, query dict)."""
    request = request_for(client, user, **meta)
    url = flows.start(request, run, **(config or CONFIG_X))
    request.session.save()  # what SessionMiddleware does at the end of a real request
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    return url, query["state"], query


def token_body(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def token_json(**overrides):
    body = {
        "access_token": ACCESS,
        "refresh_token": REFRESH,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "read offline_access",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def login_again(client, user):
    """A real django.contrib.auth.login() on the browser's current session (it cycles the key)."""
    from django.contrib.auth import login

    request = request_for(client, user)
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    request.session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = request.session.session_key


@pytest.fixture
def public_dns(monkeypatch):
    """Every host resolves to one public address (no real DNS in tests); returns the hosts looked up."""
    calls: list[str] = []

    def fake(host, port, *args, **kwargs):
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port))]

    monkeypatch.setattr(safe_http.socket, "getaddrinfo", fake)
    return calls
