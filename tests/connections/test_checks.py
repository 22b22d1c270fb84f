"""portal.connections.checks against the in-process HDP emulator: real reads, HDP's real test.

The emulator's data-source test refreshes the profile at the application's token URI; tests replace
that provider call (``refresh_with_provider``) to play a provider that answers or refuses.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from pydantic import SecretStr

from portal.connections import checks
from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause, State
from portal.hdp.schemas import DataSourceCreate, OAuthProfileCreate
from portal.onboarding.models import Run
from tests.helpers.engine import make_client

Trigger = ConnectionCheck.Trigger


def test_a_whole_chain_whose_test_passes_is_working(setup, hdp_client, provider):
    check = checks.run_check(setup, hdp_client, trigger=Trigger.MANUAL, requested_by="acme_admin")
    assert (check.state, check.cause) == (State.WORKING, Cause.TEST_PASSED)
    assert provider.calls == 1  # HDP's real test refreshed at the provider
    status = checks.status_for(setup)
    assert status.state == State.WORKING and status.checked_at == check.finished_at


def test_a_revoked_grant_needs_reconnect_with_the_provider_code(setup, hdp_client, provider):
    provider.refuse = "invalid_grant"
    check = checks.run_check(setup, hdp_client, trigger=Trigger.SCHEDULED)
    assert (check.state, check.cause, check.provider_error) == (
        State.NEEDS_RECONNECT,
        Cause.REFRESH_REFUSED,
        "invalid_grant",
    )
    assert checks.status_for(setup).state == State.NEEDS_RECONNECT


def test_a_deleted_profile_is_broken_and_hdp_is_not_asked_to_test(setup, hdp_client, provider):
    hdp_client.delete_oauth_profile(setup.ids["profile"])
    check = checks.run_check(setup, hdp_client, trigger=Trigger.MANUAL)
    assert (check.state, check.cause) == (State.BROKEN, Cause.PROFILE_MISSING)
    assert provider.calls == 0


def test_a_deleted_app_is_named_before_its_profile(setup, hdp_client, provider):
    hdp_client.delete_oauth_app(setup.ids["app"])  # HDP deletes the app's profiles with it
    assert checks.run_check(setup, hdp_client, trigger=Trigger.MANUAL).cause == Cause.APP_MISSING


def test_a_data_source_pointing_at_another_profile_is_broken(setup, hdp_client, provider):
    other = hdp_client.create_oauth_profile(
        OAuthProfileCreate(
            name="someone_elses", oauth_app_id=setup.ids["app"], refresh_token=SecretStr("rt-2")
        )
    )
    hdp_client.update_datasource(
        setup.ids["datasource"],
        DataSourceCreate(name="acme_ga", data_store=54, options={"OAuthProfileId": str(other.id)}),
    )
    assert checks.run_check(setup, hdp_client, trigger=Trigger.MANUAL).cause == Cause.DATASOURCE_OTHER_PROFILE


def test_hdp_down_is_reported_as_hdp_unavailable_not_broken(setup, provider):
    down = make_client(transport=emulator_down())
    check = checks.run_check(setup, down, trigger=Trigger.SCHEDULED)
    assert (check.state, check.cause) == (State.HDP_UNAVAILABLE, Cause.HDP_UNAVAILABLE)
    assert not checks.status_for(setup).is_problem


def emulator_down():
    import httpx

    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    return httpx.MockTransport(refuse)


def test_two_checks_of_one_setup_never_run_at_once(setup):
    checks.begin(setup, Trigger.SCHEDULED)
    with pytest.raises(checks.CheckBusy):
        checks.begin(setup, Trigger.MANUAL)
    assert checks.status_for(setup).state == State.CHECKING


def test_an_abandoned_check_expires_and_is_replaced(setup, hdp_client, provider, settings):
    stuck = checks.begin(setup, Trigger.SCHEDULED)
    ConnectionCheck.objects.filter(pk=stuck.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert checks.status_for(setup).state == State.UNCHECKED  # an expired running check is not "checking"
    check = checks.run_check(setup, hdp_client, trigger=Trigger.SCHEDULED)
    stuck.refresh_from_db()
    assert stuck.abandoned and stuck.finished_at is not None
    assert check.state == State.WORKING


def test_an_old_working_check_is_shown_as_not_checked_recently(setup, hdp_client, provider, settings):
    check = checks.run_check(setup, hdp_client, trigger=Trigger.MANUAL)
    ConnectionCheck.objects.filter(pk=check.pk).update(finished_at=timezone.now() - timedelta(days=3))
    assert checks.status_for(setup).state == State.STALE


def test_statuses_for_many_setups_take_a_constant_number_of_queries(
    setup, make_run, django_assert_num_queries
):
    others = [make_run(ds_name=f"other_{i}", status=Run.Status.COMPLETED) for i in range(5)]
    for run in others:
        checks.finish(
            checks.begin(run, Trigger.SCHEDULED), checks.hdp_failure_verdict(unavailable=True, code=None)
        )
    with django_assert_num_queries(1):
        statuses = checks.statuses_for([setup.pk, *(r.pk for r in others)])
    assert statuses[setup.pk].state == State.UNCHECKED
    assert {statuses[r.pk].state for r in others} == {State.HDP_UNAVAILABLE}


def test_the_history_holds_no_secret(setup, hdp_client, provider):
    provider.refuse = "invalid_grant"
    checks.run_check(setup, hdp_client, trigger=Trigger.MANUAL)
    row = ConnectionCheck.objects.values().get()
    assert "rt-1" not in repr(row) and "their-secret" not in repr(row)


def _through_every_status(setup, hdp_client, provider, same) -> ConnectionCheck:
    """Takes ``setup`` through unchecked, checking, working, needs reconnect, an abandoned newer check
    and stale; ``same()`` returns the state the reader under test shows (and compares it). Returns the
    check that was abandoned."""
    assert same() == State.UNCHECKED
    running = checks.begin(setup, Trigger.MANUAL)
    assert same() == State.CHECKING
    checks.finish(running, checks.datasource_test_verdict(True, ""))
    assert same() == State.WORKING
    provider.refuse = "invalid_grant"
    older = checks.run_check(setup, hdp_client, trigger=Trigger.MANUAL)
    assert same() == State.NEEDS_RECONNECT
    ConnectionCheck.objects.filter(pk=older.pk).update(abandoned=True)  # the newest finished check counts
    assert same() == State.WORKING
    ConnectionCheck.objects.update(finished_at=timezone.now() - timedelta(days=3))
    assert same() == State.STALE
    return older


def test_one_setups_status_is_the_one_statuses_for_gives_in_one_query(
    setup, hdp_client, provider, django_assert_num_queries
):
    """status_for (the setup page) reads one run without statuses_for's per-run subquery; it must
    show the same thing in every case: unchecked, running, finished, stale, an abandoned newer check."""

    def same() -> State:
        with django_assert_num_queries(1):
            one = checks.status_for(setup)
        assert one == checks.statuses_for([setup.pk])[setup.pk]
        return one.state

    _through_every_status(setup, hdp_client, provider, same)


def test_the_setup_pages_status_from_its_history_is_status_for_in_one_query(
    setup, hdp_client, provider, django_assert_num_queries
):
    """status_and_history (the setup page) takes the status from the history's rows: the same status
    as status_for in every case, also when the newest checks gave no verdict (then asked again)."""

    def same(limit: int = 10) -> State:
        with django_assert_num_queries(1):
            status, recent = checks.status_and_history(setup, limit)
        assert status == checks.status_for(setup)
        assert recent == checks.history(setup, limit)
        return status.state

    older = _through_every_status(setup, hdp_client, provider, same)
    # The newest check (limit 1) was abandoned: the verdict before it is read with a second query.
    ConnectionCheck.objects.filter(pk=older.pk).update(finished_at=timezone.now())
    with django_assert_num_queries(2):
        status, recent = checks.status_and_history(setup, 1)
    assert recent == [ConnectionCheck.objects.get(pk=older.pk)]
    assert status == checks.status_for(setup) and status.state == State.STALE


def test_the_history_in_plain_sql_is_the_orms_newest_checks_in_the_models_order(setup):
    """checks.history reads in plain SQL: the same rows, fields and order (``-started_at, -pk``, ties
    included) as the ORM's query, only the setup's own, at most ``limit``."""
    at = timezone.now()
    made = [
        ConnectionCheck.objects.create(
            run=setup, started_at=at - timedelta(minutes=m), expires_at=at, finished_at=at
        )
        for m in (3, 1, 1, 2, 1)
    ]
    other = Run.objects.create(owner=setup.owner, tenant_id=setup.tenant_id, status=Run.Status.COMPLETED)
    ConnectionCheck.objects.create(run=other, started_at=at, expires_at=at)
    for limit in (1, 3, 10):
        expected = list(ConnectionCheck.objects.filter(run=setup)[:limit])
        got = checks.history(setup, limit)
        assert [c.pk for c in got] == [c.pk for c in expected]
        assert [
            {f.attname: getattr(c, f.attname) for f in ConnectionCheck._meta.concrete_fields} for c in got
        ] == [
            {f.attname: getattr(c, f.attname) for f in ConnectionCheck._meta.concrete_fields}
            for c in expected
        ]
    own = ConnectionCheck.objects.filter(run=setup).count()
    assert own >= len(made) and len(checks.history(setup, 10)) == min(10, own)
    assert all(c.run_id == setup.pk for c in checks.history(setup, 100))
