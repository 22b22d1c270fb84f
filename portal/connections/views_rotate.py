"""A completed setup's "New client secret" and "Scopes" forms (issue 8 item 4; rotate.py does the work).

Both are plain form POSTs answered with a 303 (the secret is never put back into a page): the
secret form goes back to the setup page with the check's result; the scope form goes on to the
provider for a reconnect, so the refresh token carries the new scopes.
"""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from portal.audit.models import AuditEntry
from portal.connections import reconnect, rotate
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther
from portal.oauth import flows
from portal.onboarding import engine
from portal.onboarding.models import Run
from portal.onboarding.views import common
from portal.ratelimit import limiter as ratelimit


class SecretForm(forms.Form):
    client_secret = forms.CharField(
        label=gettext_lazy("New client secret"),
        max_length=2000,
        strip=True,
        # Write-only: never rendered back, not even after an error.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


class ScopeForm(forms.Form):
    scope = forms.CharField(label=gettext_lazy("Scopes"), max_length=rotate.SCOPE_MAX, strip=True)


def _setup_url(run: Run, fragment: str = "") -> str:
    url = reverse("connections:setup", kwargs={"run_id": run.pk})
    return f"{url}#{fragment}" if fragment else url


def _completed(request: HtmxRequest, run_id: UUID) -> Run | HttpResponse:
    run = common.get_run(request, run_id)
    if run.status != Run.Status.COMPLETED:
        return HttpResponseSeeOther(reverse("onboarding:resume", kwargs={"run_id": run.pk}))
    return run


@require_POST
def rotate_secret(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    found = _completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run, person = found, common.user(request)
    form = SecretForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the new client secret from the provider's app registration."))
        return HttpResponseSeeOther(_setup_url(run, "rotate"))
    if not ratelimit.hit("ds_test", person.username, settings.RATELIMIT_TEST_PER_MINUTE):
        AuditEntry.record(person.username, "oauth_app.secret_rotated", run=run, outcome="rate_limited")
        messages.error(
            request, _("You have run many checks in the last minute. Wait a minute, then try again.")
        )
        return HttpResponseSeeOther(_setup_url(run, "rotate"))
    try:
        with common.client(request) as client:
            outcome = rotate.rotate_secret(
                run, client, form.cleaned_data["client_secret"], actor=person.username
            )
    except engine.StepBusy as exc:
        messages.warning(request, str(exc))
        return HttpResponseSeeOther(_setup_url(run, "rotate"))
    if not outcome.ok:
        messages.error(request, outcome.message)
        return HttpResponseSeeOther(_setup_url(run, "rotate"))
    messages.success(request, outcome.message)
    return HttpResponseSeeOther(_setup_url(run, "setup-status"))


@require_POST
def change_scope(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    found = _completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run, person = found, common.user(request)
    form = ScopeForm(request.POST)
    if not form.is_valid():
        too_long = len(request.POST.get("scope", "")) > rotate.SCOPE_MAX
        messages.error(
            request,
            _("The scopes are too long for HDP.")
            if too_long
            else _("Enter at least one scope, separated by spaces."),
        )
        return HttpResponseSeeOther(_setup_url(run, "rotate"))
    try:
        with common.client(request) as client:
            outcome = rotate.change_scope(run, client, form.cleaned_data["scope"], actor=person.username)
            if not outcome.ok:
                messages.error(request, outcome.message)
                return HttpResponseSeeOther(_setup_url(run, "rotate"))
            run.refresh_from_db()
            url = reconnect.start(request, run, client)
    except rotate.RotateRefused as exc:
        AuditEntry.record(person.username, "oauth_app.scope_changed", run=run, outcome="refused")
        messages.error(request, str(exc))
        return HttpResponseSeeOther(_setup_url(run, "rotate"))
    except engine.StepBusy as exc:
        messages.warning(request, str(exc))
        return HttpResponseSeeOther(_setup_url(run, "rotate"))
    except reconnect.ReconnectRefused as exc:
        messages.warning(request, _("%(done)s The reconnect could not start: %(why)s") % {
            "done": outcome.message, "why": str(exc)})  # fmt: skip
        return HttpResponseSeeOther(_setup_url(run))
    except flows.RateLimited:
        messages.warning(request, _(
            "%(done)s You have started many sign-ins in the last minute: wait a minute, then press Reconnect."
        ) % {"done": outcome.message})  # fmt: skip
        return HttpResponseSeeOther(_setup_url(run))
    # Straight on to the provider: a refresh token minted for the old scopes does not carry the new ones.
    return HttpResponseSeeOther(url)
