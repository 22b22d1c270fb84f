"""Telling people when a connection breaks and when it recovers: once per change, never per check.

A change is working -> needs reconnect / broken ("broke") or a problem -> working ("recovered"),
compared with the newest earlier check that was not "HDP unavailable": HDP being down says nothing
about the connection, so an outage neither breaks nor heals anything. Each change is one
:class:`Notification` row (one per check, so a retried task cannot tell it twice); the e-mail to
the setup's owner and the deployment's webhook are sent by their own tasks (:func:`send_notification_email`,
:func:`deliver_webhook`, declared here), so a slow mail server or a webhook that times out never holds up
a check.

The webhook follows the Standard Webhooks specification (https://www.standardwebhooks.com/): a JSON
body ``{"type", "timestamp", "data"}`` with the headers ``webhook-id`` (the same for every retry of one
delivery), ``webhook-timestamp`` and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 over
``id.timestamp.body``), signed by the ``standardwebhooks`` package, so a receiver verifies it with an
off-the-shelf library (docs/api.md "Webhooks"; docs/deploy.md says what changed for receivers of the
old ``X-Portal-Signature``). The secret and the full webhook URL are never
logged or stored (a URL's path may carry a token): a delivery records the host only.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task
from standardwebhooks.webhooks import Webhook

from portal.connections import foresight
from portal.connections.models import (
    ConnectionCheck,
    Notification,
    NotificationPreference,
    WebhookDelivery,
)
from portal.connections.status import Cause, State
from portal.oauth import safe_http, uris
from portal.onboarding.models import Run

logger = logging.getLogger(__name__)

PROBLEMS = (State.NEEDS_RECONNECT, State.BROKEN)
#: Standard Webhooks headers.
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
#: Event types (the ``type`` of a body): a connection stopped working, or works again.
EVENT_TYPES = ("connection.broke", "connection.recovered", "connection.expiring")


def previous_state(check: ConnectionCheck) -> str | None:
    """The state of the newest earlier finished check that said something about the connection."""
    return (
        ConnectionCheck.objects.filter(run_id=check.run_id, finished_at__isnull=False, abandoned=False)
        .exclude(pk=check.pk)
        .exclude(state__in=["", State.HDP_UNAVAILABLE])
        .order_by("-finished_at", "-pk")
        .values_list("state", flat=True)
        .first()
    )


def change_kind(previous: str | None, current: str) -> str | None:
    """ "broke", "recovered" or None (no change worth telling)."""
    if current in PROBLEMS and previous in (None, State.WORKING):
        return Notification.Kind.BROKE
    if current == State.WORKING and previous in PROBLEMS:
        return Notification.Kind.RECOVERED
    return None


def email_address(run: Run) -> tuple[str, str]:
    """(address, "") or ("", why not): a person who turned e-mails off, or has no address, gets none."""
    pref = NotificationPreference.objects.filter(user_id=run.owner_id).first()
    if pref is not None and not pref.email_enabled:
        return "", Notification.Email.OPTED_OUT
    address = (pref.email if pref else "") or run.owner.email
    if not address:
        return "", Notification.Email.NO_ADDRESS
    return address, ""


def on_check(run: Run, check: ConnectionCheck) -> Notification | None:
    """Record and send a change of status found by ``check``; None when the status did not change."""
    if not check.counts or check.state == State.HDP_UNAVAILABLE:
        return None
    previous = previous_state(check)
    kind = change_kind(previous, check.state)
    if kind is None:
        return None
    _, why_not = email_address(run)
    try:
        with transaction.atomic():
            note = Notification.objects.create(
                run=run,
                found_by=check,
                kind=kind,
                previous_state=previous or "",
                state=check.state,
                cause=check.cause,
                created_at=timezone.now(),
                email_status=why_not or Notification.Email.PENDING,
            )
            webhook = (
                WebhookDelivery.objects.create(
                    notification=note, host=webhook_host(), created_at=note.created_at
                )
                if settings.HEALTH_WEBHOOK_URL
                else None
            )
    except IntegrityError:
        return None  # this check's change was already recorded (the task ran twice)
    if not why_not:
        send_notification_email.enqueue(note.pk)
    else:
        logger.info("no e-mail for setup %s: %s", run.pk, why_not)
    if webhook is not None:
        deliver_webhook.enqueue(webhook.pk)
    return note


# --- e-mail ----------------------------------------------------------------------------------------


def fix_url(run: Run) -> str:
    return settings.PORTAL_BASE_URL + reverse("onboarding:resume", args=[run.pk])


def reconnect_url(run: Run) -> str:
    """The one link that reconnects the setup (the setup page's Reconnect, signed in as its owner)."""
    return settings.PORTAL_BASE_URL + reverse("connections:reconnect", args=[run.pk])


def foreseen(note: Notification) -> foresight.Forecast | None:
    """For a "broke" found after the sign-in's expected end: the forecast that foresaw it (issue 22)."""
    if note.kind != Notification.Kind.BROKE or note.found_by is None or note.found_by.finished_at is None:
        return None
    forecast = foresight.for_run(note.run)
    if forecast.end is None or forecast.end > note.found_by.finished_at:
        return None
    return forecast


def email_context(note: Notification) -> dict[str, Any]:
    run = note.run
    checked_at = note.found_by.finished_at if note.found_by is not None else None
    context: dict[str, Any] = {
        "note": note,
        "run": run,
        "broke": note.kind == Notification.Kind.BROKE,
        "state_label": State(note.state).label,
        "cause_label": Cause(note.cause).label if note.cause else "",
        "checked_at": checked_at,
        "fix_url": fix_url(run),
        "reconnect_url": reconnect_url(run),
        "preferences_url": settings.PORTAL_BASE_URL + reverse("connections:notifications"),
        "foreseen": foreseen(note),
    }
    if note.kind == Notification.Kind.EXPIRING and note.expected_end is not None:
        forecast = foresight.for_run(run)
        context.update(
            end=foresight.when(note.expected_end),
            left=foresight.time_left(note.expected_end - note.created_at),
            basis=forecast.basis,
        )
    return context


def _closed(note: Notification) -> bool:
    """An expiring warning that must not go out any more: the setup was cancelled, or a reconnect
    moved its expected end (issue 22)."""
    if note.kind != Notification.Kind.EXPIRING:
        return False
    if note.closed_at is not None or note.run.status != Run.Status.COMPLETED:
        return True
    return foresight.for_run(note.run).end != note.expected_end


def send_email(note_id: int) -> str:
    """Send one notification's e-mail, at most once (claimed by a conditional UPDATE first)."""
    claimed = Notification.objects.filter(pk=note_id, email_status=Notification.Email.PENDING).update(
        email_status=Notification.Email.SENDING
    )
    if not claimed:
        return "already handled"
    note = Notification.objects.select_related("run__owner", "found_by").get(pk=note_id)
    if _closed(note):
        Notification.objects.filter(pk=note_id).update(email_status=Notification.Email.CLOSED)
        return "closed"
    address, why_not = email_address(note.run)
    if why_not:
        Notification.objects.filter(pk=note_id).update(email_status=why_not)
        return why_not
    context = email_context(note)
    name = "expiring" if note.kind == Notification.Kind.EXPIRING else "change"
    subject = " ".join(render_to_string(f"connections/email/{name}_subject.txt", context).split())
    body = render_to_string(f"connections/email/{name}_body.txt", context)
    try:
        send_mail(subject, body, settings.HEALTH_EMAIL_FROM or None, [address])
    except Exception as exc:
        Notification.objects.filter(pk=note_id).update(
            email_status=Notification.Email.FAILED, email_error=type(exc).__name__
        )
        logger.warning("e-mail for setup %s failed: %s", note.run_id, type(exc).__name__)
        return "failed"
    Notification.objects.filter(pk=note_id).update(
        email_status=Notification.Email.SENT, email_sent_at=timezone.now()
    )
    return "sent"


# --- webhook ---------------------------------------------------------------------------------------


def webhook_host() -> str:
    return urlsplit(settings.HEALTH_WEBHOOK_URL).hostname or ""


def checked_webhook_url(url: str) -> str:
    """The webhook URL under the provider URIs' rules (https, no internal address); raises ValidationError."""
    if settings.HEALTH_WEBHOOK_ALLOW_PRIVATE:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValidationError("The webhook address must start with https://.")
        return url
    host = urlsplit(url).hostname or ""
    return uris.validate_provider_uri(url, allowed_hosts=[host], kind="token")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def event_data(note: Notification) -> dict[str, Any]:
    """The ``data`` of a connection event (schema: portal/api/webhooks.py, docs/api.md)."""
    run = note.run
    body = _payload(note)
    if note.kind == Notification.Kind.EXPIRING:
        forecast = foresight.for_run(run)
        body.update(
            expected_end=_iso(note.expected_end),
            basis=list(forecast.basis),
            reconnect_url=reconnect_url(run),
        )
    elif (seen := foreseen(note)) is not None:
        body["foreseen_lapse_at"] = _iso(seen.end)
    return body


def _payload(note: Notification) -> dict[str, Any]:
    run = note.run
    return {
        "event": f"connection.{note.kind}",
        "tenant": {"id": run.tenant_id, "name": run.tenant_name},
        "setup": {
            "id": str(run.pk),
            "data_source": run.ds_name,
            "data_store": run.datastore_name,
            "oauth_application": run.app_name,
            "oauth_profile": run.profile_name,
            "url": fix_url(run),
        },
        "status": note.state,
        "previous_status": note.previous_state or None,
        "cause": note.cause or None,
        "cause_text": str(Cause(note.cause).label) if note.cause else None,
        "checked_at": _iso(note.found_by.finished_at) if note.found_by is not None else None,
        "notified_at": _iso(note.created_at),
    }


def payload(note: Notification) -> dict[str, Any]:
    """A Standard Webhooks body: the event's type, when it happened, and its data."""
    return {"type": f"connection.{note.kind}", "timestamp": _iso(note.created_at), "data": event_data(note)}


def signer(secret: str) -> Webhook:
    """``whsec_<base64>`` is the Standard Webhooks form; an older raw secret (no prefix) is used as the
    key itself (its UTF-8 bytes), so receivers that have it keep verifying (docs/deploy.md)."""
    if secret.startswith("whsec_"):
        return Webhook(secret)
    return Webhook(secret.encode())


def message_id(delivery: WebhookDelivery) -> str:
    """The ``webhook-id``: one per delivery, the same for its retries (receivers drop duplicates)."""
    return f"msg_{delivery.pk}_{delivery.notification_id}"


def signed_headers(secret: str, msg_id: str, when: datetime, body: bytes) -> dict[str, str]:
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(int(when.timestamp())),
        SIGNATURE_HEADER: signer(secret).sign(msg_id, when, body),
    }


def _session() -> requests.Session:
    if settings.HEALTH_WEBHOOK_ALLOW_PRIVATE:
        session = requests.Session()
        session.trust_env = False
        session.max_redirects = 0
        return session
    return safe_http.safe_session()


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=int(settings.HEALTH_WEBHOOK_RETRY_BASE) * 2 ** max(attempts - 1, 0))


def deliver(delivery_id: int) -> tuple[str, datetime | None]:
    """One attempt; returns (status, when to try again or None). Never raises for the endpoint's faults."""
    delivery = WebhookDelivery.objects.select_related("notification__run", "notification__found_by").get(
        pk=delivery_id
    )
    if delivery.status != WebhookDelivery.Status.PENDING:
        return delivery.status, None
    now = timezone.now()
    event = delivery.event if delivery.notification is None else payload(delivery.notification)
    body = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "hdp-onboarding-portal",
        **signed_headers(settings.HEALTH_WEBHOOK_SECRET, message_id(delivery), now, body),
    }
    code: int | None = None
    error = ""
    try:
        url = checked_webhook_url(settings.HEALTH_WEBHOOK_URL)
        with _session() as session:
            response = session.post(
                url,
                data=body,
                headers=headers,
                timeout=settings.HEALTH_WEBHOOK_TIMEOUT,
                allow_redirects=False,
            )
        code = response.status_code
        if not 200 <= code < 300:
            error = f"answered HTTP {code}"
    except ValidationError:
        error = "the webhook address is not allowed"
    except requests.Timeout:
        error = "timed out"
    except safe_http.BlockedDestination:
        error = "the webhook address resolves to an internal address"
    except requests.RequestException as exc:
        error = f"could not connect ({type(exc).__name__})"
    attempts = delivery.attempts + 1
    if not error:
        status, retry_at = WebhookDelivery.Status.DELIVERED, None
    elif attempts >= int(settings.HEALTH_WEBHOOK_MAX_ATTEMPTS):
        status, retry_at = WebhookDelivery.Status.FAILED, None
    else:
        status, retry_at = WebhookDelivery.Status.PENDING, now + retry_delay(attempts)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status,
        attempts=attempts,
        last_attempt_at=now,
        last_status_code=code,
        last_error=error,
        delivered_at=now if status == WebhookDelivery.Status.DELIVERED else None,
    )
    if error:
        logger.warning("webhook to %s, attempt %d: %s", delivery.host, attempts, error)
    return status, retry_at


# --- the tasks (django-tasks; ids only as arguments) ------------------------------------------------
# Queued rows name a task by its dotted path; rows queued before the tasks moved here name
# portal.connections.tasks.<name>, which stays an alias of these.


@task()
def send_notification_email(notification_id: int) -> str:
    return send_email(notification_id)


@task()
def deliver_webhook(delivery_id: int) -> str:
    """One attempt; a failed one enqueues the next, later (bounded by HEALTH_WEBHOOK_MAX_ATTEMPTS)."""
    status, retry_at = deliver(delivery_id)
    if retry_at is not None:
        deliver_webhook.using(run_after=retry_at).enqueue(delivery_id)
    return str(status)
