"""Step c: consent at the provider (a plain form POST sends the whole page there; no popup)."""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urlsplit
from uuid import UUID

from django.contrib import messages
from django.contrib.messages.storage.base import Message
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from portal.hdp import errors
from portal.lib import csp
from portal.lib.events import security_event
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther
from portal.oauth import flows, handoff, handoff_views, presets, uris
from portal.oauth.handoff_forms import HandoffForm
from portal.onboarding import wizard
from portal.onboarding.models import Run
from portal.onboarding.views import common


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@require_GET
@vary_on_headers("HX-Request")
def step_authorize(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = common.get_run(request, run_id)
    progress = wizard.Progress.of(run)
    if response := common.enter(request, run, progress, "authorize"):
        return response
    preset = common.preset(run)
    origin = _origin(run.app_authorize_uri)
    purpose = run.purpose_for(progress.remote("profile"))
    problems = [m for m in messages.get_messages(request) if m.level >= messages.WARNING]
    fix = _fix_of(problems)
    app = progress.remote("app")
    app_editable = (
        app is not None
        and app.created_by_run
        and not progress.profile_in_play
        and run.status == Run.Status.ACTIVE
    )
    context = {
        "preset": preset,
        "provider": _provider_name(run, preset),
        "provider_host": urlsplit(run.app_authorize_uri).hostname or "",
        "scopes": common.scopes_in_words(preset, run.app_scope),
        "redirect_uri": common.redirect_uri(run.app_name),
        "done": progress.is_done("authorize"),
        "profile_done": progress.is_done("profile"),
        # Before the profile exists a new consent simply replaces the held tokens; afterwards only a
        # reconnect of the completed setup may bring new tokens, into that same profile (item 36).
        "can_reconnect": purpose == "consent",
        "offer_reconnect": purpose == "reconnect",
        "retry": bool(problems),
        # The one action that fixes what went wrong, offered on this page (oauth.views tags it).
        "fix": fix,
        "edit_app_url": f"{wizard.step_url(run, 'app')}?edit=1#edit-app"
        if fix == "edit_app" and app_editable
        else "",
        # "Ask the account owner" (issue 19): the form while a first consent is possible, and the
        # state of the newest link.
        "handoff_form": HandoffForm(prefix="handoff")
        if purpose == "consent" and run.status == Run.Status.ACTIVE
        else None,
        "handoff_action": reverse("onboarding:authorize-handoff", args=[run.pk]),
        **_handoff_state(run),
    }
    response = common.render_step(
        request, run, "authorize", "onboarding/step_authorize.html", context, progress=progress
    )
    # The "Connect" POST answers 303 to this origin: allowed in form-action (portal/lib/csp.py).
    return csp.allow_form_action(response, origin)


def _fix_of(problems: list[Message]) -> str:
    """The fix the OAuth callback named for its refusal ("" when none was named)."""
    for message in problems:
        for tag in message.extra_tags.split():
            if tag.startswith("fix-"):
                return tag.removeprefix("fix-")
    return ""


def _provider_name(run: Run, preset: presets.Preset) -> str:
    """Plain words for the provider: "Google", "Salesforce"...; the host name for custom ones."""
    if preset.is_custom:
        return urlsplit(run.app_authorize_uri).hostname or _("the provider")
    return re.sub(r"\s*\(.*\)$", "", str(preset.label))


def _back_to_authorize(request: HtmxRequest, run: Run, message: str) -> HttpResponse:
    messages.error(request, message)
    return HttpResponseSeeOther(wizard.step_url(run, "authorize"))


class _Addresses(NamedTuple):
    client_id: str
    authorize_uri: str
    token_uri: str
    scope: str


def _reused_addresses(request: HtmxRequest, run: Run, preset: presets.Preset) -> _Addresses | str:
    """A reused application's settings as HDP holds them now (checked like typed ones), or why not."""
    app_id = run.reuse_app_id or run.remote_id("app")
    if app_id is None:
        return _("Pick the OAuth application again.")
    try:
        with common.client(request) as client:
            app = client.get_oauth_app(app_id)
    except errors.HdpError as exc:
        return exc.explanation
    try:
        authorize_uri = uris.validate_provider_uri(
            app.authorize_uri or "", allowed_hosts=preset.allowed_hosts, kind="authorize"
        )
        token_uri = uris.validate_provider_uri(
            app.token_uri or "", allowed_hosts=preset.allowed_hosts, kind="token"
        )
    except ValidationError as exc:
        return _("The application %(name)s in HDP has an address the portal won't use: %(why)s") % {
            "name": run.app_name,
            "why": " ".join(exc.messages),
        }
    return _Addresses(app.client_id or "", authorize_uri, token_uri, app.scope or "")


def _flow_params(request: HtmxRequest, run: Run) -> handoff.StartParams | str:
    """What the first consent's flow starts with (the typed settings, or a reused application's as HDP
    holds them now), or why it cannot start. Also what a handoff link stores for the owner's POST."""
    preset = common.preset(run)
    addresses = _Addresses(run.app_client_id, run.app_authorize_uri, run.app_token_uri, run.app_scope)
    if run.app_mode == Run.AppMode.REUSE:
        addresses_or_why = _reused_addresses(request, run, preset)
        if isinstance(addresses_or_why, str):
            return addresses_or_why
        addresses = addresses_or_why
    app_remote_id = run.remote_id("app")
    if app_remote_id is None:
        return _("The OAuth application is not recorded yet; go back one step.")
    return handoff.StartParams(
        client_id=addresses.client_id,
        authorize_uri=addresses.authorize_uri,
        token_uri=addresses.token_uri,
        scope=addresses.scope,
        extra_params=dict(run.app_extra_params or preset.extra_params),
        token_auth=run.app_token_auth or preset.token_auth,
        expected_issuer=preset.expected_issuer,
        app_id=app_remote_id,
        app_name=run.app_name,
    )


@require_POST
def authorize_start(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """A plain form POST: start the flow and 303 the whole page to the provider (no popup)."""
    run = common.get_run(request, run_id)
    if response := common.enter(request, run, wizard.Progress.of(run), "authorize"):
        return response
    if run.status != Run.Status.ACTIVE:
        messages.info(
            request,
            _("This setup is complete; its connection is in HDP now. To sign in again, use Reconnect."),
        )
        return HttpResponseSeeOther(wizard.step_url(run, "verify"))
    if run.consent_purpose() != "consent":
        # The page offers no Connect button once the profile exists; a hand-made POST gets here.
        security_event("oauth_start_refused", request, run=str(run.pk), reason="profile_exists")
        return _back_to_authorize(
            request,
            run,
            _(
                "HDP already holds this setup's sign-in in its OAuth profile, so the portal did not start a new "
                "one. Finish the setup first; then use Reconnect to sign in again."
            ),
        )
    addresses_or_why = _flow_params(request, run)
    if isinstance(addresses_or_why, str):
        return _back_to_authorize(request, run, addresses_or_why)
    start = addresses_or_why
    try:
        url = flows.start(
            request,
            run,
            client_id=start.client_id,
            authorize_uri=start.authorize_uri,
            token_uri=start.token_uri,
            scope=start.scope,
            extra_params=dict(start.extra_params),
            token_auth=start.token_auth,
            expected_issuer=start.expected_issuer,
            app_id=start.app_id,
            app_name=start.app_name,
        )
    except flows.RateLimited:
        context = {"retry_url": wizard.step_url(run, "authorize")}
        return common.render_step(request, run, "authorize", "onboarding/rate_limited.html", context, 429)
    except ValidationError as exc:
        return _back_to_authorize(request, run, " ".join(exc.messages))
    return HttpResponseSeeOther(url)


# --- "Ask the account owner" (issue 19; portal/oauth/handoff.py) ------------------------------------


def _handoff_state(run: Run) -> dict[str, object]:
    return handoff_views.state_context(
        handoff.latest(run, ("consent",)),
        state_url=reverse("onboarding:authorize-handoff-state", args=[run.pk]),
        revoke_url=reverse("onboarding:authorize-handoff-revoke", args=[run.pk]),
    )


@require_POST
def authorize_handoff(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """Make a first-consent link for the account owner; the answer is the one page that shows it."""
    run = common.get_run(request, run_id)
    if response := common.enter(request, run, wizard.Progress.of(run), "authorize"):
        return response
    if run.status != Run.Status.ACTIVE or run.consent_purpose() != "consent":
        return _back_to_authorize(
            request, run, _("This setup cannot take a first sign-in now, so no link was made.")
        )
    form = HandoffForm(request.POST, prefix="handoff")
    if not form.is_valid():
        words = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _back_to_authorize(request, run, _("No link was made: %(why)s") % {"why": words})
    params = _flow_params(request, run)
    if isinstance(params, str):
        return _back_to_authorize(request, run, params)
    person = common.user(request)
    preset = common.preset(run)
    shown = handoff.Shown(
        admin=person.get_full_name() or person.username,
        tenant=run.tenant_name,
        store=run.datastore_name,
        provider=_provider_name(run, preset),
        preset=preset.key,
        scope=params.scope,
    )
    try:
        link, token = handoff.create(
            run,
            purpose="consent",
            created_by=person,
            start=params,
            shown=shown,
            hours=form.cleaned_data["hours"],
            email=form.cleaned_data["email"],
            note=form.cleaned_data["note"],
            language=get_language() or "",
        )
    except handoff.LinkRefused as exc:
        return _back_to_authorize(request, run, str(exc))
    problem = handoff.send_link_email(link, token)
    return handoff_views.created_page(
        request, link, token, back_url=wizard.step_url(run, "authorize"), mail_problem=problem
    )


@require_GET
def authorize_handoff_state(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """The link's state, polled by the Connect step (htmx); without htmx, the step itself."""
    run = common.get_run(request, run_id)
    if not request.htmx:
        return HttpResponseSeeOther(wizard.step_url(run, "authorize"))
    return handoff_views.state_fragment(
        request,
        handoff.latest(run, ("consent",)),
        state_url=reverse("onboarding:authorize-handoff-state", args=[run.pk]),
        revoke_url=reverse("onboarding:authorize-handoff-revoke", args=[run.pk]),
    )


@require_POST
def authorize_handoff_revoke(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = common.get_run(request, run_id)
    link = handoff.latest(run, ("consent",))
    mine = link is not None and str(link.pk) == request.POST.get("link", "")
    if (
        mine
        and link is not None
        and handoff.revoke(link, by=common.user(request).username, reason="revoked by the admin")
    ):
        messages.success(request, _("The link was revoked; it no longer works."))
    return HttpResponseSeeOther(wizard.step_url(run, "authorize"))
