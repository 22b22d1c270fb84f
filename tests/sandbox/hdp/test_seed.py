"""The sandbox seed matches docs/architecture.md and is idempotent."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from portal.sandbox.hdp import passwords
from portal.sandbox.hdp.models import HdpUser, Tenant
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.sandbox import PASSWORDS, PROVIDER_PASSWORD, PROVIDER_USER


def test_seed_is_idempotent_and_resets_the_table(db):
    seed_demo()
    HdpUser.objects.filter(user_name="acme_user").update(permissions=[1])
    seed_demo()
    assert list(Tenant.objects.order_by("id").values_list("id", "name")) == [
        (1, "System"),
        (71, "Acme"),
        (72, "Globex"),
    ]
    assert HdpUser.objects.count() == 7
    acme_user = HdpUser.objects.get(user_name="acme_user")
    assert acme_user.permissions == list(range(1, 12))
    assert acme_user.tenant_id == 71
    assert passwords.check(PASSWORDS["acme_user"], acme_user.password)
    assert not passwords.check("wrong", acme_user.password)
    assert acme_user.password.startswith("pbkdf2_sha256$")
    admin = HdpUser.objects.get(user_name="acme_admin")
    assert sorted(admin.permissions) == [*range(1, 12), 13, 14, 15, 16, 21, 28]
    assert list(admin.tenants_administered.values_list("id", flat=True)) == [71]
    assert HdpUser.objects.get(user_name="support").permissions == [2, 11, 14, 25]
    assert 12 in HdpUser.objects.get(user_name="portal_svc").permissions


def test_the_seeded_passwords_are_the_documented_ones():
    # Tests read the passwords from the seeds (tests/helpers/sandbox.py); the docs are what people type.
    facts = (Path(settings.BASE_DIR) / "docs" / "architecture.md").read_text()
    for username, password in PASSWORDS.items():
        assert f"| {username} | {password} |" in facts, username
    assert f"`{PROVIDER_USER}` / `{PROVIDER_PASSWORD}`" in facts


def _rows() -> list[tuple[object, ...]]:
    tenants = list(
        Tenant.objects.order_by("id").values_list("id", "name", "parent_id", "status", "description")
    )
    users = [
        (
            u.user_name,
            u.tenant_id,
            u.permissions,
            u.password_expiration,
            sorted(u.tenants_administered.values_list("id", flat=True)),
            passwords.check(PASSWORDS[u.user_name], u.password),
        )
        for u in HdpUser.objects.order_by("id")
    ]
    return [*tenants, *users]


def test_an_empty_emulator_gets_the_same_rows_as_the_row_by_row_seed(db, django_assert_max_num_queries):
    """An empty emulator is seeded in a few statements (every test seeds a fresh database); the rows are the
    ones the idempotent, row-by-row path writes when a row already exists."""
    with django_assert_max_num_queries(8):
        seed_demo()
    fast = _rows()
    assert len(fast) == 3 + 7
    HdpUser.tenants_administered.through.objects.all().delete()
    HdpUser.objects.all().delete()
    Tenant.objects.exclude(id=1).delete()  # one row left: the row-by-row path runs
    seed_demo()
    assert _rows() == fast
