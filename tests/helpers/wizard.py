"""Shared fixtures for the portal's view tests: the HDP emulator in-process, with a request log."""

from __future__ import annotations

import json

import httpx
import pytest
from django.urls import reverse

from portal.sandbox.hdp.emulator import mock_transport
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.sandbox import PASSWORDS

#: Every request the portal's HDP client sent to the emulator during the current test.
HDP_REQUESTS: list[httpx.Request] = []


def counting_transport() -> httpx.BaseTransport:
    inner = mock_transport()

    def handler(request: httpx.Request) -> httpx.Response:
        HDP_REQUESTS.append(request)
        return inner.handle_request(request)

    return httpx.MockTransport(handler)


#: The settings that send the portal's HDP client to the in-process emulator through counting_transport.
EMULATOR_SETTINGS = {
    "HDP_TRANSPORT_FACTORY": "tests.helpers.wizard.counting_transport",
    "HDP_BASE_URL": "http://hdp.test",
}


@pytest.fixture
def hdp_log(settings, db):
    """The emulator, seeded; yields the list of requests the portal sends to it."""
    for name, value in EMULATOR_SETTINGS.items():
        setattr(settings, name, value)
    seed_demo()
    HDP_REQUESTS.clear()
    yield HDP_REQUESTS
    HDP_REQUESTS.clear()


def sign_in(client, username: str = "acme_admin", password: str | None = None):
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password or PASSWORDS[username]}
    )


@pytest.fixture
def acme(client, hdp_log):
    response = sign_in(client)
    assert response.status_code == 302, response.content[:500]
    hdp_log.clear()
    return client


@pytest.fixture
def globex(hdp_log):
    from django.test import Client

    other = Client()
    response = sign_in(other, "globex_admin")
    assert response.status_code == 302
    hdp_log.clear()
    return other


def store_choice(choice: str) -> dict[str, str]:
    """Step a's POST for "<store id>:<provider key>" (the store and provider fieldsets, both filled)."""
    store, _sep, provider = choice.partition(":")
    return {"datastore": store, "provider": provider, "stage": "provider"}


def choose_store(
    page, choice: str = "54:sandbox", click=None, submit: str = "main button:has-text('Continue')"
) -> None:
    """Step a in a browser: the store's card, Continue, then the provider's card, Continue.
    ``click(selector)`` lets a caller count the clicks (default: ``page.click``); ``submit`` is the
    Continue button's selector (a walk in another language passes one without its text)."""
    click = click or page.click
    store, _sep, provider = choice.partition(":")
    page.wait_for_selector(f"#store-{store}")
    click(f"label[for='store-{store}']")
    click(submit)
    page.wait_for_selector(f"#provider-{provider}")
    click(f"label[for='provider-{provider}']")
    click(submit)


def start_run(client, choice: str = "54:sandbox"):
    """Step a through the real view; returns the new run."""
    from portal.onboarding.models import Run

    response = client.post(reverse("onboarding:new"), store_choice(choice))
    assert response.status_code == 303, response.content[:2000]
    return Run.objects.latest("created_at")


def create_app(client, run, headers=None, **overrides):
    data = {
        "action": "create",
        "name": "Acme_GA_app",
        "client_id": "sandbox-portal-client",
        "client_secret": "sandbox-portal-secret",
        "authorize_uri": "http://127.0.0.1:8000/sandbox/oauth/authorize/",
        "token_uri": "http://127.0.0.1:8000/sandbox/oauth/token/",
        "scope": "read offline_access",
        "extra_params": "prompt=consent",
    }
    data.update(overrides)
    return client.post(reverse("onboarding:step-app", args=[run.pk]), data, **(headers or {}))


def seal_tokens(run, refresh: bool = True):
    """What the OAuth callback leaves on the run after a successful exchange."""
    from datetime import timedelta

    from django.utils import timezone

    tokens = {"access_token": "at-sentinel-123", "token_type": "Bearer", "expires_in": 3600}
    if refresh:
        tokens["refresh_token"] = "rt-sentinel-456"
    run.refresh_from_db()
    run.record_consent(
        json.dumps(tokens), scope="read offline_access", expires_at=timezone.now() + timedelta(hours=1)
    )


def hdp_posts(requests, path_part: str) -> list[httpx.Request]:
    return [r for r in requests if r.method == "POST" and path_part in r.url.path]


def make_hdp_app(username: str, *, name: str, datastore: int = 54, tenant_id: int = 71, **fields):
    """An application that already exists in HDP (made outside the wizard)."""
    from pydantic import SecretStr

    from portal.accounts.models import User
    from portal.hdp.client import HdpClient
    from portal.hdp.schemas import OAuthAppCreate

    user = User.objects.filter(username=username).first() or User(username=username)
    body = {
        "name": name,
        "data_store": datastore,
        "tenant_id": tenant_id,
        "client_id": "existing-client-id",
        "client_secret": SecretStr("existing-secret-sentinel"),
        "authorize_uri": "http://127.0.0.1:8000/sandbox/oauth/authorize/",
        "token_uri": "http://127.0.0.1:8000/sandbox/oauth/token/",
        "scope": "read offline_access",
    }
    body.update(fields)
    with HdpClient.for_user(user) as client:
        return client.create_oauth_app(OAuthAppCreate(**body))


def run_at_profile(client):
    """A run whose app exists and whose consent is done (tokens sealed as the callback would)."""
    run = start_run(client)
    response = create_app(client, run)
    assert response.status_code == 303, response.content[:2000]
    seal_tokens(run)
    return run


def run_at_datasource(client, choice: str = "54:sandbox"):
    run = start_run(client, choice)
    assert create_app(client, run).status_code == 303
    seal_tokens(run)
    response = client.post(reverse("onboarding:step-profile", args=[run.pk]), {"name": "Acme_GA_profile"})
    assert response.status_code == 303, response.content[:2000]
    return run


def run_at_verify(client):
    """A run whose data source was just created; creating it ran HDP's check at once (it passes
    when the test patched the provider HDP refreshes with, else the run waits at the check step)."""
    run = run_at_datasource(client)
    response = client.post(reverse("onboarding:step-datasource", args=[run.pk]), {"name": "AcmeGA"})
    assert response.status_code == 303, response.content[:2000]
    run.refresh_from_db()
    return run


HTMX = {"HTTP_HX_REQUEST": "true"}
