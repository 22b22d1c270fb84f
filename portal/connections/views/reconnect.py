"""Reconnect a completed setup (issue 8 item 2): the "Reconnect" POST and the page the callback returns to.

The work is :mod:`portal.connections.reconnect`; each view asks it once and shows the answer.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal.connections import reconnect
from portal.connections.views import common
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther


@require_http_methods(["GET", "POST"])
def reconnect_start(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """A plain form POST: start a reconnect flow and 303 the whole page to the provider.

    A GET (the link support sends a tenant admin) starts nothing: it shows the setup's Reconnect button."""
    run = common.get_run(request, run_id)
    if request.method == "GET":
        return HttpResponseSeeOther(common.setup_url(run, "reconnect"))
    with common.client(request) as client:
        started = reconnect.begin(request, run, client, replace=request.POST.get("replace") == "1")
    if started.error:
        messages.error(request, started.error)
        return HttpResponseSeeOther(reverse("connections:reconnect-finish", kwargs={"run_id": run.pk}))
    return HttpResponseSeeOther(started.provider_url)


@require_http_methods(["GET", "POST"])
def reconnect_finish(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """Where the callback sends the browser. While new tokens are held, put them into the profile
    (GET right after the callback, POST for "Try again": both idempotent PUTs), then show the result."""
    found = common.completed(request, run_id)  # only a completed setup is reconnected
    if isinstance(found, HttpResponse):
        return found
    run = found
    with common.client(request) as client:
        page = reconnect.finish_page(run, client)
    if page.busy:
        messages.warning(request, page.busy)
    context = {
        "run": run,
        "outcome": page.outcome,
        "pending": page.pending,
        "status": page.status,
        "account": page.account,
        "refusal": page.refusal,
    }
    return common.with_provider_form_action(
        render(request, "connections/reconnect_finish.html", context), run
    )
