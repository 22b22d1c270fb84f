"""``GET /api/v1/tenants`` and ``/tenants/{id}/findings`` for support staff (scope ``support:read``).

The same facts as the support console (portal/support/views.py): each tenant's worst stored connection
status (:func:`portal.connections.status.worst` over :func:`checks.statuses_for`, no HDP call) and a
tenant's findings from the console's chain (:mod:`portal.support.chain`, read from HDP with the
service account by :mod:`portal.support.reads`). Only people support staff by HDP's permissions
(:func:`portal.support.access.is_support_staff`) get past :func:`staff`; every answer is audited.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Q
from django.http import HttpRequest
from django.utils.translation import gettext as _

from portal.api.problems import Problem
from portal.api.setups import status_out
from portal.audit.models import AuditEntry
from portal.connections import checks
from portal.connections.status import Status, worst
from portal.hdp import errors
from portal.onboarding.models import Run
from portal.support import access, reads, stores
from portal.support.chain import Finding, HdpFacts, RecordedObject, RunFacts, build_chain


def staff(request: HttpRequest) -> str:
    """The support person's user name; 403 for anyone else (the console's own test)."""
    if not access.is_support_staff(request.user):
        raise Problem(403, "not_support_staff", _("This is for support staff only."))
    return str(request.user.get_username())


def tenants() -> list[dict[str, Any]]:
    """Every tenant with setups in the portal, with the console's worst status of its completed ones."""
    counts = {
        row["tenant_id"]: row
        for row in Run.objects.values("tenant_id").annotate(
            completed=Count("id", filter=Q(status=Run.Status.COMPLETED)), last_name=Max("tenant_name")
        )
    }
    completed = list(Run.objects.filter(status=Run.Status.COMPLETED).values_list("pk", "tenant_id"))
    statuses = checks.statuses_for([pk for pk, _tenant in completed])
    per_tenant: dict[int, list[Status]] = {}
    for pk, tenant_id in completed:
        per_tenant.setdefault(tenant_id, []).append(statuses[pk])
    words: dict[Any, tuple[str, str | None]] = {}
    items = []
    for tenant_id, row in sorted(counts.items()):
        mine = per_tenant.get(tenant_id, [])
        bad = worst(mine)
        items.append(
            {
                "id": tenant_id,
                "name": str(row["last_name"] or ""),
                "setups": int(row["completed"]),
                "worst_status": status_out(bad, words) if bad else None,
                "needs_attention": sum(1 for s in mine if s.is_problem),
            }
        )
    return items


def _run_facts(runs: list[Run], statuses: dict[Any, Status]) -> list[RunFacts]:
    facts = []
    for run in runs:
        status = statuses.get(run.pk)
        facts.append(
            RunFacts(
                id=str(run.pk),
                owner=run.owner.username,
                status=run.status,
                datastore_name=run.datastore_name,
                objects=tuple(
                    RecordedObject(kind=o.kind, name=o.name, remote_id=o.remote_id, outcome=o.outcome)
                    for o in run.objects_made.all()
                ),
                connection=str(status.state) if status else "",
                connection_cause=str(status.cause or "") if status else "",
            )
        )
    return facts


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": str(f.severity),
        "text": str(f.text),
        "action": str(f.action),
        "ask_owner": f.ask_owner or None,
        "setup_id": f.run_id or None,
        "affected": [str(a) for a in f.affected],
        "harm": f.harm,
    }


def findings(tenant_id: int, actor: str) -> dict[str, Any]:
    """The console's findings for one tenant (its first page of data sources)."""
    runs = list(
        Run.objects.filter(tenant_id=tenant_id)
        .select_related("owner")
        .prefetch_related("objects_made")
        .order_by("-updated_at")
    )
    statuses = checks.statuses_for([r.pk for r in runs if r.status == Run.Status.COMPLETED])
    run_facts = _run_facts(runs, statuses)
    profiles = {
        o.remote_id for r in run_facts for o in r.objects if o.kind == "profile" and o.remote_id is not None
    }
    problem = ""
    try:
        name = reads.tenant_name(tenant_id)
    except errors.HdpError as exc:
        name, facts, problem = None, HdpFacts(complete=False), exc.explanation
    else:
        if name is None and not runs:
            AuditEntry.record(
                actor, "support.view_tenant", tenant_id=tenant_id, via="api", outcome="not_found"
            )
            raise Problem(404, "not_found", _("There is no such tenant."))
        if name is None:
            facts = HdpFacts()
        else:
            facts, failure = reads.read_tenant(tenant_id, profiles, page=1)
            if failure is not None:
                problem = failure.explanation
    chain = build_chain(tenant_id, facts, run_facts)
    stores.name_stores(chain, stores.names((r.datastore_id, r.datastore_name) for r in runs))
    found = sorted(chain.findings, key=lambda f: f.order)
    AuditEntry.record(
        actor, "support.view_tenant", tenant_id=tenant_id, via="api", findings=sorted({f.code for f in found})
    )
    return {
        "tenant": {"id": tenant_id, "name": name or (runs[0].tenant_name if runs else "")},
        "complete": not problem,
        "problem": problem or None,
        "items": [_finding(f) for f in found],
    }
