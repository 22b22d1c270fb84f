"""Authenticated encryption for the few secrets the portal must hold for a while.

AES-256-GCM (``cryptography``), a fresh 96-bit nonce per value, and associated data that names
the row and field (``run:<uuid>|tenant:<id>|field:<name>``), so a ciphertext copied into another
row or field fails to decrypt instead of leaking (SECURITY.md item 15). Each value carries the id
of the key that sealed it: ``PORTAL_ENCRYPTION_KEYS`` lists ``kid:key`` pairs, the first seals and
all open, which is how keys rotate (docs/deploy.md).

Stored form: ``v1.<kid>.<base64url(nonce || ciphertext+tag)>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VERSION = "v1"


class DecryptionError(Exception):
    """A stored value cannot be opened: wrong row/field, unknown key id, or tampering."""


@dataclass(frozen=True)
class Keyring:
    current_kid: str
    keys: dict[str, bytes]


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_keys(entries: list[str]) -> Keyring:
    keys: dict[str, bytes] = {}
    current = ""
    for entry in entries:
        kid, sep, material = entry.partition(":")
        if not sep or not kid or "." in kid:
            raise ImproperlyConfigured(
                "Each PORTAL_ENCRYPTION_KEYS entry must look like 'kid:base64url-key'."
            )
        try:
            key = _b64decode(material)
        except ValueError:
            raise ImproperlyConfigured(f"Encryption key {kid!r} is not valid base64url.") from None
        if len(key) != 32:
            raise ImproperlyConfigured(f"Encryption key {kid!r} must be 32 bytes (AES-256); got {len(key)}.")
        keys[kid] = key
        current = current or kid
    if not keys:
        raise ImproperlyConfigured("PORTAL_ENCRYPTION_KEYS is empty.")
    return Keyring(current, keys)


@lru_cache(maxsize=8)
def _keyring(entries: tuple[str, ...]) -> Keyring:
    return parse_keys(list(entries))


def keyring() -> Keyring:
    return _keyring(tuple(settings.PORTAL_ENCRYPTION_KEYS))


def generate_key_entry(kid: str) -> str:
    return f"{kid}:{base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode().rstrip('=')}"


def encrypt(plaintext: str, *, aad: str) -> str:
    ring = keyring()
    nonce = os.urandom(12)
    sealed = AESGCM(ring.keys[ring.current_kid]).encrypt(nonce, plaintext.encode(), aad.encode())
    blob = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"{VERSION}.{ring.current_kid}.{blob}"


def decrypt(stored: str, *, aad: str) -> str:
    try:
        version, kid, blob = stored.split(".", 2)
    except ValueError:
        raise DecryptionError("not an encrypted value") from None
    if version != VERSION:
        raise DecryptionError("unknown format version")
    key = keyring().keys.get(kid)
    if key is None:
        raise DecryptionError(f"unknown key id {kid!r}")
    raw = _b64decode(blob)
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], aad.encode()).decode()
    except (InvalidTag, ValueError):
        raise DecryptionError("value does not belong here or was tampered with") from None


def key_id(stored: str) -> str:
    return stored.split(".", 2)[1]


def keyed_hashes(value: str, *, purpose: str) -> list[str]:
    """HMAC-SHA256 of ``value`` (hex) under each key of the keyring, the current key's first.

    For values the portal must recognise but never keep (a handoff link): store
    ``keyed_hashes(v)[0]``, look up with all of them, so a key rotation does not orphan live values.
    ``purpose`` separates the uses of one key."""
    ring = keyring()
    order = [ring.current_kid, *(kid for kid in ring.keys if kid != ring.current_kid)]
    message = purpose.encode() + b"\x00" + value.encode()
    return [hmac.new(ring.keys[kid], message, hashlib.sha256).hexdigest() for kid in order]
