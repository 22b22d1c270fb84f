"""The domain numbers of ``/metrics``, computed from the database at scrape time.

Why from the database and not from counters in process memory: setups, checks, notifications,
webhook deliveries and tasks are rows in the one database every instance shares, and most of them
are written by ``manage.py db_worker`` processes that serve no ``/metrics`` at all. Read at scrape
time, they are the same whichever instance answers and survive restarts; an in-process counter would
count only what that process did. A scrape makes :data:`QUERIES` queries whatever the number of
setups (scripts/bench_ops.py measures it at 10,000 setups), and its result is kept in Django's cache (a
database table every instance shares) for ``PORTAL_METRICS_CACHE_SECONDS``: scrapes within that time,
from any instance, read one cache row instead. The setups query probes each completed setup's newest check
along an index, so its cost follows the number of setups, not the length of their check history.

The ``*_total`` families here are counts of rows that are only ever added (checks, notifications,
webhook deliveries), so they behave as counters; deleting a setup deletes its rows, which Prometheus
sees as a counter reset.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Case, Count, F, FloatField, Func, Min, OuterRef, Q, Subquery, When
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from portal.connections import foresight
from portal.connections.models import ConnectionCheck, Notification, WebhookDelivery
from portal.connections.status import State
from portal.oauth import presets
from portal.onboarding.models import Run

#: The setup statuses of ``hdp_portal_setups``: the stored verdict of the last check, or not_checked.
SETUP_STATUSES = ("working", "needs_reconnect", "broken", "hdp_unavailable", "not_checked")
#: How many queries computing the numbers makes (the setups with their last verdicts, last passing checks
#: and sign-in facts; checks; notifications; webhook deliveries; tasks; on PostgreSQL one more, ``SET
#: LOCAL jit = off``); a scrape within the cache time makes one.
QUERIES = 5
#: ``hdp_portal_setups_lapsing{within_days}``: the windows counted (issue 23), each from now.
LAPSING_WITHIN_DAYS = (1, 3, 14)


def _last_state() -> Subquery:
    newest = (
        ConnectionCheck.objects.filter(
            run=OuterRef("pk"), finished_at__isnull=False, abandoned=False, state__gt=""
        )
        # Newest first along the (run, -finished_at) index, so the first match ends the probe with no
        # sort (two finished checks of one setup never share a microsecond: one runs at a time).
        .order_by("-finished_at")
        .values("state")[:1]
    )
    return Subquery(newest)


def _epoch(expression: Any) -> Func:
    return Func(expression, template="EXTRACT(EPOCH FROM %(expressions)s)", output_field=FloatField())


def _moment(value: datetime | float | None) -> datetime | None:
    """A timestamp as read: a datetime (SQLite), or seconds since the epoch (PostgreSQL, :func:`_epoch`)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(float(value), UTC)


class DomainCollector(Collector):
    """prometheus-client collector; one instance per scrape (no state between scrapes)."""

    def __init__(self, *, per_tenant: bool | None = None, now: datetime | None = None) -> None:
        self.per_tenant = settings.PORTAL_METRICS_PER_TENANT if per_tenant is None else per_tenant
        self.now = now or timezone.now()

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        ttl = settings.PORTAL_METRICS_CACHE_SECONDS
        key = f"portal.ops.domain:{int(self.per_tenant)}"
        cached = cache.get(key) if ttl > 0 else None
        if cached is None:
            cached = self.compute()
            if ttl > 0:
                cache.set(key, cached, ttl)
        yield from cached

    def compute(self) -> list[GaugeMetricFamily | CounterMetricFamily]:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # The setups query's estimated cost passes PostgreSQL's JIT threshold at a few thousand
                # setups; compiling it took longer (about 100 ms) than running it. This scrape only.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
            setups, lapsing = self._per_setup()
            return [setups, self._checks(), *self._notifications(), *self._tasks(), *lapsing]

    def _setups(self, states: dict[tuple[str, ...], int]) -> GaugeMetricFamily:
        """``states``: (tenant id if per tenant, the last check's stored state or "") -> setups."""
        labels = ["tenant", "status"] if self.per_tenant else ["status"]
        family = GaugeMetricFamily(
            "hdp_portal_setups",
            "Completed setups by the status their last check stored (not_checked: none finished yet).",
            labels=labels,
        )
        counts: dict[tuple[str, ...], int] = {}
        for (*tenant, state), n in states.items():
            status = state or "not_checked"
            if status not in SETUP_STATUSES:
                continue
            key = (*tenant, status)
            counts[key] = counts.get(key, 0) + n
        if not self.per_tenant:
            for status in SETUP_STATUSES:
                counts.setdefault((status,), 0)
        for series, n in sorted(counts.items()):
            family.add_metric(list(series), n)
        return family

    def _checks(self) -> CounterMetricFamily:
        family = CounterMetricFamily(
            "hdp_portal_checks",
            "Finished connection checks by trigger and result (abandoned: its worker died).",
            labels=["trigger", "result"],
        )
        triggers = set(ConnectionCheck.Trigger.values)
        rows = (
            ConnectionCheck.objects.filter(finished_at__isnull=False)
            .values("trigger", "state", "abandoned")
            .annotate(n=Count("pk"))
            .order_by()
        )
        counts: dict[tuple[str, str], int] = {}
        for row in rows:
            trigger = row["trigger"] if row["trigger"] in triggers else "other"
            result = "abandoned" if row["abandoned"] or not row["state"] else row["state"]
            counts[(trigger, result)] = counts.get((trigger, result), 0) + int(row["n"])
        for key, n in sorted(counts.items()):
            family.add_metric(list(key), n)
        return family

    def _notifications(self) -> Iterator[CounterMetricFamily]:
        notes = CounterMetricFamily(
            "hdp_portal_notifications",
            "Changes of a setup's status told to its owner, by kind and e-mail outcome.",
            labels=["kind", "outcome"],
        )
        for row in Notification.objects.values("kind", "email_status").annotate(n=Count("pk")).order_by():
            notes.add_metric([row["kind"], row["email_status"]], int(row["n"]))
        yield notes
        hooks = CounterMetricFamily(
            "hdp_portal_webhook_deliveries",
            "Webhook deliveries of status changes by outcome (pending: still being retried).",
            labels=["outcome"],
        )
        for delivery in WebhookDelivery.objects.values("status").annotate(n=Count("pk")).order_by():
            hooks.add_metric([delivery["status"]], int(delivery["n"]))
        yield hooks

    def _tasks(self) -> Iterator[GaugeMetricFamily]:
        never = get_date_max()
        due = Q(status=TaskResultStatus.READY) & (Q(run_after=never) | Q(run_after__lte=self.now))
        since = Case(When(run_after=never, then=F("enqueued_at")), default=F("run_after"))
        agg = DBTaskResult.objects.aggregate(
            due=Count("pk", filter=due),
            scheduled=Count("pk", filter=Q(status=TaskResultStatus.READY) & ~due),
            running=Count("pk", filter=Q(status=TaskResultStatus.RUNNING)),
            oldest=Min(since, filter=due),
        )
        depth = GaugeMetricFamily(
            "hdp_portal_task_queue_depth",
            "Background tasks by state: due (waiting for a worker), scheduled (a later retry), running.",
            labels=["state"],
        )
        for state in ("due", "scheduled", "running"):
            depth.add_metric([state], int(agg[state] or 0))
        yield depth
        oldest = agg["oldest"]
        age = max(0.0, (self.now - oldest).total_seconds()) if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "hdp_portal_task_oldest_queued_age_seconds",
            "How long the oldest due task has waited for a worker (0 when none waits).",
            value=age,
        )

    def _per_setup(self) -> tuple[GaugeMetricFamily, list[GaugeMetricFamily]]:
        """One query over the completed setups, with each one's last stored verdict and last passing check
        (index probes): ``hdp_portal_setups`` by status, and the setups whose sign-in is expected to lapse
        within 1, 3 and 14 days or has passed its expected end (portal.connections.foresight: the
        provider's stated lifetime, else the setup's rule)."""
        last_passed = (
            ConnectionCheck.objects.filter(
                run=OuterRef("pk"), state=State.WORKING, abandoned=False, finished_at__isnull=False
            )
            .order_by("-finished_at")
            .values("finished_at")[:1]
        )
        signed_in: Any = Coalesce("consented_at", "completed_at")
        last: Any = Subquery(last_passed)
        if connection.vendor == "postgresql":
            # Seconds since the epoch rather than timestamps: Django's timestamptz loader (Python) took
            # most of the scrape at 10,000 setups; a float is read in C and turned into a datetime cheaply.
            signed_in, last = _epoch(signed_in), _epoch(last)
        # Tuples, not model instances (10,000 deferred-field instances took most of a scrape), and of the
        # recorded token answer only the two keys the end depends on.
        runs = (
            Run.objects.filter(status=Run.Status.COMPLETED)
            .annotate(
                last_state=_last_state(),
                signed_in=signed_in,
                last_passed=last,
                said_at=KeyTransform("at", "signin_facts"),
                said_lifetime=KeyTransform("refresh_token_expires_in", "signin_facts"),
            )
            .values_list(
                "tenant_id", "last_state", "preset", "signin_rule", "signin_rule_days", "said_at",
                "said_lifetime", "signed_in", "last_passed",
            )
        )  # fmt: skip
        labels = ["tenant", "within_days"] if self.per_tenant else ["within_days"]
        lapsing = GaugeMetricFamily(
            "hdp_portal_setups_lapsing",
            "Completed setups whose sign-in is expected to lapse within the next N days (from the provider's "
            "stated lifetime or the setup's lifetime rule; already lapsed ones not included).",
            labels=labels,
        )
        lapsed = GaugeMetricFamily(
            "hdp_portal_setups_lapsed",
            "Completed setups whose sign-in's expected end has passed (a reconnect is due, or overdue).",
            labels=["tenant"] if self.per_tenant else [],
        )
        windows = [(days, self.now + timedelta(days=days)) for days in LAPSING_WITHIN_DAYS]
        counts: dict[tuple[str, ...], int] = {}
        gone: dict[tuple[str, ...], int] = {}
        preset_of: dict[str, presets.Preset | None] = {}
        states: dict[tuple[str, ...], int] = {}
        for tenant_id, last_state, preset_key, rule, rule_days, at, said, signed, passed in runs:
            tenant: tuple[str, ...] = (str(tenant_id),) if self.per_tenant else ()
            states[(*tenant, last_state or "")] = states.get((*tenant, last_state or ""), 0) + 1
            if preset_key not in preset_of:
                preset_of[preset_key] = presets.get_preset(preset_key)
            facts = {"at": at, "refresh_token_expires_in": said}
            end = foresight.end_from(
                preset_of[preset_key], rule, rule_days, facts, None, _moment(signed), _moment(passed)
            )
            if end is None:
                continue
            if end <= self.now:
                gone[tenant] = gone.get(tenant, 0) + 1
                continue
            for days, limit in windows:
                if end <= limit:
                    key = (*tenant, str(days))
                    counts[key] = counts.get(key, 0) + 1
        if not self.per_tenant:
            for days in LAPSING_WITHIN_DAYS:
                counts.setdefault((str(days),), 0)
            gone.setdefault((), 0)
        for key, n in sorted(counts.items()):
            lapsing.add_metric(list(key), n)
        for key, n in sorted(gone.items()):
            lapsed.add_metric(list(key), n)
        return self._setups(states), [lapsing, lapsed]
