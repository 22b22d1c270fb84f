"""The account owner's pages of a handoff link (issue 19; portal/oauth/handoff.py has the rules).

``/oauth/h/<token>/``: no portal sign-in. A GET only shows what the owner is asked (a mail scanner
that fetches it burns nothing); the POST starts the authorize flow bound to this browser and the link.
Every answer: ``Referrer-Policy: no-referrer``, ``Cache-Control: no-store``, no framing and nothing
loaded from elsewhere (the portal's CSP and X-Frame-Options), rate-limited per client address. An
unknown, malformed, spent, expired or revoked link gets one plain page (404 / 410) that says nothing
of any setup. The link's path is masked in every log line (portal/lib/logging.py).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from portal.accounts.throttle import client_address
from portal.lib import csp
from portal.lib.events import security_event
from portal.lib.htmx import HttpResponseSeeOther
from portal.oauth import flows, handoff, presets
from portal.oauth.models import HandoffLink
from portal.ratelimit import limiter as ratelimit

#: Where the callback leaves the owner's outcome for the result page (this browser's session only).
RESULT_KEY = "handoff_result"


def _private(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _gone(request: HttpRequest, link: HandoffLink | None) -> HttpResponse:
    """One plain page for every link that cannot be used; only a spent one says it was used."""
    used = link is not None and link.state == HandoffLink.State.USED
    context = {
        "title": _("This link was already used") if used else _("This link does not work"),
        "message": _("Nothing more is needed: you can close this page.")
        if used
        else _(
            "The link may have expired, been replaced by a newer one, or been typed incorrectly. "
            "Ask the person who sent it for a new link."
        ),
    }
    status = 404 if link is None else 410
    return _private(render(request, "oauth/handoff_gone.html", context, status=status))


def _limited(request: HttpRequest) -> HttpResponse | None:
    if ratelimit.hit("handoff_page", client_address(request), settings.RATELIMIT_HANDOFF_PER_MINUTE):
        return None
    security_event("handoff_rate_limited", request)
    context = {
        "title": _("Too many attempts"),
        "message": _(
            "This address was opened too often in the last minute. Wait a minute, then open the link again."
        ),
    }
    return _private(render(request, "oauth/handoff_gone.html", context, status=429))


def _context(link: HandoffLink) -> dict[str, object]:
    shown = handoff.Shown.from_json(link.shown)
    preset = presets.get_preset(shown.preset) or presets.PRESETS["custom"]
    scopes = []
    for scope in shown.scope.split():
        words = preset.describe_scope(scope)
        if not words and (scope == "offline_access" or "refresh" in scope):
            words = _("stay connected when you're away")
        scopes.append((scope, words))
    return {
        "shown": shown,
        "scopes": scopes,
        "note": link.note,
        "purpose": link.purpose,
        "expires_at": link.expires_at,
    }


FORM_SALT = "portal.oauth.handoff.form"
FORM_MAX_AGE = 3600


def _form_token(link: HandoffLink) -> str:
    return signing.TimestampSigner(salt=FORM_SALT).sign(str(link.pk))


def _from_the_page(request: HttpRequest, link: HandoffLink) -> bool:
    """The POST came from this link's own page in this portal (forgery protection of its own: the page
    sends ``Referrer-Policy: no-referrer``, so browsers send ``Origin: null`` and Django's CSRF origin
    check would refuse every owner). Three checks: Fetch Metadata says same-origin (when sent), the
    Origin is ours or null, and the form carries a fresh token signed for this link."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin not in (None, "null", flows.origin(settings.PORTAL_BASE_URL)):
        return False
    try:
        signed = signing.TimestampSigner(salt=FORM_SALT).unsign(
            request.POST.get("form", ""), max_age=FORM_MAX_AGE
        )
    except signing.BadSignature:
        return False
    return signed == str(link.pk)


@csrf_exempt  # see _from_the_page: Origin is null under no-referrer; the form is checked there
@login_not_required  # the account owner has no portal account
@require_http_methods(["GET", "POST"])
def owner_page(request: HttpRequest, token: str) -> HttpResponse:
    if limited := _limited(request):
        return limited
    link = handoff.find(token)
    if link is None or not handoff.is_open(link):
        if link is None:
            security_event("handoff_link_unknown", request)
        return _gone(request, link)
    if request.method == "POST":
        if not _from_the_page(request, link):
            security_event("handoff_forged_post", request)
            context = {
                "title": _("This page has expired"),
                "message": _("Open the link again, then press the button on its page."),
            }
            return _private(render(request, "oauth/handoff_gone.html", context, status=403))
        return _start(request, link)
    response = render(
        request, "oauth/handoff_owner.html", {**_context(link), "form_token": _form_token(link)}
    )
    # The button's POST answers 303 to the provider: allow its origin in CSP form-action.
    start = handoff.StartParams.from_json(link.start)
    return _private(csp.allow_form_action(response, flows.origin(start.authorize_uri)))


def _start(request: HttpRequest, link: HandoffLink) -> HttpResponse:
    start = handoff.StartParams.from_json(link.start)
    try:
        url = flows.start(
            request,
            link.run,
            client_id=start.client_id,
            authorize_uri=start.authorize_uri,
            token_uri=start.token_uri,
            scope=start.scope,
            extra_params=dict(start.extra_params),
            token_auth=start.token_auth,
            expected_issuer=start.expected_issuer,
            app_id=start.app_id,
            app_name=start.app_name,
            purpose=link.purpose,
            handoff=link,
        )
    except PermissionDenied:
        return _gone(request, link)
    except flows.RateLimited:
        return _limited_start(request)
    except ValidationError:
        context = {
            "title": _("This link cannot start the sign-in"),
            "message": _(
                "The sign-in settings behind this link have changed. Ask the person who sent it for a new link."
            ),
        }
        return _private(render(request, "oauth/handoff_gone.html", context, status=410))
    return _private(HttpResponseSeeOther(url))


def _limited_start(request: HttpRequest) -> HttpResponse:
    context = {
        "title": _("Too many attempts"),
        "message": _(
            "This link was used to start many sign-ins in the last minute. Wait a minute, then try again."
        ),
    }
    return _private(render(request, "oauth/handoff_gone.html", context, status=429))


@login_not_required
@require_GET
def owner_result(request: HttpRequest) -> HttpResponse:
    """Where the callback sends the owner: "Done" or a plain refusal (never a token, an id or the tenant)."""
    result = request.session.pop(RESULT_KEY, None)
    if not isinstance(result, dict):
        return _gone(request, None)
    context = {
        "ok": bool(result.get("ok")),
        "message": str(result.get("message", "")),
        "admin": result.get("admin", ""),
    }
    return _private(render(request, "oauth/handoff_result.html", context))


# --- the admin's side, shared by the wizard's Connect step and a setup's Reconnect / Repair ---------
# The callers (portal/onboarding/views/authorize.py, portal/connections/views/handoff.py) check that the
# setup is the signed-in admin's and which purpose fits; these render the answers.


def created_page(
    request: HttpRequest, link: HandoffLink, token: str, *, back_url: str, mail_problem: str
) -> HttpResponse:
    """The one page that shows the link (a readonly field with a Copy button that works without
    JavaScript). Never cached, never stored: making a new link is the only way to see one again."""
    context = {
        "url": handoff.url_for(token),
        "link": link,
        "state_line": handoff.state_line(link),
        "back_url": back_url,
        "mail_problem": mail_problem,
    }
    return _private(render(request, "oauth/handoff_created.html", context))


def state_context(link: HandoffLink | None, *, state_url: str, revoke_url: str) -> dict[str, object]:
    """What templates/oauth/_handoff_state.html needs (``handoff_link`` None: nothing to show)."""
    return {
        "handoff_link": link,
        "handoff_line": handoff.state_line(link) if link is not None else "",
        "handoff_waiting": link is not None and handoff.is_open(link),
        "handoff_state_url": state_url,
        "handoff_revoke_url": revoke_url,
    }


def state_fragment(
    request: HttpRequest, link: HandoffLink | None, *, state_url: str, revoke_url: str
) -> HttpResponse:
    """The polled fragment (hx-get every 5 s while waiting). When a link the page showed as waiting
    has ended, the whole page is reloaded (HX-Refresh), so the admin sees the setup's new state."""
    context = state_context(link, state_url=state_url, revoke_url=revoke_url)
    response = render(request, "oauth/_handoff_state.html", context)
    if request.GET.get("was") == "waiting" and not context["handoff_waiting"]:
        response["HX-Refresh"] = "true"
    response["Cache-Control"] = "no-store"
    return response
