"""Seed the emulator with the sandbox tenants and users of docs/architecture.md ("Sandbox facts").

Idempotent: running it again resets those users' passwords, permissions and tenants to the table and
leaves every other row (apps, profiles, data sources, extra users) alone.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from portal.sandbox.hdp import passwords
from portal.sandbox.hdp.models import SYSTEM_TENANT_ID, HdpUser, Tenant

ALL_PERMISSIONS = [*range(1, 22), 25, 26, 27, 28]
_DS_USER = list(range(1, 12))
_TENANT_ADMIN = [*range(1, 12), 13, 14, 15, 16, 21, 28]

TENANTS = [
    (SYSTEM_TENANT_ID, "System", None),
    (71, "Acme", SYSTEM_TENANT_ID),
    (72, "Globex", SYSTEM_TENANT_ID),
]

# user, password, tenant id, permissions, tenants administered
USERS: list[tuple[str, str, int, list[int], list[int]]] = [
    ("d2cadmin", "d2cadmin-sandbox-pw", 1, ALL_PERMISSIONS, [1, 71, 72]),
    ("portal_svc", "portal-svc-sandbox-pw", 1, [12], []),
    ("support", "support-sandbox-pw", 1, [2, 11, 14, 25], []),
    ("acme_admin", "acme-admin-sandbox-pw", 71, _TENANT_ADMIN, [71]),
    ("globex_admin", "globex-admin-sandbox-pw", 72, _TENANT_ADMIN, [72]),
    ("acme_user", "acme-user-sandbox-pw", 71, _DS_USER, []),
    ("d2cuser", "d2cuser-sandbox-pw", 1, _DS_USER, []),
]

PASSWORD_EXPIRATION = dt.datetime(2099, 12, 31, tzinfo=dt.UTC)

# Published sandbox passwords: hash each once per process (tests seed a fresh database per test).
_HASHES: dict[str, str] = {}


def _hash(password: str) -> str:
    if password not in _HASHES:
        _HASHES[password] = passwords.make(password)
    return _HASHES[password]


@transaction.atomic
def seed_demo() -> None:
    if not Tenant.objects.exists() and not HdpUser.objects.exists():
        _seed_empty()
        return
    for tenant_id, name, parent_id in TENANTS:
        Tenant.objects.update_or_create(id=tenant_id, defaults={"name": name, "parent_id": parent_id})
    for user_name, password, tenant_id, perms, administered in USERS:
        user = HdpUser.objects.filter(user_name__iexact=user_name).first()
        if user is None:
            user = HdpUser(user_name=user_name)
        if not user.password or not passwords.check(password, user.password):
            user.password = _hash(password)
        user.tenant_id = tenant_id
        user.permissions = perms
        user.password_expiration = PASSWORD_EXPIRATION
        user.save()
        user.tenants_administered.set(administered)


def _seed_empty() -> None:
    """The same rows into an empty emulator in four statements, not about forty (each test of the suite
    seeds a fresh database; `make run` seeds once)."""
    Tenant.objects.bulk_create(Tenant(id=i, name=name, parent_id=parent) for i, name, parent in TENANTS)
    users = HdpUser.objects.bulk_create(
        HdpUser(
            user_name=user_name,
            password=_hash(password),
            tenant_id=tenant_id,
            permissions=perms,
            password_expiration=PASSWORD_EXPIRATION,
        )
        for user_name, password, tenant_id, perms, _ in USERS
    )
    through = HdpUser.tenants_administered.through
    through.objects.bulk_create(
        through(hdpuser_id=user.pk, tenant_id=tenant_id)
        for user, (*_, administered) in zip(users, USERS, strict=True)
        for tenant_id in administered
    )
