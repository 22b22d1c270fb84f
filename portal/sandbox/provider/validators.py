"""The sandbox provider's oauthlib request validator.

Set on the sandbox's own DOT views (``validator_class``), so it needs no OAUTH2_VALIDATOR_CLASS
setting and affects nothing else that uses django-oauth-toolkit.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import router, transaction
from django.utils import timezone
from jwcrypto import jwk, jwt
from oauth2_provider.models import get_id_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request

from portal.sandbox.provider import keys, lifetimes

OFFLINE_ACCESS = "offline_access"


class SandboxOAuth2Validator(OAuth2Validator):  # type: ignore[misc]  # DOT ships no type hints
    """Issue a refresh token only when ``offline_access`` was granted.

    oauthlib's authorization-code grant always asks the token handler for a refresh token, and DOT
    stores whatever it gets. Real providers only hand one out when asked (Google
    ``access_type=offline``, Salesforce ``refresh_token``/``offline_access``), and the portal has a
    "no refresh token" path to exercise, so the sandbox follows them. ``save_bearer_token`` runs before
    the token response is serialised, so removing the key here removes it from the response too.
    On the refresh grant a refresh token always exists already, and DOT rotates it.

    With the console's "refresh tokens expire after" set, a consent's refresh tokens end that long
    after the consent (rotated ones too), the token response says so in ``refresh_token_expires_in``
    (seconds left, as Snowflake does), and a refresh after the end is refused with ``invalid_grant``.

    OpenID Connect (``openid`` scope): the ``id_token`` names the account (``sub``, its primary key
    here; ``name``; ``preferred_username``) and is signed RS256 with the key of
    :mod:`portal.sandbox.provider.keys`, never one from settings.
    """

    # Every claim goes into the id_token with ``openid`` (no separate profile/email scopes).
    oidc_claim_scope = None

    def save_bearer_token(self, token: dict[str, Any], request: Request, *args: Any, **kwargs: Any) -> None:
        first = request.grant_type == "authorization_code"
        if first and OFFLINE_ACCESS not in (request.scopes or []):
            token.pop("refresh_token", None)
        end = None
        if not first and "refresh_token" in token:
            end = lifetimes.end_of(getattr(request.refresh_token_instance, "token_family", None))
            if end is not None:
                token["refresh_token_expires_in"] = lifetimes.seconds_left(end)
        super().save_bearer_token(token, request, *args, **kwargs)
        seconds = lifetimes.lifetime(request.client.client_id) if first else None
        if seconds and "refresh_token" in token:
            end = lifetimes.record_end(token["refresh_token"], seconds)
            if end is not None:
                token["refresh_token_expires_in"] = lifetimes.seconds_left(end)

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Request, *args: Any, **kwargs: Any
    ) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        end = lifetimes.end_of(request.refresh_token_instance.token_family)
        return end is None or timezone.now() < end

    # --- OpenID Connect --------------------------------------------------------------------------
    def get_additional_claims(self, request: Request) -> dict[str, str]:
        user = request.user
        return {
            "name": user.get_full_name() or user.get_username(),
            "preferred_username": user.get_username(),
        }

    def finalize_id_token(
        self, id_token: dict[str, Any], token: dict[str, Any], token_handler: Any, request: Request
    ) -> str:
        """DOT's own ``finalize_id_token``, signing with the stored key instead of settings'."""
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:  # oauthlib #746, as DOT does
            id_token["nonce"] = request.nonce
        key = keys.private_key()
        header = {"typ": "JWT", "alg": "RS256", "kid": key.thumbprint()}
        signed = jwt.JWT(header=json.dumps(header), claims=json.dumps(id_token, default=str))
        signed.make_signed_token(key)
        model = get_id_token_model()
        with transaction.atomic(using=router.db_for_write(model)):
            saved = self._save_id_token(id_token["jti"], request, expiration_time)
        request.access_token = saved
        request.id_token = saved
        serialized: str = signed.serialize()
        return serialized

    def _get_key_for_token(self, token: str) -> jwk.JWK | None:
        """DOT verifies id_tokens it is shown (userinfo, logout) with the same stored key."""
        return keys.private_key()
