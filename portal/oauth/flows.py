"""Starting an authorization-code flow and the pieces the callback needs (SECURITY.md items 1-6, 23).

A flow is a row (:class:`~portal.oauth.models.OAuthFlow`), one per ``state``, so one session can
have several pending flows (two tabs). The state is stored as its SHA-256 only; the row is bound
to the session key (hashed), the person, the tenant and the run, carries the encrypted PKCE
verifier, and snapshots everything the callback will use, so editing the app between start and
callback changes nothing about where the code goes (RFC 9700 §4.4, mix-up).

The callback's side (``check_callback``, ``exchange``, ``Refusal``) is :mod:`portal.oauth.callback`,
which imports this module (never the other way round). What the flow is for is a
:class:`~portal.oauth.consent.ConsentTarget` (the onboarding run, :func:`target_of`), never an
onboarding import.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.lib import crypto, metrics
from portal.lib.logging import register_secret
from portal.oauth import client, presets, uris
from portal.oauth.consent import ConsentTarget
from portal.oauth.models import OAuthFlow
from portal.oauth.snapshot import PURPOSES, RECONNECTS, FlowSnapshot
from portal.ratelimit import limiter as ratelimit

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
    metrics.consent_flow(purpose, "started")
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


def target_of(flow: OAuthFlow) -> ConsentTarget:
    """The run the flow was started for, seen only through the ConsentTarget contract."""
    target: ConsentTarget = flow.run
    return target


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
    metrics.consent_flow(str(flow.snapshot.get("purpose") or "consent"), _FUNNEL.get(str(outcome), "failed"))


#: How a flow's outcome counts in ``hdp_portal_consent_flows_total`` (the consent funnel).
_FUNNEL: dict[str, str] = {
    OAuthFlow.Outcome.SUCCEEDED.value: "completed",
    OAuthFlow.Outcome.DENIED.value: "denied",
    OAuthFlow.Outcome.FAILED.value: "failed",
}


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
