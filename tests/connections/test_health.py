"""Scheduled health checks: the scheduler's rounds and the check task, run by the real worker loop in-process.

The HDP is the in-process emulator; the provider HDP refreshes with is the ``provider`` fixture.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone
from freezegun import freeze_time

from portal.connections import checks, health
from portal.connections.models import ConnectionCheck, HdpOutage, HealthSchedule, Notification
from portal.connections.status import State
from portal.onboarding.models import Run
from tests.helpers.tasks import drain, queued, use_in_process_hdp

Trigger = ConnectionCheck.Trigger


@pytest.fixture(autouse=True)
def _hdp(settings):
    use_in_process_hdp(settings)


def test_a_round_enqueues_each_due_setup_once_and_the_worker_checks_it(setup, provider, settings):
    assert health.schedule_round() == 1  # never checked: due now
    assert health.schedule_round() == 0  # claimed: a second round (or scheduler) does not enqueue it again
    assert drain() == 1
    check = ConnectionCheck.objects.get()
    assert (check.trigger, check.state) == (Trigger.SCHEDULED, State.WORKING)
    due = HealthSchedule.objects.get(run=setup)
    assert due.claim == ""
    expected = check.finished_at + timedelta(seconds=settings.HEALTH_CHECK_INTERVAL)
    assert abs((due.next_due_at - expected).total_seconds()) < 1


def test_a_setup_checked_recently_is_not_due_before_the_interval(setup, hdp_client, provider, settings):
    checks.run_check(setup, hdp_client, trigger=Trigger.SETUP)  # the wizard's final test
    assert health.schedule_round() == 0
    later = timezone.now() + timedelta(seconds=settings.HEALTH_CHECK_INTERVAL + 1)
    assert health.schedule_round(later) == 1


def test_jitter_spreads_new_setups_over_the_window(setup, make_run, settings):
    settings.HEALTH_CHECK_JITTER = 3600
    for i in range(20):
        make_run(ds_name=f"other_{i}", status=Run.Status.COMPLETED)
    now = timezone.now()
    health.sync_schedules(now)
    offsets = [(s.next_due_at - now).total_seconds() for s in HealthSchedule.objects.all()]
    assert all(0 <= o <= 3600 for o in offsets) and len({round(o) for o in offsets}) > 10


def test_a_setup_cancelled_while_queued_is_skipped_cleanly(setup, provider):
    health.schedule_round()
    Run.objects.filter(pk=setup.pk).update(status=Run.Status.CANCELLED)
    assert drain() == 1
    assert not ConnectionCheck.objects.exists() and provider.calls == 0
    assert not HealthSchedule.objects.exists()


def test_a_setup_deleted_while_queued_is_skipped_cleanly(setup, provider):
    health.schedule_round()
    setup.objects_made.all().delete()
    Run.objects.filter(pk=setup.pk).delete()
    assert drain() == 1
    assert not ConnectionCheck.objects.exists() and provider.calls == 0


def test_a_running_check_makes_the_task_skip_without_a_second_check(setup, provider):
    health.schedule_round()
    checks.begin(setup, Trigger.MANUAL)  # someone pressed "Check now"
    drain()
    assert ConnectionCheck.objects.count() == 1 and provider.calls == 0
    assert HealthSchedule.objects.get(run=setup).claim == ""  # due again one interval later


def test_over_the_concurrency_cap_the_task_waits_and_runs_later(setup, make_run, provider, settings):
    settings.HEALTH_CHECK_CONCURRENCY = 1
    other = make_run(ds_name="other", status=Run.Status.COMPLETED)
    checks.begin(other, Trigger.MANUAL)  # one check already runs against HDP
    health.sync_schedules(timezone.now())
    HealthSchedule.objects.filter(run=other).update(next_due_at=timezone.now() + timedelta(days=1))
    assert health.schedule_round() == 1
    drain()
    assert not ConnectionCheck.objects.filter(run=setup).exists()
    [again] = queued("check_setup")
    assert again.run_after > timezone.now()
    ConnectionCheck.objects.filter(run=other).update(finished_at=timezone.now(), abandoned=True)
    with freeze_time(again.run_after + timedelta(seconds=1)):
        drain()
    assert ConnectionCheck.objects.get(run=setup).state == State.WORKING


def test_a_lost_task_is_claimed_again_after_its_lease_and_the_old_one_does_nothing(setup, provider, settings):
    health.schedule_round()
    later = timezone.now() + timedelta(seconds=settings.HEALTH_CHECK_LEASE + 1)
    with freeze_time(later):
        assert health.schedule_round() == 1  # the first task never reported back
        drain()
    assert ConnectionCheck.objects.count() == 1 and provider.calls == 1


def down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


def test_hdp_down_for_an_hour_backs_off_and_tells_nobody(setup, hdp_client, provider, settings, monkeypatch):
    settings.HEALTH_CHECK_INTERVAL = 300  # due every five minutes, to see the backoff win
    checks.run_check(setup, hdp_client, trigger=Trigger.SETUP)
    start = timezone.now() + timedelta(seconds=301)
    settings.HDP_TRANSPORT_FACTORY = "tests.connections.test_health.down_transport"
    for minute in range(60):
        with freeze_time(start + timedelta(minutes=minute)):
            health.schedule_round()
            drain()
    failed = ConnectionCheck.objects.filter(state=State.HDP_UNAVAILABLE).count()
    assert 3 <= failed <= 7  # 1, 2, 4, 8, 16, 32 minutes apart; not sixty
    assert HdpOutage.objects.get().failures == failed
    assert checks.status_for(setup).state == State.HDP_UNAVAILABLE
    assert not Notification.objects.exists()
    settings.HDP_TRANSPORT_FACTORY = "portal.sandbox.hdp.emulator.mock_transport"
    with freeze_time(start + timedelta(hours=2)):
        health.schedule_round()
        drain()
    assert checks.status_for(setup).state == State.WORKING
    assert HdpOutage.objects.get().failures == 0
    assert not Notification.objects.exists()  # working -> (HDP down) -> working is no change


def down_transport() -> httpx.BaseTransport:
    return httpx.MockTransport(down)


def test_the_scheduler_command_runs_one_round(setup, provider):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("schedule_health_checks", stdout=out)
    assert out.getvalue().strip() == "Enqueued 1 health check(s)."
    assert len(queued("check_setup")) == 1


def test_a_check_queued_under_the_old_task_path_still_runs(setup, provider):
    """A django-tasks-db row names its task by dotted path. The tasks moved from portal/connections/tasks.py
    into the modules that own them (health, notify); rows queued before the move still name the old path,
    which the worker must still resolve to the same task."""
    from django.utils.module_loading import import_string
    from django_tasks_db.models import DBTaskResult

    from portal.connections import notify

    assert health.enqueue() == 1
    [row] = queued("check_setup")
    assert row.task_path == "portal.connections.health.check_setup"
    DBTaskResult.objects.filter(pk=row.pk).update(task_path="portal.connections.tasks.check_setup")
    assert drain() == 1
    assert ConnectionCheck.objects.get().state == State.WORKING and provider.calls == 1
    assert import_string("portal.connections.tasks.send_notification_email") is notify.send_notification_email
    assert import_string("portal.connections.tasks.deliver_webhook") is notify.deliver_webhook
