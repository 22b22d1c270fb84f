"""Reconnect a completed setup into the same OAuth profile (issue 8 item 2; SECURITY.md items 14, 33, 36).

:func:`start` begins an authorization flow for the setup's HDP application with purpose "reconnect"
(or "replace", the admin's explicit choice to switch provider accounts). The OAuth callback checks
the account and keeps the fresh tokens sealed on the run, then sends the browser to the finish page,
which calls :func:`finish`: ``PUT /api/mgmt/oauthprofiles/{id}`` with the same name and application
and the new tokens (same profile id, nothing created), the sealed copy dropped once HDP took it, and
then one real check (``checks.run_check``, trigger RECONNECT).

When HDP's answer to the PUT is lost (delivery unknown) the tokens stay sealed: "try again" PUTs the
same tokens again (PUT is idempotent) and the next check reports what HDP holds. No HDP call is
made inside a database transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _

from portal.audit.models import AuditEntry
from portal.connections import checks
from portal.connections.models import ConnectionCheck
from portal.hdp.client import HdpClient
from portal.hdp.errors import HdpError
from portal.hdp.schemas import OAuthProfileCreate
from portal.lib.logging import register_secret
from portal.oauth import flows, presets, uris
from portal.onboarding import engine
from portal.onboarding.engine import records
from portal.onboarding.models import Run


class ReconnectRefused(Exception):
    """The flow cannot start; ``str(exc)`` is safe to show."""


def pending(run: Run) -> bool:
    """New tokens from a reconnect wait on the run for HDP to take them."""
    return run.status == Run.Status.COMPLETED and bool(run.tokens_enc)


def start(request: HttpRequest, run: Run, client: HdpClient, *, replace: bool = False) -> str:
    """The provider's authorization URL for a reconnect of ``run`` (its HDP application as HDP holds
    it now, checked like the wizard checks a reused one). Raises ReconnectRefused, flows.RateLimited."""
    if run.consent_purpose() != "reconnect":
        raise ReconnectRefused(_("Only a completed setup whose OAuth profile exists can be reconnected."))
    return authorize_url(request, run, client, "replace" if replace else "reconnect")


def authorize_url(request: HttpRequest, run: Run, client: HdpClient, purpose: str) -> str:
    """Start a flow for ``purpose`` with the setup's HDP application as HDP holds it now (also the
    repair's new consent, portal/connections/repair.py). Raises ReconnectRefused, flows.RateLimited."""
    app_id = run.remote_id("app")
    if app_id is None:
        raise ReconnectRefused(_("This setup has no OAuth application recorded."))
    try:
        app = client.get_oauth_app(app_id)
    except HdpError as exc:
        raise ReconnectRefused(exc.explanation) from None
    preset = presets.get_preset(run.preset) or presets.PRESETS["custom"]
    try:
        authorize_uri = uris.validate_provider_uri(
            app.authorize_uri or "", allowed_hosts=preset.allowed_hosts, kind="authorize"
        )
        token_uri = uris.validate_provider_uri(
            app.token_uri or "", allowed_hosts=preset.allowed_hosts, kind="token"
        )
        return flows.start(
            request,
            run,
            client_id=app.client_id or "",
            authorize_uri=authorize_uri,
            token_uri=token_uri,
            scope=app.scope or run.app_scope,
            extra_params=dict(run.app_extra_params or preset.extra_params),
            token_auth=preset.token_auth,
            expected_issuer=preset.expected_issuer,
            app_id=app_id,
            app_name=app.name,
            purpose=purpose,
        )
    except ValidationError as exc:
        raise ReconnectRefused(" ".join(exc.messages)) from None


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    #: The tokens are still held (HDP's answer was lost or it could not be reached): "try again".
    retry: bool = False
    check: ConnectionCheck | None = None


def _body(run: Run, tokens: dict[str, Any]) -> OAuthProfileCreate:
    """The same profile, same name and app, with the new tokens."""
    profile = run.remote("profile")
    app_id = run.remote_id("app")
    assert profile is not None and app_id is not None  # consent_purpose() == "reconnect" needs both
    return engine.profile_body(run, app_id, tokens, name=profile.name)


def finish(run: Run, client: HdpClient) -> Outcome:
    """Put the held tokens into the setup's existing profile, then check the connection once.

    The only caller of ``update_oauth_profile`` (SECURITY.md item 33): the tokens come from the
    fresh exchange the callback just sealed. May raise ``StepBusy`` (another tab is at it)."""
    with engine.lease(run):
        raw = run.unseal("tokens") if pending(run) else None
        tokens: dict[str, Any] = json.loads(raw) if raw else {}
        for value in tokens.values():
            if isinstance(value, str):
                register_secret(value)
        if not tokens.get("refresh_token"):
            # Never overwrite HDP's refresh token with an empty one (the exchange refuses that already).
            records.drop_sealed(run, "tokens")
            return Outcome(False, _("There is no new sign-in to save. Press Reconnect to sign in again."))
        profile_id = run.remote_id("profile")
        assert profile_id is not None
        try:
            client.update_oauth_profile(profile_id, _body(run, tokens))
        except HdpError as exc:
            if exc.delivery == "definite":
                records.drop_sealed(run, "tokens")
                return Outcome(
                    False,
                    _(
                        "HDP refused the new sign-in: %(why)s Nothing was changed in HDP; press Reconnect to try again."
                    )
                    % {"why": records.plain(exc)},
                )
            return Outcome(
                False,
                _(
                    "HDP did not answer in time, so the portal does not know whether it saved the new sign-in. "
                    "The portal keeps it (encrypted) for now: press Try again to send it once more. "
                    "Sending it twice is safe."
                ),
                retry=True,
            )
        records.drop_sealed(run, "tokens")
    AuditEntry.record(
        run.owner.get_username(),
        "oauth_profile_reconnected",
        run=run,
        profile_id=profile_id,
        account=run.provider_display_name or run.provider_subject or None,
        scope=run.granted_scope[:500],
    )
    try:
        check = checks.run_check(
            run, client, trigger=ConnectionCheck.Trigger.RECONNECT, requested_by=run.owner.get_username()
        )
    except checks.CheckBusy:
        return Outcome(True, _("HDP holds the new sign-in. A check of this setup is already running."))
    return Outcome(True, _("HDP holds the new sign-in in the same OAuth profile."), check=check)
