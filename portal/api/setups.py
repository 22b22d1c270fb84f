"""Setups as the API shows them: the person's completed setups, with the status My setups shows.

The status comes from :func:`portal.connections.checks.statuses_for` / ``status_for`` (stored checks,
no HDP call), so the API and the pages never disagree. A list is one page of at most 100 setups in a
fixed number of queries (the page, its HDP records, three for the statuses), whatever the number of
setups; pages are keyset-paginated on (created, id), newest first, so a setup made while a client
pages through the list never shifts the pages after it.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
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


def _with_state(queryset: QuerySet[Run], state: str) -> QuerySet[Run]:
    """Only setups whose shown status is ``state`` (the SQL form of ``status.status_of``)."""
    now = timezone.now()
    last = (
        ConnectionCheck.objects.filter(run=OuterRef("pk"), finished_at__isnull=False, abandoned=False)
        .exclude(state="")
        .order_by("-finished_at", "-pk")
    )
    running = ConnectionCheck.objects.filter(
        run=OuterRef("pk"), finished_at__isnull=True, expires_at__gte=now
    )
    queryset = queryset.annotate(
        last_state=Subquery(last.values("state")[:1]),
        last_at=Subquery(last.values("finished_at")[:1]),
        running=Exists(running),
    )
    if state == State.CHECKING:
        return queryset.filter(running=True)
    queryset = queryset.filter(running=False)
    if state == State.UNCHECKED:
        return queryset.filter(last_state__isnull=True)
    fresh = now - timedelta(seconds=settings.CONNECTION_STALE_AFTER)
    if state == State.STALE:
        return queryset.filter(last_state=State.WORKING, last_at__lt=fresh)
    if state == State.WORKING:
        return queryset.filter(last_state=State.WORKING, last_at__gte=fresh)
    return queryset.filter(last_state=state)


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


def page(
    person: User,
    *,
    state: str | None,
    tenant: int | None,
    store: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Run], dict[UUID, Status], dict[UUID, dict[str, int]], str | None]:
    queryset = visible(person)
    if tenant is not None:
        queryset = queryset.filter(tenant_id=tenant)
    if store:
        by_name = Q(datastore_name__iexact=store)
        queryset = queryset.filter(by_name | Q(datastore_id=int(store)) if store.isdigit() else by_name)
    if state:
        queryset = _with_state(queryset, state)
    if cursor:
        created, pk = decode_cursor(cursor)
        queryset = queryset.filter(Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk))
    rows = list(queryset.order_by("-created_at", "-pk").only(*FIELDS)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    statuses = checks.statuses_for([r.pk for r in rows])
    if state:  # a check that finished between the two reads: show only what the filter asked for
        rows = [r for r in rows if statuses[r.pk].state == state] if rows else rows
    next_cursor = encode_cursor(rows[-1]) if more and rows else None
    return rows, statuses, hdp_ids([r.pk for r in rows]), next_cursor


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
