"""Run one real check of a completed setup: read its chain from HDP, then HDP's test of the data source.

Every page that shows a connection's status reads it from :func:`status_for` / :func:`statuses_for`,
which look only at the stored checks (no HDP call on a page render). :func:`run_check` is the only
writer: the wizard's final step, the setup page's "Check now", support's "check this tenant" and the
scheduled health checks all call it, so they classify alike (:mod:`portal.connections.status`).

No HDP call is made inside a database transaction (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.models import BooleanField, CharField, DateTimeField, Field, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from portal.connections import notify
from portal.connections.models import ConnectionCheck
from portal.connections.status import (
    Cause,
    ChainRead,
    LastCheck,
    State,
    Status,
    Verdict,
    chain_verdict,
    datasource_test_verdict,
    hdp_failure_verdict,
    status_of,
)
from portal.hdp.client import HdpClient
from portal.hdp.errors import HdpError, HdpNotFound, HdpUnavailable
from portal.onboarding.models import RemoteObject, Run

#: The data-source option that names the OAuth profile (docs/hdp-api.md §4).
PROFILE_OPTION = "OAuthProfileId"
_HELD = (RemoteObject.Outcome.CREATED, RemoteObject.Outcome.REUSED)


class CheckBusy(Exception):
    """A check of this setup is already running."""


def _timeout() -> timedelta:
    return timedelta(seconds=settings.CONNECTION_CHECK_TIMEOUT)


def _stale_after() -> timedelta:
    return timedelta(seconds=settings.CONNECTION_STALE_AFTER)


def begin(run: Run, trigger: str, requested_by: str = "") -> ConnectionCheck:
    """Record that a check starts; raise :class:`CheckBusy` while another one is running.

    An unfinished check past its ``expires_at`` was abandoned (its worker died) and is closed first.
    """
    now = timezone.now()
    ConnectionCheck.objects.filter(run=run, finished_at__isnull=True, expires_at__lt=now).update(
        finished_at=now, abandoned=True
    )
    try:
        with transaction.atomic():
            return ConnectionCheck.objects.create(
                run=run,
                trigger=trigger,
                requested_by=requested_by,
                started_at=now,
                expires_at=now + _timeout(),
            )
    except IntegrityError as exc:
        raise CheckBusy(str(run.pk)) from exc


def finish(check: ConnectionCheck, verdict: Verdict) -> ConnectionCheck:
    check.finished_at = timezone.now()
    check.state = verdict.state
    check.cause = verdict.cause
    check.hdp_code = verdict.hdp_code[:32]
    check.provider_error = verdict.provider_error[:64]
    check.save(update_fields=["finished_at", "state", "cause", "hdp_code", "provider_error"])
    # Every check, whoever asked for it (schedule, Check now, reconnect, the wizard), tells the owner of
    # a change of status: otherwise a manual check that saw the break would hide it from the next one.
    notify.on_check(check.run, check)
    return check


def _held_ids(run: Run) -> dict[str, int]:
    # A "failed" row with an id is one a repair recorded as deleted in HDP (portal/connections/repair.py):
    # still the setup's, so the check reports it missing instead of skipping it.
    rows = run.objects_made.filter(outcome__in=(*_HELD, RemoteObject.Outcome.FAILED), remote_id__isnull=False)
    return {row.kind: int(row.remote_id) for row in rows if row.remote_id is not None}


def read_chain(run: Run, client: HdpClient) -> ChainRead:
    """What HDP holds now for the objects the setup recorded. Raises ``HdpError`` for other failures."""
    ids = _held_ids(run)

    def exists(kind: str) -> bool:
        if kind not in ids:
            return False
        try:
            if kind == RemoteObject.Kind.APP:
                client.get_oauth_app(ids[kind])
            elif kind == RemoteObject.Kind.PROFILE:
                client.get_oauth_profile(ids[kind])
        except HdpNotFound:
            return False
        return True

    ds_id = ids.get(RemoteObject.Kind.DATASOURCE)
    ds_exists, ref = False, ""
    if ds_id is not None:
        try:
            ref = str(client.get_datasource(ds_id).options.get(PROFILE_OPTION, "") or "")
            ds_exists = True
        except HdpNotFound:
            ds_exists = False
    return ChainRead(
        app_id=ids.get(RemoteObject.Kind.APP),
        app_exists=exists(RemoteObject.Kind.APP),
        profile_id=ids.get(RemoteObject.Kind.PROFILE),
        profile_exists=exists(RemoteObject.Kind.PROFILE),
        datasource_id=ds_id,
        datasource_exists=ds_exists,
        datasource_profile_ref=ref,
    )


def verdict_for(run: Run, client: HdpClient) -> Verdict:
    """Read the chain; when it is whole, ask HDP to test the data source."""
    try:
        read = read_chain(run, client)
        broken = chain_verdict(read)
        if broken is not None:
            return broken
        assert read.datasource_id is not None  # chain_verdict refuses a chain without one
        result = client.test_datasource(read.datasource_id)
    except HdpUnavailable as exc:
        return hdp_failure_verdict(unavailable=True, code=exc.code)
    except HdpError as exc:
        return hdp_failure_verdict(unavailable=False, code=exc.code)
    return datasource_test_verdict(result.success, result.detail)


def run_check(run: Run, client: HdpClient, *, trigger: str, requested_by: str = "") -> ConnectionCheck:
    """One real check, recorded from start to end. Raises :class:`CheckBusy` if one is running."""
    return complete(begin(run, trigger, requested_by), client)


def complete(check: ConnectionCheck, client: HdpClient) -> ConnectionCheck:
    """Run the HDP part of a begun check and record its verdict (:func:`run_check`, a queued check)."""
    run = check.run
    try:
        verdict = verdict_for(run, client)
    except BaseException:
        # A bug (not an HDP failure): close the row so the setup does not show "checking" until expiry.
        ConnectionCheck.objects.filter(pk=check.pk).update(finished_at=timezone.now(), abandoned=True)
        raise
    return finish(check, verdict)


def record(run: Run, verdict: Verdict, *, trigger: str, requested_by: str = "") -> ConnectionCheck:
    """Store a check whose HDP work the caller already did (the wizard's final test)."""
    return finish(begin(run, trigger, requested_by), verdict)


def _running_q(now: datetime) -> Q:
    """Checks still running (not finished, not past their expiry): the setup shows "checking"."""
    return Q(finished_at__isnull=True, expires_at__gte=now)


def _finished() -> QuerySet[ConnectionCheck]:
    """Checks that gave a verdict, newest first (abandoned ones said nothing about the connection)."""
    return (
        ConnectionCheck.objects.filter(finished_at__isnull=False, abandoned=False)
        .exclude(state="")
        .order_by("-finished_at", "-pk")
    )


def _newest_and_running(now: datetime, finished: QuerySet[ConnectionCheck], runs: Q) -> list[ConnectionCheck]:
    """In one query: the checks ``finished`` selects (the newest verdicts) and the running checks of
    ``runs``. Whether a run is being checked and what its last verdict was used to take two or three
    queries a page."""
    return list(ConnectionCheck.objects.filter(Q(pk__in=finished.values("pk")) | (runs & _running_q(now))))


#: The columns :func:`with_status` adds to a query of runs (named apart from Run's own fields).
LAST_STATE, LAST_CAUSE, LAST_AT, CHECKING = (
    "shown_last_state",
    "shown_last_cause",
    "shown_last_at",
    "shown_checking",
)


def run_column(
    runs: QuerySet[Run], sql: str, params: tuple[Any, ...], field: Field[Any, Any], column: str = ""
) -> RawSQL:
    """A column of ``runs`` computed by ``sql``, a subquery about one run, where ``{checks}`` and
    ``{objects}`` stand for the quoted checks' and HDP records' tables and ``{run}`` for the id of the
    outer query's run (``{column}``: ``column``, one of this module's fixed names); ``params`` are passed as query parameters (``%s``), never into the text.

    :func:`with_status` and the API's page write their per-run subqueries as SQL: built through the ORM
    (``Subquery(OuterRef(...))``), eight of them cost the page about 6 ms of query building (each is
    copied and relabelled), more than PostgreSQL takes to run them. ``runs`` must be a top-level query
    of runs (its table is not aliased); the SQL is plain SQL that SQLite and PostgreSQL both run."""
    text = _run_sql(runs.db, sql, column)
    return RawSQL(text, params, output_field=field)  # noqa: S611 - fixed text; values are parameters


def _run_sql(db: str, sql: str, column: str = "") -> str:
    """:func:`run_column`'s ``sql`` with its table names, run id and ``column`` filled in."""
    quote = connections[db].ops.quote_name
    return sql.format(
        checks=quote(ConnectionCheck._meta.db_table),
        objects=quote(RemoteObject._meta.db_table),
        run=f"{quote(Run._meta.db_table)}.{quote(Run._meta.pk.attname)}",
        column=column,
    )


#: :func:`with_status`'s subqueries: the newest verdict's ``{column}``, and whether a check is running.
_NEWEST_SQL = (
    "SELECT c.{column} FROM {checks} c WHERE c.run_id = {run} AND c.finished_at IS NOT NULL "
    "AND NOT c.abandoned AND c.state <> '' ORDER BY c.finished_at DESC, c.id DESC LIMIT 1"
)
_RUNNING_SQL = "EXISTS (SELECT 1 FROM {checks} c WHERE c.run_id = {run} AND c.finished_at IS NULL AND c.expires_at >= %s)"


_TEXT, _TIME, _FLAG = CharField(), DateTimeField(), BooleanField()


def status_columns(db: str, now: datetime) -> list[tuple[str, str, tuple[Any, ...], Field[Any, Any]]]:
    """:func:`with_status`'s columns, each ``(name, sql, params, output field)``: a subquery about the
    run of the unaliased table of runs (for a query written in SQL, which selects ``(sql) AS name``)."""
    running = (connections[db].ops.adapt_datetimefield_value(now),)
    return [
        (LAST_STATE, _run_sql(db, _NEWEST_SQL, "state"), (), _TEXT),
        (LAST_CAUSE, _run_sql(db, _NEWEST_SQL, "cause"), (), _TEXT),
        (LAST_AT, _run_sql(db, _NEWEST_SQL, "finished_at"), (), _TIME),
        (CHECKING, _run_sql(db, _RUNNING_SQL), running, _FLAG),
    ]


def with_status(runs: QuerySet[Run], now: datetime) -> QuerySet[Run]:
    """``runs`` with what each one's shown status needs, as columns of the same query: its newest
    verdict (state, cause, time) and whether a check is running (:func:`status_from` reads them).

    Each column is a subquery per run that reads one entry of an index (``connections_run_finished``,
    ``connections_one_running_check``): a page of runs and its statuses are one query, and the cost
    follows the page's size, not the number of setups or of checks. The same checks as
    :func:`_finished` (newest verdict) and :func:`_running_q` (running), in SQL (see :func:`run_column`
    and :func:`status_columns`)."""
    return runs.annotate(
        **{
            name: RawSQL(sql, params, output_field=field)  # noqa: S611 - fixed text; values are parameters
            for name, sql, params, field in status_columns(runs.db, now)
        }
    )


def status_from(
    state: str | None,
    cause: str,
    at: datetime | None,
    checking: bool,
    *,
    now: datetime,
    stale_after: timedelta,
) -> Status:
    """The shown status from :func:`with_status`'s columns (as :func:`status_for` gives it)."""
    last = LastCheck(State(state), Cause(cause), at) if state and at is not None else None
    return status_of(last, now=now, stale_after=stale_after, checking=bool(checking))


def statuses_for(run_ids: Iterable[UUID]) -> dict[UUID, Status]:
    """The shown status of each run, in one query whatever the number of runs or checks."""
    ids = list(run_ids)
    if not ids:
        return {}
    now = timezone.now()
    stale_after = _stale_after()
    rows = with_status(Run.objects.filter(pk__in=ids), now).order_by()
    found = {
        pk: status_from(state, cause, at, checking, now=now, stale_after=stale_after)
        for pk, state, cause, at, checking in rows.values_list(
            "pk", LAST_STATE, LAST_CAUSE, LAST_AT, CHECKING
        )
    }
    unchecked = status_of(None, now=now, stale_after=stale_after)
    return {run_id: found.get(run_id, unchecked) for run_id in ids}


def statuses_of(runs: Iterable[Run], now: datetime) -> dict[UUID, Status]:
    """:func:`statuses_for` of ``runs`` fetched through :func:`with_status` with the same ``now``, read
    from their columns: no query of its own (a page that lists runs gets their statuses with them)."""
    stale_after = _stale_after()
    return {
        run.pk: status_from(
            getattr(run, LAST_STATE),
            getattr(run, LAST_CAUSE),
            getattr(run, LAST_AT),
            getattr(run, CHECKING),
            now=now,
            stale_after=stale_after,
        )
        for run in runs
    }


def status_for(run: Run) -> Status:
    """One run's shown status, as :func:`statuses_for` gives it, in one query (no per-run subquery)."""
    now = timezone.now()
    last, checking = None, False
    for check in _newest_and_running(now, _finished().filter(run=run)[:1], Q(run=run)):
        if check.finished_at is None:
            checking = True
        else:
            last = check
    return status_of(last.as_last() if last else None, now=now, stale_after=_stale_after(), checking=checking)


#: :func:`history`'s query in plain SQL, in the model's order (``-started_at, -pk``): built through the ORM
#: it cost about 0.75 ms of CPU with the status, as SQL about half (the setup page and the API read it).
_HISTORY_SQL = "SELECT * FROM {checks} c WHERE c.run_id = %s ORDER BY c.started_at DESC, c.id DESC LIMIT %s"


def history(run: Run, limit: int = 10) -> list[ConnectionCheck]:
    """The newest checks of a setup, finished or not, for its page."""
    db = router.db_for_read(ConnectionCheck)
    connection = connections[db]
    sql = _HISTORY_SQL.format(checks=connection.ops.quote_name(ConnectionCheck._meta.db_table))
    run_id = ConnectionCheck._meta.get_field("run").get_db_prep_value(run.pk, connection)
    return list(ConnectionCheck.objects.using(db).raw(sql, (run_id, limit)))


def status_and_history(run: Run, limit: int = 10) -> tuple[Status, list[ConnectionCheck]]:
    """:func:`status_for` and :func:`history` of the setup page, from the history's one query.

    Two checks of one setup never run at once (``connections_one_running_check``; a newer one
    begins only once the older finished or expired), so a running check is the newest one and
    verdicts finish in the order they started: the newest verdict among the newest checks is the
    setup's newest verdict. Only when none of ``limit`` checks gave a verdict (all abandoned or
    running) is :func:`status_for` asked, for an older one.
    """
    recent = history(run, limit)
    verdicts = [check for check in recent if check.counts]
    if not verdicts and len(recent) == limit:
        return status_for(run), recent
    now = timezone.now()
    last = max(verdicts, key=lambda c: (c.finished_at, c.pk), default=None)
    checking = any(c.finished_at is None and c.expires_at >= now for c in recent)
    status = status_of(
        last.as_last() if last else None, now=now, stale_after=_stale_after(), checking=checking
    )
    return status, recent
