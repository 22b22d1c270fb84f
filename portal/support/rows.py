"""The support console's rows: what its pages list, assembled from the portal's records and HDP's
answers (no HDP call here; portal/support/views.py reads HDP and renders)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import connections
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from portal.accounts.models import User
from portal.connections import checks, foresight
from portal.connections.status import Status, worst
from portal.lib import rawrows
from portal.onboarding.models import RemoteObject, Run
from portal.support.chain import Finding, HdpFacts, RecordedObject, RunFacts


@dataclass(frozen=True)
class TenantRow:
    id: int
    name: str
    in_hdp: bool
    runs: int = 0
    active: int = 0
    completed: int = 0
    #: The worst connection status of the tenant's completed setups (stored checks only).
    connection: Status | None = None


@dataclass(frozen=True)
class FindingRow:
    """A finding with the exact absolute link to send the tenant admin (templates/support/_finding.html)."""

    finding: Finding
    url: str
    words: str
    #: The setup itself, shown besides an action link (its Reconnect, Repair or New client secret).
    setup_url: str = ""


def finding_rows(findings: list[Finding], base: str) -> list[FindingRow]:
    rows = []
    for f in findings:
        if not f.ask_owner:
            rows.append(FindingRow(f, "", ""))
            continue
        if not f.run_id:
            rows.append(FindingRow(f, base + reverse("onboarding:runs"), _("Link to send them (My setups):")))
            continue
        setup = base + reverse("connections:setup", args=[f.run_id])
        resume = base + reverse("onboarding:resume", args=[f.run_id])
        if f.link == "reconnect":
            url, words = (
                base + reverse("connections:reconnect", args=[f.run_id]),
                _("Link to send them (Reconnect):"),
            )
        elif f.link == "repair":
            url, words = setup + "#repair", _("Link to send them (Repair on their setup):")
        elif f.link == "rotate":
            url, words = setup + "#rotate", _("Link to send them (New client secret on their setup):")
        else:
            rows.append(FindingRow(f, resume, _("Link to send them (their setup):")))
            continue
        rows.append(FindingRow(f, url, words, setup_url=resume))
    return rows


#: :func:`tenant_runs`' two queries, as the ORM writes them: ``{runs}``, ``{users}`` and ``{objects}`` stand
#: for the quoted tables, ``{run_columns}``, ``{owner_columns}`` and ``{columns}`` for all their columns,
#: ``{status}`` for ``checks.status_columns`` (subqueries about ``{runs}.id``, so that table has no alias).
_TENANT_RUNS_SQL = (
    "SELECT {run_columns}, {status}, {owner_columns} FROM {runs} INNER JOIN {users} ON ({runs}.owner_id = "
    "{users}.id) WHERE {runs}.tenant_id = %s ORDER BY {runs}.updated_at DESC"
)
_OBJECTS_SQL = "SELECT {columns} FROM {objects} WHERE {objects}.run_id IN ({ids})"


def tenant_runs(tenant_id: int, now: datetime) -> tuple[list[Run], dict[Any, list[RemoteObject]]]:
    """The tenant's runs, most recently updated first, each with its owner and the columns of
    ``checks.with_status(runs, now)``, and the HDP objects each one recorded (by run id).

    The runs are those of ``checks.with_status(Run.objects.filter(tenant_id=...), now)
    .select_related("owner").order_by("-updated_at")`` and the objects those of
    ``prefetch_related("objects_made")``: the same two queries (one for no run), written in SQL
    (:mod:`portal.lib.rawrows`): built through the ORM they cost about 2 ms of CPU more than PostgreSQL
    takes to run them. tests/support/test_tenant_runs.py compares the two."""
    connection = connections[Run.objects.db]
    quote = connection.ops.quote_name
    runs_table, users_table, objects_table = (
        Run._meta.db_table,
        User._meta.db_table,
        RemoteObject._meta.db_table,
    )
    status = checks.status_columns(connection.alias, now)
    sql = _TENANT_RUNS_SQL.format(
        run_columns=rawrows.columns(Run, runs_table, connection),
        status=", ".join(f"({text}) AS {quote(name)}" for name, text, _params, _field in status),
        owner_columns=rawrows.columns(User, users_table, connection),
        runs=quote(runs_table),
        users=quote(users_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(p for _name, _text, params, _field in status for p in params), tenant_id])
        rows = cursor.fetchall()
    run_of, owner_of = (
        rawrows.Reader(Run, runs_table, connection),
        rawrows.Reader(User, users_table, connection),
    )
    status_of = [(name, rawrows.Column(field, connection)) for name, _text, _params, field in status]
    owner = Run.owner.field
    runs = []
    for row in rows:
        run = run_of(row)
        for i, (name, convert) in enumerate(status_of, start=run_of.width):
            setattr(run, name, convert(row[i]))
        owner.set_cached_value(run, owner_of(row[run_of.width + len(status) :]))
        runs.append(run)
    objects: dict[Any, list[RemoteObject]] = {run.pk: [] for run in runs}
    if rows:
        sql = _OBJECTS_SQL.format(
            columns=rawrows.columns(RemoteObject, objects_table, connection),
            objects=quote(objects_table),
            ids=", ".join(["%s"] * len(rows)),
        )
        object_of = rawrows.Reader(RemoteObject, objects_table, connection)
        pk = Run._meta.concrete_fields.index(Run._meta.pk)
        with connection.cursor() as cursor:
            cursor.execute(sql, [row[pk] for row in rows])  # the runs' ids as the database gave them
            for obj in map(object_of, cursor.fetchall()):
                objects[obj.run_id].append(obj)
    return runs, objects


def run_facts(
    runs: list[Run],
    statuses: dict[Any, Status] | None = None,
    objects: dict[Any, list[RemoteObject]] | None = None,
) -> list[RunFacts]:
    """What the runs recorded, with each completed one's stored connection status (no HDP call).
    ``objects``: each run's recorded HDP objects (:func:`tenant_runs`), else ``run.objects_made``."""
    statuses = statuses or {}

    def connection(run: Run) -> tuple[str, str]:
        status = statuses.get(run.pk)
        if status is None:
            return "", ""
        return str(status.state), str(status.cause or "")

    return [
        RunFacts(
            id=str(run.pk),
            owner=run.owner.username,
            status=run.status,
            datastore_name=run.datastore_name,
            objects=tuple(
                RecordedObject(kind=o.kind, name=o.name, remote_id=o.remote_id, outcome=o.outcome)
                for o in (objects[run.pk] if objects is not None else run.objects_made.all())
            ),
            connection=connection(run)[0],
            connection_cause=connection(run)[1],
        )
        for run in runs
    ]


def tenant_rows(hdp_tenants: Iterable[tuple[int, str]]) -> list[TenantRow]:
    """The tenant list: HDP's tenants (id order), then tenants only the portal's setups still name;
    each with its setups counted and the worst connection status of its completed ones."""
    counts: dict[int, dict[str, Any]] = {
        row["tenant_id"]: dict(row)
        for row in Run.objects.values("tenant_id").annotate(
            total=Count("id"),
            active=Count("id", filter=Q(status=Run.Status.ACTIVE)),
            completed=Count("id", filter=Q(status=Run.Status.COMPLETED)),
            last_name=Max("tenant_name"),
        )
    }
    completed_runs = list(Run.objects.filter(status=Run.Status.COMPLETED).values_list("pk", "tenant_id"))
    statuses = checks.statuses_for([pk for pk, _tenant in completed_runs])
    per_tenant: dict[int, list[Status]] = {}
    for pk, tenant_id in completed_runs:
        per_tenant.setdefault(tenant_id, []).append(statuses[pk])

    def row(tenant_id: int, name: str, in_hdp: bool) -> TenantRow:
        c = counts.get(tenant_id, {})
        return TenantRow(
            tenant_id, name, in_hdp, c.get("total", 0), c.get("active", 0), c.get("completed", 0),
            worst(per_tenant.get(tenant_id, [])),
        )  # fmt: skip

    rows = [row(tid, name, True) for tid, name in sorted(hdp_tenants)]
    known = {r.id for r in rows}
    rows += [
        row(tid, str(c.get("last_name") or ""), False)
        for tid, c in sorted(counts.items())
        if tid not in known
    ]
    return rows


@dataclass(frozen=True)
class Pager:
    """Where this page's data sources sit among the tenant's (templates/support/tenant.html)."""

    first: int
    last: int
    total: int
    previous_url: str = ""
    next_url: str = ""


def pager(facts: HdpFacts, tenant_id: int) -> Pager | None:
    """None when every data source is on this one page (then the tenant page's URL is not even reversed)."""
    if facts.pages <= 1:
        return None
    url = reverse("support:tenant", args=[tenant_id])

    def link(number: int) -> str:
        return f"{url}?{urlencode({'page': number})}"

    size = max(1, int(settings.SUPPORT_CHAIN_PAGE_SIZE))
    return Pager(
        first=facts.first,
        last=min(facts.first + size - 1, facts.datasource_total),
        total=facts.datasource_total,
        previous_url=link(facts.page - 1) if facts.page > 1 else "",
        next_url=link(facts.page + 1) if facts.page < facts.pages else "",
    )


@dataclass(frozen=True)
class LapsingRow:
    """A completed setup whose sign-in lapses soon (issue 22 item 5), with the link to send its owner."""

    run: Run
    end: datetime
    line: str
    basis: tuple[str, ...]
    #: The exact absolute Reconnect link for the tenant admin (support never reconnects with their own account).
    reconnect_url: str
    setup_url: str


#: The support console lists the setups whose sign-in lapses within this many days.
LAPSING_WITHIN = timedelta(days=14)


def lapsing_rows(base: str, now: datetime, within: timedelta = LAPSING_WITHIN) -> list[LapsingRow]:
    """Across tenants, the completed setups whose sign-in's expected end is within ``within`` (or just
    past, not yet reconnected), soonest first; two queries whatever their number."""
    runs = list(Run.objects.filter(status=Run.Status.COMPLETED).select_related("owner"))
    rows = []
    forecasts = foresight.for_runs(runs)
    for run in runs:
        forecast = forecasts[run.pk]
        if forecast.end is None or forecast.end - now > within:
            continue
        rows.append(
            LapsingRow(
                run=run,
                end=forecast.end,
                line=forecast.line(now),
                basis=forecast.basis,
                reconnect_url=base + reverse("connections:reconnect", args=[run.pk]),
                setup_url=base + reverse("connections:setup", args=[run.pk]),
            )
        )
    return sorted(rows, key=lambda r: (r.end, str(r.run.pk)))
