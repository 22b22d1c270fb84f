"""Warnings before a sign-in lapses (issue 22 item 4; portal/connections/expiry.py): once each, by e-mail
and signed webhook, from the health scheduler round; a reconnect closes them; never for a cancelled setup."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time

from portal.connections import expiry, foresight, health, notify
from portal.connections.models import ConnectionCheck, Notification, WebhookDelivery
from portal.connections.status import Cause, State
from portal.onboarding.models import Run
from tests.helpers.receiver import serve
from tests.helpers.tasks import drain

DAY = 86400
SECRET = "webhook-signing-secret-foresight"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.HEALTH_WEBHOOK_URL = ""
    settings.FORESIGHT_WARN_BEFORE = [14 * DAY, 3 * DAY, DAY]
    settings.PORTAL_BASE_URL = "https://portal.example"


@pytest.fixture
def hook(settings):
    with serve() as server:
        settings.HEALTH_WEBHOOK_URL = server.url + "/hook"
        settings.HEALTH_WEBHOOK_SECRET = SECRET
        settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = True
        yield server


@pytest.fixture
def run(django_user_model):
    owner = django_user_model.objects.create(
        username="acme_admin", hdp_tenant_id=71, email="ada@acme.example"
    )
    now = timezone.now()
    return Run.objects.create(
        owner=owner,
        tenant_id=71,
        tenant_name="Acme",
        datastore_name="Snowflake",
        preset="snowflake",
        ds_name="acme_snow",
        status=Run.Status.COMPLETED,
        completed_at=now,
        consented_at=now,
        signin_facts={"refresh_token_expires_in": 30 * DAY, "at": now.isoformat(), "replaced": False},
    )


def end_of(run: Run) -> datetime:
    end = foresight.for_run(run).end
    assert end is not None
    return end


def at(run: Run, before_end: timedelta) -> datetime:
    return end_of(run) - before_end


def warn(now: datetime) -> int:
    with freeze_time(now):
        made = expiry.warn_due(now)
        drain()
    return made


# --- the pure choice of the offset ---------------------------------------------------------------------

END = datetime(2026, 12, 31, tzinfo=UTC)
OFFSETS = [14 * DAY, 3 * DAY, DAY]


@pytest.mark.parametrize(
    ("before", "told", "due"),
    [
        (timedelta(days=20), set(), None),  # too early
        (timedelta(days=14), set(), 14 * DAY),
        (timedelta(days=10), {14 * DAY}, None),  # told already
        (timedelta(days=2), {14 * DAY}, 3 * DAY),
        (timedelta(hours=1), set(), DAY),  # several offsets passed together: only the tightest
        (timedelta(hours=1), {DAY}, None),
        (timedelta(days=10), {DAY}, None),  # a tighter one told (the end moved nearer): not again
        (timedelta(0), set(), None),  # lapsed: the next check says broken
        (-timedelta(days=1), set(), None),
    ],
)
def test_due_offset(before, told, due):
    assert expiry.due_offset(END, END - before, OFFSETS, told) == due


def test_no_end_no_warning():
    assert expiry.due_offset(None, END, OFFSETS, set()) is None


# --- recorded once, sent once ------------------------------------------------------------------------


def test_each_offset_is_told_once_by_email(run):
    assert warn(at(run, timedelta(days=20))) == 0
    assert warn(at(run, timedelta(days=13))) == 1
    assert warn(at(run, timedelta(days=12))) == 0
    assert warn(at(run, timedelta(days=2))) == 1
    assert warn(at(run, timedelta(hours=20))) == 1
    assert warn(at(run, timedelta(hours=1))) == 0
    assert len(mail.outbox) == 3
    first = mail.outbox[0]
    assert first.to == ["ada@acme.example"]
    assert "acme_snow" in first.subject and "reconnect" in first.subject
    assert "is expected to lapse at" in first.body and "That is in 13 days." in first.body
    assert "Snowflake said 30 days at the sign-in of" in first.body
    assert f"https://portal.example/connections/setups/{run.pk}/reconnect/" in first.body
    notes = Notification.objects.filter(kind=Notification.Kind.EXPIRING).order_by("created_at")
    assert [n.key.rsplit(":", 1)[1] for n in notes] == [str(14 * DAY), str(3 * DAY), str(DAY)]
    assert {n.email_status for n in notes} == {Notification.Email.SENT}
    assert all(n.found_by is None and n.expected_end == end_of(run) for n in notes)


def test_two_schedulers_record_one_warning(run):
    now = at(run, timedelta(days=13))
    with freeze_time(now):
        assert expiry.warn_due(now) == 1
        assert expiry.warn_due(now) == 0  # the second scheduler finds it told
        drain()
    assert len(mail.outbox) == 1


def test_the_unique_key_stops_a_racing_scheduler(run, monkeypatch):
    """Both read "not told" before either wrote: the second INSERT fails on the key, nothing is sent."""
    now = at(run, timedelta(days=13))
    with freeze_time(now):
        assert expiry._warn(run, end_of(run), 14 * DAY, now)
        assert not expiry._warn(run, end_of(run), 14 * DAY, now)
        drain()
    assert len(mail.outbox) == 1


def test_a_worker_killed_after_sending_does_not_send_again(run):
    now = at(run, timedelta(days=13))
    with freeze_time(now):
        expiry.warn_due(now)
    note = Notification.objects.get()
    # The worker claimed and sent, then died before writing SENT: the row stays SENDING.
    Notification.objects.filter(pk=note.pk).update(email_status=Notification.Email.SENDING)
    assert notify.send_email(note.pk) == "already handled"
    assert mail.outbox == []


def test_the_scheduler_round_warns(run, settings):
    settings.HEALTH_CHECK_JITTER = 0
    settings.HDP_BASE_URL = "http://hdp"
    settings.HDP_TRANSPORT_FACTORY = "portal.sandbox.hdp.emulator.mock_transport"
    now = at(run, timedelta(days=2))
    with freeze_time(now):
        health.schedule_round()
    assert Notification.objects.filter(kind=Notification.Kind.EXPIRING).count() == 1


def test_the_webhook_event_is_connection_expiring(run, hook):
    warn(at(run, timedelta(days=2)))
    [sent] = hook.hooks
    event = json.loads(sent.body)
    assert event["type"] == "connection.expiring"
    with freeze_time(at(run, timedelta(days=2))):  # signed at the round's (frozen) time
        notify.signer(SECRET).verify(
            sent.body, sent.headers
        )  # Standard Webhooks; raises if it does not verify
    body = event["data"]
    assert body["event"] == "connection.expiring"
    assert body["setup"]["id"] == str(run.pk)
    assert body["expected_end"] == end_of(run).isoformat()
    assert body["reconnect_url"] == f"https://portal.example/connections/setups/{run.pk}/reconnect/"
    assert body["basis"][0].startswith("Snowflake said 30 days")
    assert body["checked_at"] is None
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.DELIVERED


def test_a_reconnect_moves_the_date_closes_the_warning_and_no_further_warning_is_sent(run):
    warn(at(run, timedelta(days=2)))
    assert len(mail.outbox) == 1
    old_end = end_of(run)
    reconnected = old_end - timedelta(days=1)
    with freeze_time(reconnected):
        run.record_consent(
            "{}",
            scope="",
            expires_at=None,
            purpose="reconnect",
            lifetime={"refresh_token_expires_in": 30 * DAY},
        )
        foresight.close_warnings(run)
    run.refresh_from_db()
    assert run.signin_facts["replaced"] is True
    assert end_of(run) == reconnected + timedelta(days=30)
    assert Notification.objects.get().closed_at is not None
    warn(old_end - timedelta(hours=1))  # the old end's last day: nothing about it any more
    assert len(mail.outbox) == 1


def test_a_warning_recorded_before_a_reconnect_is_not_sent_after_it(run):
    now = at(run, timedelta(days=2))
    with freeze_time(now):
        expiry.warn_due(now)  # recorded, its e-mail still queued
        run.record_consent(
            "{}",
            scope="",
            expires_at=None,
            purpose="reconnect",
            lifetime={"refresh_token_expires_in": 30 * DAY},
        )
        drain()
    assert mail.outbox == []
    assert Notification.objects.get().email_status == Notification.Email.CLOSED


def test_a_cancelled_setup_is_never_warned(run):
    now = at(run, timedelta(days=2))
    Run.objects.filter(pk=run.pk).update(status=Run.Status.CANCELLED)
    assert warn(now) == 0
    assert mail.outbox == []


def test_a_setup_cancelled_after_the_warning_was_recorded_gets_no_email(run):
    now = at(run, timedelta(days=2))
    with freeze_time(now):
        expiry.warn_due(now)
        Run.objects.filter(pk=run.pk).update(status=Run.Status.CANCELLED)
        drain()
    assert mail.outbox == []


def test_a_deleted_setup_takes_its_warnings_with_it(run):
    with freeze_time(at(run, timedelta(days=2))):
        expiry.warn_due()
    Run.objects.filter(pk=run.pk).delete()
    assert not Notification.objects.exists()


def test_the_broken_email_after_the_end_says_it_was_foreseen(run):
    end = end_of(run)
    later = end + timedelta(minutes=5)
    working = ConnectionCheck.objects.create(
        run=run,
        trigger="scheduled",
        started_at=end - timedelta(days=1),
        expires_at=end,
        finished_at=end - timedelta(days=1),
        state=State.WORKING,
        cause=Cause.TEST_PASSED,
    )
    assert working.pk
    broke = ConnectionCheck.objects.create(
        run=run,
        trigger="scheduled",
        started_at=later,
        expires_at=later,
        finished_at=later,
        state=State.NEEDS_RECONNECT,
        cause=Cause.REFRESH_REFUSED,
    )
    with freeze_time(later):
        notify.on_check(run, broke)
        drain()
    [email] = mail.outbox
    assert "This was foreseen: the sign-in was expected to lapse at" in email.body
    assert "Snowflake said 30 days" in email.body
    assert (
        notify.payload(Notification.objects.get(kind="broke"))["data"]["foreseen_lapse_at"] == end.isoformat()
    )


def test_a_break_before_the_end_is_not_called_foreseen(run):
    now = timezone.now()
    ConnectionCheck.objects.create(
        run=run,
        trigger="scheduled",
        started_at=now,
        expires_at=now,
        finished_at=now - timedelta(minutes=1),
        state=State.WORKING,
        cause=Cause.TEST_PASSED,
    )
    broke = ConnectionCheck.objects.create(
        run=run,
        trigger="scheduled",
        started_at=now,
        expires_at=now,
        finished_at=now,
        state=State.BROKEN,
        cause=Cause.APP_MISSING,
    )
    notify.on_check(run, broke)
    drain()
    assert "foreseen" not in mail.outbox[0].body
    assert "foreseen_lapse_at" not in notify.payload(Notification.objects.get())["data"]
