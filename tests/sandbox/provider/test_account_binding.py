"""The portal records the sandbox account of a consent, and refuses a reconnect by the other one
(issue 19 item 7): the sandbox provider now sends an ``id_token``, so the check the portal already
makes for OpenID providers (portal/oauth/callback.py ``accept``) can be seen without an external
system. The portal's callback and the sandbox provider's endpoints run for real; the token exchange
goes over loopback HTTP to pytest-django's live server, as in the demo."""

from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from oauth2_provider.settings import oauth2_settings

from portal.accounts.models import User
from portal.oauth import flows, presets, safe_http
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.provider import seed
from tests.helpers.sandbox_provider import sign_in, sign_in_and_consent

APP = "Sandbox_app"
PERSON, OWNER = seed.ACCOUNTS


@pytest.fixture
def sandbox(live_server, settings, monkeypatch):
    settings.SANDBOX_ENABLED = True
    settings.OAUTH_ALLOW_LOOPBACK = True
    settings.PORTAL_BASE_URL = live_server.url
    settings.RATELIMIT_OAUTH_START_PER_MINUTE = 50
    monkeypatch.setattr(safe_http.socket, "getaddrinfo", socket.getaddrinfo)
    seed.seed_provider([flows.redirect_uri_for(APP)])
    preset = presets.get_preset("sandbox")
    assert preset is not None and "openid" in preset.scope.split()
    return preset


@pytest.fixture
def admin(db):
    return User.objects.create(username="acme_admin", hdp_tenant_id=71, hdp_tenant_name="Acme")


@pytest.fixture
def admin_browser(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def setup(admin, sandbox):
    run = Run.objects.create(
        owner=admin,
        tenant_id=71,
        tenant_name="Acme",
        datastore_name="Autonomous REST Connector",
        preset="sandbox",
        app_name=APP,
        app_client_id=sandbox.client_id,
        app_authorize_uri=sandbox.authorize_uri,
        app_token_uri=sandbox.token_uri,
        app_scope=sandbox.scope,
    )
    _hold_secret(run)
    return run


def _hold_secret(run: Run) -> None:
    """The client secret the portal holds until the exchange (as after the application step)."""
    run.seal("app_secret", django_settings.SANDBOX_PROVIDER_CLIENT_SECRET)
    run.save(update_fields=["app_secret_enc"])


def _consent(
    browser: Client, admin: User, run: Run, preset: presets.Preset, account: seed.Account, purpose: str
):
    """Start the portal's flow in ``browser``, sign in at the provider as ``account`` in another
    browser and allow, then bring the answer back to the portal's callback; its response."""
    request = RequestFactory().get("/")
    request.user = admin
    request.session = SessionStore(session_key=browser.cookies[django_settings.SESSION_COOKIE_NAME].value)
    url = flows.start(
        request,
        run,
        client_id=preset.client_id,
        authorize_uri=preset.authorize_uri,
        token_uri=preset.token_uri,
        scope=preset.scope,
        extra_params=dict(preset.extra_params),
        token_auth=preset.token_auth,
        expected_issuer=preset.expected_issuer,
        app_id=1,
        app_name=APP,
        purpose=purpose,
    )
    request.session.save()
    provider_browser = Client()
    assert sign_in(provider_browser, account.username, account.password).status_code == 303
    parts = urlsplit(url)
    assert parse_qs(parts.query)["scope"] == [preset.scope]
    back = urlsplit(sign_in_and_consent(provider_browser, parts.path + "?" + parts.query))
    return browser.get(back.path + "?" + back.query)


def _messages(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def _completed(run: Run) -> None:
    """HDP holds the profile now (a finished setup): the next flow is a reconnect."""
    Run.objects.filter(pk=run.pk).update(status=Run.Status.COMPLETED, tokens_enc="")
    RemoteObject.objects.create(
        run=run, kind="profile", name="Acme_profile", remote_id=5, outcome=RemoteObject.Outcome.CREATED
    )
    run.refresh_from_db()
    _hold_secret(run)


@pytest.mark.django_db(transaction=True)
def test_a_sandbox_consent_records_the_account(admin_browser, admin, setup, sandbox):
    answer = _consent(admin_browser, admin, setup, sandbox, PERSON, "consent")
    assert answer.status_code == 303, _messages(answer)
    setup.refresh_from_db()
    person = User.objects.get(username=PERSON.username)
    assert (setup.provider_subject, setup.provider_issuer) == (
        str(person.pk),
        oauth2_settings.OIDC_ISS_ENDPOINT,
    )
    assert setup.provider_display_name == PERSON.display_name == "Sandra Person"
    assert set(setup.granted_scope.split()) == {"openid", "read", "offline_access"}


@pytest.mark.django_db(transaction=True)
def test_a_reconnect_as_the_other_sandbox_account_is_refused_and_the_same_one_is_accepted(
    admin_browser, admin, setup, sandbox
):
    assert _consent(admin_browser, admin, setup, sandbox, PERSON, "consent").status_code == 303
    _completed(setup)
    recorded = (setup.provider_subject, setup.provider_issuer, setup.provider_display_name)

    refused = _consent(admin_browser, admin, setup, sandbox, OWNER, "reconnect")
    assert refused.status_code == 303
    assert (
        "You signed in as Owen Owner, but this connection was set up with Sandra Person. Nothing was changed."
        in " ".join(_messages(refused))
    )
    setup.refresh_from_db()
    assert (setup.provider_subject, setup.provider_issuer, setup.provider_display_name) == recorded
    assert setup.tokens_enc == ""  # nothing kept for HDP
    assert OAuthFlow.objects.filter(run=setup).latest("created_at").error_code == "account_mismatch"

    _hold_secret(setup)
    accepted = _consent(admin_browser, admin, setup, sandbox, PERSON, "reconnect")
    assert accepted.status_code == 303, _messages(accepted)
    setup.refresh_from_db()
    assert setup.tokens_enc  # held for HDP's profile PUT
    assert (setup.provider_subject, setup.provider_issuer, setup.provider_display_name) == recorded
    assert OAuthFlow.objects.filter(run=setup).latest("created_at").outcome == OAuthFlow.Outcome.SUCCEEDED
