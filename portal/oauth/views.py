"""The OAuth callback: ``GET /oauth/callback/<app_key>/``.

The checks, in their security order, are ``portal.oauth.callback.check_callback`` (SECURITY.md
items 1, 5, 6; RFC 9700 §4.7, §4.4); any of them, or the exchange, stops with one
``portal.oauth.callback.Refusal``. The callback needs the session, so it is *not* ``login_not_required``.

Every answer carries ``Referrer-Policy: no-referrer`` (the URL holds the code), success and
failure both leave with a 303 to a clean wizard URL (PRG), and refusals are 400 pages that never
echo the code or state (SECURITY.md item 9).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from portal.audit.models import AuditEntry
from portal.lib.events import security_event
from portal.lib.htmx import HttpResponseSeeOther
from portal.oauth import callback as oauth_callback
from portal.oauth import handoff, handoff_views


def _no_referrer(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"
    return response


def _to_owner(request: HttpRequest, ok: bool, message: str = "", admin: str = "") -> HttpResponse:
    """A handoff flow's answer goes to the account owner's result page, never to the admin's setup."""
    request.session[handoff_views.RESULT_KEY] = {"ok": ok, "message": message, "admin": admin}
    return _no_referrer(HttpResponseSeeOther(reverse("oauth:handoff-result")))


def _refused(request: HttpRequest, refusal: oauth_callback.Refusal) -> HttpResponse:
    if refusal.event:
        security_event(refusal.event, request, **refusal.fields)
    if refusal.handoff_id is not None:
        return _to_owner(request, False, refusal.message)
    if refusal.retry_url:
        # The tag names the fix, so the page the browser goes back to can offer it as a button.
        messages.error(request, refusal.message, extra_tags=f"fix-{refusal.fix}")
        return _no_referrer(HttpResponseSeeOther(refusal.retry_url))
    context = {
        "title": refusal.title or _("This sign-in cannot be used"),
        "message": refusal.message,
        "link_url": refusal.link_url,
        "link_text": refusal.link_text,
    }
    return _no_referrer(render(request, "oauth/callback_problem.html", context, status=400))


@login_not_required  # signed-out arrivals get a clear page, not a login redirect carrying the code
@require_GET
def callback(request: HttpRequest, app_key: str) -> HttpResponse:
    params = request.GET
    # The query holds the code and state. Take it off the request now, so an error report or a
    # log line written later (Django's "Request URL", request.GET in AdminEmailHandler mails)
    # cannot carry them (SECURITY.md item 17); from here on only `params` has them.
    request.GET = QueryDict()
    request.META["QUERY_STRING"] = ""
    try:
        flow, code = oauth_callback.check_callback(request, app_key, params)
        result = oauth_callback.exchange(flow, code)
        # 9. Keep the tokens encrypted on the run until HDP holds them (SECURITY.md items 14, 15, 36).
        target = oauth_callback.accept(flow, result)
    except oauth_callback.Refusal as refusal:
        return _refused(request, refusal)
    purpose = flow.frozen().purpose
    link = flow.handoff
    AuditEntry.record(
        handoff.actor(link) if link is not None else request.user.get_username(),
        "oauth_consented" if purpose == "consent" else "oauth_reconsented",
        run=target,
        app_name=flow.frozen().app_name,
        purpose=purpose,
        account=result.identity.label() if result.identity else None,
        scope=result.scope[:500],
        expires_at=result.expires_at.isoformat() if result.expires_at else None,
    )
    if link is not None:
        return _to_owner(request, True, admin=handoff.Shown.from_json(link.shown).admin)
    return _no_referrer(HttpResponseSeeOther(target.consent_done_url(purpose)))
