"""``handoff.open_links`` (read in SQL) gives the ORM's links, in the ORM's order, each with its run and
its maker as ``select_related("run", "created_by")`` gives them: two queries, one when there is none."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.accounts.models import User
from portal.oauth import handoff
from portal.oauth.models import HandoffLink
from portal.onboarding.models import Run

pytestmark = pytest.mark.django_db


def _orm(tenant_id: int) -> list[HandoffLink]:
    return list(
        HandoffLink.objects.filter(
            tenant_id=tenant_id, state=HandoffLink.State.WAITING, expires_at__gt=timezone.now()
        )
        .select_related("run", "created_by")
        .order_by("expires_at")
    )


def _values(obj) -> dict[str, object]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def _link(
    admin: User, purpose: str, *, tenant_id: int = 71, minutes: int = 60, state: str = "waiting"
) -> HandoffLink:
    run = Run.objects.create(
        owner=admin, tenant_id=tenant_id, tenant_name="Acme", datastore_name="GA4", ds_name=f"ds_{purpose}_{minutes}",
        ds_options={"OAuthProfileId": "7"}, signin_facts={"expires_in": 3600},
    )  # fmt: skip
    return HandoffLink.objects.create(
        token_hash=f"{run.pk.hex}{purpose}", run=run, tenant_id=tenant_id, purpose=purpose, created_by=admin,
        expires_at=timezone.now() + timedelta(minutes=minutes), email="owner@example.com", note="for the GA4 source",
        start={"client_id": "cid", "scope": "read"}, shown={"admin": "Ada", "tenant": "Acme"}, state=state,
    )  # fmt: skip


def test_the_open_links_are_the_orms_with_their_runs_and_makers(django_assert_num_queries):
    ada = User.objects.create(
        username="ada", hdp_tenant_id=71, hdp_permissions=[1], last_login=timezone.now()
    )
    bob = User.objects.create(
        username="bob", hdp_tenant_id=71, hdp_tenants_administered=[{"id": 71, "name": "Acme"}]
    )
    later = _link(ada, "consent", minutes=90)
    sooner = _link(bob, "reconnect", minutes=30)
    _link(ada, "repair", minutes=-5)  # expired, still "waiting" in the table
    _link(bob, "consent", minutes=45, state=HandoffLink.State.REVOKED)
    _link(ada, "consent", tenant_id=72)
    with django_assert_num_queries(2):  # whether there is any, then the links with their runs and makers
        links = handoff.open_links(71)
        got = [(_values(link), _values(link.run), _values(link.created_by)) for link in links]
    assert [link.pk for link in links] == [sooner.pk, later.pk]
    assert got == [(_values(link), _values(link.run), _values(link.created_by)) for link in _orm(71)]
    assert [link.created_by.username for link in links] == ["bob", "ada"]


def test_a_tenant_without_open_links_has_none(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert handoff.open_links(71) == []
