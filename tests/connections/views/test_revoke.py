"""Revoke access in the sandbox provider's console, then "Check now": the setup needs a reconnect.

Nothing is faked between the pieces: the emulator's data-source test refreshes with the real
``refresh_with_provider`` (httpx) whose requests reach the sandbox provider (django-oauth-toolkit)
in this process through a WSGI transport, and the revoke is the console's own button.
"""

from __future__ import annotations

import html as html_lib
from datetime import timedelta

import httpx
import pytest
from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken
from pydantic import SecretStr

from portal.accounts.models import User
from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause, State
from portal.hdp.client import HdpClient
from portal.hdp.schemas import DataSourceCreate, OAuthAppCreate, OAuthProfileCreate
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp import refresh
from portal.sandbox.provider.seed import seed_provider

TOKEN_URI = "http://testserver/sandbox/oauth/token/"
REFRESH = "sandbox-refresh-token-for-revoke-test"


@pytest.fixture
def provider_in_process(monkeypatch):
    """httpx clients without a transport of their own (the provider refresh) reach this Django app."""
    real = httpx.Client
    handler = WSGIHandler()

    def app(environ, start_response):
        # A request handled in this thread closes the thread's database connection when it ends
        # (close_old_connections on request_started/finished): on PostgreSQL that is the test's own
        # connection (SQLite's in-memory test database ignores it). Django's test client switches it
        # off the same way; the answer is read and closed inside that window.
        was = [signal.disconnect(close_old_connections) for signal in _SIGNALS]
        try:
            result = handler(environ, start_response)
            body = b"".join(result)
            result.close()
        finally:
            for signal, connected in zip(_SIGNALS, was, strict=True):
                if connected:
                    signal.connect(close_old_connections)
        return [body]

    def client(*args, **kwargs):
        kwargs.setdefault("transport", httpx.WSGITransport(app=app))
        return real(*args, **kwargs)

    monkeypatch.setattr(refresh.httpx, "Client", client)


_SIGNALS = (signals.request_started, signals.request_finished)


@pytest.fixture
def granted(acme, hdp_log, provider_in_process):
    """sandbox_person granted Sandbox_app offline access; a completed setup's profile holds the token."""
    app = seed_provider()
    person = User.objects.get(username="sandbox_person")
    access = AccessToken.objects.create(
        user=person, application=app, token="sandbox-access-token-1", scope="read offline_access",
        expires=timezone.now() + timedelta(hours=1),
    )  # fmt: skip
    RefreshToken.objects.create(user=person, application=app, token=REFRESH, access_token=access)
    with HdpClient.for_user(User(username="acme_admin")) as hdp_client:
        hdp_app = hdp_client.create_oauth_app(
            OAuthAppCreate(
                name="Sandbox_app", data_store=54, tenant_id=71, client_id=settings.SANDBOX_PROVIDER_CLIENT_ID,
                client_secret=SecretStr(settings.SANDBOX_PROVIDER_CLIENT_SECRET),
                authorize_uri="http://testserver/sandbox/oauth/authorize/", token_uri=TOKEN_URI,
                scope="read offline_access",
            )
        )  # fmt: skip
        profile = hdp_client.create_oauth_profile(
            OAuthProfileCreate(
                name="Sandbox_profile", oauth_app_id=hdp_app.id, refresh_token=SecretStr(REFRESH)
            )
        )
        ds = hdp_client.create_datasource(
            DataSourceCreate(name="SandboxDS", data_store=54, options={"OAuthProfileId": str(profile.id)})
        )
    run = Run.objects.create(
        owner=User.objects.get(username="acme_admin"), tenant_id=71, tenant_name="Acme", datastore_id=54,
        datastore_name="Google Analytics", status=Run.Status.COMPLETED, completed_at=timezone.now(),
    )  # fmt: skip
    for kind, obj in (("app", hdp_app), ("profile", profile), ("datasource", ds)):
        RemoteObject.objects.create(
            run=run, kind=kind, name=obj.name, remote_id=obj.id, outcome=RemoteObject.Outcome.CREATED
        )
    return run


def test_revoking_in_the_console_makes_check_now_say_needs_reconnect(acme, granted):
    check_url = reverse("connections:check-now", args=[granted.pk])
    assert acme.post(check_url).status_code == 303
    first = ConnectionCheck.objects.get(run=granted)
    assert first.state == State.WORKING, first.cause  # the provider really refreshed

    console = Client()
    page = html_lib.unescape(console.get(reverse("sandbox_provider:console")).content.decode())
    assert "Revoke access" in page and "sandbox_person" in page
    person = User.objects.get(username="sandbox_person")
    response = console.post(
        reverse("sandbox_provider:revoke-access"),
        {"application": RefreshToken.objects.filter(user=person).first().application_id, "user": person.pk},
    )
    assert response.status_code == 303
    assert not RefreshToken.objects.filter(user=person).exists()
    assert not AccessToken.objects.filter(user=person).exists()
    assert "Nobody has granted access" in console.get(reverse("sandbox_provider:console")).content.decode()

    assert acme.post(check_url).status_code == 303
    newest = ConnectionCheck.objects.filter(run=granted).order_by("-finished_at").first()
    assert (newest.state, newest.cause, newest.provider_error) == (
        State.NEEDS_RECONNECT,
        Cause.REFRESH_REFUSED,
        "invalid_grant",
    )
    html = html_lib.unescape(acme.get(reverse("connections:setup", args=[granted.pk])).content.decode())
    assert "Needs reconnect" in html and "The provider refused to refresh the sign-in" in html
