"""Fixtures for the OAuth tests: a signed-in tenant admin with a run, a public DNS answer for
provider hosts, a mocked token endpoint and the security-event log."""

from __future__ import annotations

import logging

import pytest
import responses

from portal.accounts.models import User
from portal.onboarding.models import Run
from tests.helpers.oauth import CONFIG_X


@pytest.fixture(autouse=True)
def _oauth_settings(settings):
    settings.ROOT_URLCONF = "tests.helpers.oauth_urls"
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["*.example.com", "*.other.org"]
    settings.PORTAL_BASE_URL = "https://portal.test"
    settings.OAUTH_TOKEN_TIMEOUT = 2.0
    settings.RATELIMIT_OAUTH_START_PER_MINUTE = 50


@pytest.fixture(autouse=True)
def _public_dns(public_dns):
    """Every OAuth test resolves hosts with ``public_dns`` (tests/helpers/oauth.py)."""


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
