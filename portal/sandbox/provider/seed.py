"""Seed the sandbox OAuth provider: its test account and the portal's client registration.

Idempotent: running it again keeps every registered redirect URI, adds the given ones, and puts the
account's password and the client's id, secret and settings back to the documented values
(docs/architecture.md, "Sandbox facts").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import hashers
from django.db import transaction
from oauth2_provider.models import Application

from portal.accounts.models import User
from portal.sandbox.hdp import passwords as sandbox_passwords
from portal.sandbox.provider import keys

ACCOUNT_USERNAME = "sandbox_person"
ACCOUNT_PASSWORD = "sandbox-person-pw"
# A second person at the provider, so that a reconnect or repair signed in as someone else than the
# first consent's account can be shown being refused (README.md, "Demo accounts").
OWNER_USERNAME = "sandbox_owner"
OWNER_PASSWORD = "sandbox-owner-pw"


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    first_name: str
    last_name: str

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


#: The provider's people: user name, password, and the display name the id_token's ``name`` says.
ACCOUNTS = (
    Account(ACCOUNT_USERNAME, ACCOUNT_PASSWORD, "Sandra", "Person"),
    Account(OWNER_USERNAME, OWNER_PASSWORD, "Owen", "Owner"),
)
APPLICATION_NAME = "HDP Onboarding Portal (sandbox client)"


class SeedError(Exception):
    """The database holds something the seed must not overwrite."""


@transaction.atomic
def seed_provider(redirect_uris: list[str] | None = None) -> Application:
    """Create or repair the provider accounts, the portal's client and the OpenID Connect signing
    key (generated once, kept: keys.py); merge ``redirect_uris`` in."""
    for account in ACCOUNTS:
        seed_account(account)
    keys.ensure_key()
    return seed_application(redirect_uris or [])


def seed_account(spec: Account = ACCOUNTS[0]) -> User:
    account = User.objects.filter(username=spec.username).first()
    if account is None:
        account = User(username=spec.username)
    elif not account.is_sandbox_provider_account:
        # A portal person with this name: never turn them into a provider account.
        raise SeedError(f"User {spec.username!r} exists and is not a sandbox provider account.")
    account.is_sandbox_provider_account = True
    account.is_active = True
    account.is_staff = False
    account.is_superuser = False
    account.first_name, account.last_name = spec.first_name, spec.last_name
    if not _cheap_hash_of(spec.password, account.password):
        # A published demo password: the sandbox cost, as the client secret below (every sign-in at the
        # sandbox provider and every seed took a full 1,000,000-iteration PBKDF2 before).
        account.password = _cheap_hash(spec.password)
    account.save()
    return account


def seed_application(redirect_uris: list[str]) -> Application:
    app = Application.objects.filter(client_id=settings.SANDBOX_PROVIDER_CLIENT_ID).first()
    if app is None:
        app = Application(client_id=settings.SANDBOX_PROVIDER_CLIENT_ID)
    app.name = APPLICATION_NAME
    app.client_type = Application.CLIENT_CONFIDENTIAL
    app.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
    # id_tokens are signed RS256 with the stored key (validators.py), never an HS256 client secret.
    app.algorithm = Application.RS256_ALGORITHM
    app.skip_authorization = False
    # DOT stores a hash of the secret (ClientSecretField hashes a plain value on save) and checks the
    # client's Basic credentials against it, so the documented secret keeps working while the
    # database never holds it in clear.
    app.hash_client_secret = True
    secret = settings.SANDBOX_PROVIDER_CLIENT_SECRET
    if not _cheap_hash_of(secret, app.client_secret):
        app.client_secret = _cheap_hash(secret)
    app.redirect_uris = " ".join(merge_uris(app.redirect_uris.split(), redirect_uris))
    app.save()
    return app


def rotate_client_secret() -> str:
    """A new random client secret for the portal's client, as a provider console's "new secret" does.

    The old one stops working at once; only a hash is stored, so the caller shows the value once.
    ``seed_sandbox`` puts the documented demo secret back."""
    app = Application.objects.get(client_id=settings.SANDBOX_PROVIDER_CLIENT_ID)
    secret = "sandbox-rotated-" + secrets.token_urlsafe(24)
    app.client_secret = _cheap_hash(secret)
    app.save(update_fields=["client_secret", "updated"])
    return secret


def demo_secret_works() -> bool:
    """Whether the client still has the documented demo secret (not rotated since the last seed)."""
    app = Application.objects.filter(client_id=settings.SANDBOX_PROVIDER_CLIENT_ID).first()
    return app is not None and hashers.check_password(
        settings.SANDBOX_PROVIDER_CLIENT_SECRET, app.client_secret
    )


def _cheap_hash_of(secret: str, encoded: str) -> bool:
    """Whether ``encoded`` is the sandbox-cost hash of ``secret``.

    Why: the secret is published; Django's default PBKDF2 cost (1,000,000 iterations) made every token
    request of the sandbox provider ~0.7 s of CPU. PBKDF2 reads the iteration count from the hash, so
    DOT's check_password verifies it with Django's own code at the sandbox cost.
    """
    if not encoded:
        return False
    try:
        hasher = hashers.identify_hasher(encoded)
    except ValueError:  # not a hash at all (a clear value DOT has not hashed yet)
        return False
    if isinstance(hasher, hashers.PBKDF2PasswordHasher) and (
        hasher.decode(encoded).get("iterations") != sandbox_passwords.SANDBOX_ITERATIONS
    ):
        return False  # decided without paying for the full-cost hash
    return hashers.check_password(secret, encoded)


def _cheap_hash(secret: str) -> str:
    """PBKDF2 at the sandbox cost whatever the configured hashers (every process can verify it: PBKDF2 is
    in Django's default list, and gunicorn tests verify what the test process seeded). Already hashed, so
    ClientSecretField stores it as is."""
    return sandbox_passwords.make(secret)


def merge_uris(existing: list[str], new: list[str]) -> list[str]:
    """Existing URIs first, then new ones not yet present; exact matches only (as OAuth compares them)."""
    merged = list(dict.fromkeys(existing))
    merged += [uri for uri in dict.fromkeys(new) if uri not in merged]
    return merged


def registered_redirect_uris() -> list[str]:
    app = Application.objects.filter(client_id=settings.SANDBOX_PROVIDER_CLIENT_ID).first()
    return app.redirect_uris.split() if app else []
