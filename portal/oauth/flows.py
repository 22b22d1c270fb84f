"""Starting an authorization-code flow and the pieces the callback needs (SECURITY.md items 1-6, 23).

A flow is a row (:class:`~portal.oauth.models.OAuthFlow`), one per ``state``, so one session can
have several pending flows (two tabs). The state is stored as its SHA-256 only; the row is bound
to the session key (hashed), the person, the tenant and the run, carries the encrypted PKCE
verifier, and snapshots everything the callback will use, so editing the app between start and
callback changes nothing about where the code goes (RFC 9700 §4.4, mix-up).

The callback's side: :func:`check_callback` (the ordered checks) and :func:`exchange` (the one token
request) stop with a single :class:`Refusal`. What the flow is for is a
:class:`~portal.oauth.consent.ConsentTarget` (the onboarding run), never an onboarding import.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from portal.audit.models import AuditEntry
from portal.lib import crypto
from portal.lib.events import fingerprint
from portal.lib.logging import register_secret
from portal.oauth import client, errors, presets, uris
from portal.oauth.consent import ConsentTarget
from portal.oauth.identity import Identity
from portal.oauth.models import OAuthFlow
from portal.oauth.snapshot import PURPOSES, RECONNECTS, FlowSnapshot
from portal.ratelimit import limiter as ratelimit

if TYPE_CHECKING:
    from portal.accounts.models import User

APP_KEY = re.compile(r"^[A-Za-z0-9_]{1,128}$")
# Pending flows kept per session; older ones are dropped (allauth statekit keeps 10).
MAX_PENDING_PER_SESSION = 10
# Session key listing the ids of flows started in this session (references only, item 16).
SESSION_FLOWS_KEY = "oauth_flow_ids"


class RateLimited(Exception):
    """Too many flow starts by one person in a minute (SECURITY.md item 13); answer 429."""


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def redirect_uri_for(app_name: str) -> str:
    """The constant redirect URI for one HDP app: built from settings, never from the request's
    Host or X-Forwarded-Host (RFC 6749 §3.1.2, RFC 9700 §4.1; SECURITY.md item 4)."""
    if not APP_KEY.match(app_name):
        raise ValueError("HDP app names contain only letters, digits and underscores")
    return settings.PORTAL_BASE_URL + reverse("oauth:callback", args=[app_name])


def _session_key(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    key = request.session.session_key
    assert key is not None
    return key


def origin(uri: str) -> str:
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    port = parts.port
    default = {"https": 443, "http": 80}.get(scheme)
    host = (parts.hostname or "").lower()
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def start(
    request: HttpRequest,
    target: ConsentTarget,
    *,
    client_id: str,
    authorize_uri: str,
    token_uri: str,
    scope: str,
    extra_params: dict[str, str],
    token_auth: str,
    expected_issuer: str | None,
    app_id: int,
    app_name: str,
    purpose: str = "consent",
) -> str:
    """Record a new pending flow for ``target`` (the run) and return the provider's authorization URL.

    ``purpose`` must fit the target's state (:func:`fits`, SECURITY.md item 36): a first consent
    only while no profile exists, a reconnect only into a completed setup's profile.

    Raises PermissionDenied (not the run's owner), RateLimited, or ValidationError (the URIs or
    parameters fail the same checks as on save: the app may have been read back from HDP, where
    anyone with API access could have put any URI).
    """
    user = request.user
    if not user.is_authenticated or target.owner_id != user.pk or not fits(target, purpose):
        raise PermissionDenied("not this person's run, or not a flow this run may start now")
    if not client_id or not APP_KEY.match(app_name):
        raise ValidationError(_("The application has no client ID or an invalid name."), code="app_invalid")
    if token_auth not in ("basic", "post"):
        raise ValidationError(_("Unknown client authentication method."), code="token_auth")
    preset = presets.get_preset(target.preset) or presets.PRESETS["custom"]
    authorize_uri, token_uri = uris.validate_provider_pair(
        authorize_uri, token_uri, allowed_hosts=preset.allowed_hosts
    )
    reserved = sorted(k for k in extra_params if k.lower() in uris.RESERVED_AUTHORIZE_PARAMS)
    if reserved:
        raise ValidationError(
            _("Remove %(names)s from the extra parameters.") % {"names": ", ".join(reserved)},
            code="reserved_param",
        )
    if not ratelimit.hit("oauth_start", str(user.pk), settings.RATELIMIT_OAUTH_START_PER_MINUTE):
        raise RateLimited()

    session_key = _session_key(request)
    state = secrets.token_urlsafe(32)
    # RFC 7636 §4.1: 43-128 characters from the unreserved set; token_urlsafe(64) gives 86.
    verifier = secrets.token_urlsafe(64)
    register_secret(verifier)
    snapshot = FlowSnapshot(
        authorize_uri=authorize_uri,
        token_uri=token_uri,
        client_id=client_id,
        scope=" ".join(scope.split()),
        extra_params=dict(extra_params),
        redirect_uri=redirect_uri_for(app_name),
        expected_issuer=expected_issuer or None,
        token_auth=token_auth,
        preset=preset.key,
        app_id=app_id,
        app_name=app_name,
        purpose=purpose,
    )
    flow = OAuthFlow(
        state_hash=sha256(state),
        session_key_hash=sha256(session_key),
        user=user,
        run_id=target.pk,
        tenant_id=target.tenant_id,
        snapshot=snapshot.to_json(),
        expires_at=timezone.now() + timedelta(seconds=settings.OAUTH_FLOW_TTL_SECONDS),
    )
    flow.code_verifier_enc = crypto.encrypt(verifier, aad=flow.aad())
    flow.save()
    _cap_pending(flow.session_key_hash)
    started = [str(flow.pk), *request.session.get(SESSION_FLOWS_KEY, [])]
    request.session[SESSION_FLOWS_KEY] = started[:MAX_PENDING_PER_SESSION]
    return client.build_authorization_url(snapshot, state, verifier)


def fits(target: ConsentTarget, purpose: str) -> bool:
    """Whether ``target`` may take a flow for ``purpose`` now (SECURITY.md item 36)."""
    allowed = target.consent_purpose()
    if purpose not in PURPOSES or allowed is None:
        return False
    return purpose in RECONNECTS if allowed == "reconnect" else purpose == allowed


def pending(session_key_hash: str) -> Any:
    return OAuthFlow.objects.filter(
        session_key_hash=session_key_hash, consumed_at__isnull=True, outcome=OAuthFlow.Outcome.PENDING
    )


def _cap_pending(session_key_hash: str) -> None:
    keep = list(
        pending(session_key_hash)
        .order_by("-created_at")
        .values_list("pk", flat=True)[:MAX_PENDING_PER_SESSION]
    )
    pending(session_key_hash).exclude(pk__in=keep).update(
        consumed_at=timezone.now(), outcome=OAuthFlow.Outcome.FAILED, error_code="superseded"
    )


def find_flow(state: str) -> OAuthFlow | None:
    return OAuthFlow.objects.select_related("run", "user").filter(state_hash=sha256(state)).first()


def consume(flow: OAuthFlow) -> bool:
    """Mark ``flow`` used; False if it already was. One conditional UPDATE, so two concurrent
    callbacks cannot both win (RFC 6749 §10.5, SECURITY.md item 1)."""
    now = timezone.now()
    won = OAuthFlow.objects.filter(pk=flow.pk, consumed_at__isnull=True).update(consumed_at=now)
    if won:
        flow.consumed_at = now
    return bool(won)


def finish(flow: OAuthFlow, outcome: str, error_code: str = "") -> None:
    OAuthFlow.objects.filter(pk=flow.pk).update(outcome=outcome, error_code=error_code[:100])
    flow.outcome, flow.error_code = outcome, error_code[:100]


def fail_unconsumed(flow: OAuthFlow, error_code: str) -> None:
    """Burn a flow that showed signs of a mix-up, so it cannot be completed later."""
    OAuthFlow.objects.filter(pk=flow.pk, consumed_at__isnull=True).update(
        consumed_at=timezone.now(), outcome=OAuthFlow.Outcome.FAILED, error_code=error_code
    )


def verifier_for(flow: OAuthFlow) -> str:
    verifier = crypto.decrypt(flow.code_verifier_enc, aad=flow.aad())
    register_secret(verifier)
    return verifier


def rebind_session(old_key: str, new_key: str) -> int:
    """Move the pending flows bound to session ``old_key`` to ``new_key`` (the sandbox provider
    cycles the shared session key at its sign-in; SECURITY.md item 1 binds flows to that key)."""
    if not old_key or not new_key:
        return 0
    return int(pending(sha256(old_key)).update(session_key_hash=sha256(new_key)))


# --- the callback's checks (SECURITY.md items 1, 5, 6; RFC 9700 §4.7, §4.4) -----------------------
SINGLE_VALUED = ("code", "state", "iss", "error", "error_description", "error_uri")
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
RESTART = _l("Start the connection again from your setup.")


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
    ) -> None:
        super().__init__(event or "refused")
        self.event, self.message, self.title = event, message, title
        self.link_url, self.link_text, self.retry_url = link_url, link_text, retry_url
        self.fields = fields or {}


def target_of(flow: OAuthFlow) -> ConsentTarget:
    """The run the flow was started for, seen only through the ConsentTarget contract."""
    target: ConsentTarget = flow.run
    return target


def _clean_provider_text(text: str, limit: int = 300) -> str:
    """Provider text is shown as plain text (the template escapes it), without control characters."""
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch == " ")
    kept = " ".join(kept.split())
    return kept[:limit] + ("..." if len(kept) > limit else "")


def check_callback(request: HttpRequest, app_key: str, params: QueryDict) -> tuple[OAuthFlow, str]:
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
            fields={"state": fingerprint(state)},
        )
    ids = {"flow": str(flow.pk), "tenant": flow.tenant_id}
    target = target_of(flow)

    # 3. Bound to this browser session and this person, and fresh.
    if not request.user.is_authenticated:
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
        raise Refusal(
            "oauth_session_mismatch",
            _("This sign-in was started in another browser or before you signed in again. %(restart)s")
            % {"restart": RESTART},
            fields=ids,
        )
    if flow.user_id != request.user.pk:
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
            link_text=_("Go to your setup"),
            fields=ids,
        )

    # 4. The callback path names the app the flow was started for (mix-up defence, RFC 9700 §4.4.2).
    snapshot = flow.frozen()
    if app_key != snapshot.app_name:
        fail_unconsumed(flow, "path_mismatch")
        raise Refusal(
            "oauth_path_mismatch",
            _("This sign-in came back to the wrong address. %(restart)s") % {"restart": RESTART},
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
            link_text=_("Go to your setup"),
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
            link_text=_("Go to your setup"),
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
        raise Refusal(None, text, retry_url=target.consent_retry_url(snapshot.purpose))

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
    from portal.hdp.client import HdpClient
    from portal.hdp.errors import HdpError

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
        raise Refusal(
            "oauth_blocked_destination" if blocked else None,
            exc.user_message(),
            retry_url=target.consent_retry_url(snapshot.purpose),
            fields=ids if blocked else None,
        ) from None
    except crypto.DecryptionError:
        finish(flow, OAuthFlow.Outcome.FAILED, "verifier_unreadable")
        raise Refusal(
            "oauth_verifier_unreadable",
            _("The portal could not read this sign-in's saved data. %(restart)s") % {"restart": RESTART},
            retry_url=target.consent_retry_url(snapshot.purpose),
            fields=ids,
        ) from None


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
    """9. Hand a fresh exchange to the target for the flow's purpose. A reconnect must come from the
    provider account recorded at the first consent wherever the provider identifies it (only
    "replace", the admin's explicit choice, may change it); else :class:`Refusal`, nothing stored."""
    target = target_of(flow)
    snapshot = flow.frozen()
    recorded = target.consent_identity()
    other = result.identity is None or (recorded is not None and not recorded.same_account(result.identity))
    if snapshot.purpose == "reconnect" and recorded is not None and other:
        finish(flow, OAuthFlow.Outcome.FAILED, "account_mismatch")
        raise _account_refusal(recorded, result.identity, target.consent_retry_url(snapshot.purpose))
    target.record_consent(
        result.as_json(),
        scope=result.scope,
        expires_at=result.expires_at,
        purpose=snapshot.purpose,
        identity=result.identity,
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


def drop_run_flows(target: ConsentTarget, error_code: str = "app_edited") -> int:
    """Fail the run's pending flows: their snapshot holds the app settings of when they started
    (after an edit, a late callback must not exchange its code with the old addresses)."""
    return int(
        OAuthFlow.objects.filter(
            run_id=target.pk, consumed_at__isnull=True, outcome=OAuthFlow.Outcome.PENDING
        ).update(consumed_at=timezone.now(), outcome=OAuthFlow.Outcome.FAILED, error_code=error_code[:100])
    )


def drop_pending_flows(session_key: str | None) -> int:
    """Fail every pending flow of ``session_key`` (logout; SECURITY.md item 23)."""
    if not session_key:
        return 0
    return int(
        pending(sha256(session_key)).update(
            consumed_at=timezone.now(), outcome=OAuthFlow.Outcome.FAILED, error_code="session_ended"
        )
    )


def drop_flows_on_login(request: HttpRequest) -> int:
    """On login: Django has already cycled the session key when ``user_logged_in`` fires (the old
    key is gone), but the session *data* moved to the new key; it lists the flow ids this browser
    started, so exactly those are failed (SECURITY.md item 23). Other browsers' flows are untouched."""
    ids = request.session.pop(SESSION_FLOWS_KEY, [])
    if not ids:
        return 0
    return int(
        OAuthFlow.objects.filter(pk__in=ids, consumed_at__isnull=True).update(
            consumed_at=timezone.now(), outcome=OAuthFlow.Outcome.FAILED, error_code="session_ended"
        )
    )


def purge_expired_flows(older_than: timedelta = timedelta(days=1)) -> int:
    """Delete flow rows (and their encrypted verifiers) past expiry (SECURITY.md item 14)."""
    deleted, _by_model = OAuthFlow.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return int(deleted)
