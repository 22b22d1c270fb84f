"""A completed setup of store 63 (application, profile, data source in the in-process HDP emulator,
recorded on a ``Run`` of acme_admin), and a consent round trip through the OAuth callback.

Plain functions, not fixtures: a test module wraps them in its own fixtures (tests/connections/views/)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import responses
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from pydantic import SecretStr

from portal.accounts.models import User
from portal.hdp.client import HdpClient
from portal.hdp.schemas import DataSourceCreate, OAuthAppCreate, OAuthProfileCreate
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp.emulator import mock_transport
from tests.helpers.refreshing_provider import ISSUER, id_token
from tests.helpers.sandbox import PASSWORDS

SERVICE_URL = "https://api.example.test/v1"


def use_emulator(settings_fixture) -> HdpClient:  # type: ignore[no-untyped-def]
    """Point the portal at the in-process emulator (seeded by the caller); a client acting for acme_admin."""
    settings_fixture.HDP_TRANSPORT_FACTORY = "portal.sandbox.hdp.emulator.mock_transport"
    settings_fixture.HDP_BASE_URL = "http://hdp.test"
    settings_fixture.SANDBOX_FAULTS_ENABLED = True
    settings_fixture.RATELIMIT_OAUTH_START_PER_MINUTE = 50
    return HdpClient(
        "http://hdp.test",
        "portal_svc",
        PASSWORDS["portal_svc"],
        on_behalf_of="acme_admin",
        transport=mock_transport(),
    )


def sign_in(client, username: str = "acme_admin"):  # type: ignore[no-untyped-def]
    response = client.post(reverse("accounts:login"), {"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 302
    return client


def completed_setup(hdp: HdpClient, prefix: str = "Acme_Cs", refresh_token: str = "old-refresh") -> Run:
    base = settings.PORTAL_BASE_URL
    app = hdp.create_oauth_app(
        OAuthAppCreate(
            name=f"{prefix}_app",
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
        OAuthProfileCreate(
            name=f"{prefix}_profile", oauth_app_id=app.id, refresh_token=SecretStr(refresh_token)
        )
    )
    options = {"ServiceURL": SERVICE_URL, "OAuthProfileId": str(profile.id)}
    ds = hdp.create_datasource(DataSourceCreate(name=prefix, data_store=63, options=options))
    run = Run.objects.create(
        owner=User.objects.get(username="acme_admin"),
        status=Run.Status.COMPLETED,
        completed_at=timezone.now(),
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
        ds_options={"ServiceURL": SERVICE_URL},
        provider_subject="person-1",
        provider_issuer=ISSUER,
        provider_display_name="Sandbox Person",
    )
    for kind, obj in (("app", app), ("profile", profile), ("datasource", ds)):
        RemoteObject.objects.create(
            run=run, kind=kind, name=obj.name, remote_id=obj.id, outcome=RemoteObject.Outcome.CREATED
        )
    return run


def ids(run: Run) -> dict[str, int]:
    """The HDP ids the run holds now (created or reused objects only)."""
    return {
        o.kind: o.remote_id
        for o in RemoteObject.objects.filter(run=run, outcome=RemoteObject.Outcome.CREATED)
        if o.remote_id is not None
    }


def tokens(refresh_token: str = "new-refresh") -> dict[str, object]:
    return {
        "access_token": "new-access",
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "read offline_access",
        "id_token": id_token("person-1", "Sandbox Person"),
    }


def consent(client, run: Run, provider_url: str):  # type: ignore[no-untyped-def]
    """Come back from the sandbox provider with a code for the flow ``provider_url`` started."""
    assert provider_url.startswith(settings.PORTAL_BASE_URL + "/sandbox/oauth/authorize/"), provider_url
    state = parse_qs(urlsplit(provider_url).query)["state"][0]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as token_endpoint:
        token_endpoint.post(settings.PORTAL_BASE_URL + "/sandbox/oauth/token/", json=tokens())
        return client.get(reverse("oauth:callback", args=[run.app_name]), {"state": state, "code": "c"})
