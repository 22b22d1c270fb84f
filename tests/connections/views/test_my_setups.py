"""My setups shows each completed setup's connection status from its stored checks, in constant queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime

from portal.accounts.models import User
from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause, State
from portal.onboarding.models import Run

Trigger = ConnectionCheck.Trigger


def completed_run(owner: User, n: int = 0) -> Run:
    return Run.objects.create(
        owner=owner,
        tenant_id=71,
        tenant_name="Acme",
        datastore_id=54,
        datastore_name=f"Google Analytics {n}",
        ds_name=f"acme_ga_{n}",
        status=Run.Status.COMPLETED,
        completed_at=timezone.now(),
    )


def stored(run: Run, state: State, cause: Cause, *, ago: timedelta = timedelta(hours=3)) -> ConnectionCheck:
    at = timezone.now() - ago
    return ConnectionCheck.objects.create(
        run=run, trigger=Trigger.SCHEDULED, started_at=at, expires_at=at + timedelta(minutes=5),
        finished_at=at, state=state, cause=cause,
    )  # fmt: skip


def rows(client) -> str:
    html = client.get(reverse("onboarding:runs")).content.decode()
    return html.split("<tbody>", 1)[1]


@pytest.mark.parametrize(
    ("state", "cause", "shown"),
    [
        (State.WORKING, Cause.TEST_PASSED, "Working"),
        (State.NEEDS_RECONNECT, Cause.REFRESH_REFUSED, "Needs reconnect"),
        (State.BROKEN, Cause.PROFILE_MISSING, "Broken"),
        (State.HDP_UNAVAILABLE, Cause.HDP_UNAVAILABLE, "HDP unavailable"),
    ],
)
def test_each_stored_state_is_shown_with_its_time(acme, state, cause, shown):
    owner = User.objects.get(username="acme_admin")
    check = stored(completed_run(owner), state, cause)
    html = rows(acme)
    assert shown in html and "Completed" not in html
    assert (
        f"{date_format(localtime(check.finished_at), 'DATETIME_FORMAT')} UTC" in html
        and "3\xa0hours ago" in html
    )


def test_an_old_working_check_is_not_checked_since(acme, settings):
    owner = User.objects.get(username="acme_admin")
    check = stored(completed_run(owner), State.WORKING, Cause.TEST_PASSED, ago=timedelta(days=3))
    html = rows(acme)
    assert (
        "Not checked since" in html
        and f"{date_format(localtime(check.finished_at), 'DATETIME_FORMAT')} UTC" in html
    )
    assert "Working" not in html


def test_a_running_check_is_checking_and_no_check_is_not_checked_yet(acme):
    owner = User.objects.get(username="acme_admin")
    now = timezone.now()
    running = completed_run(owner, 1)
    ConnectionCheck.objects.create(
        run=running, trigger=Trigger.MANUAL, started_at=now, expires_at=now + timedelta(minutes=5)
    )
    completed_run(owner, 2)
    html = rows(acme)
    assert "Checking" in html and "Not checked yet" in html


def test_an_active_run_keeps_its_wizard_status(acme):
    owner = User.objects.get(username="acme_admin")
    Run.objects.create(owner=owner, tenant_id=71, tenant_name="Acme", datastore_id=54, datastore_name="GA")
    html = rows(acme)
    assert "In progress" in html and "Not checked" not in html


def _queries(acme, django_assert_max_num_queries, count: int, limit: int) -> None:
    owner = User.objects.get(username="acme_admin")
    for n in range(count):
        stored(completed_run(owner, n), State.WORKING, Cause.TEST_PASSED)
    with django_assert_max_num_queries(limit) as captured:
        assert acme.get(reverse("onboarding:runs")).status_code == 200
    return len(captured)


def test_the_query_count_does_not_grow_with_the_number_of_setups(acme, django_assert_max_num_queries):
    one = _queries(acme, django_assert_max_num_queries, 1, 20)
    twenty = _queries(acme, django_assert_max_num_queries, 19, one)
    assert twenty == one, (one, twenty)
    print(f"My setups: {one} queries with 1 and with 20 completed setups")
