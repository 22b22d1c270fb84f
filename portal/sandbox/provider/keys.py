"""The sandbox provider's OpenID Connect signing key: RS256, generated here, kept in the database.

django-oauth-toolkit reads its RSA key from ``OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"]``, that is
from settings, which would put a private key in the environment or the repository. The sandbox
instead generates one at seed time (``seed_sandbox``) or on first use and stores it sealed
(``portal.lib.crypto``) in :class:`~portal.sandbox.provider.models.SigningKey`, so every instance
sharing the database signs with the same key and nothing of it is ever committed.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from jwcrypto import jwk

from portal.lib import crypto
from portal.sandbox.provider.models import SigningKey

log = logging.getLogger(__name__)

_PK = 1
_AAD = "sandbox_provider:oidc_signing_key"
KEY_SIZE = 2048


def _generate_pem() -> str:
    key = jwk.JWK.generate(kty="RSA", size=KEY_SIZE)
    pem: bytes = key.export_to_pem(private_key=True, password=None)
    return pem.decode()


def ensure_key() -> SigningKey:
    """The stored key, generated and stored first if there is none (or it can no longer be read)."""
    row = SigningKey.objects.filter(pk=_PK).first()
    if row is not None:
        try:
            crypto.decrypt(row.pem_enc, aad=_AAD)
            return row
        except crypto.DecryptionError:
            # The portal's encryption keys changed: the old signing key is lost, make a new one.
            log.warning("sandbox provider signing key unreadable; generating a new one")
            row.pem_enc = crypto.encrypt(_generate_pem(), aad=_AAD)
            row.save(update_fields=["pem_enc"])
            return row
    try:
        with transaction.atomic():
            return SigningKey.objects.create(pk=_PK, pem_enc=crypto.encrypt(_generate_pem(), aad=_AAD))
    except IntegrityError:  # another instance stored one first: use theirs
        return SigningKey.objects.get(pk=_PK)


def private_key() -> jwk.JWK:
    """The signing key as a JWK (private: signs ``id_token``s)."""
    pem = crypto.decrypt(ensure_key().pem_enc, aad=_AAD)
    return jwk.JWK.from_pem(pem.encode())


def public_jwks() -> dict[str, list[dict[str, str]]]:
    """The JWK Set published at the JWKS URI: the public half only, with its ``kid``."""
    key = private_key()
    public = {"alg": "RS256", "use": "sig", "kid": key.thumbprint(), **key.export_public(as_dict=True)}
    return {"keys": [public]}
