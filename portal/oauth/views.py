"""The OAuth callback: ``GET /oauth/callback/<app_key>/``.

The order of the checks is the security design (SECURITY.md items 1, 5, 6; RFC 9700 §4.7, §4.4):
nothing is sent to any token endpoint until the state has been found, bound to this session and
person, is fresh, belongs to this callback path, has been consumed exactly once, and the ``iss``
(RFC 9207) matches. The callback needs the session, so it is *not* ``login_not_required``.

Every answer carries ``Referrer-Policy: no-referrer`` (the URL holds the code), success and
failure both leave with a 303 to a clean wizard URL (PRG), and refusals are 400 pages that never
echo the code or state (SECURITY.md item 9).
"""

from __future__ import annotations

import re
import unicodedata

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_GET

from portal.lib import crypto
from portal.lib.events import fingerprint, security_event
from portal.lib.htmx import HttpResponseSeeOther
from portal.lib.logging import register_secret
from portal.oauth import client, errors, flows
from portal.oauth.models import OAuthFlow

SINGLE_VALUED = ("code", "state", "iss", "error", "error_description", "error_uri")
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")


def _no_referrer(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"
    return response


def _refuse(
    request: HttpRequest,
    event: str | None,
    message: str,
    *,
    title: str = "",
    link_url: str = "",
    link_text: str = "",
    **fields: object,
) -> HttpResponse:
    if event:
        security_event(event, request, **fields)
    response = render(
        request,
        "oauth/callback_problem.html",
        {
            "title": title or _("This sign-in cannot be used"),
            "message": message,
            "link_url": link_url,
            "link_text": link_text,
        },
        status=400,
    )
    return _no_referrer(response)


def _step_url(name: str, flow: OAuthFlow) -> str:
    return reverse(f"onboarding:{name}", kwargs={"run_id": flow.run_id})


def _back_to_authorize(request: HttpRequest, flow: OAuthFlow, message: str) -> HttpResponse:
    messages.error(request, message)
    return _no_referrer(HttpResponseSeeOther(_step_url("step-authorize", flow)))


def _clean_provider_text(text: str, limit: int = 300) -> str:
    """Provider text is shown as plain text (the template escapes it), without control characters."""
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch == " ")
    kept = " ".join(kept.split())
    return kept[:limit] + ("..." if len(kept) > limit else "")


RESTART = _l("Start the connection again from your setup.")


@login_not_required  # signed-out arrivals get a clear page, not a login redirect carrying the code
@require_GET
def callback(request: HttpRequest, app_key: str) -> HttpResponse:
    params = request.GET
    # The query holds the code and state. Take it off the request now, so an error report or a
    # log line written later (Django's "Request URL", request.GET in AdminEmailHandler mails)
    # cannot carry them (SECURITY.md item 17); from here on only `params` has them.
    request.GET = QueryDict()
    request.META["QUERY_STRING"] = ""
    # 1. One value per parameter: two "code"s or "state"s mean someone is splicing the URL.
    repeated = [name for name in SINGLE_VALUED if len(params.getlist(name)) > 1]
    if repeated:
        return _refuse(
            request,
            "oauth_callback_repeated_params",
            _("The sign-in answer was malformed. %(restart)s") % {"restart": RESTART},
            params=",".join(repeated),
        )

    # 2. State first (RFC 6749 §10.12): nothing else is looked at without a known state.
    state = params.get("state", "")
    if not state:
        return _refuse(
            request,
            "oauth_state_missing",
            _("The sign-in answer had no state. %(restart)s") % {"restart": RESTART},
        )
    flow = flows.find_flow(state)
    if flow is None:
        return _refuse(
            request,
            "oauth_state_unknown",
            _("This sign-in is not known to the portal. %(restart)s") % {"restart": RESTART},
            state=fingerprint(state),
        )

    # 3. Bound to this browser session and this person, and fresh.
    if not request.user.is_authenticated:
        return _refuse(
            request,
            "oauth_signed_out",
            _(
                "You were signed out of the portal while you were at the provider. Sign in, then "
                "start the connection again from your setup."
            ),
            link_url=reverse("accounts:login"),
            link_text=_("Sign in"),
            flow=str(flow.pk),
            tenant=flow.tenant_id,
        )
    session_key = request.session.session_key or ""
    if flows.sha256(session_key) != flow.session_key_hash:
        return _refuse(
            request,
            "oauth_session_mismatch",
            _("This sign-in was started in another browser or before you signed in again. %(restart)s")
            % {"restart": RESTART},
            flow=str(flow.pk),
            tenant=flow.tenant_id,
        )
    if flow.user_id != request.user.pk:
        return _refuse(
            request,
            "oauth_user_mismatch",
            _("This sign-in was started by someone else. %(restart)s") % {"restart": RESTART},
            flow=str(flow.pk),
            tenant=flow.tenant_id,
        )
    if flow.expires_at <= timezone.now():
        flows.fail_unconsumed(flow, "expired")
        return _refuse(
            request,
            "oauth_flow_expired",
            _("This sign-in took too long and has expired. %(restart)s") % {"restart": RESTART},
            link_url=_step_url("step-authorize", flow),
            link_text=_("Go to your setup"),
            flow=str(flow.pk),
            tenant=flow.tenant_id,
        )

    # 4. The callback path names the app the flow was started for (mix-up defence, RFC 9700 §4.4.2).
    snapshot = flow.snapshot
    if app_key != snapshot.get("app_name"):
        flows.fail_unconsumed(flow, "path_mismatch")
        return _refuse(
            request,
            "oauth_path_mismatch",
            _("This sign-in came back to the wrong address. %(restart)s") % {"restart": RESTART},
            flow=str(flow.pk),
            tenant=flow.tenant_id,
        )

    # 5. Single use: one conditional UPDATE decides (back button, refresh, replay).
    if not flows.consume(flow):
        done = flow.outcome == OAuthFlow.Outcome.SUCCEEDED
        return _refuse(
            request,
            "oauth_replay",
            _("This sign-in was already used; go to your setup to continue."),
            title=_("This sign-in was already used"),
            link_url=_step_url("step-profile" if done else "step-authorize", flow),
            link_text=_("Go to your setup"),
            flow=str(flow.pk),
            tenant=flow.tenant_id,
        )

    # 6. RFC 9207: if the provider names itself, it must be the one this flow went to.
    iss = params.get("iss")
    if iss is not None:
        expected = snapshot.get("expected_issuer")
        matches = (
            iss == expected if expected else flows.origin(iss) == flows.origin(snapshot["authorize_uri"])
        )
        if not matches:
            flows.finish(flow, OAuthFlow.Outcome.FAILED, "iss_mismatch")
            return _refuse(
                request,
                "oauth_iss_mismatch",
                _("The sign-in answer came from a different provider than expected. %(restart)s")
                % {"restart": RESTART},
                flow=str(flow.pk),
                tenant=flow.tenant_id,
            )

    run = flow.run
    if run.status != "active" or run.tenant_id != flow.tenant_id:
        flows.finish(flow, OAuthFlow.Outcome.FAILED, "run_closed")
        return _refuse(request, None, _("This setup is no longer in progress."), title=_("Setup closed"))

    # 7. The provider said no (RFC 6749 §4.1.2.1). Any access_token/refresh_token parameters in
    #    the URL are never read: tokens come only from our own token request.
    error = params.get("error")
    if error is not None:
        code = error if _ERROR_CODE.match(error) else "invalid_request"
        denied = code == "access_denied"
        flows.finish(flow, OAuthFlow.Outcome.DENIED if denied else OAuthFlow.Outcome.FAILED, code)
        explained = errors.explain(
            code, redirect_uri=snapshot.get("redirect_uri", ""), cls=errors.ProviderDenied
        )
        text = explained.user_message()
        description = _clean_provider_text(params.get("error_description", ""))
        if description:
            text += " " + _("(The provider said: %(description)s)") % {"description": description}
        return _back_to_authorize(request, flow, text)

    code_param = params.get("code", "")
    if not code_param:
        flows.finish(flow, OAuthFlow.Outcome.FAILED, "no_code")
        return _back_to_authorize(
            request, flow, _("The provider sent no sign-in code. %(restart)s") % {"restart": RESTART}
        )
    register_secret(code_param)

    # 8. Exchange exactly once, against the snapshot's token URI.
    try:
        secret = flows._client_secret_for(run, flow, request.user)
        verifier = flows.verifier_for(flow)
        result = client.exchange_code(snapshot, secret, code_param, verifier)
    except errors.OAuthError as exc:
        flows.finish(flow, OAuthFlow.Outcome.FAILED, exc.code)
        if isinstance(exc, errors.BlockedDestinationError):
            security_event("oauth_blocked_destination", request, flow=str(flow.pk), tenant=flow.tenant_id)
        return _back_to_authorize(request, flow, exc.user_message())
    except crypto.DecryptionError:
        flows.finish(flow, OAuthFlow.Outcome.FAILED, "verifier_unreadable")
        security_event("oauth_verifier_unreadable", request, flow=str(flow.pk), tenant=flow.tenant_id)
        return _back_to_authorize(
            request,
            flow,
            _("The portal could not read this sign-in's saved data. %(restart)s") % {"restart": RESTART},
        )

    # 9. Keep the tokens encrypted on the run until the profile exists (SECURITY.md items 14, 15).
    from portal.audit.models import AuditEntry

    run.record_consent(result.as_json(), scope=result.scope, expires_at=result.expires_at)
    flows.finish(flow, OAuthFlow.Outcome.SUCCEEDED)
    AuditEntry.record(
        request.user.get_username(),
        "oauth_consented",
        run=run,
        app_name=snapshot.get("app_name"),
        scope=result.scope[:500],
        expires_at=result.expires_at.isoformat() if result.expires_at else None,
    )
    return _no_referrer(HttpResponseSeeOther(_step_url("step-profile", flow)))
