"""The OAuth callback's side (SECURITY.md items 1, 5, 6; RFC 9700 §4.7, §4.4): :func:`check_callback`
(the ordered checks) and :func:`exchange` (the one token request) stop with a single :class:`Refusal`.

The flow rows they check are made by :mod:`portal.oauth.flows`; this module imports it, never the
other way round (import-linter's acyclic contract in pyproject.toml).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from portal.audit.models import AuditEntry
from portal.hdp.client import HdpClient
from portal.hdp.errors import HdpError
from portal.lib import crypto
from portal.lib.events import fingerprint
from portal.lib.logging import register_secret
from portal.oauth import client, errors, handoff
from portal.oauth.consent import ConsentTarget
from portal.oauth.flows import (
    consume,
    fail_unconsumed,
    find_flow,
    finish,
    fits,
    origin,
    sha256,
    target_of,
    verifier_for,
)
from portal.oauth.identity import Identity
from portal.oauth.models import HandoffLink, OAuthFlow
from portal.oauth.snapshot import FlowSnapshot

if TYPE_CHECKING:
    from portal.accounts.models import User

# --- the callback's checks (SECURITY.md items 1, 5, 6; RFC 9700 §4.7, §4.4) -----------------------
SINGLE_VALUED = ("code", "state", "iss", "error", "error_description", "error_uri")
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
RESTART = _l("Start the connection again from your setup.")
#: What fixes a refusal, named for the page it lands on (``Refusal.fix``): the application's
#: settings, the redirect address at the provider, or simply a new sign-in.
FIX_EDIT_APP, FIX_REDIRECT_URI, FIX_RESTART = "edit_app", "redirect_uri", "restart"
_FIXES = {"invalid_client": FIX_EDIT_APP, "redirect_uri_mismatch": FIX_REDIRECT_URI}


class Refusal(Exception):
    """Why the callback stops. ``event`` is the security event to log (None for an ordinary
    outcome such as a cancel); ``message`` is safe to show. With ``retry_url`` the browser goes
    back there with ``message`` (PRG); without it the answer is a 400 page (``title``, optional link)."""

    def __init__(
        self,
        event: str | None,
        message: str,
        *,
        title: str = "",
        link_url: str = "",
        link_text: str = "",
        retry_url: str = "",
        fields: dict[str, object] | None = None,
        fix: str = FIX_RESTART,
    ) -> None:
        super().__init__(event or "refused")
        self.event, self.message, self.title = event, message, title
        self.link_url, self.link_text, self.retry_url = link_url, link_text, retry_url
        self.fields = fields or {}
        self.fix = fix
        #: Set when the flow was started through a handoff link: the answer goes to the owner's page.
        self.handoff_id: object = None


def _home() -> str:
    """Where a sign-in that belongs to no setup of this person sends them: the portal's start page."""
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _clean_provider_text(text: str, limit: int = 300) -> str:
    """Provider text is shown as plain text (the template escapes it), without control characters."""
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch == " ")
    kept = " ".join(kept.split())
    return kept[:limit] + ("..." if len(kept) > limit else "")


def check_callback(request: HttpRequest, app_key: str, params: QueryDict) -> tuple[OAuthFlow, str]:
    """:func:`_check_callback`; a refusal of a handoff-bound flow is marked for the owner's page."""
    seen: dict[str, object] = {}
    try:
        return _check_callback(request, app_key, params, seen)
    except Refusal as refusal:
        refusal.handoff_id = seen.get("handoff")
        raise


HANDOFF_CLOSED = _l(
    "This link was ended by the person who sent it, has expired, or was already used. Nothing was changed. "
    "If you still need to sign in, ask them for a new link."
)


def _check_callback(
    request: HttpRequest, app_key: str, params: QueryDict, seen: dict[str, object]
) -> tuple[OAuthFlow, str]:
    """Run the callback's checks in their security order and return (flow, code), or raise
    :class:`Refusal`. Nothing is sent to any token endpoint until the state has been found, bound
    to this session and person, is fresh, belongs to this callback path, has been consumed exactly
    once, and the ``iss`` (RFC 9207) matches."""
    # 1. One value per parameter: two "code"s or "state"s mean someone is splicing the URL.
    repeated = [name for name in SINGLE_VALUED if len(params.getlist(name)) > 1]
    if repeated:
        raise Refusal(
            "oauth_callback_repeated_params",
            _("The sign-in answer was malformed. %(restart)s") % {"restart": RESTART},
            fields={"params": ",".join(repeated)},
        )

    # 2. State first (RFC 6749 §10.12): nothing else is looked at without a known state.
    state = params.get("state", "")
    if not state:
        raise Refusal(
            "oauth_state_missing", _("The sign-in answer had no state. %(restart)s") % {"restart": RESTART}
        )
    flow = find_flow(state)
    if flow is None:
        raise Refusal(
            "oauth_state_unknown",
            _("This sign-in is not known to the portal. %(restart)s") % {"restart": RESTART},
            link_url=_home(),
            link_text=_("Go to my setups"),
            fields={"state": fingerprint(state)},
        )
    ids = {"flow": str(flow.pk), "tenant": flow.tenant_id}
    target = target_of(flow)
    seen["handoff"] = flow.handoff_id
    owner_link = flow.handoff_id is not None

    # 3. Bound to this browser session and this person (a handoff flow: to this browser and its
    #    link; the account owner has no portal sign-in), and fresh.
    if owner_link:
        _check_handoff_session(request, flow, ids)
    elif not request.user.is_authenticated:
        raise Refusal(
            "oauth_signed_out",
            _(
                "You were signed out of the portal while you were at the provider. Sign in, then "
                "start the connection again from your setup."
            ),
            link_url=reverse("accounts:login"),
            link_text=_("Sign in"),
            fields=ids,
        )
    if sha256(request.session.session_key or "") != flow.session_key_hash:
        mine = flow.user_id == request.user.pk  # someone else's setup is not linked to
        raise Refusal(
            "oauth_session_mismatch",
            _("This sign-in was started in another browser or before you signed in again. %(restart)s")
            % {"restart": RESTART},
            link_url=target.consent_retry_url() if mine else _home(),
            link_text=_("Start the connection again") if mine else _("Go to my setups"),
            fields=ids,
        )
    if not owner_link and flow.user_id != request.user.pk:
        raise Refusal(
            "oauth_user_mismatch",
            _("This sign-in was started by someone else. %(restart)s") % {"restart": RESTART},
            fields=ids,
        )
    if flow.expires_at <= timezone.now():
        fail_unconsumed(flow, "expired")
        raise Refusal(
            "oauth_flow_expired",
            _("This sign-in took too long and has expired. %(restart)s") % {"restart": RESTART},
            link_url=target.consent_retry_url(),
            link_text=_("Start the connection again"),
            fields=ids,
        )

    # 4. The callback path names the app the flow was started for (mix-up defence, RFC 9700 §4.4.2).
    snapshot = flow.frozen()
    if app_key != snapshot.app_name:
        fail_unconsumed(flow, "path_mismatch")
        raise Refusal(
            "oauth_path_mismatch",
            _("This sign-in came back to the wrong address. %(restart)s") % {"restart": RESTART},
            link_url=target.consent_retry_url(),
            link_text=_("Start the connection again"),
            fields=ids,
        )

    # 5. Single use: one conditional UPDATE decides (back button, refresh, replay).
    if not consume(flow):
        done = flow.outcome == OAuthFlow.Outcome.SUCCEEDED
        raise Refusal(
            "oauth_replay",
            _("This sign-in was already used; go to your setup to continue."),
            title=_("This sign-in was already used"),
            link_url=target.consent_done_url() if done else target.consent_retry_url(),
            link_text=_("Go to your setup") if done else _("Start the connection again"),
            fields=ids,
        )

    # 6. RFC 9207: if the provider names itself, it must be the one this flow went to.
    iss = params.get("iss")
    if iss is not None:
        expected = snapshot.expected_issuer
        matches = iss == expected if expected else origin(iss) == origin(snapshot.authorize_uri)
        if not matches:
            finish(flow, OAuthFlow.Outcome.FAILED, "iss_mismatch")
            raise Refusal(
                "oauth_iss_mismatch",
                _("The sign-in answer came from a different provider than expected. %(restart)s")
                % {"restart": RESTART},
                link_url=target.consent_retry_url(),
                link_text=_("Start the connection again"),
                fields=ids,
            )

    if owner_link and not handoff.still_open(flow.handoff_id):
        # The admin revoked the link (or it expired, or another owner completed it) while this owner
        # was at the provider: the code is never exchanged and nothing is written.
        finish(flow, OAuthFlow.Outcome.FAILED, "handoff_closed")
        done = _was_used(flow)
        raise Refusal(
            None if done else "handoff_closed",
            str(OWNER_ALREADY_DONE if done else HANDOFF_CLOSED),
            title=_("This link can no longer be used"),
            fields=ids,
        )

    closed = not target.accepts_consent() and target.consent_purpose() is None  # e.g. cancelled
    if closed or target.tenant_id != flow.tenant_id:
        finish(flow, OAuthFlow.Outcome.FAILED, "run_closed")
        raise Refusal(None, _("This setup is no longer in progress."), title=_("Setup closed"))
    if not fits(target, snapshot.purpose):
        # Started as a first consent, but the profile exists now (or the other way round): tokens
        # reach a run only on the path its state allows (SECURITY.md item 36).
        finish(flow, OAuthFlow.Outcome.FAILED, "purpose_mismatch")
        raise Refusal(
            "oauth_purpose_mismatch",
            _(
                "This sign-in no longer fits the setup, which changed while you were at the provider. %(restart)s"
            )
            % {"restart": RESTART},
            title=_("This sign-in cannot be used"),
            link_url=target.consent_retry_url(snapshot.purpose),
            link_text=_("Start the connection again"),
            fields={**ids, "purpose": snapshot.purpose},
        )

    # 7. The provider said no (RFC 6749 §4.1.2.1). Any access_token/refresh_token parameters in
    #    the URL are never read: tokens come only from our own token request.
    error = params.get("error")
    if error is not None:
        code = error if _ERROR_CODE.match(error) else "invalid_request"
        denied = code == "access_denied"
        finish(flow, OAuthFlow.Outcome.DENIED if denied else OAuthFlow.Outcome.FAILED, code)
        text = errors.explain(
            code, redirect_uri=snapshot.redirect_uri, cls=errors.ProviderDenied
        ).user_message()
        description = _clean_provider_text(params.get("error_description", ""))
        if description:
            text += " " + _("(The provider said: %(description)s)") % {"description": description}
        if owner_link:
            handoff.refuse(
                flow.handoff_id, reason="denied at the provider" if denied else f"provider error {code}"
            )
            text = str(OWNER_DENIED) if denied else str(OWNER_PROVIDER_ERROR)
        raise Refusal(
            None,
            text,
            retry_url=target.consent_retry_url(snapshot.purpose),
            fix=_FIXES.get(code, FIX_RESTART),
        )

    code_param = params.get("code", "")
    if not code_param:
        finish(flow, OAuthFlow.Outcome.FAILED, "no_code")
        raise Refusal(
            None,
            _("The provider sent no sign-in code. %(restart)s") % {"restart": RESTART},
            retry_url=target.consent_retry_url(snapshot.purpose),
        )
    register_secret(code_param)
    return flow, code_param


OWNER_DENIED = _l(
    "You chose not to allow access, so nothing was connected. The person who sent you this link has been told. "
    "If that was a mistake, ask them for a new link."
)
OWNER_PROVIDER_ERROR = _l(
    "The provider answered with an error, so nothing was connected. The person who sent you this link has "
    "been told; they can send you a new link."
)
OWNER_OTHER_ACCOUNT = _l(
    "You signed in with a different account than the one this connection was set up with, so nothing was "
    "changed. Ask the person who sent you this link which account to use; they can send you a new link."
)
OWNER_ALREADY_DONE = _l(
    "This sign-in was already completed through this link. Nothing more is needed: you can close this page."
)


def _check_handoff_session(request: HttpRequest, flow: OAuthFlow, ids: dict[str, object]) -> None:
    if sha256(request.session.session_key or "") != flow.session_key_hash:
        raise Refusal(
            "oauth_session_mismatch",
            _("This sign-in was started in another browser. Open the link again in this browser."),
            title=_("This sign-in cannot be used"),
            fields=ids,
        )
    if flow.expires_at <= timezone.now():
        fail_unconsumed(flow, "expired")
        raise Refusal(
            "oauth_flow_expired",
            _("This sign-in took too long and has expired. Open the link again to start over."),
            title=_("This sign-in cannot be used"),
            fields=ids,
        )


def client_secret_for(target: ConsentTarget, snapshot: FlowSnapshot, user: User) -> str:
    """The app's client secret: the portal's encrypted copy while it still has one, else read back
    from HDP (which returns ``clientSecret`` on GET; SECURITY.md item 14). Tests patch this."""
    try:
        secret = target.held_client_secret()
    except crypto.DecryptionError:
        raise errors.explain("secret_unavailable") from None
    if secret:
        register_secret(secret)
        return secret
    try:
        app = HdpClient.for_user(user).get_oauth_app(snapshot.app_id)
    except HdpError:
        raise errors.explain("secret_unavailable") from None
    secret = app.client_secret.get_secret_value() if app.client_secret is not None else ""
    if not secret:
        raise errors.explain("secret_unavailable")
    register_secret(secret)
    return str(secret)


def exchange(flow: OAuthFlow, code: str) -> client.TokenResult:
    """8. Exchange exactly once, against the snapshot's token URI (as the flow's person, whom
    check_callback matched to the signed-in one); a failure finishes the flow and raises
    :class:`Refusal` back to the setup."""
    target = target_of(flow)
    ids = {"flow": str(flow.pk), "tenant": flow.tenant_id}
    snapshot = flow.frozen()
    try:
        secret = client_secret_for(target, snapshot, flow.user)
        verifier = verifier_for(flow)
        return client.exchange_code(snapshot, secret, code, verifier)
    except errors.OAuthError as exc:
        finish(flow, OAuthFlow.Outcome.FAILED, exc.code)
        blocked = isinstance(exc, errors.BlockedDestinationError)
        if flow.handoff_id is not None:
            handoff.refuse(flow.handoff_id, reason=f"token request failed: {exc.code}")
            refusal = Refusal(
                "oauth_blocked_destination" if blocked else None, str(OWNER_PROVIDER_ERROR), fields=ids
            )
            refusal.handoff_id = flow.handoff_id
            raise refusal from None
        raise Refusal(
            "oauth_blocked_destination" if blocked else None,
            exc.user_message(),
            retry_url=target.consent_retry_url(snapshot.purpose),
            fields=ids if blocked else None,
            fix=_FIXES.get(exc.code, FIX_RESTART),
        ) from None
    except crypto.DecryptionError:
        finish(flow, OAuthFlow.Outcome.FAILED, "verifier_unreadable")
        refusal = Refusal(
            "oauth_verifier_unreadable",
            _("The portal could not read this sign-in's saved data. %(restart)s") % {"restart": RESTART},
            retry_url="" if flow.handoff_id else target.consent_retry_url(snapshot.purpose),
            fields=ids,
        )
        refusal.handoff_id = flow.handoff_id
        raise refusal from None


def _account_refusal(recorded: Identity, new: Identity | None, retry_url: str) -> Refusal:
    if new is None:
        text = _(
            "The provider did not say which account you signed in with, so the portal cannot confirm it is "
            "%(recorded)s, the account this connection was set up with. Nothing was changed."
        ) % {"recorded": recorded.label()}
    else:
        text = _(
            "You signed in as %(new)s, but this connection was set up with %(recorded)s. Nothing was changed. "
            "Sign in at the provider as %(recorded)s, or choose to replace the account."
        ) % {"new": new.label(), "recorded": recorded.label()}
    return Refusal(None, text, retry_url=retry_url)


def accept(flow: OAuthFlow, result: client.TokenResult) -> ConsentTarget:
    """9. Hand a fresh exchange to the target for the flow's purpose. A reconnect (or a repair's new
    consent) must come from the provider account recorded at the first consent wherever the provider identifies it (only
    "replace", the admin's explicit choice, may change it); else :class:`Refusal`, nothing stored."""
    target = target_of(flow)
    snapshot = flow.frozen()
    recorded = target.consent_identity()
    other = result.identity is None or (recorded is not None and not recorded.same_account(result.identity))
    if flow.handoff_id is not None:
        return _accept_handoff(flow, result, target, other or recorded is None)
    if snapshot.purpose in ("reconnect", "repair") and recorded is not None and other:
        finish(flow, OAuthFlow.Outcome.FAILED, "account_mismatch")
        raise _account_refusal(recorded, result.identity, target.consent_retry_url(snapshot.purpose))
    target.record_consent(
        result.as_json(),
        scope=result.scope,
        expires_at=result.expires_at,
        purpose=snapshot.purpose,
        identity=result.identity,
        lifetime=result.lifetime,
    )
    finish(flow, OAuthFlow.Outcome.SUCCEEDED)
    if snapshot.purpose == "replace" and recorded is not None and other:
        # The admin's explicit choice, named by both accounts' display names (never a token).
        AuditEntry.record(
            flow.user.get_username(),
            "provider_account_replaced",
            run=target,
            previous_account=recorded.label(),
            new_account=result.identity.label() if result.identity else None,
        )
    return target


def _owner_refusal(flow: OAuthFlow, message: str) -> Refusal:
    refusal = Refusal(None, message, title=_("Nothing was connected"))
    refusal.handoff_id = flow.handoff_id
    return refusal


def _accept_handoff(
    flow: OAuthFlow, result: client.TokenResult, target: ConsentTarget, other: bool
) -> ConsentTarget:
    """A handoff link's sign-in: a reconnect or repair only from the account recorded at the first
    consent (never another: a link cannot replace the account); the link is spent in the same
    transaction that keeps the tokens, so of two owners at once only one writes anything."""
    purpose = flow.frozen().purpose
    if purpose != "consent" and other:
        finish(flow, OAuthFlow.Outcome.FAILED, "account_mismatch")
        handoff.refuse(flow.handoff_id, reason="another provider account signed in")
        raise _owner_refusal(flow, str(OWNER_OTHER_ACCOUNT))
    label = result.identity.label() if result.identity else ""
    with transaction.atomic():
        if not handoff.spend(flow.handoff_id, used_by=label):
            spent = not handoff.still_open(flow.handoff_id)
            finish(flow, OAuthFlow.Outcome.FAILED, "handoff_spent" if spent else "handoff_closed")
            raise _owner_refusal(flow, str(OWNER_ALREADY_DONE if _was_used(flow) else HANDOFF_CLOSED))
        target.record_consent(
            result.as_json(),
            scope=result.scope,
            expires_at=result.expires_at,
            purpose=purpose,
            identity=result.identity,
        )
        finish(flow, OAuthFlow.Outcome.SUCCEEDED)
    handoff.used(flow.handoff_id)
    return target


def _was_used(flow: OAuthFlow) -> bool:
    if flow.handoff_id is None:
        return False
    return HandoffLink.objects.filter(pk=flow.handoff_id, state=HandoffLink.State.USED).exists()
