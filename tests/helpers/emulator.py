"""Shared request bodies and helpers for the emulator tests."""

from __future__ import annotations

import httpx

GA = 54
APP_BODY = {
    "name": "GA_app",
    "dataStore": GA,
    "description": "Google Analytics",
    "clientId": "client-123",
    "clientSecret": "secret-456",
    "authorizeURI": "https://accounts.example.com/o/oauth2/auth",
    "tokenURI": "https://oauth2.example.com/token",
    "scope": "analytics.readonly",
}


def error_code(response: httpx.Response) -> int:
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["message"]["lang"] == "en-US"
    return body["error"]["code"]


def make_app(client: httpx.Client, **overrides) -> dict:
    response = client.post("/api/mgmt/oauthapps", json={**APP_BODY, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def make_profile(client: httpx.Client, app_id: int, **overrides) -> dict:
    body = {
        "name": "GA_profile",
        "oauthAppId": app_id,
        "accessToken": "at-1",
        "refreshToken": "rt-1",
        **overrides,
    }
    response = client.post("/api/mgmt/oauthprofiles", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def make_ds(client: httpx.Client, profile_id: int | None = None, **overrides) -> dict:
    options = {"DefaultView": "12345"}
    if profile_id is not None:
        options["OAuthProfileId"] = str(profile_id)
    body = {"name": "ga_sales", "dataStore": GA, "connectionType": "Cloud", "options": options, **overrides}
    response = client.post("/api/mgmt/datasources", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def option_defs(store: dict) -> dict[str, dict]:
    """A data store's option definitions by id (its first connection type)."""
    first = next(iter(store["connectionType"].values()))
    return {opt["id"]: opt for category in first for opt in category["options"]}
