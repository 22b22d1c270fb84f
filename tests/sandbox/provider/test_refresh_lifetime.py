"""The console's "refresh tokens expire after" (issue 22 item 6): the token response says
``refresh_token_expires_in``, every refresh token of that consent (rotated ones too) ends at the
same time, and a refresh after the end is refused with ``invalid_grant``. Time moves with freezegun."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from portal.sandbox.provider import lifetimes, seed
from tests.helpers.pkce import make_pkce
from tests.helpers.sandbox_provider import (
    authorize_url,
    callback_params,
    exchange_code,
    refresh,
    sign_in_and_consent,
)

REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback/Sandbox_app/"
CLIENT_ID = settings.SANDBOX_PROVIDER_CLIENT_ID


@pytest.fixture
def seeded_app(db):
    return seed.seed_provider([REDIRECT_URI])


def _consent(scope: str = "openid read offline_access") -> dict[str, object]:
    verifier, challenge = make_pkce()
    callback = sign_in_and_consent(
        Client(), authorize_url(REDIRECT_URI, state="s", code_challenge=challenge, scope=scope)
    )
    response = exchange_code(Client(), callback_params(callback)["code"], REDIRECT_URI, verifier)
    assert response.status_code == 200, response.content
    tokens: dict[str, object] = response.json()
    return tokens


def test_by_default_refresh_tokens_never_expire(seeded_app):
    tokens = _consent()
    assert "refresh_token_expires_in" not in tokens
    with freeze_time(timezone.now() + timedelta(days=400)):
        again = refresh(Client(), str(tokens["refresh_token"]))
    assert again.status_code == 200 and "refresh_token_expires_in" not in again.json()


def test_ten_minutes_counted_from_the_consent_for_every_rotated_token(seeded_app):
    lifetimes.set_lifetime(CLIENT_ID, 600)
    start = timezone.now()
    with freeze_time(start):
        tokens = _consent()
    assert tokens["refresh_token_expires_in"] == 600

    with freeze_time(start + timedelta(minutes=4)):
        second = refresh(Client(), str(tokens["refresh_token"]))
    assert second.status_code == 200, second.content
    body = second.json()
    assert body["refresh_token"] != tokens["refresh_token"]  # rotated
    assert body["refresh_token_expires_in"] == 360  # the same end: what is left of the ten minutes

    with freeze_time(start + timedelta(minutes=9, seconds=59)):
        third = refresh(Client(), body["refresh_token"])
    assert third.status_code == 200 and third.json()["refresh_token_expires_in"] == 1

    with freeze_time(start + timedelta(minutes=10, seconds=1)):
        lapsed = refresh(Client(), third.json()["refresh_token"])
    assert lapsed.status_code == 400
    assert lapsed.json()["error"] == "invalid_grant"


def test_a_new_consent_starts_a_new_clock_and_a_changed_setting_applies_to_new_consents_only(seeded_app):
    lifetimes.set_lifetime(CLIENT_ID, 600)
    start = timezone.now()
    with freeze_time(start):
        early = _consent()
    lifetimes.set_lifetime(CLIENT_ID, None)  # "never", after the first consent
    with freeze_time(start + timedelta(minutes=8)):
        later = _consent()
    assert "refresh_token_expires_in" not in later
    lifetimes.set_lifetime(CLIENT_ID, 30 * 60)
    with freeze_time(start + timedelta(minutes=9)):
        reconnect = _consent()
    assert reconnect["refresh_token_expires_in"] == 1800

    with freeze_time(start + timedelta(minutes=11)):
        assert refresh(Client(), str(early["refresh_token"])).json()["error"] == "invalid_grant"
        assert refresh(Client(), str(later["refresh_token"])).status_code == 200
        fresh = refresh(Client(), str(reconnect["refresh_token"]))
    assert fresh.status_code == 200 and fresh.json()["refresh_token_expires_in"] == 1680


def test_a_consent_without_offline_access_gets_no_refresh_token_and_no_lifetime(seeded_app):
    lifetimes.set_lifetime(CLIENT_ID, 600)
    tokens = _consent(scope="openid read")
    assert "refresh_token" not in tokens and "refresh_token_expires_in" not in tokens


# --- the console setting --------------------------------------------------------------------------
def test_the_console_sets_ten_minutes_a_number_or_never(client, seeded_app):
    page = client.get(reverse("sandbox_provider:console")).content.decode()
    assert "Refresh tokens expire after" in page
    assert 'value="never" id="id_expire_0" required checked' in page  # the setting as it stands

    url = reverse("sandbox_provider:refresh-lifetime")
    answer = client.post(url, {"expire": "10"})
    assert answer.status_code == 303
    assert lifetimes.lifetime(CLIENT_ID) == 600
    page = client.get(answer["Location"]).content.decode()
    assert "Refresh tokens from new consents expire 10 minutes after the consent." in page

    client.post(url, {"expire": "other", "minutes": "45"})
    assert lifetimes.lifetime(CLIENT_ID) == 45 * 60
    page = client.get(reverse("sandbox_provider:console")).content.decode()
    assert 'value="other" id="id_expire_2" required checked' in page and 'value="45"' in page

    client.post(url, {"expire": "never", "minutes": "45"})
    assert lifetimes.lifetime(CLIENT_ID) is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"expire": "other"}, "Enter a number of minutes."),
        ({"expire": "other", "minutes": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"expire": "other", "minutes": "129601"}, "Ensure this value is less than or equal to 129600."),
        ({"expire": "other", "minutes": "ten"}, "Enter a whole number."),
        ({"expire": "forever"}, "Select a valid choice."),
    ],
)
def test_a_bad_lifetime_is_explained_on_the_console_and_nothing_changes(client, seeded_app, data, error):
    lifetimes.set_lifetime(CLIENT_ID, 600)
    answer = client.post(reverse("sandbox_provider:refresh-lifetime"), data)
    assert answer.status_code == 400
    assert error in answer.content.decode()
    assert lifetimes.lifetime(CLIENT_ID) == 600
