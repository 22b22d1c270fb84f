"""The shared oidc-provider harness really starts an OAuth server that does code + PKCE + refresh."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.helpers.oidc import OidcServerError, complete_dev_interactions, start_oidc_provider
from tests.helpers.pkce import make_pkce

# Never requested: the code is read from the provider's Location header.
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback/Test_app/"


def _authorize(idp, *, scope: str, prompt: str | None) -> tuple[dict[str, list[str]], str, str]:
    verifier, challenge = make_pkce()
    state = secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": idp.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if prompt:
        params["prompt"] = prompt
    with requests.Session() as browser:
        callback = complete_dev_interactions(
            browser, idp.authorize_uri + "?" + urlencode(params), redirect_uri=REDIRECT_URI
        )
    return parse_qs(urlsplit(callback).query), state, verifier


def _token(idp, **data: str) -> requests.Response:
    return requests.post(idp.token_uri, data=data, auth=(idp.client_id, idp.client_secret), timeout=10)


def test_code_pkce_round_trip_gives_a_rotating_refresh_token_with_prompt_consent():
    with start_oidc_provider(REDIRECT_URI) as idp:
        query, state, verifier = _authorize(idp, scope="openid offline_access", prompt="consent")
        assert query["state"] == [state]
        assert query["iss"] == [idp.issuer]  # RFC 9207

        response = _token(
            idp,
            grant_type="authorization_code",
            code=query["code"][0],
            redirect_uri=REDIRECT_URI,
            code_verifier=verifier,
        )
        assert response.status_code == 200, response.text
        tokens = response.json()
        assert tokens["access_token"]
        assert tokens["refresh_token"]
        assert "offline_access" in tokens["scope"].split()

        refreshed = _token(idp, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["access_token"] != tokens["access_token"]


def test_without_prompt_consent_offline_access_is_dropped_and_no_refresh_token_comes_back():
    with start_oidc_provider(REDIRECT_URI) as idp:
        query, _state, verifier = _authorize(idp, scope="openid offline_access", prompt=None)
        tokens = _token(
            idp,
            grant_type="authorization_code",
            code=query["code"][0],
            redirect_uri=REDIRECT_URI,
            code_verifier=verifier,
        ).json()
        assert tokens["access_token"]
        assert "refresh_token" not in tokens


def test_wrong_verifier_is_refused():
    with start_oidc_provider(REDIRECT_URI) as idp:
        query, _state, _verifier = _authorize(idp, scope="openid", prompt=None)
        response = _token(
            idp,
            grant_type="authorization_code",
            code=query["code"][0],
            redirect_uri=REDIRECT_URI,
            code_verifier=make_pkce()[0],
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


def test_the_server_stops_on_exit_and_a_taken_port_is_reported():
    with start_oidc_provider(REDIRECT_URI) as idp:
        discovery = requests.get(idp.issuer + "/.well-known/openid-configuration", timeout=5).json()
        assert discovery["issuer"] == idp.issuer
        assert discovery["authorization_endpoint"] == idp.authorize_uri
        assert discovery["token_endpoint"] == idp.token_uri
        with pytest.raises(OidcServerError, match="EADDRINUSE"):
            start_oidc_provider(REDIRECT_URI, port=idp.port)
    assert idp.process.poll() is not None
    with pytest.raises(requests.ConnectionError):
        requests.get(idp.issuer + "/.well-known/openid-configuration", timeout=5)


@pytest.mark.browser
def test_chromium_can_sign_in_and_consent_on_the_dev_pages(page):
    """The selectors browser tests rely on: input[name=login], input[name=password], Continue."""
    verifier, challenge = make_pkce()
    with start_oidc_provider(REDIRECT_URI) as idp:
        # Nothing listens on the redirect URI: answer it in the browser and keep the URL.
        page.route(REDIRECT_URI + "**", lambda route: route.fulfill(status=200, body="callback"))
        params = {
            "response_type": "code",
            "client_id": idp.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid offline_access",
            "prompt": "consent",
            "state": "st-browser",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        page.goto(idp.authorize_uri + "?" + urlencode(params))
        page.fill("input[name=login]", "alice")
        page.fill("input[name=password]", "any")
        page.click("button[type=submit]")
        page.click("button:has-text('Continue')")
        page.wait_for_url(REDIRECT_URI + "**")

        query = parse_qs(urlsplit(page.url).query)
        assert query["state"] == ["st-browser"]
        tokens = _token(
            idp,
            grant_type="authorization_code",
            code=query["code"][0],
            redirect_uri=REDIRECT_URI,
            code_verifier=verifier,
        ).json()
        assert tokens["refresh_token"]
