"""How the emulator's HDP refreshes: client authentication per data store, and rotated refresh tokens.

HTTP Basic for every store (the drivers' default); Autonomous REST follows its data source's
``ClientCredentialsMode`` (Post = form body, Url = query string). Whether a rotated refresh token
is written back is ``SANDBOX_HDP_WRITES_BACK_ROTATED_REFRESH_TOKEN`` (docs/decisions.md).
"""

from __future__ import annotations

import base64
from unittest import mock
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from portal.sandbox.hdp import refresh
from portal.sandbox.hdp.models import OAuthProfile
from tests.helpers.emulator import make_app, make_ds, make_profile

TOKEN_URI = "https://oauth2.example.com/token"
REST = 63


@pytest.fixture
def profile(emulator_admin):
    return make_profile(emulator_admin, make_app(emulator_admin)["id"])


def _rest_ds(emulator_admin, mode):
    profile_id = make_profile(
        emulator_admin, make_app(emulator_admin, name="rest_app", dataStore=REST)["id"], name="rest_profile"
    )["id"]
    options = {"AuthenticationMethod": "OAuth2-AuthorizationCode", "OAuthProfileId": str(profile_id)}
    if mode:
        options["ClientCredentialsMode"] = mode
    return make_ds(emulator_admin, None, name="rest_api", dataStore=str(REST), options=options)


def _test(emulator_admin, ds, tokens=None):
    tokens = tokens or {"access_token": "at-new"}
    with mock.patch.object(refresh, "refresh_with_provider", return_value=tokens) as refresher:
        response = emulator_admin.post(f"/api/mgmt/datasources/{ds['id']}/test", json={})
    assert response.status_code == 200, response.text
    return refresher


@pytest.mark.parametrize(("mode", "how"), [("Post", {"mode": "Post"}), ("Url", {"mode": "Url"}),
                                           ("Basic", {}), ("Default", {}), ("", {})])  # fmt: skip
def test_autonomous_rest_refreshes_with_its_client_credentials_mode(emulator_admin, mode, how):
    refresher = _test(emulator_admin, _rest_ds(emulator_admin, mode))
    refresher.assert_called_once_with(TOKEN_URI, "client-123", "secret-456", "rt-1", **how)


def test_other_stores_refresh_with_http_basic(emulator_admin, profile):
    refresher = _test(
        emulator_admin, make_ds(emulator_admin, profile["id"])
    )  # Google Analytics: no such option
    refresher.assert_called_once_with(TOKEN_URI, "client-123", "secret-456", "rt-1")


def test_a_rotated_refresh_token_is_written_back_by_default(emulator_admin, profile):
    _test(
        emulator_admin,
        make_ds(emulator_admin, profile["id"]),
        {"access_token": "at-2", "refresh_token": "rt-2"},
    )
    stored = OAuthProfile.objects.get(pk=profile["id"])
    assert (stored.access_token, stored.refresh_token) == ("at-2", "rt-2")


def test_without_write_back_the_old_refresh_token_stays(emulator_admin, profile, settings):
    settings.SANDBOX_HDP_WRITES_BACK_ROTATED_REFRESH_TOKEN = False
    _test(
        emulator_admin,
        make_ds(emulator_admin, profile["id"]),
        {"access_token": "at-2", "refresh_token": "rt-2"},
    )
    stored = OAuthProfile.objects.get(pk=profile["id"])
    assert (stored.access_token, stored.refresh_token) == ("at-2", "rt-1")


# --- what goes on the wire ------------------------------------------------------------------------


def _sent(mode):
    with respx.mock(assert_all_called=True) as router:
        route = router.post(url__startswith=TOKEN_URI).mock(
            return_value=httpx.Response(200, json={"access_token": "at"})
        )
        refresh.refresh_with_provider(TOKEN_URI, "id:x", "s3cr:t", "rt-1", **({"mode": mode} if mode else {}))
    request = route.calls[0].request
    return request, parse_qs(request.content.decode()), parse_qs(request.url.query.decode())


def test_basic_sends_an_authorization_header_only():
    request, body, query = _sent("")
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"id:x:s3cr:t").decode()
    assert body == {"grant_type": ["refresh_token"], "refresh_token": ["rt-1"]} and query == {}


def test_post_sends_the_client_credentials_in_the_body_only():
    request, body, query = _sent("Post")
    assert "Authorization" not in request.headers and query == {}
    assert body["client_id"] == ["id:x"] and body["client_secret"] == ["s3cr:t"]


def test_url_sends_the_client_credentials_in_the_query_string_only():
    request, body, query = _sent("Url")
    assert "Authorization" not in request.headers and "client_secret" not in body
    assert query == {"client_id": ["id:x"], "client_secret": ["s3cr:t"]}
