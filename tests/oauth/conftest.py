"""Fixtures for the OAuth tests: a signed-in tenant admin with a run, a public DNS answer for
provider hosts, a mocked token endpoint and the security-event log."""

from __future__ import annotations

import logging
import socket

import pytest
import responses

from portal.accounts.models import User
from portal.oauth import safe_http
from portal.onboarding.models import Run
from tests.oauth.helpers import CONFIG_X, PUBLIC_IP


@pytest.fixture(autouse=True)
def _oauth_settings(settings):
    settings.ROOT_URLCONF = "tests.oauth.urls"
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["*.example.com", "*.other.org"]
    settings.PORTAL_BASE_URL = "https://portal.test"
    settings.OAUTH_TOKEN_TIMEOUT = 2.0
    settings.RATELIMIT_OAUTH_START_PER_MINUTE = 50


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    """Every host resolves to one public address (no real DNS in tests)."""
    calls: list[str] = []

    def fake(host, port, *args, **kwargs):
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port))]

    monkeypatch.setattr(safe_http.socket, "getaddrinfo", fake)
    return calls


@pytest.fixture
def user(db):
    return User.objects.create(username="acme_admin", hdp_tenant_id=71, hdp_tenant_name="Acme")


@pytest.fixture
def other_user(db):
    return User.objects.create(username="globex_admin", hdp_tenant_id=72, hdp_tenant_name="Globex")


@pytest.fixture
def run(user):
    return Run.objects.create(
        owner=user,
        tenant_id=71,
        tenant_name="Acme",
        datastore_name="Autonomous REST Connector",
        preset="custom",
        app_name=CONFIG_X["app_name"],
        app_client_id=CONFIG_X["client_id"],
        app_authorize_uri=CONFIG_X["authorize_uri"],
        app_token_uri=CONFIG_X["token_uri"],
        app_scope=CONFIG_X["scope"],
    )


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def security_events(caplog):
    caplog.set_level(logging.WARNING, logger="portal.security")

    def events():
        return [r for r in caplog.records if r.name == "portal.security"]

    return events
