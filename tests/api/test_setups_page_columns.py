"""The list's one query (statuses, HDP ids and last passing checks as SQL columns of the page) gives
what the ORM readers the setup page uses give: ``checks.status_for``, ``setups.hdp_ids`` and
``foresight.for_runs``, for every kind of check history, and each ``?status=`` filter selects exactly
the setups whose shown status it names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.api import setups
from portal.connections import checks, foresight
from portal.connections.models import ConnectionCheck
from portal.connections.status import State
from portal.onboarding.models import RemoteObject, Run
from tests.helpers.api import VERDICTS, make_setup

pytestmark = pytest.mark.django_db


def _histories(acme):
    """Setups with every history the status reads: unchecked, working, a problem after a passing
    check, a stale pass, a running check, an abandoned one, and HDP records not (or no longer) held."""
    now = timezone.now()
    made = {
        "unchecked": make_setup(acme, name="ds_unchecked", state=None),
        "working": make_setup(acme, name="ds_working"),
        "broken_after_pass": make_setup(acme, name="ds_broken_after_pass"),
        "stale": make_setup(acme, name="ds_stale"),
        "running": make_setup(acme, name="ds_running"),
        "abandoned": make_setup(acme, name="ds_abandoned", state=State.NEEDS_RECONNECT),
    }
    checks.record(made["broken_after_pass"], VERDICTS[State.BROKEN], trigger=ConnectionCheck.Trigger.MANUAL)
    old = now - timedelta(days=30)
    ConnectionCheck.objects.filter(run=made["stale"]).update(started_at=old, finished_at=old)
    checks.begin(made["running"], ConnectionCheck.Trigger.MANUAL)
    ConnectionCheck.objects.create(
        run=made["abandoned"],
        trigger=ConnectionCheck.Trigger.MANUAL,
        started_at=now,
        expires_at=now,
        finished_at=now + timedelta(seconds=1),
        abandoned=True,
    )
    # A rule that counts from the last passing check, so the forecasts depend on that column.
    Run.objects.filter(pk__in=[r.pk for r in made.values()]).update(
        signin_rule="sliding_days", signin_rule_days=30, completed_at=old - timedelta(days=1)
    )
    RemoteObject.objects.filter(run=made["working"], kind=RemoteObject.Kind.APP).update(
        outcome=RemoteObject.Outcome.FAILED
    )
    RemoteObject.objects.filter(run=made["unchecked"], kind=RemoteObject.Kind.PROFILE).update(remote_id=None)
    return made


def _page(acme, state=None):
    return setups.page(acme, state=state, tenant=None, store=None, cursor=None, limit=100)


def test_the_pages_columns_give_what_the_setup_pages_readers_give(acme):
    made = _histories(acme)
    rows, statuses, ids, forecasts, next_cursor = _page(acme)
    assert {r.pk for r in rows} == {r.pk for r in made.values()} and next_cursor is None
    reference = foresight.for_runs(rows)
    for run in rows:
        assert statuses[run.pk] == checks.status_for(run), run.ds_name
        assert ids[run.pk] == setups.hdp_ids([run.pk]).get(run.pk, {}), run.ds_name
        assert forecasts[run.pk] == reference[run.pk], run.ds_name
    shown = {name: statuses[run.pk].state for name, run in made.items()}
    assert shown == {
        "unchecked": State.UNCHECKED,
        "working": State.WORKING,
        "broken_after_pass": State.BROKEN,
        "stale": State.STALE,
        "running": State.CHECKING,
        "abandoned": State.NEEDS_RECONNECT,
    }
    assert ids[made["working"].pk] == {"profile": 201, "datasource": 301}
    passed_at = checks.status_for(made["working"]).checked_at
    assert passed_at is not None and forecasts[made["working"].pk].end == passed_at + timedelta(days=30)
    stale_at = checks.status_for(made["stale"]).checked_at
    assert stale_at is not None and forecasts[made["stale"].pk].end == stale_at + timedelta(days=30)


@pytest.mark.parametrize("state", [s.value for s in State])
def test_each_status_filter_selects_the_setups_showing_it(acme, state):
    made = _histories(acme)
    rows, statuses, _ids, _forecasts, _next = _page(acme, state)
    expected = {run.pk for run in made.values() if checks.status_for(run).state == state}
    assert {r.pk for r in rows} == expected
    assert all(statuses[r.pk].state == state for r in rows)
