"""Repair a completed setup (issue 8 item 3): the repair page, its confirmation, and the page the callback returns to.

The logic is :mod:`portal.connections.repair`; these views only look the setup up (owner and tenant,
before any HDP call), turn refusals into plain messages and redirect (PRG). The client secret of a
deleted application is write-only: it is read from the POST, given to the engine, and never put back
into a page, a message or a log.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.connections import checks, repair, views_reconnect
from portal.connections.status import Cause
from portal.hdp.errors import HdpError
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther
from portal.oauth import flows
from portal.onboarding import engine
from portal.onboarding.models import Run
from portal.onboarding.views import common


def _busy() -> str:
    return _(
        "A repair of this setup is already in progress in another tab or window. Wait a moment, then reload this page."
    )


def _repair_url(run: Run) -> str:
    return reverse("connections:repair", kwargs={"run_id": run.pk})


def _finish_url(run: Run) -> str:
    return reverse("connections:repair-finish", kwargs={"run_id": run.pk})


def _completed(request: HtmxRequest, run_id: UUID) -> Run | HttpResponse:
    run = common.get_run(request, run_id)
    if run.status != Run.Status.COMPLETED:
        return redirect("onboarding:resume", run.pk)
    return run


def _also(request: HtmxRequest) -> list[int]:
    return [int(v) for v in request.POST.getlist("also") if v.isdigit()]


def _start_page(request: HtmxRequest, run: Run) -> HttpResponse:
    """GET: what is broken now and the one fix, read from HDP (an open repair continues instead)."""
    current = repair.open_repair(run)
    context: dict[str, Any] = {"run": run, "open": current, "plan": None, "problem": ""}
    if current is not None:
        if not (repair.awaits_consent(run, current) or repair.needs_secret(run, current)):
            return HttpResponseSeeOther(_finish_url(run))
        context["explanation"] = repair.FIXES.get(Cause(current.cause), "")
        context["needs_secret"] = repair.needs_secret(run, current)
        context["cause"] = current.cause
        context["changes"] = repair.changes_of(current)
    else:
        try:
            with common.client(request) as client:
                context["plan"] = repair.plan(run, client)
        except HdpError as exc:
            context["problem"] = exc.explanation
        except repair.RepairRefused as exc:
            context["problem"] = str(exc)
        if context["plan"] is not None:
            context["explanation"] = context["plan"].explanation
            context["needs_secret"] = context["plan"].needs_secret
            context["cause"] = context["plan"].cause
    response = render(request, "connections/repair_start.html", context)
    # The form answers 303 to the provider when a consent is next: allow it in CSP form-action.
    return views_reconnect.with_provider_form_action(response, run)


@require_http_methods(["GET", "POST"])
def repair_start(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    found = _completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run = found
    if request.method == "GET":
        return _start_page(request, run)
    secret = request.POST.get("client_secret", "")
    try:
        with common.client(request) as client:
            url = repair.begin(
                request,
                run,
                client,
                cause=request.POST.get("cause", ""),
                also=_also(request),
                client_secret=secret,
            )
    except engine.StepBusy:
        messages.warning(request, _busy())
        return HttpResponseSeeOther(reverse("connections:setup", kwargs={"run_id": run.pk}) + "#repair")
    except (repair.RepairRefused, engine.StepError) as exc:
        messages.error(request, str(exc))
        return HttpResponseSeeOther(_repair_url(run))
    except HdpError as exc:
        messages.error(request, exc.explanation)
        return HttpResponseSeeOther(_repair_url(run))
    except flows.RateLimited:
        messages.error(
            request, _("You have started many sign-ins in the last minute. Wait a minute, then try again.")
        )
        return HttpResponseSeeOther(_repair_url(run))
    return HttpResponseSeeOther(url or _finish_url(run))


@require_http_methods(["GET", "POST"])
def repair_finish(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """Where a confirmed repair (and the callback of its consent) lands: make the remaining changes
    (GET right after the redirect, POST for "Try again": both resume and create nothing twice), then
    show what changed in HDP and the new status."""
    found = _completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run = found
    result = None
    if repair.open_repair(run) is not None:
        try:
            with common.client(request) as client:
                result = repair.finish(run, client)
        except engine.StepBusy:
            messages.warning(request, _busy())
        run.refresh_from_db()
    current = repair.open_repair(run)
    context = {
        "run": run,
        "result": result,
        "open": current,
        "awaits_consent": repair.awaits_consent(run, current) or repair.needs_secret(run, current),
        "changes": repair.changes_of(repair.last_repair(run)),
        "status": checks.status_for(run),
    }
    return render(request, "connections/repair_finish.html", context)
