"""The tenant page's runs read in SQL (``rows.tenant_runs``) are the ORM's: the runs of
``checks.with_status(...).select_related("owner").prefetch_related("objects_made").order_by("-updated_at")``,
field for field, with the same status columns, owners and recorded objects."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.accounts.models import User
from portal.connections import checks
from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause, State
from portal.onboarding.models import RemoteObject, Run
from portal.support import rows
from tests.helpers.support import make_run, stored

pytestmark = pytest.mark.django_db

STATUS_COLUMNS = (checks.LAST_STATE, checks.LAST_CAUSE, checks.LAST_AT, checks.CHECKING)


def _orm(tenant_id: int, now):
    return list(
        checks.with_status(Run.objects.filter(tenant_id=tenant_id), now)
        .select_related("owner")
        .prefetch_related("objects_made")
        .order_by("-updated_at")
    )


def _values(obj) -> dict[str, object]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def _histories() -> list[Run]:
    """Runs of two owners and two tenants with every check history the status reads (none, a verdict,
    a newer problem, a running check, an abandoned one), recorded objects or none, and values in
    every kind of column (JSON, dates, booleans, nulls)."""
    now = timezone.now()
    User.objects.create(
        username="acme_other",
        last_login=now - timedelta(days=2),
        hdp_tenant_id=71,
        hdp_tenant_name="Acme",
        hdp_tenants_administered=[{"id": 71, "name": "Acme"}],
        hdp_permissions=[1, 4],
        hdp_checked_at=now,
    )
    made = [
        make_run(status=Run.Status.COMPLETED, objects=[("app", "A_app", 11, "created"), ("profile", "A_profile", 12, "reused")]),
        make_run("acme_other", status=Run.Status.COMPLETED, objects=[("datasource", "A_ds", None, "pending")]),
        make_run(status=Run.Status.ACTIVE),
        make_run(status=Run.Status.CANCELLED, objects=[("app", "C_app", 31, "failed")]),
        make_run(status=Run.Status.COMPLETED),
        make_run("globex_admin", tenant_id=72, status=Run.Status.COMPLETED, objects=[("app", "G_app", 41, "created")]),
    ]  # fmt: skip
    Run.objects.filter(pk=made[0].pk).update(
        datastore_option_defs=[{"id": "x", "label": "X"}],
        app_extra_params={"prompt": "consent"},
        signin_facts={"expires_in": 3600},
        signin_rule_days=30,
        consented_at=now - timedelta(days=1),
        verify_ok=True,
        ds_options={"OAuthProfileId": "12"},
    )
    stored(made[0], State.WORKING, Cause.TEST_PASSED, hours=5)
    stored(made[0], State.NEEDS_RECONNECT, Cause.REFRESH_REFUSED, hours=1)
    stored(made[1], State.BROKEN, Cause.DATASOURCE_MISSING)
    checks.begin(made[1], ConnectionCheck.Trigger.MANUAL)
    ConnectionCheck.objects.create(
        run=made[4], trigger=ConnectionCheck.Trigger.MANUAL, started_at=now, expires_at=now,
        finished_at=now + timedelta(seconds=1), abandoned=True,
    )  # fmt: skip
    stored(made[5], State.WORKING, Cause.TEST_PASSED)
    return made


def test_the_tenant_runs_are_the_orms_runs_with_their_owners_statuses_and_objects(django_assert_num_queries):
    made = _histories()
    now = timezone.now()
    for tenant_id in (71, 72):
        with django_assert_num_queries(2):
            runs, objects = rows.tenant_runs(tenant_id, now)
        expected = _orm(tenant_id, now)
        assert [r.pk for r in runs] == [r.pk for r in expected] != []
        with django_assert_num_queries(0):  # the owners come with the runs
            for got, want in zip(runs, expected, strict=True):
                assert _values(got) == _values(want)
                assert [getattr(got, c) for c in STATUS_COLUMNS] == [getattr(want, c) for c in STATUS_COLUMNS]
                assert [type(getattr(got, c)) for c in STATUS_COLUMNS] == [
                    type(getattr(want, c)) for c in STATUS_COLUMNS
                ]
                assert _values(got.owner) == _values(want.owner)
                assert sorted(map(_values, objects[got.pk]), key=str) == sorted(
                    map(_values, want.objects_made.all()), key=str
                )
        assert checks.statuses_of(runs, now) == checks.statuses_of(expected, now)
    shown = checks.statuses_of(rows.tenant_runs(71, now)[0], now)
    assert shown[made[0].pk].state == State.NEEDS_RECONNECT
    assert shown[made[1].pk].state == State.CHECKING
    assert shown[made[4].pk].state == State.UNCHECKED
    assert {o.name for o in rows.tenant_runs(71, now)[1][made[0].pk]} == {"A_app", "A_profile"}
    assert RemoteObject.objects.count() == 5


def test_a_tenant_without_runs_is_one_query(django_assert_num_queries):
    _histories()
    with django_assert_num_queries(1):
        assert rows.tenant_runs(73, timezone.now()) == ([], {})
