"""What every page of a completed setup shares: the one "is this a completed setup of mine" gate,
the setup page's address, and the provider's origin in CSP form-action.

The run lookup is the wizard's own (:func:`portal.onboarding.views.common.get_run`: owner and tenant,
else 404 with a security event, before any HDP call: SECURITY.md item 20).
"""

from __future__ import annotations

from uuid import UUID

from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from portal.lib import csp
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther
from portal.oauth import flows
from portal.onboarding.models import Run
from portal.onboarding.views.common import RunFetch, client, get_run, user

__all__ = ["client", "completed", "get_run", "setup_url", "user", "with_provider_form_action"]


def completed(request: HtmxRequest, run_id: UUID, fetch: RunFetch | None = None) -> Run | HttpResponse:
    """The person's own completed setup; an unfinished one goes back to the wizard (302 after a
    GET, 303 after a POST). ``fetch``: as :func:`get_run`'s."""
    run = get_run(request, run_id, fetch=fetch)
    if run.status == Run.Status.COMPLETED:
        return run
    if request.method == "GET":
        return redirect("onboarding:resume", run.pk)
    return HttpResponseSeeOther(reverse("onboarding:resume", kwargs={"run_id": run.pk}))


def setup_url(run: Run, fragment: str = "") -> str:
    """The setup page, optionally at one of its sections (``rotate``, ``repair``, ``setup-status``)."""
    url = reverse("connections:setup", kwargs={"run_id": run.pk})
    return f"{url}#{fragment}" if fragment else url


def with_provider_form_action(response: HttpResponse, run: Run) -> HttpResponse:
    """A page whose form POST answers 303 to the provider (Reconnect, a repair's sign-in)."""
    if run.app_authorize_uri:
        csp.allow_form_action(response, flows.origin(run.app_authorize_uri))
    return response
