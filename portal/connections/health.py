"""Scheduled health checks: which setups are due, who checks them, and how HDP outages back off.

A scheduler round (``manage.py schedule_health_checks``, run by cron / a systemd timer / a
Kubernetes CronJob) gives every completed setup a :class:`HealthSchedule` row, claims the due rows
and enqueues one :func:`check_setup` task per claimed row. :func:`enqueue` is the one way a check is
queued: the scheduler round and the support console's "check this tenant" both call it. Claiming is a
conditional UPDATE, so two schedulers running at once enqueue each setup once; the task carries its
claim and gives up if the row was claimed again since (its lease ran out), so a stale task never
runs a second check of the same round.

A check task (:func:`run_scheduled_check`) waits while HDP is known to be down (:class:`HdpOutage`,
exponential backoff, capped) and while ``HEALTH_CHECK_CONCURRENCY`` checks already run against the
HDP server; it calls :func:`portal.connections.checks.run_check` with trigger SCHEDULED, then
schedules the next check and hands a change of status to :mod:`portal.connections.notify`.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django_tasks import task

from portal.connections import checks, expiry
from portal.connections.models import ConnectionCheck, HdpOutage, HealthSchedule
from portal.connections.status import State
from portal.hdp.client import HdpClient
from portal.onboarding.models import Run

logger = logging.getLogger(__name__)

CLAIM_BATCH = 500


def _seconds(name: str) -> timedelta:
    return timedelta(seconds=int(getattr(settings, name)))


def jitter() -> timedelta:
    spread = int(settings.HEALTH_CHECK_JITTER)
    return timedelta(seconds=random.uniform(0, spread)) if spread > 0 else timedelta(0)


def backoff(failures: int) -> timedelta:
    """Wait after the n-th consecutive HDP failure: base * 2^(n-1), at most the configured maximum."""
    base = int(settings.HEALTH_HDP_BACKOFF_BASE)
    return timedelta(seconds=min(base * 2 ** max(failures - 1, 0), int(settings.HEALTH_HDP_BACKOFF_MAX)))


# --- the scheduler ---------------------------------------------------------------------------------


def sync_schedules(now: datetime) -> int:
    """Give each completed setup without one a schedule row; drop the rows of setups no longer completed.

    A new row is due one interval after the setup's last finished check (the wizard's final test),
    now if it was never checked, plus jitter. Returns the number of rows created.
    """
    HealthSchedule.objects.exclude(run__status=Run.Status.COMPLETED).delete()
    interval = _seconds("HEALTH_CHECK_INTERVAL")
    missing = (
        Run.objects.filter(status=Run.Status.COMPLETED, health_schedule__isnull=True)
        .annotate(last=Max("checks__finished_at"))
        .values_list("pk", "last")
    )
    rows = [
        HealthSchedule(run_id=pk, next_due_at=(last + interval if last else now) + jitter())
        for pk, last in missing
    ]
    HealthSchedule.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


def claim_due(now: datetime, limit: int = CLAIM_BATCH) -> list[tuple[str, str]]:
    """Claim up to ``limit`` due rows; returns (run id, claim) of the rows this caller won.

    The UPDATE repeats ``next_due_at <= now``: a row another scheduler claimed in between no longer
    matches (PostgreSQL re-checks the condition after the row lock; SQLite runs one writer at a time).
    """
    due = list(
        HealthSchedule.objects.filter(next_due_at__lte=now)
        .order_by("next_due_at")
        .values_list("run_id", flat=True)[:limit]
    )
    if not due:
        return []
    claim = uuid.uuid4().hex
    HealthSchedule.objects.filter(run_id__in=due, next_due_at__lte=now).update(
        next_due_at=now + _seconds("HEALTH_CHECK_LEASE"), claim=claim, claimed_at=now
    )
    won = HealthSchedule.objects.filter(claim=claim).values_list("run_id", flat=True)
    return [(str(run_id), claim) for run_id in won]


def schedule_round(now: datetime | None = None) -> int:
    """One scheduler round: sync rows, claim every due one, enqueue its check. Returns tasks enqueued."""
    enqueued = enqueue(now=now)
    logger.info("health scheduler enqueued %d checks", enqueued)
    # The same round warns of sign-ins about to lapse (issue 22): no loop or thread of its own.
    expiry.warn_due(now)
    return enqueued


def enqueue(
    run_ids: Sequence[str] | None = None,
    *,
    now: datetime | None = None,
    trigger: str = ConnectionCheck.Trigger.SCHEDULED,
    requested_by: str = "",
) -> int:
    """Claim setups and queue one :func:`check_setup` per claimed setup; returns how many were queued.

    Without ``run_ids`` (a scheduler round): every due setup, in batches of ``CLAIM_BATCH``. With
    ``run_ids`` (support's "check this tenant"): those completed setups, due or not (:func:`claim_now`).
    Claim and enqueue happen in one transaction: a crash leaves neither a claimed row without its task
    nor a task without its claim. No HDP call happens here, so the concurrency cap and the outage
    backoff apply to every queued check alike, whoever asked for it.
    """
    now = now or timezone.now()
    if run_ids is not None:
        with transaction.atomic():
            won = claim_now(list(run_ids), now)
            _queue(won, trigger, requested_by)
        return len(won)
    sync_schedules(now)
    enqueued = 0
    while True:
        with transaction.atomic():
            won = claim_due(now)
            _queue(won, trigger, requested_by)
        enqueued += len(won)
        if len(won) < CLAIM_BATCH and not HealthSchedule.objects.filter(next_due_at__lte=now).exists():
            break
        if not won:
            break
    return enqueued


def _queue(claimed: list[tuple[str, str]], trigger: str, requested_by: str) -> None:
    for run_id, claim in claimed:
        check_setup.enqueue(run_id, claim, trigger, requested_by)


def claim_now(run_ids: list[str], now: datetime | None = None) -> list[tuple[str, str]]:
    """Claim these completed setups for a check now (support's "check this tenant"), due or not.

    Gives them schedule rows first; :func:`enqueue` queues the claimed rows' ``check_setup`` like a
    scheduler round's, so the concurrency cap and the HDP outage backoff apply to them too.
    """
    now = now or timezone.now()
    sync_schedules(now)
    claim = uuid.uuid4().hex
    HealthSchedule.objects.filter(run_id__in=run_ids, run__status=Run.Status.COMPLETED).update(
        next_due_at=now + _seconds("HEALTH_CHECK_LEASE"), claim=claim, claimed_at=now
    )
    won = HealthSchedule.objects.filter(claim=claim).values_list("run_id", flat=True)
    return [(str(run_id), claim) for run_id in won]


def queue_check(run: Run, *, trigger: str, requested_by: str = "") -> ConnectionCheck:
    """Start a check of ``run`` now and queue its HDP part (:func:`run_queued_check`); the API's
    ``POST /setups/{id}/checks``. The row exists at once (the setup shows "checking", a second
    request gets :class:`checks.CheckBusy`), so the caller can answer with its id; a worker that never
    picks it up leaves it abandoned after ``CONNECTION_CHECK_TIMEOUT``, as any unfinished check."""
    check = checks.begin(run, trigger, requested_by)
    transaction.on_commit(lambda: run_queued_check.enqueue(check.pk))
    return check


# --- one scheduled check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a check task did: ``ran`` (with the check), ``skipped`` or ``deferred`` until ``retry_at``.

    ``requeue``: the task must enqueue itself again for ``retry_at`` (over the concurrency cap); a
    setup deferred for an HDP outage is instead due again then, and the scheduler re-enqueues it.
    """

    action: str
    reason: str = ""
    check: ConnectionCheck | None = None
    retry_at: datetime | None = None
    requeue: bool = False


def outage() -> HdpOutage:
    row, _ = HdpOutage.objects.get_or_create(base_url=settings.HDP_BASE_URL)
    return row


def running_checks(now: datetime) -> int:
    return ConnectionCheck.objects.filter(finished_at__isnull=True, expires_at__gte=now).count()


def _reschedule(run_id: str, claim: str, due: datetime) -> None:
    """The next check of this setup is due at ``due``; the claim is spent."""
    HealthSchedule.objects.filter(run_id=run_id, claim=claim).update(next_due_at=due, claim="")


def _record_hdp(verdict_state: str, now: datetime) -> None:
    """Count consecutive HDP failures; only the first failing check after a wait extends it."""
    if verdict_state == State.HDP_UNAVAILABLE:
        row = outage()
        if row.retry_at is None or row.retry_at <= now:
            failures = row.failures + 1
            HdpOutage.objects.filter(pk=row.pk).filter(
                Q(retry_at__isnull=True) | Q(retry_at__lte=now)
            ).update(failures=failures, retry_at=now + backoff(failures), down_since=row.down_since or now)
            logger.warning("HDP unavailable for health checks (%d in a row)", failures)
    else:
        HdpOutage.objects.filter(base_url=settings.HDP_BASE_URL, failures__gt=0).update(
            failures=0, retry_at=None, down_since=None
        )


def run_scheduled_check(
    run_id: str, claim: str, trigger: str = ConnectionCheck.Trigger.SCHEDULED, requested_by: str = ""
) -> Outcome:
    now = timezone.now()
    if not HealthSchedule.objects.filter(run_id=run_id, claim=claim).exists():
        return Outcome("skipped", "superseded: the setup was claimed again or is gone")
    run = Run.objects.filter(pk=run_id, status=Run.Status.COMPLETED).select_related("owner").first()
    if run is None:
        HealthSchedule.objects.filter(run_id=run_id).delete()
        return Outcome("skipped", "the setup was deleted or cancelled")
    down = outage()
    if down.retry_at is not None and down.retry_at > now:
        due = down.retry_at + timedelta(seconds=random.uniform(0, 30))
        _reschedule(run_id, claim, due)
        return Outcome("deferred", "HDP is unavailable", retry_at=due)
    if running_checks(now) >= int(settings.HEALTH_CHECK_CONCURRENCY):
        retry_at = now + _seconds("HEALTH_CHECK_CAP_DELAY") + timedelta(seconds=random.uniform(0, 5))
        HealthSchedule.objects.filter(run_id=run_id, claim=claim).update(
            next_due_at=retry_at + _seconds("HEALTH_CHECK_LEASE")
        )
        return Outcome("deferred", "too many checks running against HDP", retry_at=retry_at, requeue=True)
    try:
        with HdpClient.for_user(run.owner) as client:
            check = checks.run_check(run, client, trigger=trigger, requested_by=requested_by)
    except checks.CheckBusy:
        _reschedule(run_id, claim, now + _seconds("HEALTH_CHECK_INTERVAL") + jitter())
        return Outcome("skipped", "a check of this setup is already running")
    finished = check.finished_at or now
    _record_hdp(check.state, finished)
    if check.state == State.HDP_UNAVAILABLE:
        retry = outage().retry_at or finished + backoff(1)
        _reschedule(run_id, claim, retry + timedelta(seconds=random.uniform(0, 30)))
    else:
        _reschedule(run_id, claim, finished + _seconds("HEALTH_CHECK_INTERVAL") + jitter())
    return Outcome("ran", check.state, check=check)  # checks.finish told the owner of a change


# --- the task (django-tasks; the database backend, run by ``manage.py db_worker``) -----------------
# Task arguments are ids only (JSON): a task reads its rows again when it runs, so a setup deleted or
# cancelled while its check waited in the queue is skipped cleanly. Queued rows name the task by its
# dotted path; rows queued before it moved here name portal.connections.tasks.check_setup (an alias).


@task()
def check_setup(run_id: str, claim: str, trigger: str = "scheduled", requested_by: str = "") -> str:
    """One queued check of a completed setup (the claim comes from a scheduler round, or from
    :func:`claim_now` when support staff asked: then ``trigger`` is "support")."""
    outcome = run_scheduled_check(run_id, claim, trigger, requested_by)
    if outcome.requeue and outcome.retry_at is not None:
        check_setup.using(run_after=outcome.retry_at).enqueue(run_id, claim, trigger, requested_by)
    logger.info("health check of %s: %s %s", run_id, outcome.action, outcome.reason)
    return f"{outcome.action}: {outcome.reason}"


@task()
def run_queued_check(check_id: int) -> str:
    """The HDP part of a check begun by :func:`queue_check`, with the setup owner's HDP identity."""
    check = (
        ConnectionCheck.objects.select_related("run__owner")
        .filter(pk=check_id, finished_at__isnull=True)
        .first()
    )
    if check is None:
        return "skipped: the check was abandoned or is gone"
    with HdpClient.for_user(check.run.owner) as client:
        done = checks.complete(check, client)
    _record_hdp(done.state, done.finished_at or timezone.now())
    return f"ran: {done.state}"
