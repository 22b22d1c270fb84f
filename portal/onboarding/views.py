"""The onboarding wizard: one short function-based view per step (docs/architecture.md).

Every run lookup goes through :func:`_get_run`: the run must belong to the signed-in person *and*
its tenant must be one they may use, else 404 before any HDP call (SECURITY.md item 20). Forms keep
``action``/``method`` so everything works without JavaScript; under htmx the step body is swapped
into ``#wizard`` (``template.html#wizard-body``) and errors come back as 200 (htmx 2 does not swap
4xx/5xx). POSTs that call HDP run under ``steps.lease`` (a second click gets "already working on it").
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.hdp import client as hdp
from portal.hdp import errors
from portal.hdp.schemas import DataStore, OAuthAppSummary
from portal.lib.events import fingerprint, security_event
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther, goto
from portal.lib.logging import register_secret
from portal.oauth import flows, presets, uris
from portal.onboarding import forms, steps, wizard
from portal.onboarding.models import RemoteObject, Run
from portal.ratelimit import limiter as ratelimit

logger = logging.getLogger(__name__)

# Data stores the portal offers: OAuth-capable per HDP's docs (docs/hdp-api.md §5). The store *list*
# carries no options, so the list is filtered by name here (and group stores are hidden); the
# chosen store's own definitions are then checked for an ``OAuthProfileId`` option at step a, so
# a store HDP cannot link to a profile is refused with a clear message.
KNOWN_OAUTH_STORES = frozenset(
    name.casefold()
    for name in (
        "Salesforce",
        "Google Analytics",
        "Google BigQuery",
        "Microsoft Dynamics 365",
        "Snowflake",
        "Autonomous REST Connector",
    )
)
AUTH_METHOD_OPTION = "AuthenticationMethod"


# --- helpers ---------------------------------------------------------------------------------------
def _user(request: HtmxRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # LoginRequiredMiddleware guarantees a signed-in User
        raise Http404
    return user


def _get_run(request: HtmxRequest, run_id: UUID) -> Run:
    """The person's own run in a tenant they may use, else 404 (no HDP call is made before this)."""
    user = _user(request)
    run = Run.objects.filter(pk=run_id, owner=user).first()
    if run is None or not user.may_use_tenant(run.tenant_id):
        # Someone else's run, or a tenant this person no longer administers (SECURITY.md items 19, 20).
        exists = run is not None or Run.objects.filter(pk=run_id).exists()
        security_event("run_access_denied", request, run=fingerprint(str(run_id)), exists=exists)
        raise Http404
    return run


def _client(request: HtmxRequest) -> hdp.HdpClient:
    return hdp.HdpClient.for_user(_user(request))


def _template(request: HtmxRequest, name: str) -> str:
    return f"{name}#wizard-body" if request.htmx else name


def _render(
    request: HtmxRequest,
    run: Run | None,
    step: str,
    name: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    ctx = {
        "run": run,
        "step": step,
        "title": wizard.TITLES[step],
        "stepper": wizard.stepper(run, step),
        **context,
    }
    if request.htmx and status >= 400:
        status = 200  # htmx 2 swaps only 2xx: the banner or field errors must still show
    return render(request, _template(request, name), ctx, status=status)


def _problem(exc: errors.HdpError) -> tuple[str, int]:
    """Plain words for the banner, and the status for a non-htmx page."""
    return exc.explanation, 503 if isinstance(exc, errors.HdpUnavailable) else 200


def _explain_failure(
    exc: errors.HdpError | steps.StepError,
    form: Any = None,
    field_map: dict[str, str] | None = None,
) -> tuple[str, int]:
    """Put a failed step's explanation where the admin looks: next to the field it concerns
    (HDP's field errors mapped through ``field_map``; a taken name), else in the step's banner.

    Returns ``(banner, status)``; the banner is empty when every error found a field.
    """
    if isinstance(exc, errors.HdpRejected) and form is not None:
        fields = field_map or {"name": "name"}
        placed = [f for f in exc.field_errors if f in fields]
        for hdp_field in placed:
            form.add_error(fields[hdp_field], exc.field_errors[hdp_field])
        return ("" if placed else exc.explanation), 200
    if isinstance(exc, errors.HdpError):
        return _problem(exc)
    if isinstance(exc, steps.NameTaken) and form is not None:
        form.add_error("name", str(exc))
        return "", 200
    if isinstance(exc, steps.SecretRequired) and form is not None and "client_secret" in form.fields:
        form.add_error("client_secret", str(exc))
        return "", 200
    return str(exc), 200


def _busy(request: HtmxRequest, run: Run, step: str) -> HttpResponse:
    return _render(request, run, step, "onboarding/busy.html", {"retry_url": wizard.step_url(run, step)}, 202)


def _enter(request: HtmxRequest, run: Run, step: str) -> HttpResponse | None:
    """Cancelled runs and steps whose inputs do not exist yet send the person where they belong.

    A POST while another request holds the run's lease is answered "already working on it"
    before any HDP call, even a read (the lease itself stays the real guard).
    """
    if request.method == "POST" and run.busy_until is not None and run.busy_until > timezone.now():
        return _busy(request, run, step)
    if run.status == Run.Status.CANCELLED:
        messages.info(request, _("That setup was cancelled. Start a new one from this page."))
        return _redirect(request, reverse("onboarding:runs"))
    if not wizard.can_enter(run, step):
        return _redirect(request, wizard.step_url(run, wizard.current(run)))
    return None


def _redirect(request: HtmxRequest, url: str) -> HttpResponse:
    """A whole-page move: HX-Redirect under htmx (never a full page nested in #wizard), else 302."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _advance(request: HtmxRequest, run: Run, step: str) -> HttpResponse:
    """After a successful POST: 303 to the next step, or (htmx) its body in place + HX-Push-Url."""
    url = wizard.step_url(run, step)
    if not request.htmx:
        return HttpResponseSeeOther(url)
    if step == "authorize":
        # A CSP belongs to the document: the authorize page must be a fresh page load so that its
        # form-action allows the provider's origin (the Connect POST answers 303 to the provider).
        return goto(request, url)
    request.method = "GET"
    request.POST = QueryDict()
    response = STEP_VIEWS[step](request, run.pk)
    response["HX-Push-Url"] = url
    return response


def _validate_url(run: Run) -> Callable[[str], str]:
    return lambda field: reverse("onboarding:validate", kwargs={"run_id": run.pk, "field": field})


def _redirect_uri(app_name: str) -> str:
    """The exact callback address to register at the provider ("" while the name is invalid)."""
    try:
        return flows.redirect_uri_for(app_name)
    except ValueError:
        return ""


def _preset(run: Run) -> presets.Preset:
    preset = presets.get_preset(run.preset)
    if preset is None:  # e.g. the sandbox preset after the sandbox was switched off
        preset = presets.PRESETS["custom"]
    return preset


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _fixed_options(definitions: list[dict[str, Any]]) -> dict[str, str]:
    """Options the portal sets itself: ``AuthenticationMethod`` = the store's OAuth choice.

    Stores that support several methods (Salesforce, Snowflake, REST...) must be told to use the
    OAuth profile; the choice whose id names the authorization-code grant wins, else the first
    OAuth one. Google Analytics (OAuth only) has no such option.
    """
    for definition in definitions:
        if str(definition.get("id")) != AUTH_METHOD_OPTION:
            continue
        ids = [str(c.get("id")) for c in definition.get("choices") or []]
        for wanted in ("authorizationcode", "oauth"):
            match = next((i for i in ids if wanted in i.lower()), None)
            if match:
                return {AUTH_METHOD_OPTION: match}
    return {}


def _store_choices(stores: list[DataStore]) -> list[tuple[str, list[tuple[str, str]]]]:
    choices = []
    for store in sorted(stores, key=lambda s: s.name.casefold()):
        if store.is_group or not store.authorized or store.name.casefold() not in KNOWN_OAUTH_STORES:
            continue
        options = [(f"{store.id}:{p.key}", str(p.label)) for p in presets.presets_for_datastore(store.name)]
        choices.append((store.name, options))
    return choices


def _objects(run: Run) -> list[RemoteObject]:
    order = {RemoteObject.Kind.APP: 0, RemoteObject.Kind.PROFILE: 1, RemoteObject.Kind.DATASOURCE: 2}
    return sorted(run.objects_made.all(), key=lambda o: order.get(RemoteObject.Kind(o.kind), 9))


# --- My setups -------------------------------------------------------------------------------------
@require_GET
@vary_on_headers("HX-Request")
def runs(request: HtmxRequest) -> HttpResponse:
    user = _user(request)
    tenant_ids = [int(str(t["id"])) for t in user.onboarding_tenants()]
    rows = [
        {"run": run, "step": wizard.current(run), "step_title": wizard.SHORT[wizard.current(run)]}
        for run in Run.objects.filter(owner=user, tenant_id__in=tenant_ids)
    ]
    return render(
        request,
        "onboarding/runs.html",
        {"rows": rows, "missing": user.missing_onboarding_permissions()},
    )


# --- step a: tenant, data store, provider ------------------------------------------------------------
def _setup_id(request: HtmxRequest) -> UUID | None:
    try:
        return UUID(request.POST.get("setup_id", ""))
    except ValueError:
        return None


def _resubmitted(request: HtmxRequest, run: Run) -> HttpResponse:
    """The same step-a page posted again: continue the run it created (only the owner's, else 404)."""
    user = _user(request)
    if run.owner_id != user.pk or not user.may_use_tenant(run.tenant_id):
        raise Http404
    return _advance(request, run, wizard.current(run))


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def new(request: HtmxRequest) -> HttpResponse:
    user = _user(request)
    missing = user.missing_onboarding_permissions()
    if missing:
        return render(request, "onboarding/no_permission.html", {"missing": missing}, status=403)
    setup_id = _setup_id(request)
    if setup_id is not None and (earlier := Run.objects.filter(pk=setup_id).first()) is not None:
        return _resubmitted(request, earlier)  # before any HDP call
    tenants = user.onboarding_tenants()
    banner, status = "", 200
    stores: list[DataStore] = []
    try:
        with _client(request) as client:
            stores = client.list_datastores()
    except errors.HdpError as exc:
        banner, status = _problem(exc)
    form = forms.StoreForm(request.POST or None, tenants=tenants, choices=_store_choices(stores))
    if request.method == "POST" and not banner and form.is_valid():
        tenant_id = form.cleaned_data.get("tenant") or int(str(tenants[0]["id"]))
        if not user.may_use_tenant(tenant_id):  # the choice list already limits it; belt and braces
            raise Http404
        store_id_text, _sep, preset_key = str(form.cleaned_data["store_preset"]).partition(":")
        store = next(s for s in stores if s.id == int(store_id_text))
        preset = presets.get_preset(preset_key)
        try:
            with _client(request) as client:
                detail = client.get_datastore(store.id)
        except errors.HdpError as exc:
            banner, status = _problem(exc)
        else:
            if preset is None or detail.option(forms.OAUTH_PROFILE_OPTION) is None:
                form.add_error(
                    "store_preset",
                    _("%(store)s can't use an OAuth profile on this HDP server; choose another data store.")
                    % {"store": store.name},
                )
            else:
                tenant_name = next(str(t["name"]) for t in tenants if int(str(t["id"])) == tenant_id)
                try:
                    with transaction.atomic():  # no HDP call inside
                        run = Run.objects.create(
                            pk=form.cleaned_data.get("setup_id") or uuid.uuid4(),
                            owner=user,
                            tenant_id=tenant_id,
                            tenant_name=tenant_name,
                            datastore_id=store.id,
                            datastore_name=store.name,
                            preset=preset.key,
                            datastore_option_defs=[o.model_dump() for o in detail.options],
                        )
                except IntegrityError:  # the same page submitted twice at once
                    return _resubmitted(request, get_object_or_404(Run, pk=form.cleaned_data["setup_id"]))
                AuditEntry.record(
                    user.username, "run.started", run=run, datastore=store.name, preset=preset.key
                )
                return _advance(request, run, "app")
    return _render(
        request, None, "store", "onboarding/step_store.html", {"form": form, "banner": banner}, status
    )


@require_GET
@vary_on_headers("HX-Request")
def step_store(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = _get_run(request, run_id)
    if response := _enter(request, run, "store"):
        return response
    return _render(
        request, run, "store", "onboarding/step_store.html", {"preset": _preset(run), "done": True}
    )


@require_GET
def resume(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """Check what really exists in HDP (steps.reconcile), then go to the first unfinished step."""
    run = _get_run(request, run_id)
    if run.status == Run.Status.CANCELLED:
        messages.info(request, _("That setup was cancelled. Start a new one from this page."))
        return redirect("onboarding:runs")
    try:
        with _client(request) as client:
            findings = steps.reconcile(run, client)
    except steps.StepBusy:
        return _busy(request, run, wizard.current(run))
    except steps.ReconcileConflict as exc:
        messages.error(request, str(exc))
    except errors.HdpError as exc:
        messages.warning(
            request,
            _("The portal could not check HDP before resuming: %(why)s") % {"why": exc.explanation},
        )
    else:
        for finding in findings:
            messages.info(request, finding)
    run.refresh_from_db()
    return redirect(wizard.step_url(run, wizard.current(run)))


# --- step b: OAuth application -----------------------------------------------------------------------
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
    }


HDP_APP_FIELDS = {"name": "name", "clientId": "client_id", "authorizeURI": "authorize_uri", "tokenURI": "token_uri",
                  "scope": "scope", "description": "description"}  # fmt: skip


Outcome = tuple[HttpResponse | None, str, int]  # (next page, or the banner + status to re-render)


def _reuse_app(request: HtmxRequest, run: Run, preset: presets.Preset, chosen: OAuthAppSummary) -> Outcome:
    try:
        with steps.lease(run) as run, _client(request) as client:
            run.app_mode = Run.AppMode.REUSE
            run.reuse_app_id = chosen.id
            run.app_name = chosen.name
            run.app_authorize_uri = chosen.authorize_uri or ""
            run.app_token_uri = chosen.token_uri or ""
            run.app_scope = chosen.scope or ""
            run.app_extra_params = dict(preset.extra_params)
            run.save()
            steps.ensure_app(run, client, client_secret=None)
    except steps.StepBusy:
        return _busy(request, run, "app"), "", 202
    except errors.HdpError as exc:
        return None, *_problem(exc)
    except steps.StepError as exc:
        return None, str(exc), 200
    return _advance(request, run, "authorize"), "", 200


def _create_app(request: HtmxRequest, run: Run, preset: presets.Preset, form: forms.AppCreateForm) -> Outcome:
    data = form.cleaned_data
    secret = data["client_secret"]
    register_secret(secret)
    try:
        with steps.lease(run) as run, _client(request) as client:
            run.app_mode = Run.AppMode.CREATE
            run.reuse_app_id = None
            run.app_name = data["name"]
            run.app_description = data.get("description") or ""
            run.app_client_id = data["client_id"].strip()
            run.app_authorize_uri = data["authorize_uri"]
            run.app_token_uri = data["token_uri"]
            run.app_scope = " ".join((data.get("scope") or "").split())
            run.app_extra_params = data.get("extra_params") or dict(preset.extra_params)
            run.save()
            steps.ensure_app(run, client, client_secret=secret)
    except steps.StepBusy:
        return _busy(request, run, "app"), "", 202
    except (errors.HdpError, steps.StepError) as exc:
        return None, *_explain_failure(exc, form, HDP_APP_FIELDS)
    return _advance(request, run, "authorize"), "", 200


def _uri_refused_event(request: HtmxRequest, run: Run, form: forms.AppCreateForm) -> None:
    refused = sorted({"authorize_uri", "token_uri"} & set(form.errors))
    if refused:  # a blocked provider address is a security event (no values logged)
        security_event(
            "provider_uri_refused", request, run=fingerprint(str(run.pk)), fields=",".join(refused)
        )


# Run field -> form field, for the settings an edit may change (the name never changes).
APP_EDIT_FIELDS = {"app_client_id": "client_id", "app_authorize_uri": "authorize_uri", "app_token_uri": "token_uri",
                   "app_scope": "scope", "app_extra_params": "extra_params", "app_description": "description"}  # fmt: skip


def _app_edit_refusal(run: Run, app: RemoteObject | None) -> str:
    """Why the registered application cannot be changed on this page ("" when it can)."""
    if app is None or not app.created_by_run or app.outcome != RemoteObject.Outcome.CREATED:
        return _(
            "This setup reuses an application that already existed in HDP, so its settings are not "
            "changed here: other connections may depend on it, and applications of the System tenant "
            "are read-only to tenant administrators."
        )
    if run.status != Run.Status.ACTIVE or steps.profile_in_play(run):
        return _(
            "The setup's OAuth profile already uses this application, so its settings can no longer "
            "be changed here."
        )
    return ""


def _edited(run: Run, preset: presets.Preset, form: forms.AppEditForm) -> dict[str, Any]:
    """The run's app fields as the edit form wants them."""
    data = form.cleaned_data
    values: dict[str, Any] = {
        "app_client_id": data["client_id"].strip(),
        "app_authorize_uri": data["authorize_uri"],
        "app_token_uri": data["token_uri"],
        "app_scope": " ".join((data.get("scope") or "").split()),
        "app_description": data.get("description") or "",
    }
    if "extra_params" in form.fields:  # custom providers only; presets fix them
        values["app_extra_params"] = data.get("extra_params") or dict(preset.extra_params)
    return values


def _forget_consent(run: Run) -> None:
    """The held tokens (and any sign-in in progress) belong to the old settings: consent again."""
    run.forget_consent()
    flows.drop_run_flows(run)


def _edit_app(request: HtmxRequest, run: Run, preset: presets.Preset, form: forms.AppEditForm) -> Outcome:
    """Save the edited settings on the run, then PUT them to the app (``steps.update_app``).

    If HDP does not take them (or the engine refuses: a new address without the secret), the run
    gets its previous settings back: the consent step uses the run's addresses, and they must stay
    the ones HDP holds with the secret.
    """
    secret = form.cleaned_data.get("client_secret") or ""
    if secret:
        register_secret(secret)
    values = _edited(run, preset, form)
    changed = sorted(APP_EDIT_FIELDS[f] for f, v in values.items() if getattr(run, f) != v)
    if not changed and not secret:
        messages.info(request, _("Nothing was changed."))
        return _advance(request, run, "authorize"), "", 200
    try:
        with steps.lease(run) as run, _client(request) as client:
            before = {f: getattr(run, f) for f in APP_EDIT_FIELDS}
            for field, value in values.items():
                setattr(run, field, value)
            run.save(update_fields=[*APP_EDIT_FIELDS, "updated_at"])
            try:
                steps.update_app(run, client, client_secret=secret or None)
            except BaseException:
                for field, value in before.items():
                    setattr(run, field, value)
                run.save(update_fields=[*APP_EDIT_FIELDS, "updated_at"])
                raise
            new_consent = any(name != "description" for name in changed)
            if new_consent:
                _forget_consent(run)
    except steps.StepBusy:
        return _busy(request, run, "app"), "", 202
    except (errors.HdpError, steps.StepError) as exc:
        return None, *_explain_failure(exc, form, HDP_APP_FIELDS)
    fields = sorted([*changed, "client_secret"]) if secret else changed
    AuditEntry.record(_user(request).username, "app.updated", run=run, fields=fields)
    messages.success(request, _("The application's settings were saved in HDP."))
    if new_consent:
        messages.info(
            request,
            _("The sign-in settings changed: connect to the provider again so that HDP gets a new consent."),
        )
    return _advance(request, run, "authorize"), "", 200


def _app_done(request: HtmxRequest, run: Run, preset: presets.Preset) -> HttpResponse:
    """The registered application; while nothing depends on it yet, the form to change it."""
    app = run.remote("app")
    refusal = _app_edit_refusal(run, app)
    action = request.POST.get("action") if request.method == "POST" else None
    banner, status = "", 200
    edit_form = None
    if not refusal:
        edit_form = forms.AppEditForm(
            request.POST if action == "edit" else None,
            preset=preset,
            initial=_app_initial(run, preset, set()),
            validate_url=_validate_url(run),
        )
    if action == "edit":
        if edit_form is None:  # reused, or a profile uses it: nothing is sent to HDP
            banner, status = refusal, 403
        elif edit_form.is_valid():
            response, banner, status = _edit_app(request, run, preset, edit_form)
            if response is not None:
                return response
        else:
            _uri_refused_event(request, run, edit_form)
    context = {
        "done": True,
        "app": app,
        "edit_form": edit_form,
        "edit_refusal": refusal,
        "editing": action == "edit",
        "banner": banner,
    }
    return _render(request, run, "app", "onboarding/step_app.html", context, status)


@sensitive_post_parameters("client_secret")
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def step_app(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = _get_run(request, run_id)
    if response := _enter(request, run, "app"):
        return response
    preset = _preset(run)
    if wizard.is_done(run, "app"):
        return _app_done(request, run, preset)
    banner, status = "", 200
    apps: list[OAuthAppSummary] = []
    taken: set[str] = set()
    try:
        with _client(request) as client:
            tenant_apps = client.list_oauth_apps(tenant_id=run.tenant_id)
    except errors.HdpError as exc:
        banner, status = _problem(exc)
    else:
        apps = [a for a in tenant_apps if a.data_store == run.datastore_id]
        taken = {a.name.casefold() for a in tenant_apps}
    action = request.POST.get("action") if request.method == "POST" else None
    reuse_form = forms.AppReuseForm(
        request.POST if action == "reuse" else None, apps=[(a.id, a.name) for a in apps]
    )
    create_form = forms.AppCreateForm(
        request.POST if action == "create" else None,
        preset=preset,
        initial=_app_initial(run, preset, taken),
        validate_url=_validate_url(run),
    )
    if action == "reuse" and not banner and reuse_form.is_valid():
        chosen = next(a for a in apps if a.id == reuse_form.cleaned_data["app_id"])
        response, banner, status = _reuse_app(request, run, preset, chosen)
        if response is not None:
            return response
    elif action == "create" and create_form.is_valid():
        response, banner, status = _create_app(request, run, preset, create_form)
        if response is not None:
            return response
    elif action == "create":
        _uri_refused_event(request, run, create_form)
    context = {
        "apps": apps,
        "reuse_form": reuse_form,
        "create_form": create_form,
        "preset": preset,
        "banner": banner,
        "action": action,
        "retype_secret": action == "create",
        "redirect_uri": _redirect_uri(str(create_form["name"].value() or "")),
        "sandbox_console": reverse("sandbox_provider:console") if preset.key == "sandbox" else "",
    }
    return _render(request, run, "app", "onboarding/step_app.html", context, status)


# --- step c: consent at the provider -------------------------------------------------------------------
@require_GET
@vary_on_headers("HX-Request")
def step_authorize(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = _get_run(request, run_id)
    if response := _enter(request, run, "authorize"):
        return response
    preset = _preset(run)
    origin = _origin(run.app_authorize_uri)
    context = {
        "preset": preset,
        "provider": _provider_name(run, preset),
        "provider_host": urlsplit(run.app_authorize_uri).hostname or "",
        "scopes": run.app_scope.split(),
        "redirect_uri": _redirect_uri(run.app_name),
        "done": wizard.is_done(run, "authorize"),
        "profile_done": wizard.is_done(run, "profile"),
        # Before the profile exists a new consent simply replaces the held tokens; afterwards a
        # reconnect must update that same profile, which is support's repair flow, not this page.
        "can_reconnect": run.status == Run.Status.ACTIVE and not wizard.is_done(run, "profile"),
        "retry": any(m.level >= messages.WARNING for m in messages.get_messages(request)),
    }
    response = _render(request, run, "authorize", "onboarding/step_authorize.html", context)
    if origin:
        # Chromium applies form-action to the redirect that follows a form POST: the "Connect"
        # POST answers 303 to this origin, so it must be allowed here (django-csp 4: per response).
        response._csp_update = {"form-action": [origin]}  # type: ignore[attr-defined]
    return response


def _provider_name(run: Run, preset: presets.Preset) -> str:
    """Plain words for the provider: "Google", "Salesforce"...; the host name for custom ones."""
    if preset.is_custom:
        return urlsplit(run.app_authorize_uri).hostname or _("the provider")
    return re.sub(r"\s*\(.*\)$", "", str(preset.label))


def _back_to_authorize(request: HtmxRequest, run: Run, message: str) -> HttpResponse:
    messages.error(request, message)
    return HttpResponseSeeOther(wizard.step_url(run, "authorize"))


@require_POST
def authorize_start(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """A plain form POST: start the flow and 303 the whole page to the provider (no popup)."""
    run = _get_run(request, run_id)
    if response := _enter(request, run, "authorize"):
        return response
    if run.status != Run.Status.ACTIVE:
        messages.info(request, _("This setup is complete; its connection is in HDP now."))
        return HttpResponseSeeOther(wizard.step_url(run, "verify"))
    preset = _preset(run)
    client_id, authorize_uri, token_uri, scope = (
        run.app_client_id,
        run.app_authorize_uri,
        run.app_token_uri,
        run.app_scope,
    )
    if run.app_mode == Run.AppMode.REUSE:
        app_id = run.reuse_app_id or run.remote_id("app")
        if app_id is None:
            return _back_to_authorize(request, run, _("Pick the OAuth application again."))
        try:
            with _client(request) as client:
                app = client.get_oauth_app(app_id)
        except errors.HdpError as exc:
            return _back_to_authorize(request, run, exc.explanation)
        client_id, authorize_uri, token_uri = (
            app.client_id or "",
            app.authorize_uri or "",
            app.token_uri or "",
        )
        scope = app.scope or ""
        try:
            authorize_uri = uris.validate_provider_uri(
                authorize_uri, allowed_hosts=preset.allowed_hosts, kind="authorize"
            )
            token_uri = uris.validate_provider_uri(
                token_uri, allowed_hosts=preset.allowed_hosts, kind="token"
            )
        except ValidationError as exc:
            return _back_to_authorize(
                request,
                run,
                _("The application %(name)s in HDP has an address the portal won't use: %(why)s")
                % {"name": run.app_name, "why": " ".join(exc.messages)},
            )
    app_remote_id = run.remote_id("app")
    if app_remote_id is None:
        return _back_to_authorize(
            request, run, _("The OAuth application is not recorded yet; go back one step.")
        )
    try:
        url = flows.start(
            request,
            run,
            client_id=client_id,
            authorize_uri=authorize_uri,
            token_uri=token_uri,
            scope=scope,
            extra_params=dict(run.app_extra_params or preset.extra_params),
            token_auth=preset.token_auth,
            expected_issuer=preset.expected_issuer,
            app_id=app_remote_id,
            app_name=run.app_name,
        )
    except flows.RateLimited:
        response = _render(
            request,
            run,
            "authorize",
            "onboarding/rate_limited.html",
            {"retry_url": wizard.step_url(run, "authorize")},
            429,
        )
        return response
    except ValidationError as exc:
        return _back_to_authorize(request, run, " ".join(exc.messages))
    return HttpResponseSeeOther(url)


# --- step d: OAuth profile -------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def step_profile(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = _get_run(request, run_id)
    if response := _enter(request, run, "profile"):
        return response
    context: dict[str, Any] = {"profile": run.remote("profile")}
    if wizard.is_done(run, "profile"):
        return _render(request, run, "profile", "onboarding/step_profile.html", {**context, "done": True})
    initial = {
        "name": run.profile_name or forms.suggest_name(run.tenant_name, run.datastore_name, suffix="profile"),
        "description": run.profile_description,
    }
    form = forms.ProfileForm(request.POST or None, initial=initial, validate_url=_validate_url(run))
    banner, status = "", 200
    if request.method == "POST" and form.is_valid():
        try:
            with steps.lease(run) as run, _client(request) as client:
                run.profile_name = form.cleaned_data["name"]
                run.profile_description = form.cleaned_data.get("description") or ""
                run.save(update_fields=["profile_name", "profile_description", "updated_at"])
                steps.ensure_profile(run, client)
        except steps.StepBusy:
            return _busy(request, run, "profile")
        except (errors.HdpError, steps.StepError) as exc:
            banner, status = _explain_failure(exc, form)
            context["reauthorize"] = isinstance(exc, steps.MissingTokens)
        else:
            return _advance(request, run, "datasource")
    context.update({"form": form, "banner": banner})
    return _render(request, run, "profile", "onboarding/step_profile.html", context, status)


# --- step e: data source -----------------------------------------------------------------------------------
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def step_datasource(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = _get_run(request, run_id)
    if response := _enter(request, run, "datasource"):
        return response
    context: dict[str, Any] = {"datasource": run.remote("datasource")}
    if wizard.is_done(run, "datasource"):
        return _render(
            request, run, "datasource", "onboarding/step_datasource.html", {**context, "done": True}
        )
    definitions = list(run.datastore_option_defs or [])
    initial: dict[str, Any] = {
        "name": run.ds_name or forms.suggest_name(run.tenant_name, run.datastore_name, suffix=""),
        "description": run.ds_description,
    }
    for key, value in (run.ds_options or {}).items():
        initial[f"opt_{key}"] = value
    form = forms.DataSourceForm(
        request.POST or None,
        definitions=definitions,
        fixed=_fixed_options(definitions),
        initial=initial,
        validate_url=_validate_url(run),
    )
    banner, status = "", 200
    if request.method == "POST" and form.is_valid():
        try:
            with steps.lease(run) as run, _client(request) as client:
                steps.claim_ds_name(run, form.cleaned_data["name"])
                run.ds_description = form.cleaned_data.get("description") or ""
                secret_options = form.secret_options()
                # Back-end passwords go to HDP only; the run never stores them (the form asks for
                # them again after a failure: PasswordInput never renders a value).
                run.ds_options = {k: v for k, v in form.options().items() if k not in secret_options}
                run.save(update_fields=["ds_description", "ds_options", "updated_at"])
                steps.ensure_datasource(run, client, secret_options=secret_options)
        except steps.StepBusy:
            return _busy(request, run, "datasource")
        except (errors.HdpError, steps.StepError) as exc:
            banner, status = _explain_failure(exc, form)
        else:
            return _advance(request, run, "verify")
    context.update({"form": form, "banner": banner, "fixed": form.fixed})
    return _render(request, run, "datasource", "onboarding/step_datasource.html", context, status)


# --- step f: verify ------------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def step_verify(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = _get_run(request, run_id)
    if response := _enter(request, run, "verify"):
        return response
    banner, status = "", 200
    if request.method == "POST":
        if not ratelimit.hit("ds_test", _user(request).username, settings.RATELIMIT_TEST_PER_MINUTE):
            banner, status = (
                _("You have run many checks in the last minute. Wait a minute, then try again."),
                429,
            )
        else:
            try:
                with _client(request) as client:
                    steps.verify(run, client)
            except steps.StepBusy:
                return _busy(request, run, "verify")
            except (errors.HdpError, steps.StepError) as exc:
                banner, status = _explain_failure(exc)
            run.refresh_from_db()
    context = {"banner": banner, "objects": _objects(run), "datasource": run.remote("datasource")}
    return _render(request, run, "verify", "onboarding/step_verify.html", context, status)


# --- cancel --------------------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def cancel(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = _get_run(request, run_id)
    if run.status != Run.Status.ACTIVE:
        messages.info(request, _("That setup is already finished or cancelled; nothing to cancel."))
        return redirect("onboarding:runs")
    doomed = [
        o
        for o in _objects(run)
        if o.created_by_run and o.outcome in (RemoteObject.Outcome.CREATED, RemoteObject.Outcome.PENDING,
                                              RemoteObject.Outcome.UNKNOWN)
    ]  # fmt: skip
    kept = [o for o in _objects(run) if not o.created_by_run and o.outcome == RemoteObject.Outcome.REUSED]
    banner, status = "", 200
    if request.method == "POST":
        try:
            with _client(request) as client:
                findings = steps.cancel(run, client)
        except steps.StepBusy:
            return _busy(request, run, wizard.current(run))
        except (errors.HdpError, steps.StepError) as exc:
            banner, status = _explain_failure(exc)
        else:
            messages.success(request, _("The setup was cancelled."))
            for finding in findings:
                messages.info(request, finding)
            return HttpResponseSeeOther(reverse("onboarding:runs"))
    context = {"doomed": doomed, "kept": kept, "banner": banner}
    return _render(request, run, wizard.current(run), "onboarding/cancel.html", context, status)


# --- inline validation (local checks only, never HDP) ---------------------------------------------------------
_FIELDS: dict[str, tuple[str, Callable[[Run, str], str]]] = {
    "app_name": ("name", lambda run, v: forms.check_hdp_name(v)),
    "profile_name": ("name", lambda run, v: forms.check_hdp_name(v)),
    "ds_name": ("name", lambda run, v: forms.check_ds_name(v)),
    "authorize_uri": (
        "authorize_uri",
        lambda run, v: uris.check_provider_uri(v, preset=_preset(run), kind="authorize"),
    ),
    "token_uri": (
        "token_uri",
        lambda run, v: uris.check_provider_uri(v, preset=_preset(run), kind="token"),
    ),
}  # fmt: skip


@require_POST
def validate(request: HtmxRequest, run_id: UUID, field: str) -> HttpResponse:
    run = _get_run(request, run_id)
    if field not in _FIELDS:
        raise Http404
    html_name, check = _FIELDS[field]
    value = request.POST.get(html_name, "")
    problems: list[str] = []
    try:
        value = check(run, value)
    except ValidationError as exc:
        problems = list(exc.messages)
    context = {
        "errors": problems,
        "eid": f"id_{html_name}-error",
        "redirect_uri": _redirect_uri(value) if field == "app_name" and not problems else "",
        "show_redirect": field == "app_name",
    }
    return render(request, "onboarding/validate.html", context)


STEP_VIEWS: dict[str, Callable[[HtmxRequest, UUID], HttpResponse]] = {
    "store": step_store,
    "app": step_app,
    "authorize": step_authorize,
    "profile": step_profile,
    "datasource": step_datasource,
    "verify": step_verify,
}
