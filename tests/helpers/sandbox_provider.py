"""Drive the sandbox OAuth provider (portal/sandbox/provider) through Django's test client.

    app = seed_provider([REDIRECT_URI])
    verifier, challenge = make_pkce()
    url = authorize_url(REDIRECT_URI, state="s1", code_challenge=challenge, scope="read offline_access")
    callback = sign_in_and_consent(client, url)         # "<REDIRECT_URI>?code=...&state=s1"
    tokens = exchange_code(Client(), callback_code(callback), REDIRECT_URI, verifier).json()

The same steps a person takes in a browser: authorize, provider login, consent (Allow/Deny).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.test import Client
from django.urls import reverse

from portal.sandbox.provider import seed

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

TOKEN_PATH = "/sandbox/oauth/token/"

#: The redirect URI the provider tests register (the portal's callback for the sandbox app in development).
REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback/Sandbox_app/"


def authorize_url(
    redirect_uri: str,
    *,
    state: str,
    code_challenge: str | None,
    scope: str = "read",
    client_id: str | None = None,
    **extra: str,
) -> str:
    """The path + query of an authorization request to the sandbox provider."""
    params = {
        "response_type": "code",
        "client_id": client_id or settings.SANDBOX_PROVIDER_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        **extra,
    }
    if code_challenge is not None:
        params.update(code_challenge=code_challenge, code_challenge_method="S256")
    return reverse("sandbox_provider:authorize") + "?" + urlencode(params)


def sign_in(
    client: Client,
    username: str = seed.ACCOUNT_USERNAME,
    password: str = seed.ACCOUNT_PASSWORD,
    next_url: str = "",
) -> Response:
    response: Response = client.post(
        reverse("sandbox_provider:login"), {"username": username, "password": password, "next": next_url}
    )
    return response


def consent_form_data(response: Response) -> dict[str, str]:
    """The hidden fields of the consent form on a rendered consent page."""
    form = response.context["form"]
    return {name: str(form[name].value()) for name in form.fields if form[name].value() not in (None, "")}


def sign_in_and_consent(client: Client, url: str, *, allow: bool = True) -> str:
    """Follow ``url`` through the provider login (if needed) and the consent page; return the
    provider's final redirect (the client's redirect URI with ``code``/``error`` and ``state``)."""
    response = client.get(url)
    if response.status_code == 302 and response["Location"].startswith(reverse("sandbox_provider:login")):
        next_url = parse_qs(urlsplit(response["Location"]).query)["next"][0]
        signed_in = sign_in(client, next_url=next_url)
        assert signed_in.status_code == 303, signed_in.content
        response = client.get(signed_in["Location"])
    assert response.status_code == 200, (response.status_code, response.content[:500])
    data = consent_form_data(response)
    if allow:
        data["allow"] = "true"
    decided = client.post(reverse("sandbox_provider:authorize"), data)
    assert decided.status_code == 302, (decided.status_code, decided.content[:500])
    return str(decided["Location"])


def callback_params(callback: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}


def basic_auth(client_id: str | None = None, secret: str | None = None) -> str:
    pair = f"{client_id or settings.SANDBOX_PROVIDER_CLIENT_ID}:{secret or settings.SANDBOX_PROVIDER_CLIENT_SECRET}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def token_request(client: Client, data: dict[str, str], *, secret: str | None = None) -> Response:
    response: Response = client.post(TOKEN_PATH, data, HTTP_AUTHORIZATION=basic_auth(secret=secret))
    return response


def exchange_code(client: Client, code: str, redirect_uri: str, verifier: str, **kwargs: Any) -> Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    return token_request(client, data, **kwargs)


def refresh(client: Client, refresh_token: str) -> Response:
    return token_request(client, {"grant_type": "refresh_token", "refresh_token": refresh_token})
