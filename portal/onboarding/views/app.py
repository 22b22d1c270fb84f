"""Step b: the OAuth application (reuse one HDP has, register a new one, or edit the one registered)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from portal.audit.models import AuditEntry
from portal.hdp import errors
from portal.hdp.schemas import OAuthAppSummary
from portal.lib.events import fingerprint, security_event
from portal.lib.htmx import HtmxRequest
from portal.oauth import flows, handoff, presets
from portal.onboarding import engine, forms, stores, wizard
from portal.onboarding.models import RemoteObject, Run
from portal.onboarding.views import common

HDP_APP_FIELDS = {"name": "name", "clientId": "client_id", "authorizeURI": "authorize_uri", "tokenURI": "token_uri",
                  "scope": "scope", "description": "description"}  # fmt: skip
# Run field -> form field, for the settings an edit may change (the name never changes).
APP_EDIT_FIELDS = {"app_client_id": "client_id", "app_authorize_uri": "authorize_uri", "app_token_uri": "token_uri",
                   "app_scope": "scope", "app_extra_params": "extra_params", "app_description": "description",
                   "app_token_auth": "token_auth"}  # fmt: skip


def _unused(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... if HDP already has an application called that."""
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def _app_initial(run: Run, preset: presets.Preset, taken: set[str]) -> dict[str, Any]:
    suggested = _unused(forms.suggest_name(run.tenant_name, run.datastore_name, suffix="app"), taken)
    return {
        "name": run.app_name if run.app_mode == Run.AppMode.CREATE and run.app_name else suggested,
        "client_id": run.app_client_id or preset.client_id,
        "authorize_uri": run.app_authorize_uri or preset.authorize_uri,
        "token_uri": run.app_token_uri or preset.token_uri,
        "scope": run.app_scope or preset.scope,
        "extra_params": "\n".join(
            f"{k}={v}" for k, v in (run.app_extra_params or preset.extra_params).items()
        ),
        "description": run.app_description,
        "token_auth": run.app_token_auth or preset.token_auth,
        "signin_rule": run.signin_rule,
        "signin_rule_days": run.signin_rule_days,
    }


def _keep_lifetime(run: Run, form: forms.AppCreateForm | forms.AppReuseForm, preset: presets.Preset) -> bool:
    """Keep the sign-in lifetime rule the admin chose with the setup (issue 22); True if it changed."""
    rule, days = forms.lifetime.chosen(form, preset)
    if (rule, days) == (run.signin_rule, run.signin_rule_days):
        return False
    run.signin_rule, run.signin_rule_days = rule, days
    run.save(update_fields=["signin_rule", "signin_rule_days", "updated_at"])
    return True


def _reuse_form(data: Any, run: Run, preset: presets.Preset, listed: _Listed) -> forms.AppReuseForm:
    return forms.AppReuseForm(
        data,
        apps=[(a.id, a.name) for a in listed.apps],
        preset=preset,
        rule=run.signin_rule,
        days=run.signin_rule_days,
    )


def _settings(run: Run, preset: presets.Preset, form: forms.AppCreateForm) -> engine.AppSettings:
    """The form's application settings; an edit form keeps the run's name (it never changes) and,
    for presets (whose form has no extra parameters), the run's extra parameters."""
    data = form.cleaned_data
    editing = isinstance(form, forms.AppEditForm)
    extra = data.get("extra_params") or dict(preset.extra_params)
    if editing and "extra_params" not in form.fields:  # custom providers only; presets fix them
        extra = dict(run.app_extra_params or {})
    return engine.AppSettings(
        name=run.app_name if editing else data["name"],
        client_id=data["client_id"].strip(),
        authorize_uri=data["authorize_uri"],
        token_uri=data["token_uri"],
        scope=" ".join((data.get("scope") or "").split()),
        extra_params=extra,
        description=data.get("description") or "",
        # Custom providers only (presets state their method); "" = the preset's.
        token_auth=data.get("token_auth") or "",
    )


def _uri_refused_event(request: HtmxRequest, run: Run, form: forms.AppCreateForm) -> None:
    refused = sorted({"authorize_uri", "token_uri"} & set(form.errors))
    if refused:  # a blocked provider address is a security event (no values logged)
        security_event(
            "provider_uri_refused", request, run=fingerprint(str(run.pk)), fields=",".join(refused)
        )


# --- a new application, or one HDP already has ------------------------------------------------------
@dataclass(frozen=True)
class _Listed:
    """HDP's applications for the run's store (to reuse) and every name taken in the tenant; or,
    when HDP cannot be asked, the banner and status to show instead."""

    apps: list[OAuthAppSummary]
    taken: set[str]
    banner: str = ""
    status: int = 200


def _listed_apps(request: HtmxRequest, run: Run) -> _Listed:
    try:
        with common.client(request) as client:
            tenant_apps = client.list_oauth_apps(tenant_id=run.tenant_id)
    except errors.HdpError as exc:
        return _Listed([], set(), *common.problem(exc))
    apps = [a for a in tenant_apps if a.data_store == run.datastore_id]
    return _Listed(apps, {a.name.casefold() for a in tenant_apps})


def _reused(chosen: OAuthAppSummary, preset: presets.Preset) -> engine.ReusedApp:
    return engine.ReusedApp(
        app_id=chosen.id,
        name=chosen.name,
        authorize_uri=chosen.authorize_uri or "",
        token_uri=chosen.token_uri or "",
        scope=chosen.scope or "",
        extra_params=dict(preset.extra_params),
    )


@sensitive_post_parameters("client_secret")
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def step_app(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """Step b. One URL (the forms post here, with or without JavaScript); each submitted ``action``
    has its own handler: ``create`` and ``reuse`` before the application exists, ``edit`` after."""
    run = common.get_run(request, run_id)
    progress = wizard.Progress.of(run)
    if response := common.enter(request, run, progress, "app"):
        return response
    preset = common.preset(run)
    action = request.POST.get("action") if request.method == "POST" else None
    if progress.is_done("app"):
        if action == "edit":
            return _post_edit(request, run, preset, progress)
        return _app_done(request, run, preset, progress, action=action)
    if action == "create":
        return _post_create(request, run, preset, progress)
    if action == "reuse":
        return _post_reuse(request, run, preset, progress)
    listed = _listed_apps(request, run)
    return _choose_page(request, run, preset, progress, listed, action=action)


def _create_form(
    request: HtmxRequest, run: Run, preset: presets.Preset, taken: set[str], *, bound: bool
) -> forms.AppCreateForm:
    return forms.AppCreateForm(
        request.POST if bound else None,
        preset=preset,
        initial=_app_initial(run, preset, taken),
        validate_url=common.validate_url(run),
    )


def _choose_page(
    request: HtmxRequest,
    run: Run,
    preset: presets.Preset,
    progress: wizard.Progress,
    listed: _Listed,
    *,
    action: str | None,
    reuse_form: forms.AppReuseForm | None = None,
    create_form: forms.AppCreateForm | None = None,
    banner: str = "",
    status: int = 200,
) -> HttpResponse:
    """Step b before the application exists: reuse one of HDP's, or register a new one."""
    if not banner:
        banner, status = listed.banner, listed.status
    reuse_form = reuse_form or _reuse_form(None, run, preset, listed)
    create_form = create_form or _create_form(request, run, preset, listed.taken, bound=False)
    context = {
        "apps": listed.apps,
        "reuse_form": reuse_form,
        "create_form": create_form,
        "preset": preset,
        "banner": banner,
        "action": action,
        "retype_secret": action == "create",
        "redirect_uri": common.redirect_uri(str(create_form["name"].value() or "")),
        "sandbox_console": reverse("sandbox_provider:console") if preset.key == "sandbox" else "",
        "hdp_basic_only": not stores.client_auth_settable(list(run.datastore_option_defs or [])),
        # What a preset fills correctly is shown as facts, with its inputs behind "Change".
        "preset_facts": not preset.is_custom and not preset.placeholders,
        "preset_scopes": common.scopes_in_words(preset, str(create_form["scope"].value() or "")),
        "facts_open": bool({"client_id", "authorize_uri", "token_uri", "scope"} & set(create_form.errors)),
    }
    return common.render_step(request, run, "app", "onboarding/step_app.html", context, status, progress)


def _ensure(
    request: HtmxRequest,
    run: Run,
    choice: engine.AppSettings | engine.ReusedApp,
    form: forms.AppCreateForm | None,
) -> HttpResponse | tuple[str, int]:
    """Register or reuse the application: on to step c, "already working on it", or the banner and
    status to show (HDP's field errors go next to the form's fields)."""
    try:
        with common.client(request) as client:
            secret = form.cleaned_data["client_secret"] if form is not None else None
            engine.ensure_app(run, client, choice, client_secret=secret)
    except engine.StepBusy:
        return common.busy(request, run, "app")
    except (errors.HdpError, engine.StepError) as exc:
        return common.explain_failure(exc, form, HDP_APP_FIELDS)
    return common.advance(request, run, "authorize")


def _post_reuse(
    request: HtmxRequest, run: Run, preset: presets.Preset, progress: wizard.Progress
) -> HttpResponse:
    """ "Use this application": one HDP already has for the run's store."""
    listed = _listed_apps(request, run)
    reuse_form = _reuse_form(request.POST, run, preset, listed)
    banner, status = listed.banner, listed.status
    if not banner and reuse_form.is_valid():
        _keep_lifetime(run, reuse_form, preset)
        chosen = next(a for a in listed.apps if a.id == reuse_form.cleaned_data["app_id"])
        answer = _ensure(request, run, _reused(chosen, preset), None)
        if isinstance(answer, HttpResponse):
            return answer
        banner, status = answer
    return _choose_page(
        request,
        run,
        preset,
        progress,
        listed,
        action="reuse",
        reuse_form=reuse_form,
        banner=banner,
        status=status,
    )


def _post_create(
    request: HtmxRequest, run: Run, preset: presets.Preset, progress: wizard.Progress
) -> HttpResponse:
    """ "Register in HDP and continue". Registering needs no list first: HDP refuses a taken name
    itself, and the engine tells its own application apart by the secret it holds (engine.reconcile).
    The list is read only to show this page again."""
    create_form = _create_form(request, run, preset, set(), bound=True)
    banner, status = "", 200
    if create_form.is_valid():
        _keep_lifetime(run, create_form, preset)
        answer = _ensure(request, run, _settings(run, preset, create_form), create_form)
        if isinstance(answer, HttpResponse):
            return answer
        banner, status = answer
    else:
        _uri_refused_event(request, run, create_form)
    listed = _listed_apps(
        request, run
    )  # the page again, after a refused registration: with the reuse choices
    return _choose_page(
        request,
        run,
        preset,
        progress,
        listed,
        action="create",
        create_form=create_form,
        banner=banner,
        status=status,
    )


# --- the registered application: view it, or change it while nothing depends on it ---------------
def _app_edit_refusal(run: Run, progress: wizard.Progress) -> str:
    """Why the registered application cannot be changed on this page ("" when it can)."""
    app = progress.remote("app")
    if app is None or not app.created_by_run or app.outcome != RemoteObject.Outcome.CREATED:
        return _(
            "This setup reuses an application that already existed in HDP, so its settings are not "
            "changed here: other connections may depend on it, and applications of the System tenant "
            "are read-only to tenant administrators."
        )
    if run.status != Run.Status.ACTIVE or progress.profile_in_play:
        return _(
            "The setup's OAuth profile already uses this application, so its settings can no longer "
            "be changed here."
        )
    return ""


def _changed(run: Run, wanted: engine.AppSettings) -> list[str]:
    """The form fields whose value differs from what the run holds."""
    return sorted(form_field for run_field, form_field in APP_EDIT_FIELDS.items()
                  if getattr(run, run_field) != getattr(wanted, run_field.removeprefix("app_")))  # fmt: skip


def _edited(request: HtmxRequest, run: Run, changed: list[str], secret: str) -> None:
    """HDP took the edit: a new sign-in setting means a new consent; audit it and say so."""
    new_consent = any(name != "description" for name in changed)
    if new_consent:  # the held tokens (and any sign-in in progress) belong to the old settings
        run.forget_consent()
        flows.drop_run_flows(run)
        handoff.end_for_run(run, reason="the application was edited", by=common.user(request).username)
    fields = sorted([*changed, "client_secret"]) if secret else changed
    AuditEntry.record(common.user(request).username, "app.updated", run=run, fields=fields)
    messages.success(request, _("The application's settings were saved in HDP."))
    if new_consent:
        messages.info(
            request,
            _("The sign-in settings changed: connect to the provider again so that HDP gets a new consent."),
        )


def _post_edit(
    request: HtmxRequest, run: Run, preset: presets.Preset, progress: wizard.Progress
) -> HttpResponse:
    """ "Save the changes in HDP": the registered application's settings, while nothing depends on it."""
    refusal = _app_edit_refusal(run, progress)
    if refusal:  # reused, or a profile uses it: nothing is sent to HDP
        return _app_done(request, run, preset, progress, action="edit", banner=refusal, status=403)
    edit_form = forms.AppEditForm(
        request.POST,
        preset=preset,
        initial=_app_initial(run, preset, set()),
        validate_url=common.validate_url(run),
    )
    banner, status = "", 200
    if edit_form.is_valid():
        secret = edit_form.cleaned_data.get("client_secret") or ""
        wanted = _settings(run, preset, edit_form)
        rule_changed = _keep_lifetime(run, edit_form, preset)
        if not (changed := _changed(run, wanted)) and not secret:
            if rule_changed:
                messages.success(request, _("The sign-in lifetime was saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return common.advance(request, run, "authorize")
        try:
            with common.client(request) as client:
                engine.update_app(run, client, wanted, client_secret=secret or None)
        except engine.StepBusy:
            return common.busy(request, run, "app")
        except (errors.HdpError, engine.StepError) as exc:
            banner, status = common.explain_failure(exc, edit_form, HDP_APP_FIELDS)
        else:
            _edited(request, run, changed, secret)
            return common.advance(request, run, "authorize")
    else:
        _uri_refused_event(request, run, edit_form)
    return _app_done(
        request, run, preset, progress, action="edit", edit_form=edit_form, banner=banner, status=status
    )


def _app_done(
    request: HtmxRequest,
    run: Run,
    preset: presets.Preset,
    progress: wizard.Progress,
    *,
    action: str | None,
    edit_form: forms.AppEditForm | None = None,
    banner: str = "",
    status: int = 200,
) -> HttpResponse:
    """The registered application; while nothing depends on it yet, the form to change it."""
    app = progress.remote("app")
    refusal = _app_edit_refusal(run, progress)
    if not refusal and edit_form is None:
        edit_form = forms.AppEditForm(
            None,
            preset=preset,
            initial=_app_initial(run, preset, set()),
            validate_url=common.validate_url(run),
        )
    context = {
        "done": True,
        "app": app,
        "edit_form": None if refusal else edit_form,
        "edit_refusal": refusal,
        "editing": action == "edit" or request.GET.get("edit") == "1",
        "banner": banner,
        "preset": preset,
        "hdp_basic_only": not stores.client_auth_settable(list(run.datastore_option_defs or [])),
        "token_auth_label": presets.token_auth_label(run.app_token_auth or preset.token_auth),
        "app_scopes": common.scopes_in_words(preset, run.app_scope),
    }
    return common.render_step(request, run, "app", "onboarding/step_app.html", context, status, progress)
