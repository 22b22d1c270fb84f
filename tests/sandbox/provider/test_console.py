"""The sandbox provider's console: endpoints, client, test login, redirect URIs."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from oauth2_provider.models import Application

from tests.helpers.sandbox import PROVIDER_PASSWORD
from tests.helpers.sandbox_provider import REDIRECT_URI

CONSOLE = "/sandbox/provider/"


def test_console_shows_endpoints_client_test_login_and_redirect_uris(client, provider_app):
    response = client.get(CONSOLE)
    html = response.content.decode()
    assert response.status_code == 200
    assert "http://testserver/sandbox/oauth/authorize/" in html
    assert "http://testserver/sandbox/oauth/token/" in html
    assert settings.SANDBOX_PROVIDER_CLIENT_ID in html
    assert settings.SANDBOX_PROVIDER_CLIENT_SECRET in html
    assert "sandbox_person" in html and PROVIDER_PASSWORD in html
    assert f"<code>{REDIRECT_URI}</code>" in html
    assert "Sandbox OAuth provider — not a real provider" in html


def test_console_works_before_anything_is_seeded(client, db):
    response = client.get(CONSOLE)
    assert response.status_code == 200
    assert "None yet" in response.content.decode()


def test_registering_a_redirect_uri_adds_it_once(client, provider_app):
    uri = "https://portal.example.com/oauth/callback/My_app/"
    response = client.post(CONSOLE, {"redirect_uri": uri})
    assert response.status_code == 303
    assert response["Location"] == CONSOLE
    assert Application.objects.get().redirect_uris.split() == [REDIRECT_URI, uri]

    page = client.get(CONSOLE).content.decode()
    assert f"<code>{uri}</code>" in page
    assert "Registered" in page

    client.post(CONSOLE, {"redirect_uri": uri})
    assert Application.objects.get().redirect_uris.split() == [REDIRECT_URI, uri]
    assert "was already registered" in client.get(CONSOLE).content.decode()


def test_registering_works_on_an_empty_database(client, db):
    assert client.post(CONSOLE, {"redirect_uri": REDIRECT_URI}).status_code == 303
    app = Application.objects.get(client_id=settings.SANDBOX_PROVIDER_CLIENT_ID)
    assert app.redirect_uris == REDIRECT_URI


@pytest.mark.parametrize(
    "uri",
    [
        "ftp://portal.example.com/cb",
        "javascript:alert(1)",
        "not a url",
        "/oauth/callback/Sandbox_app/",
        "https://portal.example.com/cb#frag",
        "https://portal.example.com/a b",
        "",
    ],
)
def test_invalid_redirect_uris_are_refused(client, provider_app, uri):
    response = client.post(CONSOLE, {"redirect_uri": uri})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert Application.objects.get().redirect_uris.split() == [REDIRECT_URI]


def test_registering_needs_a_csrf_token(provider_app):
    response = Client(enforce_csrf_checks=True).post(CONSOLE, {"redirect_uri": "https://x.example/cb"})
    assert response.status_code == 403
    assert Application.objects.get().redirect_uris.split() == [REDIRECT_URI]
