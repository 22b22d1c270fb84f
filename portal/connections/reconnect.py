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
from portal.connections import checks, foresight
from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause, Status
from portal.hdp.client import HdpClient
from portal.hdp.errors import HdpError, HdpNotFound
from portal.hdp.schemas import OAuthProfileCreate
from portal.lib.logging import register_secret
from portal.oauth import flows, handoff, presets, uris
from portal.onboarding import engine
from portal.onboarding.engine import records
from portal.onboarding.models import Run


class ReconnectRefused(Exception):
    """The flow cannot start; ``str(exc)`` is safe to show."""


def pending(run: Run) -> bool:
    """New tokens from a reconnect wait on the run for HDP to take them."""
    return run.status == Run.Status.COMPLETED and bool(run.tokens_enc)


#: Causes of the last check after which the setup's OAuth profile is gone from HDP (HDP deletes an
#: application's profiles with it): a reconnect has no profile to put the new sign-in into.
PROFILE_GONE = (Cause.APP_MISSING, Cause.PROFILE_MISSING)


def refusal(run: Run, status: Status) -> str:
    """Why ``run`` cannot be reconnected now, from its records and its last check; "" when it can.

    The setup page offers Reconnect only when this is "", and :func:`start` refuses the same."""
    if run.consent_purpose() != "reconnect":
        return _("Only a completed setup whose OAuth profile exists can be reconnected.")
    if status.cause in PROFILE_GONE:
        return _(
            "The last check found that this setup's OAuth profile no longer exists in HDP, so there is "
            "nothing to reconnect. Repair the setup instead: the repair has you sign in at the provider "
            "and creates the profile again."
        )
    return ""


def start(request: HttpRequest, run: Run, client: HdpClient, *, replace: bool = False) -> str:
    """The provider's authorization URL for a reconnect of ``run`` (its HDP application as HDP holds
    it now, checked like the wizard checks a reused one). Raises ReconnectRefused, flows.RateLimited."""
    why = refusal(run, checks.status_for(run))
    if why:
        raise ReconnectRefused(why)
    return authorize_url(request, run, client, "replace" if replace else "reconnect")


@dataclass(frozen=True)
class Started:
    """The answer to "Reconnect": the provider's address, or why the flow did not start."""

    provider_url: str = ""
    error: str = ""


def begin(request: HttpRequest, run: Run, client: HdpClient, *, replace: bool = False) -> Started:
    """:func:`start`, with its refusals in plain words (portal/connections/views/reconnect.py)."""
    try:
        return Started(provider_url=start(request, run, client, replace=replace))
    except ReconnectRefused as exc:
        return Started(error=str(exc))
    except flows.RateLimited:
        return Started(
            error=_("You have started many sign-ins in the last minute. Wait a minute, then try again.")
        )


def authorize_url(request: HttpRequest, run: Run, client: HdpClient, purpose: str) -> str:
    """Start a flow for ``purpose`` with the setup's HDP application as HDP holds it now (also the
    repair's new consent, portal/connections/repair.py). Raises ReconnectRefused, flows.RateLimited."""
    start = flow_params(run, client)
    try:
        return flows.start(request, run, **start.to_json(), purpose=purpose)
    except ValidationError as exc:
        raise ReconnectRefused(" ".join(exc.messages)) from None


def flow_params(run: Run, client: HdpClient) -> handoff.StartParams:
    """The setup's HDP application as HDP holds it now, checked like the wizard checks a reused one:
    what a reconnect or repair flow starts with (and what a handoff link stores for the owner).
    Raises ReconnectRefused."""
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
    except ValidationError as exc:
        raise ReconnectRefused(" ".join(exc.messages)) from None
    return handoff.StartParams(
        client_id=app.client_id or "",
        authorize_uri=authorize_uri,
        token_uri=token_uri,
        scope=app.scope or run.app_scope,
        extra_params=dict(run.app_extra_params or preset.extra_params),
        token_auth=preset.token_auth,
        expected_issuer=preset.expected_issuer,
        app_id=app_id,
        app_name=app.name,
    )


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
        except HdpNotFound:
            # Deleted in HDP since the last check: saying "press Reconnect" would loop. Check now, so
            # the setup page shows the cause and offers the repair instead.
            records.drop_sealed(run, "tokens")
            gone = True
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
        else:
            records.drop_sealed(run, "tokens")
            gone = False
    if gone:
        return _profile_gone(run, client)
    AuditEntry.record(
        run.owner.get_username(),
        "oauth_profile_reconnected",
        run=run,
        profile_id=profile_id,
        account=run.provider_display_name or run.provider_subject or None,
        scope=run.granted_scope[:500],
    )
    foresight.close_warnings(run)  # a new sign-in, a new expected end (issue 22)
    try:
        check = checks.run_check(
            run, client, trigger=ConnectionCheck.Trigger.RECONNECT, requested_by=run.owner.get_username()
        )
    except checks.CheckBusy:
        return Outcome(True, _("HDP holds the new sign-in. A check of this setup is already running."))
    return Outcome(True, _("HDP holds the new sign-in in the same OAuth profile."), check=check)


def _profile_gone(run: Run, client: HdpClient) -> Outcome:
    """HDP answered 404 for the profile: one check records why, so the page offers the repair."""
    words = _(
        "HDP no longer has this setup's OAuth profile, so the new sign-in could not be saved there. "
        "Repair the setup: the repair creates the profile again."
    )
    try:
        check = checks.run_check(
            run, client, trigger=ConnectionCheck.Trigger.RECONNECT, requested_by=run.owner.get_username()
        )
    except checks.CheckBusy:
        return Outcome(False, words)
    return Outcome(False, words, check=check)


@dataclass(frozen=True)
class FinishPage:
    """The page the callback returns to: what this request did, and what the admin can do next."""

    outcome: Outcome | None
    #: New tokens still wait on the run for HDP ("Try again").
    pending: bool
    status: Status
    #: The provider account the setup is connected as ("" when unknown).
    account: str
    #: Why Reconnect is not offered ("" when it is): the page links to the repair instead.
    refusal: str
    #: Another tab holds the setup: this request changed nothing.
    busy: str = ""


def finish_page(run: Run, client: HdpClient) -> FinishPage:
    """While new tokens are held, put them into the profile (:func:`finish`), then what the page shows."""
    outcome, busy = None, ""
    if pending(run):
        try:
            outcome = finish(run, client)
        except engine.StepBusy as exc:
            busy = str(exc)
        run.refresh_from_db()
    status = checks.status_for(run)
    return FinishPage(
        outcome=outcome,
        pending=pending(run),
        status=status,
        account=run.provider_display_name or run.provider_subject,
        refusal=refusal(run, status),
        busy=busy,
    )
