"""The support console's fixtures and helpers (loaded by tests/conftest.py): ``staff`` and
``staff_no_reason`` (the sandbox support user signed in through the real login view, with and without a
stated reason, on the emulator of ``hdp_log``), and helpers that make HDP objects and portal runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pydantic import SecretStr

from portal.accounts.models import User
from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause, State
from portal.hdp.client import HdpClient
from portal.hdp.schemas import DataSourceCreate, OAuthAppCreate, OAuthProfileCreate
from portal.onboarding.models import RemoteObject, Run
from tests.helpers.sandbox import PASSWORDS

CLIENT_SECRET = "client-secret-SENTINEL-7f3a"
ACCESS_TOKEN = "access-token-SENTINEL-91c2"
REFRESH_TOKEN = "refresh-token-SENTINEL-44be"
DS_PASSWORD = "ds-password-SENTINEL-0d9e"
SENTINELS = (CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN, DS_PASSWORD)

AUTHORIZE_URI = "http://127.0.0.1:8000/sandbox/oauth/authorize/"
TOKEN_URI = "http://127.0.0.1:8000/sandbox/oauth/token/"


def sign_in(client: Client, username: str) -> Client:
    response = client.post(reverse("accounts:login"), {"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 302, response.content[:500]
    return client


def state_reason(client: Client, text: str = "SUP-1234 GA source stopped working") -> None:
    response = client.post(reverse("support:reason"), {"reason": text, "next": reverse("support:tenants")})
    assert response.status_code == 303, response.content[:1000]


@pytest.fixture
def staff_no_reason(client, hdp_log):
    sign_in(client, "support")
    hdp_log.clear()
    return client


@pytest.fixture
def staff(staff_no_reason, hdp_log):
    state_reason(staff_no_reason)
    hdp_log.clear()
    return staff_no_reason


# --- HDP objects, made through the emulator as a tenant admin would --------------------------------------
def as_user(username: str) -> HdpClient:
    return HdpClient.for_user(User(username=username))


def make_app(
    name: str = "Acme_GA_app", *, owner: str = "acme_admin", tenant_id: int = 71, datastore: int = 54
):
    with as_user(owner) as hdp_client:
        return hdp_client.create_oauth_app(
            OAuthAppCreate(
                name=name,
                data_store=datastore,
                tenant_id=tenant_id,
                client_id="client-id-visible",
                client_secret=SecretStr(CLIENT_SECRET),
                authorize_uri=AUTHORIZE_URI,
                token_uri=TOKEN_URI,
                scope="read offline_access",
            )
        )


def make_profile(app_id: int, name: str = "Acme_GA_profile", *, owner: str = "acme_admin"):
    with as_user(owner) as hdp_client:
        return hdp_client.create_oauth_profile(
            OAuthProfileCreate(
                name=name,
                oauth_app_id=app_id,
                access_token=SecretStr(ACCESS_TOKEN),
                refresh_token=SecretStr(REFRESH_TOKEN),
            )
        )


def make_datasource(name: str, profile_id: int | None = None, *, owner: str = "acme_admin", datastore: int = 54,
                    options: dict[str, str] | None = None):  # fmt: skip
    opts = dict(options or {})
    if profile_id is not None:
        opts["OAuthProfileId"] = str(profile_id)
    with as_user(owner) as hdp_client:
        return hdp_client.create_datasource(
            DataSourceCreate(name=name, data_store=datastore, connection_type="Cloud", options=opts)
        )


def portal_user(username: str) -> User:
    user, _ = User.objects.get_or_create(username=username)
    return user


def make_run(owner: str = "acme_admin", *, tenant_id: int = 71, status: str = Run.Status.ACTIVE,
             objects: list[tuple[str, str, int | None, str]] = ()) -> Run:  # fmt: skip
    """A portal run with RemoteObjects (kind, name, remote id, outcome)."""
    run = Run.objects.create(
        owner=portal_user(owner),
        tenant_id=tenant_id,
        tenant_name={71: "Acme", 72: "Globex"}.get(tenant_id, ""),
        datastore_id=54,
        datastore_name="Google Analytics",
        status=status,
    )
    for kind, name, remote_id, outcome in objects:
        RemoteObject.objects.create(run=run, kind=kind, name=name, remote_id=remote_id, outcome=outcome)
    return run


def stored(run: Run, state: State, cause: Cause, hours: int = 3) -> ConnectionCheck:
    """A finished scheduled check of ``run``, ``hours`` ago."""
    at = timezone.now() - timedelta(hours=hours)
    return ConnectionCheck.objects.create(
        run=run, trigger=ConnectionCheck.Trigger.SCHEDULED, started_at=at, expires_at=at + timedelta(minutes=5),
        finished_at=at, state=state, cause=cause,
    )  # fmt: skip
