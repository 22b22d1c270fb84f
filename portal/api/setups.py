"""Setups as the API shows them: the person's completed setups, with the status My setups shows.

The status comes from :mod:`portal.connections.checks` (``with_status`` / ``status_from``,
``status_for``: stored checks, no HDP call, classified by ``status_of``), so the API and the pages never
disagree. A list is one page of at most 100 setups in one query whatever the number of setups: the
rows carry their status, HDP ids and last passing check as columns (one index entry each per row).
Pages are keyset-paginated on (created, id), newest first, on the index ``onboarding_run_owner_created``,
so a setup made while a client pages through the list never shifts the pages after it.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import DateTimeField, IntegerField, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.accounts.models import User
from portal.api.problems import Problem
from portal.connections import checks, foresight
from portal.connections.models import ConnectionCheck
from portal.connections.status import State, Status
from portal.onboarding.models import RemoteObject, Run

_HELD = (RemoteObject.Outcome.CREATED, RemoteObject.Outcome.REUSED)


def visible(person: User) -> QuerySet[Run]:
    """The completed setups the person sees on My setups (their own, in tenants they may use)."""
    tenant_ids = [int(str(t["id"])) for t in person.onboarding_tenants()]
    return Run.objects.filter(owner=person, tenant_id__in=tenant_ids, status=Run.Status.COMPLETED)


def encode_cursor(run: Run) -> str:
    raw = json.dumps([run.created_at.isoformat(), str(run.pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, pk = json.loads(raw)
        when = datetime.fromisoformat(created)
        if when.tzinfo is None:
            raise ValueError("naive")
        return when, UUID(pk)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise Problem(
            422,
            "invalid_cursor",
            _("The cursor is not one this API gave. Start again without it."),
            errors=[{"field": "query.cursor", "message": _("not a cursor from a previous page")}],
        ) from None


def _with_state(queryset: QuerySet[Run], state: str, now: datetime) -> QuerySet[Run]:
    """Only setups whose shown status is ``state`` (the SQL form of ``status.status_of``), on the
    columns of :func:`portal.connections.checks.with_status`."""
    if state == State.CHECKING:
        return queryset.filter(**{checks.CHECKING: True})
    queryset = queryset.filter(**{checks.CHECKING: False})
    if state == State.UNCHECKED:
        return queryset.filter(**{f"{checks.LAST_STATE}__isnull": True})
    fresh = now - timedelta(seconds=settings.CONNECTION_STALE_AFTER)
    if state == State.STALE:
        return queryset.filter(**{checks.LAST_STATE: State.WORKING, f"{checks.LAST_AT}__lt": fresh})
    if state == State.WORKING:
        return queryset.filter(**{checks.LAST_STATE: State.WORKING, f"{checks.LAST_AT}__gte": fresh})
    return queryset.filter(**{checks.LAST_STATE: state})


#: The columns a setup's answer uses (a run also holds large JSON columns no answer needs).
FIELDS = (
    "id",
    "owner_id",
    "status",
    "created_at",
    "completed_at",
    "tenant_id",
    "tenant_name",
    "datastore_id",
    "datastore_name",
    "app_name",
    "profile_name",
    "ds_name",
    "granted_scope",
    "provider_subject",
    "provider_display_name",
    # The sign-in's expected end (issue 22: portal/connections/foresight.py).
    "preset",
    "consented_at",
    "signin_facts",
    "signin_rule",
    "signin_rule_days",
)


def hdp_ids(run_ids: list[UUID]) -> dict[UUID, dict[str, int]]:
    """The HDP ids each setup holds (application, profile, data source), in one query."""
    ids: dict[UUID, dict[str, int]] = {}
    held = RemoteObject.objects.filter(run_id__in=run_ids, outcome__in=_HELD, remote_id__isnull=False)
    for run_id, kind, remote_id in held.values_list("run_id", "kind", "remote_id"):
        if remote_id is not None:
            ids.setdefault(run_id, {})[kind] = int(remote_id)
    return ids


#: The columns :func:`page` adds for the HDP ids a setup holds (as :func:`hdp_ids` reads them).
_HDP_ID_COLUMNS = {
    RemoteObject.Kind.APP: "held_app_id",
    RemoteObject.Kind.PROFILE: "held_profile_id",
    RemoteObject.Kind.DATASOURCE: "held_datasource_id",
}
#: The column :func:`page` adds for the setup's last passing check (``foresight``'s last use).
_LAST_USED = "last_passing_check_at"


def _page_columns(queryset: QuerySet[Run]) -> QuerySet[Run]:
    """The HDP ids and the last passing check of each setup, as columns of the page's own query: one
    index entry each (``onboarding_one_object_per_kind``, ``connections_run_finished``) per row. The
    same records as :func:`hdp_ids` and ``foresight``'s last use (the newest passing check = the
    greatest ``finished_at`` of those), in SQL (``checks.run_column``: cheaper to build than the ORM's)."""
    held = (
        "SELECT o.remote_id FROM {objects} o WHERE o.run_id = {run} AND o.kind = %s "
        "AND o.outcome IN (%s, %s) AND o.remote_id IS NOT NULL"
    )
    passing = (
        "SELECT c.finished_at FROM {checks} c WHERE c.run_id = {run} AND c.state = %s AND NOT c.abandoned "
        "AND c.finished_at IS NOT NULL ORDER BY c.finished_at DESC LIMIT 1"
    )
    return queryset.annotate(
        **{
            column: checks.run_column(queryset, held, (kind, *_HELD), IntegerField())
            for kind, column in _HDP_ID_COLUMNS.items()
        },
        **{_LAST_USED: checks.run_column(queryset, passing, (State.WORKING,), DateTimeField())},
    )


def page(
    person: User,
    *,
    state: str | None,
    tenant: int | None,
    store: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[
    list[Run], dict[UUID, Status], dict[UUID, dict[str, int]], dict[UUID, foresight.Forecast], str | None
]:
    """One page of setups with their statuses, HDP ids and sign-in forecasts, in one query: the status,
    the ids and the last passing check are columns of the page's rows (subqueries on indexes), so
    they are read at the same moment as the rows and cost one round trip whatever the page's size."""
    now = timezone.now()
    queryset = checks.with_status(visible(person), now)
    if tenant is not None:
        queryset = queryset.filter(tenant_id=tenant)
    if store:
        by_name = Q(datastore_name__iexact=store)
        queryset = queryset.filter(by_name | Q(datastore_id=int(store)) if store.isdigit() else by_name)
    if state:
        queryset = _with_state(queryset, state, now)
    if cursor:
        created, pk = decode_cursor(cursor)
        # The first condition bounds the index scan (owner, created desc, id desc) to the rows after
        # the cursor; the second leaves out those of the cursor's own time already given.
        queryset = queryset.filter(Q(created_at__lte=created), Q(created_at__lt=created) | Q(pk__lt=pk))
    rows = list(_page_columns(queryset.order_by("-created_at", "-pk").only(*FIELDS))[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    stale_after = timedelta(seconds=settings.CONNECTION_STALE_AFTER)
    statuses: dict[UUID, Status] = {}
    ids: dict[UUID, dict[str, int]] = {}
    forecasts: dict[UUID, foresight.Forecast] = {}
    for run in rows:
        statuses[run.pk] = checks.status_from(
            getattr(run, checks.LAST_STATE),
            getattr(run, checks.LAST_CAUSE),
            getattr(run, checks.LAST_AT),
            getattr(run, checks.CHECKING),
            now=now,
            stale_after=stale_after,
        )
        held = {kind: getattr(run, column) for kind, column in _HDP_ID_COLUMNS.items()}
        ids[run.pk] = {kind: int(remote_id) for kind, remote_id in held.items() if remote_id is not None}
        forecasts[run.pk] = foresight.of(run, getattr(run, _LAST_USED))
    next_cursor = encode_cursor(rows[-1]) if more and rows else None
    return rows, statuses, ids, forecasts, next_cursor


def status_out(status: Status, words: dict[Any, tuple[str, str | None]] | None = None) -> dict[str, Any]:
    """``words``: a cache of the translated label and explanation per (state, cause), for a page."""
    key = (status.state, status.cause)
    said = words.get(key) if words is not None else None
    if said is None:
        said = (status.label, status.explanation or None)
        if words is not None:
            words[key] = said
    return {
        "state": status.state.value,
        "label": said[0],
        "cause": status.cause.value if status.cause else None,
        "cause_text": said[1],
        "checked_at": status.checked_at,
        "is_problem": status.is_problem,
    }


_ZERO = UUID(int=0)


def page_link() -> str:
    """The setup page's path with ``{}`` for the id (one URL lookup per answer, not one per setup)."""
    return reverse("connections:setup", args=[_ZERO]).replace(str(_ZERO), "{}")


def setup_out(
    run: Run,
    status: Status,
    owner: str,
    ids: dict[str, int],
    *,
    link: str | None = None,
    words: dict[Any, tuple[str, str | None]] | None = None,
    forecast: foresight.Forecast | None = None,
) -> dict[str, Any]:
    pk = str(run.pk)
    signin = forecast or foresight.for_run(run, status)
    return {
        "id": pk,
        "status": status_out(status, words),
        "tenant": {"id": run.tenant_id, "name": run.tenant_name},
        "store": {"id": run.datastore_id, "name": run.datastore_name},
        "data_source": {"name": run.ds_name, "hdp_id": ids.get(RemoteObject.Kind.DATASOURCE)},
        "oauth_profile": {"name": run.profile_name, "hdp_id": ids.get(RemoteObject.Kind.PROFILE)},
        "oauth_application": {"name": run.app_name, "hdp_id": ids.get(RemoteObject.Kind.APP)},
        "provider_account": run.provider_display_name or run.provider_subject or None,
        "granted_scopes": run.granted_scope.split(),
        # The sign-in's expected end and its basis (issue 22; portal/connections/foresight.py).
        "signin": {"expected_end": signin.end, "line": signin.line(), "basis": list(signin.basis)},
        "owner": owner,
        "created_at": run.created_at,
        "completed_at": run.completed_at,
        "links": {
            "self": f"/api/v1/setups/{pk}",
            "checks": f"/api/v1/setups/{pk}/checks",
            "page": (link or page_link()).format(pk),
        },
    }


def check_out(check: ConnectionCheck) -> dict[str, Any]:
    if check.finished_at is None:
        progress = "queued"
    elif check.abandoned:
        progress = "abandoned"
    else:
        progress = "finished"
    return {
        "id": check.pk,
        "setup_id": str(check.run_id),
        "trigger": check.trigger,
        "requested_by": check.requested_by,
        "progress": progress,
        "started_at": check.started_at,
        "finished_at": check.finished_at,
        "state": check.state or None,
        "cause": check.cause or None,
        "cause_text": check.get_cause_display() if check.cause else None,
    }


def check_path(check: ConnectionCheck) -> str:
    return f"/api/v1/setups/{check.run_id}/checks/{check.pk}"
