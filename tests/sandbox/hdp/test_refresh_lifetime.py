"""A lapse the sandbox can show (issue 22 item 6): with the provider console set to "10 minutes",
HDP's test of a data source refreshes for real against the sandbox provider (over loopback HTTP to
pytest-django's live server) and passes within the ten minutes, then fails with HDP's usual
"problem connecting" error naming the refused refresh once the consent's refresh tokens are past
their end. The clock is moved with freezegun (the provider thread sees the same frozen time)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from portal.sandbox.hdp.emulator import mock_transport
from portal.sandbox.hdp.models import OAuthProfile
from portal.sandbox.hdp.seed import seed_demo
from portal.sandbox.provider import lifetimes, seed
from tests.helpers.pkce import make_pkce
from tests.helpers.sandbox import PASSWORDS
from tests.helpers.sandbox_provider import authorize_url, callback_params, exchange_code, sign_in_and_consent

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback/Sandbox_app/"
AUTONOMOUS_REST = 63
DS_CONNECT_FAILED = 222207003


@pytest.fixture
def sandbox(live_server, settings):
    settings.SANDBOX_ENABLED = True
    settings.PORTAL_BASE_URL = live_server.url
    seed_demo()
    seed.seed_provider([REDIRECT_URI])
    return live_server.url


@pytest.fixture
def hdp():
    with httpx.Client(
        transport=mock_transport(), base_url="http://hdp", auth=("acme_admin", PASSWORDS["acme_admin"])
    ) as client:
        yield client


def _consent() -> dict[str, object]:
    """sandbox_person allows the portal's client offline access; the token response."""
    verifier, challenge = make_pkce()
    url = authorize_url(REDIRECT_URI, state="s", code_challenge=challenge, scope="openid read offline_access")
    callback = sign_in_and_consent(Client(), url)
    response = exchange_code(Client(), callback_params(callback)["code"], REDIRECT_URI, verifier)
    assert response.status_code == 200, response.content
    tokens: dict[str, object] = response.json()
    return tokens


def _data_source(hdp: httpx.Client, base: str, refresh_token: str) -> int:
    """An application, profile and data source in HDP holding the consent's refresh token."""
    app = hdp.post(
        "/api/mgmt/oauthapps",
        json={
            "name": "Sandbox_app",
            "dataStore": AUTONOMOUS_REST,
            "clientId": django_settings.SANDBOX_PROVIDER_CLIENT_ID,
            "clientSecret": django_settings.SANDBOX_PROVIDER_CLIENT_SECRET,
            "authorizeURI": f"{base}/sandbox/oauth/authorize/",
            "tokenURI": f"{base}/sandbox/oauth/token/",
            "scope": "openid read offline_access",
        },
    )
    assert app.status_code == 201, app.text
    profile = hdp.post(
        "/api/mgmt/oauthprofiles",
        json={"name": "Sandbox_profile", "oauthAppId": app.json()["id"], "refreshToken": refresh_token},
    )
    assert profile.status_code == 201, profile.text
    ds = hdp.post(
        "/api/mgmt/datasources",
        json={
            "name": "sandbox_ds",
            "dataStore": AUTONOMOUS_REST,
            "connectionType": "Cloud",
            "options": {"OAuthProfileId": str(profile.json()["id"])},
        },
    )
    assert ds.status_code == 201, ds.text
    ds_id: int = ds.json()["id"]
    return ds_id


def _test(hdp: httpx.Client, ds_id: int) -> httpx.Response:
    return hdp.post(f"/api/mgmt/datasources/{ds_id}/test", json={})


def test_the_data_source_test_fails_with_hdps_usual_error_once_the_refresh_token_is_past_its_end(
    sandbox, hdp
):
    lifetimes.set_lifetime(django_settings.SANDBOX_PROVIDER_CLIENT_ID, 600)  # the console's "10 minutes"
    start = timezone.now()
    with freeze_time(start):
        tokens = _consent()
    assert tokens["refresh_token_expires_in"] == 600
    ds_id = _data_source(hdp, sandbox, str(tokens["refresh_token"]))

    with freeze_time(start + timedelta(minutes=5)):
        passing = _test(hdp, ds_id)
    assert passing.status_code == 200, passing.text
    assert passing.json() == {"success": True}
    held = OAuthProfile.objects.get(name="Sandbox_profile").refresh_token
    assert held != tokens["refresh_token"]  # HDP refreshed for real and keeps the rotated token

    with freeze_time(start + timedelta(minutes=10, seconds=1)):
        failing = _test(hdp, ds_id)
    assert failing.status_code == 400
    error = failing.json()["error"]
    assert error["code"] == DS_CONNECT_FAILED
    assert error["message"]["value"] == (
        "There was a problem connecting to the DataSource sandbox_ds: refreshing OAuth profile "
        "Sandbox_profile with application Sandbox_app failed: the provider said invalid_grant"
    )


def test_without_a_lifetime_the_same_walk_keeps_passing(sandbox, hdp):
    start = timezone.now()
    with freeze_time(start):
        tokens = _consent()
    assert "refresh_token_expires_in" not in tokens
    ds_id = _data_source(hdp, sandbox, str(tokens["refresh_token"]))
    with freeze_time(start + timedelta(days=30)):
        answer = _test(hdp, ds_id)
    assert answer.status_code == 200, answer.text
