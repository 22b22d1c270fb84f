""" "Ask the account owner" on a completed setup's Reconnect and Repair (issue 19): make the link, its
state (polled), revoke it. The link's rules are :mod:`portal.oauth.handoff`; what follows its use is
:mod:`portal.connections.handoff`."""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal.connections import checks, reconnect
from portal.connections.views import common
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther
from portal.oauth import handoff, handoff_views, presets
from portal.oauth.handoff_forms import HandoffForm
from portal.onboarding.models import Run

PURPOSES = ("reconnect", "repair")


def back_url(run: Run, purpose: str) -> str:
    if purpose == "repair":
        return reverse("connections:repair-finish", kwargs={"run_id": run.pk})
    return common.setup_url(run, "reconnect")


def state_urls(run: Run) -> dict[str, str]:
    return {
        "state_url": reverse("connections:handoff-state", kwargs={"run_id": run.pk}),
        "revoke_url": reverse("connections:handoff-revoke", kwargs={"run_id": run.pk}),
    }


def state_context(run: Run) -> dict[str, object]:
    """The setup page's and the repair page's link state, and the form (templates/oauth/_handoff_*.html)."""
    return {
        **handoff_views.state_context(handoff.latest(run, PURPOSES), **state_urls(run)),
        "handoff_form": HandoffForm(prefix="handoff"),
    }


def _provider(run: Run, preset: presets.Preset) -> str:
    if preset.is_custom:
        return urlsplit(run.app_authorize_uri).hostname or _("the provider")
    return re.sub(r"\s*\(.*\)$", "", str(preset.label))


def _refuse(run: Run, purpose: str, request: HtmxRequest, words: str) -> HttpResponse:
    messages.error(request, words)
    return HttpResponseSeeOther(back_url(run, purpose))


@require_POST
def handoff_create(request: HtmxRequest, run_id: UUID, purpose: str) -> HttpResponse:
    if purpose not in PURPOSES:
        raise Http404
    found = common.completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run = found
    if run.consent_purpose() != purpose or (
        purpose == "reconnect" and reconnect.refusal(run, checks.status_for(run))
    ):
        return _refuse(
            run, purpose, request, _("This setup cannot take that sign-in now, so no link was made.")
        )
    if run.consent_identity() is None:
        # A reconnect or repair link is bound to the account of the first consent; without one
        # recorded, it could not refuse another account.
        return _refuse(
            run,
            purpose,
            request,
            _(
                "The provider did not say which account this setup was connected with, so a link could not "
                "make sure the same account signs in. Sign in yourself instead."
            ),
        )
    form = HandoffForm(request.POST, prefix="handoff")
    if not form.is_valid():
        words = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _refuse(run, purpose, request, _("No link was made: %(why)s") % {"why": words})
    person = common.user(request)
    try:
        with common.client(request) as client:
            params = reconnect.flow_params(run, client)
    except reconnect.ReconnectRefused as exc:
        return _refuse(run, purpose, request, str(exc))
    preset = presets.get_preset(run.preset) or presets.PRESETS["custom"]
    shown = handoff.Shown(
        admin=person.get_full_name() or person.username,
        tenant=run.tenant_name,
        store=run.datastore_name,
        provider=_provider(run, preset),
        preset=preset.key,
        scope=params.scope,
    )
    try:
        link, token = handoff.create(
            run,
            purpose=purpose,
            created_by=person,
            start=params,
            shown=shown,
            hours=form.cleaned_data["hours"],
            email=form.cleaned_data["email"],
            note=form.cleaned_data["note"],
            language=get_language() or "",
        )
    except handoff.LinkRefused as exc:
        return _refuse(run, purpose, request, str(exc))
    problem = handoff.send_link_email(link, token)
    return handoff_views.created_page(
        request, link, token, back_url=back_url(run, purpose), mail_problem=problem
    )


@require_GET
def handoff_state(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = common.get_run(request, run_id)
    if not request.htmx:
        return HttpResponseSeeOther(common.setup_url(run))
    return handoff_views.state_fragment(request, handoff.latest(run, PURPOSES), **state_urls(run))


@require_POST
def handoff_revoke(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = common.get_run(request, run_id)
    link = handoff.latest(run, PURPOSES)
    mine = link is not None and str(link.pk) == request.POST.get("link", "")
    if (
        mine
        and link is not None
        and handoff.revoke(link, by=common.user(request).username, reason="revoked by the admin")
    ):
        messages.success(request, _("The link was revoked; it no longer works."))
    return HttpResponseSeeOther(back_url(run, link.purpose if link else "reconnect"))
