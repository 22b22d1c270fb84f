"""The sandbox provider's oauthlib request validator.

Set on the sandbox's own DOT views (``validator_class``), so it needs no OAUTH2_PROVIDER setting and
affects nothing else that uses django-oauth-toolkit.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request

OFFLINE_ACCESS = "offline_access"


class SandboxOAuth2Validator(OAuth2Validator):  # type: ignore[misc]  # DOT ships no type hints
    """Issue a refresh token only when ``offline_access`` was granted.

    oauthlib's authorization-code grant always asks the token handler for a refresh token, and DOT
    stores whatever it gets. Real providers only hand one out when asked (Google
    ``access_type=offline``, Salesforce ``refresh_token``/``offline_access``), and the portal has a
    "no refresh token" path to exercise, so the sandbox follows them. ``save_bearer_token`` runs before
    the token response is serialised, so removing the key here removes it from the response too.
    On the refresh grant a refresh token always exists already, and DOT rotates it.
    """

    def save_bearer_token(self, token: dict[str, Any], request: Request, *args: Any, **kwargs: Any) -> None:
        if request.grant_type == "authorization_code" and OFFLINE_ACCESS not in (request.scopes or []):
            token.pop("refresh_token", None)
        super().save_bearer_token(token, request, *args, **kwargs)
