"""Warn before a setup's sign-in lapses, not after (issue 22 item 4).

Each scheduler round (:func:`portal.connections.health.schedule_round`, no loop or thread of its own)
calls :func:`warn_due`: for every completed setup whose expected end (:mod:`portal.connections.foresight`)
is within one of ``settings.FORESIGHT_WARN_BEFORE`` (default 14, 3 and 1 days), the tightest offset
reached is told once, by e-mail to the owner and as the webhook event ``connection.expiring``, through
the health notifications' own tasks (:mod:`portal.connections.notify`).

Once only, as the health notifications: the :class:`Notification` row with its unique ``key`` (setup,
expected end, offset) is written *before* anything is sent, so two schedulers, a repeated round or a
worker killed after sending never tell it twice (the e-mail task claims the row PENDING -> SENDING
before sending). Offsets passed together (a 10-minute lifetime) give one warning, the tightest.
A reconnect gives a new expected end: the old end's warnings are closed (:func:`foresight.close_warnings`)
and none is sent for them any more. A cancelled or deleted setup is never warned about.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.connections import foresight, notify
from portal.connections.models import ConnectionCheck, Notification, WebhookDelivery
from portal.connections.status import State
from portal.onboarding.models import Run

logger = logging.getLogger(__name__)


def key(run_id: UUID | str, end: datetime, offset: int) -> str:
    return f"expiring:{run_id}:{int(end.timestamp())}:{offset}"


def offset_of(note_key: str | None) -> int | None:
    try:
        return int(str(note_key).rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def due_offset(
    end: datetime | None, now: datetime, offsets: Sequence[int], told: Iterable[int]
) -> int | None:
    """The offset (seconds before ``end``) to warn for now, or None (pure).

    None once the end has passed (the next check finds it broken), before the first offset, and when
    the tightest offset reached, or a tighter one, was already told for this end."""
    if end is None or end <= now:
        return None
    reached = [o for o in offsets if o > 0 and end - timedelta(seconds=o) <= now]
    if not reached:
        return None
    tightest = min(reached)
    if any(t <= tightest for t in told):
        return None
    return tightest


def warn_due(now: datetime | None = None) -> int:
    """Record and send the warnings due now; returns how many were recorded by this call."""
    now = now or timezone.now()
    offsets = list(settings.FORESIGHT_WARN_BEFORE)
    if not offsets:
        return 0
    runs = list(Run.objects.filter(status=Run.Status.COMPLETED).select_related("owner"))
    forecasts = foresight.for_runs(runs)
    told: dict[tuple[UUID, datetime], set[int]] = defaultdict(set)
    for run_id, note_key, end in Notification.objects.filter(
        kind=Notification.Kind.EXPIRING, run__status=Run.Status.COMPLETED
    ).values_list("run_id", "key", "expected_end"):
        offset = offset_of(note_key)
        if end is not None and offset is not None:
            told[(run_id, end)].add(offset)
    made = 0
    for run in runs:
        forecast = forecasts[run.pk]
        if forecast.end is None:
            continue
        offset = due_offset(forecast.end, now, offsets, told.get((run.pk, forecast.end), set()))
        if offset is not None and _warn(run, forecast.end, offset, now):
            made += 1
    if made:
        logger.info("foresight: %d sign-in warnings recorded", made)
    return made


def _state(run: Run) -> str:
    last = (
        ConnectionCheck.objects.filter(run=run, finished_at__isnull=False, abandoned=False)
        .exclude(state="")
        .order_by("-finished_at", "-pk")
        .values_list("state", flat=True)
        .first()
    )
    return last or State.UNCHECKED


def _warn(run: Run, end: datetime, offset: int, now: datetime) -> bool:
    foresight.close_warnings(run, now, keep_end=end)
    _, why_not = notify.email_address(run)
    try:
        with transaction.atomic():
            note = Notification.objects.create(
                run=run,
                found_by=None,
                kind=Notification.Kind.EXPIRING,
                key=key(run.pk, end, offset),
                expected_end=end,
                state=_state(run),
                created_at=now,
                email_status=why_not or Notification.Email.PENDING,
            )
            webhook = (
                WebhookDelivery.objects.create(notification=note, host=notify.webhook_host(), created_at=now)
                if settings.HEALTH_WEBHOOK_URL
                else None
            )
    except IntegrityError:
        return False  # another scheduler recorded this warning first
    if not why_not:
        notify.send_notification_email.enqueue(note.pk)
    if webhook is not None:
        notify.deliver_webhook.enqueue(webhook.pk)
    return True
