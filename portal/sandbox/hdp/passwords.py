"""Password hashing for emulator users (django.contrib.auth.hashers).

Why a lower PBKDF2 cost than Django's default: these are sandbox accounts with published passwords, and
every emulator request checks Basic auth; Django's 1,000,000 iterations would cost ~0.3 s per request
and per seeded user. The hasher reads the iteration count from the encoded hash, so verification still
goes through Django's own PBKDF2 code. A small per-process cache avoids re-deriving on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.contrib.auth.hashers import PBKDF2PasswordHasher, identify_hasher

SANDBOX_ITERATIONS = 10_000
_CACHE_KEY = secrets.token_bytes(32)
_verified: set[str] = set()


def make(raw: str) -> str:
    hasher = PBKDF2PasswordHasher()
    return hasher.encode(raw, hasher.salt(), iterations=SANDBOX_ITERATIONS)


def check(raw: str, encoded: str) -> bool:
    marker = hmac.new(_CACHE_KEY, f"{encoded}\0{raw}".encode(), hashlib.sha256).hexdigest()
    if marker in _verified:
        return True
    # The hasher's own verify(): check_password() would "harden" a failed check up to Django's default
    # 1,000,000 iterations (~0.5 s per wrong password), which only matters for real accounts.
    try:
        ok = identify_hasher(encoded).verify(raw, encoded)
    except ValueError:
        return False
    if ok:
        if len(_verified) > 1024:
            _verified.clear()
        _verified.add(marker)
    return ok
