"""How HDP refreshes a profile's access token, done for real against the provider (docs/hdp-api.md §9 [I]).

Its own module so tests replace one name, ``refresh.refresh_with_provider``, and the data-source test
(``api/datasources.py``) looks it up at call time.
"""

from __future__ import annotations

import functools
import re
import ssl
from typing import Any

import httpx

from portal.lib.logging import register_secret


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: building one loads the CA store, about 40 ms of CPU per refresh."""
    return httpx.create_ssl_context()


class RefreshError(Exception):
    """The provider refused or could not be reached; the message is safe to show (no token in it)."""


def refresh_with_provider(
    token_uri: str, client_id: str, client_secret: str, refresh_token: str, *, mode: str = "Basic"
) -> dict[str, Any]:
    """Refresh an access token the way HDP does for a profile (docs/hdp-api.md §9 [I]).

    RFC 6749 §6: ``grant_type=refresh_token`` as a form body. Client authentication as the data
    source's ``ClientCredentialsMode`` says (Autonomous REST; every other store: HTTP Basic, the
    drivers' default): ``Basic``/``Default`` = HTTP Basic, ``Post`` = ``client_id`` and
    ``client_secret`` in the body, ``Url`` = in the query string. Redirects are not followed (a
    token endpoint has no business redirecting; following could leak the refresh token).
    Module-level so tests patch it. Raises ``RefreshError``.
    """
    for secret in (client_secret, refresh_token):
        register_secret(secret)
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    params: dict[str, str] = {}
    auth = httpx.Auth()  # the base class sends the request unchanged: no Authorization header
    if mode == "Post":
        data.update(client_id=client_id, client_secret=client_secret)
    elif mode == "Url":
        params = {"client_id": client_id, "client_secret": client_secret}
    else:
        auth = httpx.BasicAuth(client_id, client_secret)
    try:
        with httpx.Client(
            timeout=httpx.Timeout(10.0, connect=3.0), follow_redirects=False, verify=_tls()
        ) as client:
            response = client.post(
                token_uri,
                data=data,
                params=params,
                auth=auth,
                headers={"Accept": "application/json"},
            )
    except httpx.TimeoutException as exc:
        raise RefreshError("the provider's token endpoint timed out") from exc
    except httpx.HTTPError as exc:
        raise RefreshError("the provider's token endpoint is unreachable") from exc
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code != 200 or not isinstance(payload, dict):
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, str) and re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", error):
            raise RefreshError(f"the provider said {error}")
        raise RefreshError(f"the provider answered HTTP {response.status_code}")
    if not isinstance(payload.get("access_token"), str) or not payload["access_token"]:
        raise RefreshError("the provider's answer has no access_token")
    register_secret(payload["access_token"])
    if isinstance(payload.get("refresh_token"), str):
        register_secret(payload["refresh_token"])
    return payload
