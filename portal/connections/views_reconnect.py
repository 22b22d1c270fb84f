"""Reconnect a completed setup (issue 8 item 2): the "Reconnect" POST and the page the callback returns to.

Kept apart from ``views.py`` (status pages) so the two can change independently.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.connections import checks, reconnect
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther
from portal.oauth import flows
from portal.onboarding import engine
from portal.onboarding.models import Run
from portal.onboarding.views import common


def _finish_url(run: Run) -> str:
    return reverse("connections:reconnect-finish", kwargs={"run_id": run.pk})


def with_provider_form_action(response: HttpResponse, run: Run) -> HttpResponse:
    if run.app_authorize_uri:
        # The Reconnect POST answers 303 to the provider (Chromium applies form-action to it).
        response._csp_update = {"form-action": [flows.origin(run.app_authorize_uri)]}  # type: ignore[attr-defined]
    return response


@require_http_methods(["GET", "POST"])
def reconnect_start(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """A plain form POST: start a reconnect flow and 303 the whole page to the provider.

    A GET (the link support sends a tenant admin) starts nothing: it shows the setup's Reconnect button."""
    run = common.get_run(request, run_id)
    if request.method == "GET":
        return HttpResponseSeeOther(reverse("connections:setup", kwargs={"run_id": run.pk}) + "#reconnect")
    replace = request.POST.get("replace") == "1"
    try:
        with common.client(request) as client:
            url = reconnect.start(request, run, client, replace=replace)
    except reconnect.ReconnectRefused as exc:
        messages.error(request, str(exc))
        return HttpResponseSeeOther(_finish_url(run))
    except flows.RateLimited:
        messages.error(
            request, _("You have started many sign-ins in the last minute. Wait a minute, then try again.")
        )
        return HttpResponseSeeOther(_finish_url(run))
    return HttpResponseSeeOther(url)


@require_http_methods(["GET", "POST"])
def reconnect_finish(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """Where the callback sends the browser. While new tokens are held, put them into the profile
    (GET right after the callback, POST for "Try again": both idempotent PUTs), then show the result."""
    run = common.get_run(request, run_id)
    if run.status != Run.Status.COMPLETED:
        # Only a completed setup is reconnected; the wizard says where an unfinished one stands.
        return HttpResponseSeeOther(reverse("onboarding:resume", kwargs={"run_id": run.pk}))
    outcome = None
    if reconnect.pending(run):
        try:
            with common.client(request) as client:
                outcome = reconnect.finish(run, client)
        except engine.StepBusy as exc:
            messages.warning(request, str(exc))
        run.refresh_from_db()
    context = {
        "run": run,
        "outcome": outcome,
        "pending": reconnect.pending(run),
        "status": checks.status_for(run),
        "account": run.provider_display_name or run.provider_subject,
    }
    return with_provider_form_action(render(request, "connections/reconnect_finish.html", context), run)
