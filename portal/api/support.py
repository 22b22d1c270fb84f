"""``GET /api/v1/tenants`` and ``/tenants/{id}/findings`` for support staff (scope ``support:read``).

The same facts as the support console, assembled by the console's own functions: the tenant list and
each tenant's worst stored connection status (:func:`portal.support.rows.tenant_rows`), a tenant's
findings from the console's chain (:mod:`portal.support.chain` over :func:`portal.support.rows.run_facts`
and what :mod:`portal.support.reads` reads from HDP with the service account). Only people support staff by HDP's permissions
(:func:`portal.support.access.is_support_staff`) get past :func:`staff`; every answer is audited.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from portal.api.problems import Problem
from portal.api.setups import status_out
from portal.audit.models import AuditEntry
from portal.connections import checks
from portal.hdp import client as hdp
from portal.hdp import errors
from portal.onboarding.models import Run
from portal.support import access, reads, rows, stores
from portal.support.chain import Finding, HdpFacts, build_chain


def staff(request: HttpRequest) -> str:
    """The support person's user name; 403 for anyone else (the console's own test)."""
    if not access.is_support_staff(request.user):
        raise Problem(403, "not_support_staff", _("This is for support staff only."))
    return str(request.user.get_username())


def tenants() -> tuple[list[dict[str, Any]], str]:
    """The console's tenant list (:func:`portal.support.rows.tenant_rows`): HDP's tenants, then those
    only the portal's setups still name, each with the worst status of its completed setups. When HDP
    cannot list its tenants, the portal's own are listed and the reason is returned."""
    problem = ""
    try:
        with hdp.HdpClient.service() as service:
            listed = [(t.id, t.name) for t in service.list_tenants()]
    except errors.HdpError as exc:
        listed, problem = [], exc.explanation
    words: dict[Any, tuple[str, str | None]] = {}
    items = [
        {
            "id": row.id,
            "name": row.name,
            "in_hdp": row.in_hdp,
            "setups": row.runs,
            "active": row.active,
            "completed": row.completed,
            "worst_status": status_out(row.connection, words) if row.connection else None,
        }
        for row in rows.tenant_rows(listed)
    ]
    return items, problem


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
    run_facts = rows.run_facts(runs, statuses)
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
