"""A completed setup's "New client secret" and "Scopes" forms (issue 8 item 4; rotate.py does the work).

Both are plain form POSTs answered with a 303 (the secret is never put back into a page): the
secret form goes back to the setup page with the check's result; the scope form goes on to the
provider for a reconnect, so the refresh token carries the new scopes.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from portal.connections import rotate
from portal.connections.forms import ScopeForm, SecretForm
from portal.connections.views import common
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther


def _first_error(form: SecretForm | ScopeForm) -> str:
    """The form's one error, as a sentence for the setup page (never the value entered)."""
    return next((str(e) for errors in form.errors.values() for e in errors), "")


@sensitive_post_parameters("client_secret")
@require_POST
def rotate_secret(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    found = common.completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run = found
    form = SecretForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return HttpResponseSeeOther(common.setup_url(run, "rotate"))
    with common.client(request) as client:
        outcome = rotate.submit_secret(
            run, client, form.cleaned_data["client_secret"], actor=common.user(request).username
        )
    if outcome.busy:
        messages.warning(request, outcome.message)
    elif not outcome.ok:
        messages.error(request, outcome.message)
    else:
        messages.success(request, outcome.message)
        return HttpResponseSeeOther(common.setup_url(run, "setup-status"))
    return HttpResponseSeeOther(common.setup_url(run, "rotate"))


@require_POST
def change_scope(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    found = common.completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run = found
    form = ScopeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return HttpResponseSeeOther(common.setup_url(run, "rotate"))
    with common.client(request) as client:
        answer = rotate.rescope(
            request, run, client, form.cleaned_data["scope"], actor=common.user(request).username
        )
    if answer.provider_url:
        # Straight on to the provider: a refresh token minted for the old scopes does not carry the new ones.
        return HttpResponseSeeOther(answer.provider_url)
    if answer.level == "warning":
        messages.warning(request, answer.message)
    else:
        messages.error(request, answer.message)
    return HttpResponseSeeOther(common.setup_url(run, answer.fragment))
