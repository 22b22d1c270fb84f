"""Personal API tokens: made from 32 random bytes, stored only as a keyed hash.

A token looks like ``hdpp_`` + base64url(32 bytes) (43 characters). The portal stores
HMAC-SHA256(key, token): a token is high-entropy, so a fast keyed hash is enough (no slow password
hash per request), and a copy of the database alone cannot be used to test guesses. The key is
``API_TOKEN_HASH_KEY`` when set, else derived from ``SECRET_KEY`` (changing either makes every
token invalid: docs/deploy.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.accounts.models import User
from portal.api.models import ApiToken

PREFIX = "hdpp_"
#: What a token looks like; portal/lib/logging.py masks this pattern in every log line.
PATTERN = re.compile(r"hdpp_[A-Za-z0-9_-]{43}")
SCOPES = ("setups:read", "setups:check", "handoff:write", "support:read")
SUPPORT_SCOPES = ("support:read",)
MAX_DAYS = 365


class TokenRefused(ValueError):
    """A token cannot be made as asked (unknown scope, support scope for a non-staff person...)."""


def _key() -> bytes:
    configured = getattr(settings, "API_TOKEN_HASH_KEY", "") or ""
    if configured:
        return configured.encode()
    return hashlib.sha256(b"portal.api.tokens|" + settings.SECRET_KEY.encode()).digest()


def digest(token: str) -> str:
    return hmac.new(_key(), token.encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def create(user: User, *, name: str, scopes: list[str], days: int, is_support: bool) -> tuple[ApiToken, str]:
    """Make a token; returns the row and the token, which is never shown again."""
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenRefused(_("Give the token a name of at most 100 characters."))
    wanted = list(dict.fromkeys(scopes))
    if not wanted:
        raise TokenRefused(_("Choose at least one scope."))
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown:
        raise TokenRefused(_("Unknown scope: %(scopes)s") % {"scopes": ", ".join(unknown)})
    if any(s in SUPPORT_SCOPES for s in wanted) and not is_support:
        raise TokenRefused(_("Only support staff can have the support:read scope."))
    if not 1 <= days <= MAX_DAYS:
        raise TokenRefused(_("A token expires after 1 to 365 days."))
    token = new_token()
    now = timezone.now()
    row = ApiToken.objects.create(
        user=user,
        name=name,
        token_hash=digest(token),
        prefix=token[:9],
        scopes=wanted,
        created_at=now,
        expires_at=now + timedelta(days=days),
        hdp_checked_at=now,
    )
    return row, token


def revoke(row: ApiToken) -> None:
    if row.revoked_at is None:
        ApiToken.objects.filter(pk=row.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
