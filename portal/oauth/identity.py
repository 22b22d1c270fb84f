"""Which provider account a consent was given by, as far as the token response says.

Read from the token endpoint's own answer (RFC 6749 §5.1), never from the browser:

* an OpenID Connect ``id_token`` (``sub`` + ``iss``, a display name from ``name``,
  ``preferred_username`` or ``email``). Its signature is **not** verified: OIDC Core §3.1.3.7
  (item 6) lets a client skip TLS-received ID token signature checks when it came straight from
  the token endpoint, and it is used only to compare accounts, never to sign anyone in;
* Salesforce's ``id`` identity URL (``https://login.salesforce.com/id/<org>/<user>``): org and
  user ids are the subject, the URL's origin the issuer.

Nothing else is trusted (no userinfo call); a provider that says nothing gives ``None``
(docs/decisions.md: identity source per preset).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Identity:
    subject: str
    issuer: str
    display_name: str = ""

    def same_account(self, other: Identity) -> bool:
        return (self.subject, self.issuer) == (other.subject, other.issuer)

    def label(self) -> str:
        """What a person sees: the display name, else the subject (never a token)."""
        return self.display_name or self.subject


def _claims(id_token: str) -> dict[str, Any] | None:
    parts = id_token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def from_token_response(raw: dict[str, Any]) -> Identity | None:
    id_token = raw.get("id_token")
    if isinstance(id_token, str) and id_token:
        claims = _claims(id_token) or {}
        subject, issuer = _text(claims.get("sub"), 255), _text(claims.get("iss"), 500)
        if subject and issuer:
            name = next(
                (
                    _text(claims.get(k), 200)
                    for k in ("name", "preferred_username", "email")
                    if _text(claims.get(k), 200)
                ),
                "",
            )
            return Identity(subject, issuer, name)
    identity_url = raw.get("id")
    if isinstance(identity_url, str) and identity_url.startswith("https://"):
        parts = urlsplit(identity_url)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) == 3 and segments[0] == "id":
            return Identity("/".join(segments[1:])[:255], f"https://{parts.netloc}"[:500])
    return None
