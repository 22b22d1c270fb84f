"""OAuth failures in plain words, each with the next action (docs/product.md "raw error codes with no advice").

``str(error)`` is only the short code, never provider text or a secret, so an error that ends up in
a log or a traceback leaks nothing. The UI shows :meth:`OAuthError.user_message`.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l


class OAuthError(Exception):
    def __init__(self, code: str, explanation: str, retry_hint: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.explanation = explanation
        self.retry_hint = retry_hint

    def user_message(self) -> str:
        return f"{self.explanation} {self.retry_hint}".strip()


class ProviderDenied(OAuthError):
    """The provider sent the person back with ``error=`` (RFC 6749 §4.1.2.1)."""


class TokenExchangeError(OAuthError):
    """The token endpoint refused, failed or could not be reached (RFC 6749 §5.2)."""


class BlockedDestinationError(TokenExchangeError):
    """The token endpoint resolves to a non-public address (SECURITY.md item 12)."""


class RedirectReturned(TokenExchangeError):
    """The token endpoint answered with a redirect, which the portal never follows."""


class MissingRefreshToken(TokenExchangeError):
    """Tokens came back without a refresh token: HDP could not keep the connection alive."""


class InsufficientScope(TokenExchangeError):
    """The provider granted fewer permissions than the data store needs."""


class ConfigurationError(OAuthError):
    """The stored configuration cannot be used (e.g. http:// outside the sandbox)."""


RECONNECT = _l("Start the connection again from the sign-in step.")

# RFC 6749 §4.1.2.1 (authorization response) and §5.2 (token response) error codes, plus the
# non-standard redirect_uri_mismatch that Google and others return.
_EXPLANATIONS: dict[str, tuple[Promise, Promise]] = {
    "access_denied": (
        _l("The sign-in at the provider was cancelled, or the account declined the requested access."),
        _l("Connect again and choose Allow when the provider asks."),
    ),
    "invalid_scope": (
        _l("The provider does not accept the requested permissions (scope)."),
        _l(
            "Check the scope in the application settings against the provider's documentation, then connect again."
        ),
    ),
    "invalid_client": (
        _l(
            "The provider did not accept the client ID or client secret: they are wrong, or the provider "
            "expects them sent another way (HTTP Basic or in the request body) than the application is set to."
        ),
        _l(
            "Edit the application: copy the client ID and secret again from the provider's app "
            "registration, and check how it expects the secret to be sent (its registration calls this "
            "client_secret_basic or client_secret_post). Then connect again."
        ),
    ),
    "unauthorized_client": (
        _l(
            "The provider's app registration is not allowed to use this kind of sign-in (authorization code)."
        ),
        _l(
            "Enable the authorization code grant (web application) for the app at the provider, then connect again."
        ),
    ),
    "unsupported_response_type": (
        _l("The provider's app registration does not allow the authorization code sign-in."),
        _l("Register the app at the provider as a web application, then connect again."),
    ),
    "invalid_request": (
        _l("The provider rejected the sign-in request as malformed."),
        _l("Check the extra parameters of the application, then connect again."),
    ),
    "server_error": (
        _l("The provider had an internal error."),
        _l("Wait a few minutes and connect again."),
    ),
    "temporarily_unavailable": (
        _l("The provider is temporarily unavailable."),
        _l("Wait a few minutes and connect again."),
    ),
    "invalid_grant": (
        _l("The sign-in code was rejected: it expired, was already used, or was issued for another app."),
        RECONNECT,
    ),
    "unsupported_grant_type": (
        _l("The provider does not support the authorization code grant for this app."),
        _l("Check the app registration at the provider."),
    ),
    "timeout": (
        _l(
            "The provider's token endpoint did not answer in time. The sign-in code is single-use, so the portal "
            "did not send it again."
        ),
        _l("Reconnect: start the connection again from the sign-in step."),
    ),
    "tls_error": (
        _l(
            "The secure connection to the provider's token endpoint failed (certificate not trusted or TLS error)."
        ),
        _l("Check the token URI; if it is correct, ask the provider or your operator about its certificate."),
    ),
    "unreachable": (
        _l("The provider's token endpoint could not be reached."),
        _l("Check the token URI and try again in a few minutes."),
    ),
    "non_json": (
        _l("The provider's token endpoint answered with something that is not a token response."),
        _l("Check that the token URI is the provider's token endpoint (not a web page), then connect again."),
    ),
    "missing_access_token": (
        _l("The provider's answer contained no access token."),
        _l("Check the token URI, then connect again."),
    ),
    "blocked_destination": (
        _l(
            "The token URI points at an address the portal is not allowed to contact (a private or local network)."
        ),
        _l("Use the provider's public token endpoint."),
    ),
    "redirect_returned": (
        _l(
            "The provider's token endpoint answered with a redirect. The portal never follows it, because that "
            "would send the sign-in code and the client secret to another address."
        ),
        _l("Use the final token endpoint address in the application settings, then connect again."),
    ),
    "insecure_transport": (
        _l("The provider addresses must use https://."),
        _l("Fix the application's URIs, then connect again."),
    ),
    "secret_unavailable": (
        _l("The portal could not read the application's client secret from HDP."),
        _l(
            "Try again in a minute; if it keeps failing, enter the client secret again in the application step."
        ),
    ),
}


#: HDP's test quoted ``invalid_client``: HDP's own refresh was refused (docs/decisions.md "How HDP refreshes").
HDP_CLIENT_REFUSED = _l(
    "The provider refused HDP's client authentication when HDP refreshed the access token: the client secret is "
    "wrong, or the provider does not accept the way HDP sends it (HTTP Basic, unless the data source is told "
    "otherwise). Check which method the provider's app registration expects (client_secret_basic or "
    "client_secret_post)."
)

_UNKNOWN = (_l("The provider returned an error."), _l("Check the application settings, then connect again."))


def explain(code: str, *, redirect_uri: str = "", cls: type[OAuthError] = TokenExchangeError) -> OAuthError:
    """Map a provider error code (or one of ours) to an OAuthError with plain words and an action."""
    if code == "redirect_uri_mismatch":
        return cls(
            code,
            _("The provider does not know the portal's return address (redirect address)."),
            _(
                "Register exactly this redirect address in the app at the provider, then connect again: %(uri)s"
            )
            % {"uri": redirect_uri},
        )
    explanation, hint = _EXPLANATIONS.get(code, _UNKNOWN)
    return cls(code, str(explanation), str(hint))


def explain_refresh_failure(code: str, preset_key: str) -> OAuthError:
    """``invalid_grant`` on refresh usually means the refresh token lapsed; say why, per provider."""
    if code != "invalid_grant":
        return explain(code)
    google = _(
        "Google revokes refresh tokens after 7 days while the app's consent screen is in "
        "'Testing'; publish the app, or reconnect weekly."
    )
    why = {
        "google_analytics": google,
        "google_bigquery": google,
        "microsoft": _(
            "Microsoft refresh tokens lapse after 90 days without use, or when the password or "
            "conditional-access policy changes."
        ),
        "snowflake": _(
            "Snowflake refresh tokens lapse at the end of the integration's "
            "OAUTH_REFRESH_TOKEN_VALIDITY (90 days by default)."
        ),
    }.get(preset_key) or _("The refresh token expired or was revoked at the provider.")
    return TokenExchangeError(
        "invalid_grant",
        _("The provider no longer accepts the saved sign-in. %(why)s") % {"why": why},
        str(RECONNECT),
    )
