"""Step d: the OAuth profile that holds the consent's tokens in HDP."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from portal.hdp import errors
from portal.lib.htmx import HtmxRequest
from portal.onboarding import engine, forms, wizard
from portal.onboarding.views import common


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def step_profile(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = common.get_run(request, run_id)
    progress = wizard.Progress.of(run)
    if response := common.enter(request, run, progress, "profile"):
        return response
    page = "onboarding/step_profile.html"
    granted = common.scopes_in_words(common.preset(run), run.granted_scope or "")
    if progress.is_done("profile"):
        done = {"profile": progress.remote("profile"), "done": True, "granted_scopes": granted}
        return common.render_step(request, run, "profile", page, done, progress=progress)
    initial = {
        "name": run.profile_name or forms.suggest_name(run.tenant_name, run.datastore_name, suffix="profile"),
        "description": run.profile_description,
    }
    form = forms.ProfileForm(request.POST or None, initial=initial, validate_url=common.validate_url(run))
    context: dict[str, Any] = {"form": form, "banner": "", "granted_scopes": granted}
    status = 200
    if request.method == "POST" and form.is_valid():
        wanted = engine.ProfileSettings(form.cleaned_data["name"], form.cleaned_data.get("description") or "")
        try:
            with common.client(request) as client:
                engine.ensure_profile(run, client, wanted)
        except engine.StepBusy:
            return common.busy(request, run, "profile")
        except (errors.HdpError, engine.StepError) as exc:
            context["banner"], status = common.explain_failure(exc, form)
            context["reauthorize"] = isinstance(exc, engine.MissingTokens)
        else:
            return common.advance(request, run, "datasource")
    return common.render_step(request, run, "profile", page, context, status, progress)
