"""The language follows the browser (Accept-Language) until the person picks one in the header;
the pick goes through Django's set_language (a plain POST form) and holds for the sandbox
provider's pages too. Dates follow the language; "UTC" stays."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.helpers.wizard import start_run

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
SET_LANGUAGE = reverse("set_language")


def _html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _choose(client: Client, language: str, next_url: str = LOGIN):
    return client.post(SET_LANGUAGE, {"language": language, "next": next_url})


def test_without_a_preference_the_portal_speaks_english(client) -> None:
    page = _html(client.get(LOGIN))
    assert '<html lang="en">' in page
    assert "HDP user name" in page


def test_accept_language_de_renders_the_login_page_in_german(client) -> None:
    page = _html(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5"))
    assert '<html lang="de">' in page
    assert "<h1" in page and ">Anmelden</h1>" in page
    assert "HDP-Benutzername" in page and "HDP user name" not in page
    assert 'aria-label="Sprache"' in page  # the chooser's own label is translated too


def test_accept_language_fr_renders_french(client) -> None:
    page = _html(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="fr-CH, fr;q=0.9"))
    assert '<html lang="fr">' in page and "Nom d&#x27;utilisateur HDP" in page


def test_the_header_offers_each_language_in_its_own_name(client) -> None:
    page = _html(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="de"))
    form = re.search(r'<form method="post" action="/i18n/setlang/".*?</form>', page, re.S)
    assert form is not None
    buttons = re.findall(
        r'<button type="submit" name="language" value="(\w+)" lang="\1"[^>]*>([^<]+)</button>', form[0]
    )
    assert buttons == [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]
    assert 'value="de" lang="de" class="link" aria-current="true"' in form[0]  # the active one
    assert f'name="next" value="{LOGIN}"' in form[0]
    assert "csrfmiddlewaretoken" in form[0]


def test_set_language_switches_to_french_and_back_signed_out(client) -> None:
    response = _choose(client, "fr")
    assert response.status_code == 302 and response["Location"] == LOGIN  # not sent to sign in
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    page = _html(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="de"))  # the choice beats the browser's
    assert '<html lang="fr">' in page and ">Se connecter</h1>" in page

    assert _choose(client, "en").status_code == 302
    page = _html(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="de"))
    assert '<html lang="en">' in page and ">Sign in</h1>" in page


def test_set_language_keeps_next_on_this_site(client) -> None:
    """Django's own check of `next`: another site, or a scheme-relative URL, goes to / instead."""
    for outside in ("https://evil.example/phish", "//evil.example/", "javascript:alert(1)"):
        response = _choose(client, "de", outside)
        assert response.status_code == 302 and response["Location"] == "/", outside
    assert _choose(client, "de", LOGIN + "?next=/runs/")["Location"] == LOGIN + "?next=/runs/"


def test_an_unknown_language_changes_nothing(client) -> None:
    response = _choose(client, "xx")
    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies
    assert '<html lang="en">' in _html(client.get(LOGIN))


def test_set_language_needs_the_csrf_token() -> None:
    browser = Client(enforce_csrf_checks=True)
    assert _choose(browser, "de").status_code == 403
    page = _html(browser.get(LOGIN))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    response = browser.post(SET_LANGUAGE, {"language": "de", "next": LOGIN, "csrfmiddlewaretoken": token[1]})
    assert response.status_code == 302 and browser.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"


def test_the_sandbox_provider_follows_the_chosen_language(client) -> None:
    provider_login = reverse("sandbox_provider:login")
    _choose(client, "de", provider_login)
    page = _html(client.get(provider_login))
    assert '<html lang="de">' in page and "Beim Sandbox-Anbieter anmelden" in page
    assert "Sandbox-OAuth-Anbieter — kein echter Anbieter" in page  # the banner
    _choose(client, "fr", provider_login)
    assert "Se connecter au fournisseur sandbox" in _html(client.get(provider_login))


def test_my_setups_in_german_shows_german_dates_with_utc(acme) -> None:
    run = start_run(acme)
    type(run).objects.filter(pk=run.pk).update(updated_at=datetime(2026, 3, 5, 14, 7, tzinfo=UTC))
    page = _html(acme.get(reverse("onboarding:runs")))
    assert "March 5, 2026, 2:07 p.m. UTC" in page  # English by default

    _choose(acme, "de", reverse("onboarding:runs"))
    page = _html(acme.get(reverse("onboarding:runs")))
    assert ">Meine Einrichtungen</h1>" in page and "Neue Einrichtung starten" in page
    assert "5. März 2026 14:07 UTC" in page
    assert 'datetime="2026-03-05T14:07:00+00:00"' in page  # the machine-readable time stays ISO

    _choose(acme, "fr", reverse("onboarding:runs"))
    page = _html(acme.get(reverse("onboarding:runs")))
    assert ">Mes configurations</h1>" in page and "5 mars 2026 14:07 UTC" in page
