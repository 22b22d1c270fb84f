"""PKCE (RFC 7636) values for tests."""

from __future__ import annotations

import base64
import hashlib
import secrets


def s256(verifier: str) -> str:
    """The S256 code challenge of ``verifier``."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_pkce() -> tuple[str, str]:
    """A fresh ``(code_verifier, code_challenge)`` pair, S256."""
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)
