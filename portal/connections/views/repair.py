"""Repair a completed setup (issue 8 item 3): the repair page, its confirmation, and the page the callback returns to.

The work is :mod:`portal.connections.repair`; each view asks it once (:func:`repair.start_page`,
:func:`repair.confirm`, :func:`repair.finish_page`) and acts on the typed answer: a page, or a
redirect (PRG). The client secret of a deleted application is write-only: it is checked by the
wizard's own field (:class:`portal.connections.forms.RepairForm`), given to the repair, and never put
back into a page, a message or a log.
"""

from __future__ import annotations

from dataclasses import fields
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from portal.connections import repair
from portal.connections.forms import RepairForm
from portal.connections.views import common, handoff
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther
from portal.onboarding.models import Run
from portal.onboarding.views import share


def _repair_url(run: Run) -> str:
    return reverse("connections:repair", kwargs={"run_id": run.pk})


def _finish_url(run: Run) -> str:
    return reverse("connections:repair-finish", kwargs={"run_id": run.pk})


def _start_page(request: HtmxRequest, run: Run) -> HttpResponse:
    """GET: what is broken now and the one fix, read from HDP (an open repair continues instead)."""
    with common.client(request) as client:
        page = repair.start_page(run, client)
    if page.go_on:
        return HttpResponseSeeOther(_finish_url(run))
    context = {"run": run, **{f.name: getattr(page, f.name) for f in fields(page)}}
    response = render(request, "connections/repair_start.html", context)
    # The form answers 303 to the provider when a consent is next: allow it in CSP form-action.
    return common.with_provider_form_action(response, run)


@sensitive_post_parameters("client_secret")
@require_http_methods(["GET", "POST"])
def repair_start(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    found = common.completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run = found
    if request.method == "GET":
        return _start_page(request, run)
    form = RepairForm(request.POST)
    if not form.is_valid():  # a secret of spaces only, with a control character, or far too long
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return HttpResponseSeeOther(_repair_url(run))
    with common.client(request) as client:
        begun = repair.confirm(
            request,
            run,
            client,
            cause=form.cleaned_data["cause"],
            also=form.also(),
            client_secret=form.cleaned_data["client_secret"],
        )
    if begun.busy:
        messages.warning(request, str(repair.BUSY))
        return HttpResponseSeeOther(common.setup_url(run, "repair"))
    if begun.error:
        messages.error(request, begun.error)
        return HttpResponseSeeOther(_repair_url(run))
    return HttpResponseSeeOther(begun.provider_url or _finish_url(run))


@require_http_methods(["GET", "POST"])
def repair_finish(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """Where a confirmed repair (and the callback of its consent) lands: make the remaining changes
    (GET right after the redirect, POST for "Try again": both resume and create nothing twice), then
    show what changed in HDP and the new status."""
    found = common.completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run = found
    with common.client(request) as client:
        page = repair.finish_page(run, client)
    if page.busy:
        messages.warning(request, str(repair.BUSY))
    context = {
        "run": run,
        "result": page.result,
        "open": page.open,
        "awaits_consent": page.awaits_consent,
        "changes": page.changes,
        "status": page.status,
        "restore_shares": page.restore_shares,
        **handoff.state_context(run),
    }
    return render(request, "connections/repair_finish.html", context)


@require_http_methods(["GET", "POST"])
def repair_shares(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """After a repair created the data source again: the shares the portal last saw, listed for a
    confirmation (GET), then restored as the owner (POST); the page then lists HDP's shares as read back."""
    found = common.completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run, person = found, common.user(request)
    with common.client(request) as client:
        if request.method == "POST":
            page = repair.restore_shares(run, client, person.username)
        else:
            page = repair.restore_page(run, client)
    context = {
        "run": run,
        "reads_as": share.reads_as(run),
        **{f.name: getattr(page, f.name) for f in fields(page)},
    }
    return render(request, "connections/repair_shares.html", context)
