"""The only module that imports requests_oauthlib (docs/architecture.md).

Three calls, each working from a flow *snapshot* (never live configuration, SECURITY.md item 5a):

* :func:`build_authorization_url` - RFC 6749 §4.1.1 + PKCE S256 (RFC 7636 §4.3), with the preset's
  extra parameters and the constant redirect URI.
* :func:`exchange_code` - RFC 6749 §4.1.3, hardened (SECURITY.md item 7): the client authenticates
  the way the snapshot's ``token_auth`` says (``post``: id and secret in the form body, no
  Authorization header; ``basic``: HTTP Basic of the §2.3.1 form-encoded id and secret), explicit timeout, the
  DNS-pinned session of :mod:`portal.oauth.safe_http`, no redirect followed, TLS verification on,
  never retried (a code is single use and an AS may revoke the grant on reuse, RFC 6749 §4.1.2).
* :func:`refresh` - RFC 6749 §6, for later checks.

Upstream behaviour worked around here (requests-oauthlib 2.0 / oauthlib 3+):

* ``OAuth2Session(pkce="S256")`` keeps the verifier only on the session object, so the portal makes
  the verifier itself, stores it encrypted with the flow, and passes challenge and verifier explicitly.
* ``fetch_token`` has no timeout by default and follows redirects (a 307/308 re-sends the body with
  the code, verifier and secret): we pass ``timeout=`` and add ``allow_redirects=False`` through the
  ``access_token_request`` compliance hook, and the session has ``max_redirects = 0`` as well.
* oauthlib raises a bare ``Warning("Scope has changed ...")`` when the granted scope differs in any
  way from the requested one, including order (Google, Microsoft). We give the session no scope at
  exchange time (so oauthlib has nothing to compare) and check required scopes ourselves, without
  touching the process-wide ``OAUTHLIB_RELAX_TOKEN_SCOPE`` environment variable.
* ``refresh_token()`` adds no client authentication by itself and silently re-uses the old refresh
  token when none comes back; we pass auth explicitly and report what the provider really sent.
* Both log request bodies and tokens at DEBUG; settings keep those loggers at WARNING, and every
  secret is registered with :func:`portal.lib.logging.register_secret`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from oauthlib.oauth2 import InsecureTransportError, MissingTokenError, OAuth2Error
from requests_oauthlib import OAuth2Session

from portal.lib import metrics
from portal.lib.logging import register_secret
from portal.oauth import errors, presets, safe_http
from portal.oauth.identity import Identity, from_token_response
from portal.oauth.snapshot import FlowSnapshot
from portal.oauth.uris import RESERVED_AUTHORIZE_PARAMS

# Scopes that ask for a refresh token rather than for data access; the refresh token's presence
# is the evidence they were granted (Microsoft does not echo offline_access in "scope").
OFFLINE_SCOPES = frozenset({"offline_access", "refresh_token"})
# Google answers with the full URL for its short OpenID scope names.
_SCOPE_ALIASES = {
    "email": "https://www.googleapis.com/auth/userinfo.email",
    "profile": "https://www.googleapis.com/auth/userinfo.profile",
}


@dataclass(frozen=True)
class TokenResult:
    """What the token endpoint issued. Secrets are plain ``str`` but kept out of ``repr``."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None
    scope: str
    token_type: str
    #: The provider account, when the token response names it (portal.oauth.identity); not a secret.
    identity: Identity | None = None
    #: What the answer said of the tokens' lifetimes, as sent (never a token; issue 22):
    #: ``refresh_token_expires_in``, ``expires_in`` (None when absent) and ``date`` (the HTTP Date header).
    lifetime: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "token_type": self.token_type,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None,
                "scope": self.scope,
            }
        )


def pkce_challenge(code_verifier: str) -> str:
    """RFC 7636 §4.2 S256: BASE64URL(SHA256(ASCII(verifier))) without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _scope_list(scope: str) -> list[str]:
    return [s for s in scope.replace(",", " ").split() if s]


def build_authorization_url(snapshot: FlowSnapshot, state: str, code_verifier: str) -> str:
    extra = dict(snapshot.extra_params)
    clash = {k for k in extra if k.lower() in RESERVED_AUTHORIZE_PARAMS}
    if clash:  # validated on save already; never let a stored config override these
        raise ValueError(f"reserved parameters in extra_params: {sorted(clash)}")
    session = OAuth2Session(
        client_id=snapshot.client_id,
        redirect_uri=snapshot.redirect_uri,
        scope=_scope_list(snapshot.scope) or None,
    )
    url, _ = session.authorization_url(
        snapshot.authorize_uri,
        state=state,
        code_challenge=pkce_challenge(code_verifier),
        code_challenge_method="S256",
        **extra,
    )
    return str(url)


class _Capture:
    """Compliance hooks: no redirects out, and a look at the raw response before oauthlib parses it."""

    def __init__(self) -> None:
        self.body: dict[str, Any] | None = None
        self.date = ""

    @staticmethod
    def no_redirects(url: str, headers: dict[str, str], request_kwargs: dict[str, Any]) -> Any:
        request_kwargs["allow_redirects"] = False
        return url, headers, request_kwargs

    def check_response(self, response: requests.Response) -> requests.Response:
        if 300 <= response.status_code < 400:
            raise errors.explain("redirect_returned", cls=errors.RedirectReturned)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            # oauthlib would fall back to parsing the body as a query string (a Facebook-era
            # compatibility path) and then complain about a missing token; say what happened.
            # A bare 401 is the client authentication failing (RFC 6749 §5.2 invalid_client).
            code = {401: "invalid_client"}.get(response.status_code) or (
                "server_error" if response.status_code >= 500 else "non_json"
            )
            raise errors.explain(code)
        self.body = body
        self.date = str(response.headers.get("Date", ""))[:64]
        return response


def _session(snapshot: FlowSnapshot, capture: _Capture, kind: str) -> OAuth2Session:
    # No scope on this session: see the module docstring on oauthlib's "Scope has changed".
    session = OAuth2Session(client_id=snapshot.client_id, redirect_uri=snapshot.redirect_uri)
    safe_http.harden(session)
    if kind == "access_token":
        # The refresh_token_request hook receives the body string, not request kwargs; refreshes
        # rely on max_redirects = 0 alone (requests raises before sending a second request).
        session.register_compliance_hook("access_token_request", capture.no_redirects)
    session.register_compliance_hook(f"{kind}_response", capture.check_response)
    return session


def _client_auth(snapshot: FlowSnapshot, client_secret: str) -> dict[str, Any]:
    if snapshot.token_auth == "post":
        return {"include_client_id": True, "client_secret": client_secret}
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding (as Authlib does).
    return {
        "auth": requests.auth.HTTPBasicAuth(quote(snapshot.client_id, safe=""), quote(client_secret, safe=""))
    }


def _call(snapshot: FlowSnapshot, send: Any, grant: str) -> dict[str, Any]:
    """Run one token-endpoint request, timed (``hdp_portal_provider_token_duration_seconds``)."""
    started = time.monotonic()
    outcome = "error"
    try:
        token = _send(snapshot, send)
        outcome = "ok"
        return token
    except errors.OAuthError as exc:
        outcome = _OUTCOMES.get(exc.code, "refused")
        raise
    finally:
        # A known preset key only (a fixed set), never what a snapshot might hold.
        preset = snapshot.preset if presets.get_preset(snapshot.preset) is not None else "custom"
        metrics.observe_provider_token(preset, grant, outcome, time.monotonic() - started)


#: OAuthError codes of a failure before the provider answered (the rest: the provider refused).
_OUTCOMES = {
    "blocked_destination": "blocked",
    "redirect_returned": "redirect",
    "timeout": "timeout",
    "tls_error": "tls_error",
    "unreachable": "unreachable",
    "insecure_transport": "blocked",
}


def _send(snapshot: FlowSnapshot, send: Any) -> dict[str, Any]:
    """Run one token-endpoint request and translate every failure into an OAuthError."""
    redirect_uri = snapshot.redirect_uri
    try:
        token = send()
    except errors.OAuthError:
        raise
    except safe_http.BlockedDestination:
        raise errors.explain("blocked_destination", cls=errors.BlockedDestinationError) from None
    except requests.exceptions.TooManyRedirects:
        raise errors.explain("redirect_returned", cls=errors.RedirectReturned) from None
    except requests.exceptions.Timeout:
        raise errors.explain("timeout") from None
    except requests.exceptions.SSLError:
        raise errors.explain("tls_error") from None
    except requests.exceptions.RequestException:
        raise errors.explain("unreachable") from None
    except InsecureTransportError:
        raise errors.explain("insecure_transport", cls=errors.ConfigurationError) from None
    except MissingTokenError:
        raise errors.explain("missing_access_token") from None
    except OAuth2Error as exc:
        raise errors.explain(str(exc.error or "invalid_request")[:100], redirect_uri=redirect_uri) from None
    except Warning as exc:  # "Scope has changed": not expected without a session scope, but never fatal
        token = getattr(exc, "token", None)
        if not isinstance(token, dict):
            raise errors.explain("missing_access_token") from None
    return dict(token)


def _as_sent(value: Any) -> Any:
    """A lifetime as the provider sent it (number or short text), kept for the basis; None when absent."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    if isinstance(value, int | float):
        return value
    return str(value)[:40]


def lifetime_facts(raw: dict[str, Any], date: str) -> dict[str, Any]:
    """The token answer's words on lifetimes (issue 22): never a token, only numbers and the Date header."""
    return {
        "refresh_token_expires_in": _as_sent(raw.get("refresh_token_expires_in")),
        "expires_in": _as_sent(raw.get("expires_in")),
        "date": date,
    }


def _result(
    token: dict[str, Any], raw: dict[str, Any] | None, requested_scope: str, date: str = ""
) -> TokenResult:
    raw = raw or {}
    access = raw.get("access_token") or token.get("access_token")
    if not isinstance(access, str) or not access:
        raise errors.explain("missing_access_token")
    register_secret(access)
    refresh_token = raw.get("refresh_token")
    refresh_token = refresh_token if isinstance(refresh_token, str) and refresh_token else None
    register_secret(refresh_token)
    expires_at = None
    if token.get("expires_at"):
        try:
            expires_at = datetime.fromtimestamp(float(token["expires_at"]), tz=UTC)
        except (TypeError, ValueError, OverflowError):
            expires_at = None
    granted = raw.get("scope")
    # RFC 6749 §5.1: scope may be omitted when it equals the requested scope.
    scope = (
        " ".join(_scope_list(granted)) if isinstance(granted, str) and granted.strip() else requested_scope
    )
    return TokenResult(
        access_token=access,
        refresh_token=refresh_token,
        expires_at=expires_at,
        scope=scope,
        token_type=str(raw.get("token_type") or token.get("token_type") or "Bearer"),
        identity=from_token_response(raw),
        lifetime=lifetime_facts(raw, date),
    )


def missing_scopes(requested: str, granted: str) -> list[str]:
    """Requested data scopes the grant lacks, tolerant of reordering and of providers that shorten
    or lengthen names (``.../auth/analytics.readonly`` vs ``analytics.readonly``)."""
    have = set(_scope_list(granted))
    tails = {s.rstrip("/").rsplit("/", 1)[-1] for s in have}
    missing = []
    for scope in _scope_list(requested):
        if scope in OFFLINE_SCOPES or scope in have or _SCOPE_ALIASES.get(scope) in have:
            continue
        if scope.rstrip("/").rsplit("/", 1)[-1] in tails:
            continue
        missing.append(scope)
    return missing


def exchange_code(snapshot: FlowSnapshot, client_secret: str, code: str, code_verifier: str) -> TokenResult:
    """Exchange ``code`` once. Raises an :class:`errors.OAuthError`; never retries."""
    for value in (client_secret, code, code_verifier):
        register_secret(value)
    capture = _Capture()
    session = _session(snapshot, capture, "access_token")

    def send() -> Any:
        return session.fetch_token(
            snapshot.token_uri,
            code=code,
            code_verifier=code_verifier,
            timeout=settings.OAUTH_TOKEN_TIMEOUT,
            verify=True,
            **_client_auth(snapshot, client_secret),
        )

    with session:
        token = _call(snapshot, send, "authorization_code")
    result = _result(token, capture.body, snapshot.scope, capture.date)
    if result.refresh_token is None:
        preset = presets.get_preset(snapshot.preset) or presets.PRESETS["custom"]
        raise errors.MissingRefreshToken(
            "missing_refresh_token",
            _(
                "The provider returned no refresh token, so HDP could not keep the connection working after the "
                "access token expires (usually within an hour). Nothing was saved."
            ),
            str(preset.refresh_token_hint or presets.PRESETS["custom"].refresh_token_hint),
        )
    lacking = missing_scopes(snapshot.scope, result.scope)
    if lacking:
        raise errors.InsufficientScope(
            "insufficient_scope",
            _("The provider granted fewer permissions than the data store needs (missing: %(scopes)s).")
            % {"scopes": ", ".join(lacking)},
            _("Connect again and approve every permission the provider lists."),
        )
    return result


def refresh(snapshot: FlowSnapshot, client_secret: str, refresh_token: str) -> TokenResult:
    """Use ``refresh_token`` once (RFC 6749 §6). ``TokenResult.refresh_token`` is None when the
    provider did not rotate it (requests-oauthlib would silently copy the old one in)."""
    register_secret(client_secret)
    register_secret(refresh_token)
    capture = _Capture()
    session = _session(snapshot, capture, "refresh_token")
    auth = _client_auth(snapshot, client_secret)
    kwargs: dict[str, Any] = {}
    if "auth" in auth:
        kwargs["auth"] = auth["auth"]
    else:
        kwargs.update(client_id=snapshot.client_id, client_secret=client_secret)

    def send() -> Any:
        return session.refresh_token(
            snapshot.token_uri,
            refresh_token=refresh_token,
            timeout=settings.OAUTH_TOKEN_TIMEOUT,
            verify=True,
            **kwargs,
        )

    try:
        with session:
            token = _call(snapshot, send, "refresh_token")
    except errors.TokenExchangeError as exc:
        if exc.code == "invalid_grant":
            raise errors.explain_refresh_failure("invalid_grant", snapshot.preset) from None
        raise
    return _result(token, capture.body, snapshot.scope, capture.date)
