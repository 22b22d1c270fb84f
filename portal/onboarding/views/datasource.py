"""Steps e and f: the data source, then HDP's connection test."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from portal.hdp import errors
from portal.lib import csp
from portal.lib.htmx import HtmxRequest
from portal.lib.timewords import every
from portal.oauth import flows
from portal.onboarding import engine, forms, stores, wizard
from portal.onboarding.models import Run
from portal.onboarding.views import common
from portal.ratelimit import limiter as ratelimit


def _datasource_form(request: HtmxRequest, run: Run) -> forms.DataSourceForm:
    definitions = list(run.datastore_option_defs or [])
    initial: dict[str, Any] = {
        "name": run.ds_name or forms.suggest_name(run.tenant_name, run.datastore_name, suffix=""),
        "description": run.ds_description,
    }
    for key, value in (run.ds_options or {}).items():
        initial[f"opt_{key}"] = value
    return forms.DataSourceForm(
        request.POST or None,
        definitions=definitions,
        fixed=stores.fixed_options(definitions, run.app_token_auth or common.preset(run).token_auth),
        initial=initial,
        validate_url=common.validate_url(run),
    )


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def step_datasource(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = common.get_run(request, run_id)
    progress = wizard.Progress.of(run)
    if response := common.enter(request, run, progress, "datasource"):
        return response
    page = "onboarding/step_datasource.html"
    if progress.is_done("datasource"):
        done = {"datasource": progress.remote("datasource"), "done": True}
        return common.render_step(request, run, "datasource", page, done, progress=progress)
    form = _datasource_form(request, run)
    banner, status = "", 200
    if request.method == "POST" and form.is_valid():
        # Back-end passwords go to HDP only; the run never stores them (the form asks for them
        # again after a failure: PasswordInput never renders a value).
        secret_options = form.secret_options()
        wanted = engine.DataSourceSettings(
            form.cleaned_data["name"], form.cleaned_data.get("description") or "", form.options()
        )
        try:
            with common.client(request) as client:
                engine.ensure_datasource(run, client, wanted, secret_options=secret_options)
        except engine.StepBusy:
            return common.busy(request, run, "datasource")
        except (errors.HdpError, engine.StepError) as exc:
            banner, status = common.explain_failure(exc, form)
        else:
            # The data source exists: run HDP's check at once (no extra click); the check page
            # shows its result, or why it could not run and a button to run it.
            if problem := _check(request, run):
                messages.error(request, problem)
                return common.advance(request, run, "verify")
            return common.advance(request, run, "verify", "checked=1")
    context = {"form": form, "banner": banner, "fixed": _fixed_in_words(form.fixed)}
    return common.render_step(request, run, "datasource", page, context, status, progress)


def _fixed_in_words(fixed: dict[str, str]) -> list[str]:
    """What the portal sets on the data source by itself, as sentences (never option=value)."""
    said = []
    if stores.AUTH_METHOD_OPTION in fixed:
        said.append(
            _("The data source signs in with OAuth, using the connection saved in the previous step.")
        )
    if stores.CLIENT_CREDENTIALS_OPTION in fixed:
        said.append(_("HDP sends the client secret to the provider the same way the portal did."))
    return said


def _check(request: HtmxRequest, run: Run) -> str:
    """Ask HDP to test the data source (rate-limited per person); "" when it ran (passed or not),
    else why it could not run, in plain words."""
    if not ratelimit.hit("ds_test", common.user(request).username, settings.RATELIMIT_TEST_PER_MINUTE):
        return _("You have run many checks in the last minute. Wait a minute, then try again.")
    try:
        with common.client(request) as client:
            engine.verify(run, client)
    except engine.StepBusy:
        return _("The portal is already checking this setup. Wait a moment, then reload this page.")
    except (errors.HdpError, engine.StepError) as exc:
        return common.explain_failure(exc)[0]
    return ""


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def step_verify(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = common.get_run(request, run_id)
    progress = wizard.Progress.of(run)
    if response := common.enter(request, run, progress, "verify"):
        return response
    banner, status = "", 200
    if request.method == "POST":
        if not ratelimit.hit("ds_test", common.user(request).username, settings.RATELIMIT_TEST_PER_MINUTE):
            banner, status = (
                _("You have run many checks in the last minute. Wait a minute, then try again."),
                429,
            )
        else:
            try:
                with common.client(request) as client:
                    engine.verify(run, client)
            except engine.StepBusy:
                return common.busy(request, run, "verify")
            except (errors.HdpError, engine.StepError) as exc:
                banner, status = common.explain_failure(exc)
        run.refresh_from_db()
        progress = wizard.Progress.of(run)
    just_checked = request.method == "POST" or request.GET.get("checked") == "1"
    complete = run.status == Run.Status.COMPLETED
    context = {
        "banner": banner,
        "objects": common.objects(list(progress.objects.values())),
        "datasource": progress.remote("datasource"),
        # The wizard's test result is shown when it just ran; later, a completed setup's status is
        # on its own page (connections:setup), never a stale "Working" here.
        "show_outcome": bool(run.verified_at) and (just_checked or not complete),
        "complete": complete,
    }
    if complete:
        context["title"] = _("Setup complete")
        context["check_interval"] = every(settings.HEALTH_CHECK_INTERVAL)  # the background checks
    response = common.render_step(
        request, run, "verify", "onboarding/step_verify.html", context, status, progress
    )
    if run.status == Run.Status.COMPLETED and run.app_authorize_uri:
        # The Reconnect form's POST answers 303 to the provider: allowed as on the Connect step.
        csp.allow_form_action(response, flows.origin(run.app_authorize_uri))
    return response
