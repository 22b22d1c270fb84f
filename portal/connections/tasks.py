"""The background tasks of health checks (django-tasks; the database backend, run by ``manage.py db_worker``).

Task arguments are ids only (JSON): a task reads its rows again when it runs, so a setup deleted
or cancelled while its check waited in the queue is skipped cleanly.
"""

from __future__ import annotations

import logging

from django_tasks import task

from portal.connections import health, notify

logger = logging.getLogger(__name__)


@task()
def check_setup(run_id: str, claim: str, trigger: str = "scheduled", requested_by: str = "") -> str:
    """One queued check of a completed setup (the claim comes from the scheduler's round, or from
    ``health.claim_now`` when support staff asked: then ``trigger`` is "support")."""
    outcome = health.run_scheduled_check(run_id, claim, trigger, requested_by)
    if outcome.requeue and outcome.retry_at is not None:
        check_setup.using(run_after=outcome.retry_at).enqueue(run_id, claim, trigger, requested_by)
    logger.info("health check of %s: %s %s", run_id, outcome.action, outcome.reason)
    return f"{outcome.action}: {outcome.reason}"


@task()
def send_notification_email(notification_id: int) -> str:
    return notify.send_email(notification_id)


@task()
def deliver_webhook(delivery_id: int) -> str:
    """One attempt; a failed one enqueues the next, later (bounded by HEALTH_WEBHOOK_MAX_ATTEMPTS)."""
    status, retry_at = notify.deliver(delivery_id)
    if retry_at is not None:
        deliver_webhook.using(run_after=retry_at).enqueue(delivery_id)
    return str(status)
