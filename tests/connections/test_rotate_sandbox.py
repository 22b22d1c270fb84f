"""The sandbox provider console's "New client secret": shown once, the old secret stops working at once."""

from __future__ import annotations

import base64

import pytest
from django.conf import settings
from django.urls import reverse

from portal.sandbox.provider import seed


@pytest.fixture
def provider_app(db, settings):
    return seed.seed_provider(["http://127.0.0.1:8000/oauth/callback/Sandbox_app/"])


def _token_error(client, secret: str) -> str:
    """What the token endpoint says to a refresh with a made-up token and this client secret."""
    basic = base64.b64encode(f"{settings.SANDBOX_PROVIDER_CLIENT_ID}:{secret}".encode()).decode()
    answer = client.post(
        reverse("sandbox_provider:token"),
        {"grant_type": "refresh_token", "refresh_token": "not-a-real-token"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    return str(answer.json()["error"])


def test_a_new_client_secret_is_shown_once_and_replaces_the_old_one(client, provider_app):
    demo = settings.SANDBOX_PROVIDER_CLIENT_SECRET
    assert _token_error(client, demo) == "invalid_grant"  # the client authenticates; the token is bogus

    answer = client.post(reverse("sandbox_provider:new-client-secret"))
    assert answer.status_code == 200  # shown in this answer, never carried by a redirect
    page = answer.content.decode()
    secret = page.split('id="new-client-secret" class="uri">', 1)[1].split("</code>", 1)[0]
    assert secret.startswith("sandbox-rotated-") and secret != demo
    assert "it is shown only this once" in page
    assert answer["Cache-Control"].startswith("no-store") or "no-store" in answer["Cache-Control"]

    assert _token_error(client, demo) == "invalid_client"  # the old secret stopped working
    assert _token_error(client, secret) == "invalid_grant"  # the new one authenticates

    again = client.get(reverse("sandbox_provider:console")).content.decode()
    assert secret not in again and demo not in again
    assert "Rotated: the demo secret no longer works" in again

    seed.seed_provider([])  # seed_sandbox puts the documented demo secret back
    assert _token_error(client, demo) == "invalid_grant"
    assert demo in client.get(reverse("sandbox_provider:console")).content.decode()


def test_a_new_client_secret_needs_a_post(client, provider_app):
    assert client.get(reverse("sandbox_provider:new-client-secret")).status_code == 405
    assert seed.demo_secret_works()
