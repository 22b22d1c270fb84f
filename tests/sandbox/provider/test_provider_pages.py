"""The sandbox provider's pages look like another site (issue 12): its own header and stylesheet,
no portal header or portal sign-in, a language choice that still works, no default grey buttons,
and an error page that offers its fix."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from tests.helpers.pkce import make_pkce
from tests.helpers.sandbox_provider import REDIRECT_URI, authorize_url, sign_in

PAGES = ["sandbox_provider:login", "sandbox_provider:console"]


def _html(response) -> str:
    return str(response.content.decode())


@pytest.mark.parametrize("name", PAGES)
def test_provider_pages_have_their_own_header_and_stylesheet(client, provider_app, portal_user, name):
    client.force_login(portal_user)  # signed in to the portal in the same browser
    html = _html(client.get(reverse(name)))
    assert '<header class="provider-header">' in html
    assert "Sandbox provider — practice sign-in" in html
    assert "/static/sandbox/provider.css" in html and "/static/portal/portal.css" not in html
    assert 'class="site-header"' not in html
    assert "acme_admin (Acme)" not in html  # the portal person is not shown at the provider
    assert reverse("accounts:logout") not in html  # nor the portal's sign-out
    assert 'id="busy"' not in html  # the portal's "Working with HDP" notice belongs to the portal


@pytest.mark.parametrize("name", PAGES)
def test_every_provider_button_is_styled(client, provider_app, name):
    sign_in(client)  # the console and login then show the provider's sign-out button too
    html = _html(client.get(reverse(name)))
    buttons = re.findall(r"<button\b[^>]*>", html)
    assert len(buttons) >= 2, buttons
    unstyled = [b for b in buttons if not re.search(r'class="[^"]*\b(primary|secondary|link)\b', b)]
    assert unstyled == []


def test_consent_buttons_are_a_primary_allow_and_a_secondary_deny(client, provider_app):
    sign_in(client)
    html = _html(client.get(authorize_url(REDIRECT_URI, state="s", code_challenge=make_pkce()[1])))
    assert re.search(r'<button type="submit" name="allow" value="true" class="primary">', html)
    assert re.search(r'<button type="submit" class="secondary">Deny</button>', html)


def test_the_language_choice_on_a_provider_page_comes_back_to_it_in_that_language(client, provider_app):
    sign_in(client)
    consent = authorize_url(REDIRECT_URI, state="s", code_challenge=make_pkce()[1])
    html = _html(client.get(consent))
    assert f'<form method="post" action="{reverse("set_language")}"' in html  # in the provider header
    response = client.post(reverse("set_language"), {"language": "de", "next": consent})
    assert response.status_code == 302 and response["Location"] == consent
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert '<html lang="de">' in _html(client.get(consent))


def test_the_refusal_page_offers_the_console_and_the_way_back(client, provider_app):
    sign_in(client)
    response = client.get(authorize_url("https://evil.example/cb", state="s", code_challenge=make_pkce()[1]))
    assert response.status_code == 400
    html = _html(response)
    assert f'href="{reverse("sandbox_provider:console")}"' in html
    assert f'href="{reverse("onboarding:runs")}"' in html
    # An unregistered redirect address: the exact address to register, and the retry (templates/sandbox/_redirect_mismatch.html).
    assert (
        'id="redirect-mismatch"' in html
        and '<code id="redirect-uri" class="uri">https://evil.example/cb</code>' in html
    )
