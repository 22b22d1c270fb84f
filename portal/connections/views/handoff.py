""" "Ask the account owner" on a completed setup's Reconnect and Repair (issue 19): make the link, its
state (polled), revoke it. The link's rules are :mod:`portal.oauth.handoff`; what follows its use is
:mod:`portal.connections.handoff`."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal.connections import handoff as connections_handoff
from portal.connections.views import common
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther
from portal.oauth import handoff, handoff_views
from portal.oauth.handoff_forms import HandoffForm
from portal.onboarding.models import Run

PURPOSES = connections_handoff.SETUP_PURPOSES


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
    form = HandoffForm(request.POST, prefix="handoff")
    if not form.is_valid():
        words = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _refuse(run, purpose, request, _("No link was made: %(why)s") % {"why": words})
    try:
        with common.client(request) as client:
            made = connections_handoff.ask_owner(
                run,
                purpose,
                common.user(request),
                client,
                hours=form.cleaned_data["hours"],
                email=form.cleaned_data["email"],
                note=form.cleaned_data["note"],
                language=get_language() or "",
            )
    except handoff.LinkRefused as exc:
        return _refuse(run, purpose, request, str(exc))
    return handoff_views.created_page(
        request, made.link, made.token, back_url=back_url(run, purpose), mail_problem=made.mail_problem
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
