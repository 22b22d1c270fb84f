"""Notifications on a change of status: e-mail to the owner and the deployment's signed webhook."""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from portal.connections import checks, health, notify
from portal.connections.models import (
    ConnectionCheck,
    Notification,
    NotificationPreference,
    WebhookDelivery,
)
from portal.connections.status import Cause, State
from tests.helpers.receiver import serve
from tests.helpers.sandbox import PASSWORDS
from tests.helpers.tasks import drain, queued, use_in_process_hdp

Trigger = ConnectionCheck.Trigger
Kind = Notification.Kind
SECRET = "webhook-signing-secret-4b1d"


@pytest.fixture(autouse=True)
def _hdp(settings):
    use_in_process_hdp(settings)


@pytest.fixture
def owner_email(setup):
    setup.owner.email = "ada@acme.example"
    setup.owner.save()
    return setup.owner.email


@pytest.fixture
def receiver(settings):
    with serve() as server:
        settings.HEALTH_WEBHOOK_URL = server.url + "/hook?token=abc"
        settings.HEALTH_WEBHOOK_SECRET = SECRET
        settings.HEALTH_WEBHOOK_RETRY_BASE = 1
        yield server


def scheduled_round(when=None):
    with freeze_time(when or timezone.now()):
        health.schedule_round()
        drain()


def nth_round(settings, n):
    """The time of the n-th daily round from now."""
    return timezone.now() + n * timedelta(seconds=settings.HEALTH_CHECK_INTERVAL + 5)


@pytest.mark.parametrize(
    ("previous", "current", "kind"),
    [
        (State.WORKING, State.NEEDS_RECONNECT, Kind.BROKE),
        (State.WORKING, State.BROKEN, Kind.BROKE),
        (None, State.BROKEN, Kind.BROKE),
        (State.NEEDS_RECONNECT, State.WORKING, Kind.RECOVERED),
        (State.BROKEN, State.WORKING, Kind.RECOVERED),
        (State.WORKING, State.WORKING, None),
        (None, State.WORKING, None),
        (State.NEEDS_RECONNECT, State.BROKEN, None),
        (State.BROKEN, State.BROKEN, None),
    ],
)
def test_only_a_change_between_working_and_a_problem_is_told(previous, current, kind):
    assert notify.change_kind(previous, current) == kind


def test_a_revoked_grant_sends_one_email_then_none_until_it_recovers(
    setup, hdp_client, provider, owner_email, settings
):
    checks.run_check(setup, hdp_client, trigger=Trigger.SETUP)
    provider.refuse = "invalid_grant"
    scheduled_round(nth_round(settings, 1))
    assert checks.status_for(setup).state == State.NEEDS_RECONNECT
    [message] = mail.outbox
    assert message.to == [owner_email]
    assert "acme_ga" in message.subject and "Needs reconnect" in message.subject
    assert str(Cause.REFRESH_REFUSED.label) in message.body
    assert f"/setup/{setup.pk}/" in message.body and message.body.count("http") == 2  # fix + settings
    assert "UTC" in message.body
    for secret in ("rt-1", "their-secret", "fresh-access", PASSWORDS["portal_svc"]):
        assert secret not in message.body
    for n in (2, 3, 4):  # still refused: no change, no e-mail
        scheduled_round(nth_round(settings, n))
    assert len(mail.outbox) == 1
    assert ConnectionCheck.objects.filter(state=State.NEEDS_RECONNECT).count() == 4
    provider.refuse = ""
    scheduled_round(nth_round(settings, 5))
    assert len(mail.outbox) == 2 and "working again" in mail.outbox[1].subject
    assert list(Notification.objects.values_list("kind", flat=True)) == [Kind.RECOVERED, Kind.BROKE]


def _finished(run, state, cause, minutes_ago):
    """A finished check row, written directly so that each test decides when ``on_check`` runs
    (``checks.finish`` would tell the owner at once)."""
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return ConnectionCheck.objects.create(
        run=run, trigger=Trigger.SCHEDULED, started_at=at, expires_at=at + timedelta(minutes=5),
        finished_at=at, state=state, cause=cause,
    )  # fmt: skip


def test_hdp_unavailable_is_no_change_either_way(setup):
    _finished(setup, State.NEEDS_RECONNECT, Cause.REFRESH_REFUSED, 30)
    down = _finished(setup, State.HDP_UNAVAILABLE, Cause.HDP_UNAVAILABLE, 20)
    assert notify.on_check(setup, down) is None
    again = _finished(setup, State.NEEDS_RECONNECT, Cause.REFRESH_REFUSED, 10)
    assert notify.on_check(setup, again) is None  # compared with the state before HDP went down
    back = _finished(setup, State.WORKING, Cause.TEST_PASSED, 0)
    assert notify.on_check(setup, back).kind == Kind.RECOVERED


def test_one_check_is_told_once_even_if_its_task_runs_twice(setup, owner_email):
    _finished(setup, State.WORKING, Cause.TEST_PASSED, 30)
    broke = _finished(setup, State.BROKEN, Cause.PROFILE_MISSING, 0)
    assert notify.on_check(setup, broke) is not None
    assert notify.on_check(setup, broke) is None
    drain()
    drain()
    assert len(mail.outbox) == 1


def test_a_person_who_turned_emails_off_gets_none_and_the_reason_is_kept(setup, owner_email):
    NotificationPreference.objects.create(user=setup.owner, email_enabled=False)
    _finished(setup, State.WORKING, Cause.TEST_PASSED, 30)
    note = notify.on_check(setup, _finished(setup, State.BROKEN, Cause.APP_MISSING, 0))
    drain()
    assert mail.outbox == [] and note.email_status == Notification.Email.OPTED_OUT


def test_without_an_address_no_email_is_sent_and_the_reason_is_kept(setup):
    _finished(setup, State.WORKING, Cause.TEST_PASSED, 30)
    note = notify.on_check(setup, _finished(setup, State.BROKEN, Cause.APP_MISSING, 0))
    assert note.email_status == Notification.Email.NO_ADDRESS and not queued("send_notification_email")


def test_the_address_on_the_preferences_wins(setup, owner_email):
    NotificationPreference.objects.create(user=setup.owner, email="ops@acme.example")
    _finished(setup, State.WORKING, Cause.TEST_PASSED, 30)
    notify.on_check(setup, _finished(setup, State.BROKEN, Cause.APP_MISSING, 0))
    drain()
    assert mail.outbox[0].to == ["ops@acme.example"]


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's recipe from docs/api.md: the standardwebhooks library; an older raw secret
    (no ``whsec_``) is the key itself, which is ``whsec_`` + base64 of it (docs/deploy.md)."""
    if not secret.startswith("whsec_"):
        secret = "whsec_" + base64.b64encode(secret.encode()).decode()
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def test_the_webhook_is_signed_and_says_what_changed(setup, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    _finished(setup, State.WORKING, Cause.TEST_PASSED, 30)
    notify.on_check(setup, _finished(setup, State.NEEDS_RECONNECT, Cause.REFRESH_REFUSED, 0))
    drain()
    [hook] = receiver.hooks
    assert verify(SECRET, hook.headers, hook.body)
    assert not verify("another-secret", hook.headers, hook.body)
    envelope = json.loads(hook.body)
    assert envelope["type"] == "connection.broke" and envelope["timestamp"]
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= {k.lower() for k in hook.headers}
    assert not any(k.lower().startswith("x-portal-") for k in hook.headers)
    body = envelope["data"]
    assert body["event"] == "connection.broke"
    assert body["tenant"] == {"id": 71, "name": "Acme"}
    assert body["setup"]["id"] == str(setup.pk) and body["setup"]["data_source"] == "acme_ga"
    assert (body["status"], body["previous_status"], body["cause"]) == (
        "needs_reconnect",
        "working",
        "refresh_refused",
    )
    assert body["checked_at"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 204)
    assert delivery.host == "127.0.0.1"
    assert SECRET not in caplog.text and "token=abc" not in caplog.text


def test_a_webhook_answering_500_is_retried_a_bounded_number_of_times(setup, receiver, settings):
    settings.HEALTH_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.hook_status = 500
    _finished(setup, State.WORKING, Cause.TEST_PASSED, 30)
    notify.on_check(setup, _finished(setup, State.BROKEN, Cause.APP_MISSING, 0))
    for minute in range(10):
        with freeze_time(timezone.now() + timedelta(minutes=minute)):
            drain()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 500)
    assert len(receiver.hooks) == 3 and not queued("deliver_webhook")


def test_a_webhook_that_times_out_is_recorded_and_retried_later(setup, receiver, settings):
    settings.HEALTH_WEBHOOK_TIMEOUT = 0.2
    receiver.hook_delay = 1
    _finished(setup, State.WORKING, Cause.TEST_PASSED, 30)
    notify.on_check(setup, _finished(setup, State.BROKEN, Cause.APP_MISSING, 0))
    drain()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error, delivery.last_status_code) == ("pending", "timed out", None)
    [retry] = queued("deliver_webhook")
    assert retry.run_after > timezone.now()


@pytest.mark.parametrize(
    "url", ["http://hooks.example.com/x", "https://10.0.0.5/hook", "https://metadata.google.internal:8443/"]
)
def test_a_webhook_to_a_disallowed_address_is_refused_without_a_request(setup, settings, url):
    settings.HEALTH_WEBHOOK_URL = url
    settings.HEALTH_WEBHOOK_SECRET = SECRET
    settings.HEALTH_WEBHOOK_MAX_ATTEMPTS = 1
    _finished(setup, State.WORKING, Cause.TEST_PASSED, 30)
    notify.on_check(setup, _finished(setup, State.BROKEN, Cause.APP_MISSING, 0))
    drain()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("failed", "the webhook address is not allowed")
