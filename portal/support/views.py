"""The support console: read-mostly pages for support staff (docs/product.md "Support staff", SECURITY.md item 22).

Every view is behind :func:`staff_only` (403 + one ``support_denied`` security event for anyone
else) and, except the reason form itself, :func:`reason_required` (no HDP call before a reason is
stated). Every page view and action writes an ``AuditEntry`` carrying the reason.

Staff never repair anything that needs consent: a consent would bind the staff member's provider
account to the tenant's data source. Pages name the tenant admin to ask and the portal link to send
them; no support view redirects to a provider or starts an OAuth flow.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlencode, urlsplit
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.audit.models import AuditEntry
from portal.connections import checks, health
from portal.connections.models import ConnectionCheck
from portal.hdp import client as hdp
from portal.hdp import errors
from portal.lib.events import security_event
from portal.lib.htmx import HttpResponseSeeOther
from portal.oauth import handoff
from portal.oauth.models import HandoffLink
from portal.onboarding.models import Run
from portal.ratelimit import limiter as ratelimit
from portal.support import access, reads, stores
from portal.support import rows as support_rows
from portal.support.chain import HdpFacts, build_chain
from portal.support.forms import REASON_MAX, REASON_MIN, ReasonForm

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]


# --- gates -----------------------------------------------------------------------------------------------
def staff_only(view: View[P]) -> View[P]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not access.is_support_staff(request.user):
            security_event(
                "support_denied",
                request,
                tenant=getattr(request.user, "hdp_tenant_id", None),
                method=request.method,
            )
            return render(request, "support/denied.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def reason_required(view: View[P]) -> View[P]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not access.current_reason(request.session):
            back = request.get_full_path() if request.method == "GET" else reverse("support:tenants")
            return HttpResponseSeeOther(f"{reverse('support:reason')}?{urlencode({'next': back})}")
        return view(request, *args, **kwargs)

    return wrapped


# --- helpers ---------------------------------------------------------------------------------------------
def _audit(request: HttpRequest, action: str, *, tenant_id: int | None = None, **detail: Any) -> None:
    AuditEntry.record(
        request.user.get_username(),
        action,
        tenant_id=tenant_id,
        reason=access.current_reason(request.session),
        path=request.path,
        **detail,
    )


def _safe_next(request: HttpRequest, target: str | None) -> str:
    """Back to the support page the person asked for; anything else goes to the tenant list."""
    support_root = reverse("support:tenants")
    if not target or not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return support_root
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or "/." in parts.path:
        return support_root
    try:
        match = resolve(parts.path)
    except Resolver404:
        return support_root
    if match.namespace != "support" or match.url_name in ("reason", "test-datasource", "check-tenant"):
        return support_root
    return target


def _portal_base(request: HttpRequest) -> str:
    """Where links for tenant admins point: the configured portal address (not the Host header)."""
    base: str = settings.PORTAL_BASE_URL
    return base or f"{request.scheme}://{request.get_host()}"


def _hdp_status(exc: errors.HdpError) -> int:
    return 503 if isinstance(exc, errors.HdpUnavailable) else 502


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    """``here``: where "Change the reason" comes back to (a GET page, never the POST-only test)."""
    here = request.get_full_path() if request.method == "GET" else reverse("support:tenants")
    return {
        "reason": access.current_reason(request.session),
        "portal_base": _portal_base(request),
        "here": here,
        **extra,
    }


def _page_number(request: HttpRequest) -> int:
    """``?page=N`` (anything else is page 1; past the last page reads the last)."""
    raw = request.GET.get("page", "")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


# --- views -----------------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@staff_only
def reason(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    form = ReasonForm(request.POST or None, initial={"reason": access.current_reason(request.session)})
    status = 200
    if request.method == "GET":
        _audit(request, "support.reason_form")
    elif request.method == "POST":
        if form.is_valid():
            access.state_reason(request.session, form.cleaned_data["reason"])
            _audit(request, "support.reason")
            return HttpResponseSeeOther(next_url)
        status = 400
    return render(request, "support/reason.html", _context(request, form=form, next=next_url), status=status)


@require_GET
@staff_only
@reason_required
def tenants(request: HttpRequest) -> HttpResponse:
    banner, status = "", 200
    try:
        with hdp.HdpClient.service() as service:
            hdp_tenants = [(t.id, t.name) for t in service.list_tenants()]
    except errors.HdpError as exc:
        banner, status = exc.explanation, _hdp_status(exc)
        hdp_tenants = []
    rows = support_rows.tenant_rows(hdp_tenants)
    _audit(request, "support.view_tenants", hdp_ok=not banner)
    context = _context(request, rows=rows, banner=banner, hdp_read=not banner)
    return render(request, "support/tenants.html", context, status=status)


@require_GET
@staff_only
@reason_required
def lapsing(request: HttpRequest) -> HttpResponse:
    """Across tenants, the setups whose sign-in lapses within 14 days, soonest first (issue 22)."""
    rows = support_rows.lapsing_rows(_portal_base(request), timezone.now())
    _audit(request, "support.view_lapsing", setups=len(rows))
    return render(request, "support/lapsing.html", _context(request, rows=rows))


@require_GET
@staff_only
@reason_required
def tenant(request: HttpRequest, tenant_id: int) -> HttpResponse:
    # The runs and their connection statuses in one query (checks.status_columns), their objects in another.
    now = timezone.now()
    runs, objects = support_rows.tenant_runs(tenant_id, now)
    statuses = checks.statuses_of([r for r in runs if r.status == Run.Status.COMPLETED], now)
    run_facts = support_rows.run_facts(runs, statuses, objects)
    recorded_profiles = {
        o.remote_id for r in run_facts for o in r.objects if o.kind == "profile" and o.remote_id is not None
    }
    banner, status = "", 200
    name: str | None = None
    with hdp.HdpClient.service() as service:  # one client for the tenant and its lists
        try:
            name = reads.tenant_name(tenant_id, service)
        except errors.HdpError as exc:
            banner, status = exc.explanation, _hdp_status(exc)
            facts = HdpFacts(complete=False)
        else:
            if name is None and not runs:
                _audit(request, "support.view_tenant", tenant_id=tenant_id, hdp_ok=True, outcome="not_found")
                raise Http404
            if name is None:
                facts = HdpFacts()  # the tenant is gone from HDP, and with it everything it held
            else:
                facts, failure = reads.read_tenant(
                    tenant_id, recorded_profiles, page=_page_number(request), service=service
                )
                if failure is not None:
                    banner, status = failure.explanation, _hdp_status(failure)
    setups = [{"run": r, "connection": statuses.get(r.pk), "objects": objects[r.pk]} for r in runs]
    chain = build_chain(tenant_id, facts, run_facts)
    stores.name_stores(chain, stores.names((r.datastore_id, r.datastore_name) for r in runs))
    findings = chain.findings
    _audit(
        request,
        "support.view_tenant",
        tenant_id=tenant_id,
        hdp_ok=not banner,
        findings=sorted({f.code for f in findings}),
    )
    context = _context(
        request,
        tenant_id=tenant_id,
        tenant_name=name or (runs[0].tenant_name if runs else ""),
        in_hdp=name is not None,
        banner=banner,
        chain=chain,
        findings=findings,
        finding_rows=support_rows.finding_rows(findings, _portal_base(request)),
        runs=runs,
        setups=setups,
        pager=support_rows.pager(facts, tenant_id),
        checked=int(queued) if (queued := request.GET.get("checked", "")).isdigit() else None,
        # Links a tenant admin sent to an account owner, still waiting (never the link: only its hash exists).
        handoff_links=handoff.open_links(tenant_id),
    )
    return render(request, "support/tenant.html", context, status=status)


@require_POST
@staff_only
@reason_required
def test_datasource(request: HttpRequest, tenant_id: int, datasource_id: int) -> HttpResponse:
    username = request.user.get_username()
    context = _context(
        request,
        tenant_id=tenant_id,
        datasource_id=datasource_id,
        here=reverse("support:tenant", args=[tenant_id]),
    )
    if not ratelimit.hit("ds_test", username, settings.RATELIMIT_TEST_PER_MINUTE):
        _audit(request, "support.test_datasource", tenant_id=tenant_id, datasource_id=datasource_id,
               outcome="rate_limited")  # fmt: skip
        context["banner"] = _("You have run many tests in the last minute. Wait a minute, then try again.")
        return render(request, "support/test_result.html", context, status=429)
    outcome, status = "hdp_error", 200
    try:
        owner = reads.datasource_owner(tenant_id, datasource_id)
        if owner is None:
            outcome, status = "not_found", 404
            context["banner"] = _("No user of this tenant owns a data source with that id in HDP.")
        else:
            result = reads.test_datasource(owner, datasource_id)
            outcome = "passed" if result.success else "failed"
            context.update(owner=owner, result=result)
    except errors.HdpError as exc:
        context["banner"], status = exc.explanation, _hdp_status(exc)
    _audit(request, "support.test_datasource", tenant_id=tenant_id, datasource_id=datasource_id,
           owner=context.get("owner", ""), outcome=outcome)  # fmt: skip
    return render(request, "support/test_result.html", context, status=status)


@require_POST
@staff_only
@reason_required
def check_tenant(request: HttpRequest, tenant_id: int) -> HttpResponse:
    """Queue a real check of every completed setup of the tenant (trigger "support").

    The checks are queued by ``health.enqueue``, like a scheduler round's, so the concurrency cap and
    the HDP outage backoff apply; the tenant page shows each result once the worker ran it.
    No HDP call is made here.
    """
    username = request.user.get_username()
    if not ratelimit.hit("support_check_tenant", username, settings.RATELIMIT_TEST_PER_MINUTE):
        _audit(request, "support.check_tenant", tenant_id=tenant_id, outcome="rate_limited")
        context = _context(request, tenant_id=tenant_id, here=reverse("support:tenant", args=[tenant_id]))
        context["banner"] = _("You have run many checks in the last minute. Wait a minute, then try again.")
        return render(request, "support/test_result.html", context, status=429)
    run_ids = [
        str(pk)
        for pk in Run.objects.filter(tenant_id=tenant_id, status=Run.Status.COMPLETED).values_list(
            "pk", flat=True
        )
    ]
    queued = health.enqueue(run_ids, trigger=ConnectionCheck.Trigger.SUPPORT, requested_by=username)
    _audit(request, "support.check_tenant", tenant_id=tenant_id, outcome="queued", setups=queued)
    url = reverse("support:tenant", args=[tenant_id])
    return HttpResponseSeeOther(f"{url}?{urlencode({'checked': queued})}")


@require_POST
@staff_only
@reason_required
def revoke_handoff(request: HttpRequest, tenant_id: int, link_id: UUID) -> HttpResponse:
    """End a tenant's open handoff link (issue 19), with a stated reason; audited. Support never
    consents with their own account: this only ends a link."""
    words = " ".join(request.POST.get("revoke_reason", "").split())
    link = HandoffLink.objects.select_related("run").filter(pk=link_id, tenant_id=tenant_id).first()
    if link is None:
        _audit(request, "support.revoke_handoff", tenant_id=tenant_id, link=str(link_id), outcome="not_found")
        raise Http404
    if not REASON_MIN <= len(words) <= REASON_MAX:
        messages.error(request, _("Say why the link is revoked (5 to 300 characters); it was not revoked."))
        return HttpResponseSeeOther(reverse("support:tenant", args=[tenant_id]) + "#handoff-links")
    revoked = handoff.revoke(link, by=request.user.get_username(), reason=f"support: {words}")
    _audit(request, "support.revoke_handoff", tenant_id=tenant_id, link=str(link.pk), setup=str(link.run_id),
           purpose=link.purpose, revoke_reason=words, outcome="revoked" if revoked else "not_waiting")  # fmt: skip
    if revoked:
        messages.success(request, _("The link was revoked; it no longer works."))
    else:
        messages.info(request, _("That link was no longer waiting; nothing was changed."))
    return HttpResponseSeeOther(reverse("support:tenant", args=[tenant_id]) + "#handoff-links")
