"""Completed setups for the tests of portal.connections (loaded by tests/conftest.py).

Fixtures: ``provider`` (the provider HDP refreshes with, tests/helpers/refreshing_provider.py), ``setup``
(a completed setup of store 54: app, profile and data source in the emulator, recorded on a run of
``make_run``), ``hdp`` (an HdpClient acting as acme_admin on the seeded emulator, which the portal reaches
through :func:`dropping_transport`) and ``admin_client`` (Django's test client signed in as acme_admin).
:func:`sandbox_setup` makes a completed setup of store 63 with the sandbox provider's URIs.
"""

from __future__ import annotations

import re

import httpx
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from pydantic import SecretStr

from portal.accounts.models import User
from portal.hdp.client import HdpClient
from portal.hdp.schemas import DataSourceCreate, OAuthAppCreate, OAuthProfileCreate
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp.emulator import mock_transport
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.engine import app_body
from tests.helpers.refreshing_provider import ISSUER, patch_provider
from tests.helpers.sandbox import PASSWORDS

OLD_REFRESH = "sentinel-old-refresh-1b7e"
#: Requests that fail on purpose: (method, path regex) -> how many more times (after the emulator acted).
DROP_AFTER: dict[tuple[str, str], int] = {}


def dropping_transport() -> httpx.BaseTransport:
    """The emulator, except that armed requests are handled (committed) and their answer lost."""
    inner = mock_transport()

    def handler(request: httpx.Request) -> httpx.Response:
        for (method, regex), left in list(DROP_AFTER.items()):
            if left and request.method == method and re.search(regex, request.url.path):
                DROP_AFTER[(method, regex)] = left - 1
                inner.handle_request(request).read()
                raise httpx.ReadTimeout("injected", request=request)
        return inner.handle_request(request)

    return httpx.MockTransport(handler)


@pytest.fixture
def hdp(settings, db):
    settings.HDP_TRANSPORT_FACTORY = "tests.helpers.connections.dropping_transport"
    settings.HDP_BASE_URL = "http://hdp.test"
    settings.RATELIMIT_OAUTH_START_PER_MINUTE = 50
    DROP_AFTER.clear()
    seed_demo()
    yield HdpClient(
        "http://hdp.test",
        "portal_svc",
        PASSWORDS["portal_svc"],
        on_behalf_of="acme_admin",
        transport=mock_transport(),
    )
    DROP_AFTER.clear()


@pytest.fixture
def admin_client(client, hdp):
    response = client.post(
        reverse("accounts:login"), {"username": "acme_admin", "password": PASSWORDS["acme_admin"]}
    )
    assert response.status_code == 302
    return client


@pytest.fixture
def provider(monkeypatch):
    """The provider HDP refreshes with (tests/helpers/refreshing_provider.py)."""
    return patch_provider(monkeypatch)


@pytest.fixture
def setup(hdp_client, make_run):
    """A completed setup: app, profile and data source in HDP, recorded on the run."""
    app = hdp_client.create_oauth_app(app_body("acme_ga_app"))
    profile = hdp_client.create_oauth_profile(
        OAuthProfileCreate(name="acme_ga_profile", oauth_app_id=app.id, refresh_token=SecretStr("rt-1"))
    )
    ds = hdp_client.create_datasource(
        DataSourceCreate(name="acme_ga", data_store=54, options={"OAuthProfileId": str(profile.id)})
    )
    run = make_run(status=Run.Status.COMPLETED, completed_at=timezone.now())
    for kind, obj in (("app", app), ("profile", profile), ("datasource", ds)):
        RemoteObject.objects.create(
            run=run, kind=kind, name=obj.name, remote_id=obj.id, outcome=RemoteObject.Outcome.CREATED
        )
    run.ids = {"app": app.id, "profile": profile.id, "datasource": ds.id}
    return run


def sandbox_setup(hdp: HdpClient, *, status: str = Run.Status.COMPLETED) -> Run:
    """A setup of store 63 (app, profile holding OLD_REFRESH, data source) in HDP, recorded on acme_admin's run."""
    base = settings.PORTAL_BASE_URL
    app = hdp.create_oauth_app(
        OAuthAppCreate(
            name="Acme_Rc_app",
            data_store=63,
            tenant_id=71,
            client_id="sandbox-portal-client",
            client_secret=SecretStr("sandbox-portal-secret"),
            authorize_uri=f"{base}/sandbox/oauth/authorize/",
            token_uri=f"{base}/sandbox/oauth/token/",
            scope="read offline_access",
        )
    )
    profile = hdp.create_oauth_profile(
        OAuthProfileCreate(name="Acme_Rc_profile", oauth_app_id=app.id, refresh_token=SecretStr(OLD_REFRESH))
    )
    ds = hdp.create_datasource(
        DataSourceCreate(name="Acme_Rc", data_store=63, options={"OAuthProfileId": str(profile.id)})
    )
    run = Run.objects.create(
        owner=User.objects.get(username="acme_admin"),
        status=status,
        tenant_id=71,
        tenant_name="Acme",
        datastore_id=63,
        datastore_name="Autonomous REST Connector",
        preset="sandbox",
        app_mode=Run.AppMode.CREATE,
        app_name=app.name,
        app_client_id="sandbox-portal-client",
        app_authorize_uri=f"{base}/sandbox/oauth/authorize/",
        app_token_uri=f"{base}/sandbox/oauth/token/",
        app_scope="read offline_access",
        profile_name=profile.name,
        ds_name=ds.name,
        provider_subject="person-1",
        provider_issuer=ISSUER,
        provider_display_name="Sandbox Person",
    )
    for kind, obj in (("app", app), ("profile", profile), ("datasource", ds)):
        RemoteObject.objects.create(
            run=run, kind=kind, name=obj.name, remote_id=obj.id, outcome=RemoteObject.Outcome.CREATED
        )
    return run
