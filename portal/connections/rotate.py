"""Change a completed setup's HDP application: a rotated client secret, or new scopes (issue 8 item 4).

**Secret.** The admin rotated the secret at the provider and enters the new one. The portal reads the
application as HDP holds it and sends it back unchanged except for ``clientSecret``
(``PUT /api/mgmt/oauthapps/{id}`` takes the same full body as a create, docs/hdp-api.md §2). The
profile and its tokens are untouched, so no consent is needed; one real check follows
(``checks.run_check``), and a wrong secret shows up there: HDP's test refreshes with the provider,
which refuses the client (status "broken", cause "client refused"). The secret is write-only: it is
registered for log redaction, never stored by the portal, never shown again.

**Scopes.** The application's ``scope`` is updated the same way (the secret HDP holds goes back as
it is); the admin then reconnects, because a refresh token minted for the old scopes does not carry
the new ones (``reconnect.start`` asks the provider for the scope HDP now holds).

Only an application this setup created is changed: a reused one may serve other setups and tenants
(SECURITY.md item 21). The secret goes only to the authorize and token addresses the setup registered
(SECURITY.md item 18). No HDP call is made inside a database transaction; the run's lease keeps a
second tab out.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from pydantic import SecretStr

from portal.audit.models import AuditEntry
from portal.connections import checks, reconnect
from portal.connections.models import ConnectionCheck
from portal.hdp.client import HdpClient
from portal.hdp.errors import HdpAuthError, HdpError, HdpNotFound, HdpUnavailable
from portal.hdp.schemas import OAuthApp, OAuthAppCreate
from portal.lib.logging import register_secret
from portal.oauth import flows, handoff
from portal.onboarding import engine
from portal.onboarding.engine import records
from portal.onboarding.forms.fields import scope_tokens
from portal.onboarding.models import RemoteObject, Run
from portal.ratelimit import limiter as ratelimit

SCOPE_MAX = 1000


class RotateRefused(Exception):
    """Nothing was sent to HDP; ``str(exc)`` is safe to show."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    check: ConnectionCheck | None = None
    #: Another tab holds the setup (``engine.StepBusy``): a warning, nothing was sent.
    busy: bool = False


def app_record(run: Run) -> RemoteObject | None:
    """The setup's application, when the setup created it (the only kind it may change)."""
    obj = run.remote(RemoteObject.Kind.APP)
    if obj is None or obj.remote_id is None or obj.outcome != RemoteObject.Outcome.CREATED:
        return None
    return obj


def refusal(run: Run) -> str:
    """Why this setup's application cannot be changed here, "" when it can."""
    if run.status != Run.Status.COMPLETED:
        return _("Only a completed setup's application can be changed here.")
    obj = run.remote(RemoteObject.Kind.APP)
    if obj is not None and obj.outcome == RemoteObject.Outcome.REUSED:
        return _(
            "This setup reuses the OAuth application %(name)s, which it did not create and which other "
            "setups may use. Change its secret or scopes where it was registered, or ask HDP's administrator."
        ) % {"name": obj.name}
    if app_record(run) is None:
        return _("This setup has no OAuth application recorded.")
    return ""


def clean_scope(raw: str) -> str:
    """The scopes as HDP stores them: single spaces between scope tokens. Raises RotateRefused."""
    try:  # the wizard's check (RFC 6749 scope tokens, no & # ?), also for a caller without the form
        tokens = scope_tokens(raw)
    except ValidationError as exc:
        raise RotateRefused(" ".join(exc.messages)) from None
    if not tokens:
        raise RotateRefused(_("Enter at least one scope, separated by spaces."))
    scope = " ".join(dict.fromkeys(tokens))
    if len(scope) > SCOPE_MAX:
        raise RotateRefused(_("The scopes are too long for HDP."))
    return scope


def _hdp_words(exc: HdpError, what: str) -> str:
    """Plain words for a failed read or PUT of the application; ``what`` names what was being saved."""
    if isinstance(exc, HdpUnavailable):
        if exc.delivery == "not_sent":
            return _("HDP could not be reached, so nothing was changed. Try again in a few minutes.")
        if exc.status is not None:
            return _(
                "HDP answered with an error (HTTP %(status)s), so the portal does not know whether it saved "
                "%(what)s. Enter it again in a few minutes: sending it twice is safe."
            ) % {"status": exc.status, "what": what}
        return _(
            "HDP did not answer in time, so the portal does not know whether it saved %(what)s. "
            "Enter it again in a few minutes: sending it twice is safe."
        ) % {"what": what}
    if isinstance(exc, HdpNotFound):
        return _(
            "HDP no longer has this setup's OAuth application. Check the connection to see what to repair."
        )
    if isinstance(exc, HdpAuthError):
        return _("HDP did not allow you to change this OAuth application (%(why)s). Nothing was changed.") % {
            "why": records.plain(exc)
        }
    if exc.delivery == "definite":
        return _("HDP refused the change: %(why)s Nothing was changed.") % {"why": records.plain(exc)}
    return _(
        "HDP's answer could not be read, so the portal does not know whether it saved %(what)s. "
        "Check the connection, or enter it again: sending it twice is safe."
    ) % {"what": what}


def _current(run: Run, client: HdpClient, app_id: int) -> OAuthApp:
    """The application as HDP holds it, checked against the addresses the setup registered."""
    app = client.get_oauth_app(app_id)
    if app.client_secret is not None:
        register_secret(app.client_secret.get_secret_value())
    if (app.authorize_uri or "", app.token_uri or "") != (run.app_authorize_uri, run.app_token_uri):
        # Someone changed the addresses in HDP: a secret must not follow them (SECURITY.md item 18).
        raise RotateRefused(
            _(
                "The authorization or token address of the OAuth application in HDP is no longer the one "
                "this setup registered, so the portal does not send a secret to it. Ask HDP's "
                "administrator who changed the application."
            )
        )
    return app


def _body(app: OAuthApp, *, secret: str, scope: str | None) -> OAuthAppCreate:
    """HDP's application unchanged, except what is being changed (a PUT is a full replace)."""
    return OAuthAppCreate(
        name=app.name,
        data_store=int(app.data_store),
        tenant_id=int(app.tenant_id) if app.tenant_id is not None else None,
        description=app.description,
        client_id=app.client_id,
        client_secret=SecretStr(secret),
        authorize_uri=app.authorize_uri,
        token_uri=app.token_uri,
        scope=app.scope if scope is None else scope,
    )


def rotate_secret(run: Run, client: HdpClient, secret: str, *, actor: str) -> Outcome:
    """Give HDP's application the new client secret, then check the connection once.

    No consent: the profile's refresh token stays valid at the provider. May raise ``StepBusy``."""
    secret = secret.strip()
    if not secret:
        return Outcome(False, _("Enter the new client secret from the provider's app registration."))
    register_secret(secret)
    why = refusal(run)
    if why:
        return Outcome(False, why)
    with engine.lease(run):
        obj = app_record(run)
        assert obj is not None and obj.remote_id is not None  # refusal() said so
        app_id = obj.remote_id
        try:
            current = _current(run, client, app_id)
            client.update_oauth_app(app_id, _body(current, secret=secret, scope=None))
        except RotateRefused as exc:
            AuditEntry.record(actor, "oauth_app.secret_rotated", run=run, app_id=app_id, outcome="refused")
            return Outcome(False, str(exc))
        except HdpError as exc:
            AuditEntry.record(actor, "oauth_app.secret_rotated", run=run, app_id=app_id,
                              outcome=f"hdp_{exc.delivery}", hdp_code=exc.code)  # fmt: skip
            return Outcome(False, _hdp_words(exc, _("the new secret")))
        # A copy held for a repair's consent is the old secret now: the exchange reads HDP's instead.
        records.drop_sealed(run, "app_secret")
    AuditEntry.record(actor, "oauth_app.secret_rotated", run=run, app_id=app_id, outcome="updated")
    try:
        check = checks.run_check(run, client, trigger=ConnectionCheck.Trigger.MANUAL, requested_by=actor)
    except checks.CheckBusy:
        return Outcome(True, _("HDP holds the new client secret. A check of this setup is already running."))
    return Outcome(
        True, _("HDP holds the new client secret. The connection was checked with it."), check=check
    )


def change_scope(run: Run, client: HdpClient, raw_scope: str, *, actor: str) -> Outcome:
    """Put new scopes on HDP's application and record them on the run; the caller then starts a
    reconnect (the old refresh token does not carry new scopes). Raises RotateRefused before any
    HDP write; may raise ``StepBusy``."""
    why = refusal(run)
    if why:
        raise RotateRefused(why)
    scope = clean_scope(raw_scope)
    with engine.lease(run):
        obj = app_record(run)
        assert obj is not None and obj.remote_id is not None
        app_id = obj.remote_id
        try:
            current = _current(run, client, app_id)
            held = current.client_secret.get_secret_value() if current.client_secret else ""
            if not held:
                raise RotateRefused(
                    _(
                        "HDP did not return the application's client secret, so the scopes cannot be "
                        'changed without it. Enter the client secret under "New client secret" first.'
                    )
                )
            old = current.scope or ""
            if old.split() == scope.split():
                raise RotateRefused(_("The application already has exactly these scopes."))
            client.update_oauth_app(app_id, _body(current, secret=held, scope=scope))
        except HdpError as exc:
            AuditEntry.record(actor, "oauth_app.scope_changed", run=run, app_id=app_id,
                              outcome=f"hdp_{exc.delivery}", hdp_code=exc.code)  # fmt: skip
            return Outcome(False, _hdp_words(exc, _("the new scopes")))
        run.app_scope = scope
        records.save(run, "app_scope")
    AuditEntry.record(
        actor, "oauth_app.scope_changed", run=run, app_id=app_id, outcome="updated", old=old[:500], new=scope
    )
    # A link made before asks for the old scopes (issue 19): it ends; the admin makes a new one.
    handoff.end_for_run(run, reason="the application was edited", by=actor)
    return Outcome(
        True, _("HDP's OAuth application has the new scopes. Sign in at the provider to grant them.")
    )


# --- what each form asks for, in one call (portal/connections/views/rotate.py) ---------------------
def submit_secret(run: Run, client: HdpClient, secret: str, *, actor: str) -> Outcome:
    """ "Save the new secret and check": rate-limited like "Check now" (a check follows), then
    :func:`rotate_secret`."""
    if not ratelimit.hit("ds_test", actor, settings.RATELIMIT_TEST_PER_MINUTE):
        AuditEntry.record(actor, "oauth_app.secret_rotated", run=run, outcome="rate_limited")
        return Outcome(
            False, _("You have run many checks in the last minute. Wait a minute, then try again.")
        )
    try:
        return rotate_secret(run, client, secret, actor=actor)
    except engine.StepBusy as exc:
        return Outcome(False, str(exc), busy=True)


@dataclass(frozen=True)
class Rescoped:
    """The answer to "Change the scopes and reconnect"."""

    #: HDP took the new scopes and the sign-in at the provider is next.
    provider_url: str = ""
    message: str = ""
    #: ``error`` (nothing changed), or ``warning`` (another tab; or the scopes changed but the
    #: reconnect could not start).
    level: str = "error"
    #: The setup page's section to show the message at ("" = the top, after the scopes changed).
    fragment: str = "rotate"


def rescope(request: HttpRequest, run: Run, client: HdpClient, scope: str, *, actor: str) -> Rescoped:
    """New scopes on HDP's application (:func:`change_scope`), then straight on to the provider: a
    refresh token minted for the old scopes does not carry the new ones."""
    try:
        outcome = change_scope(run, client, scope, actor=actor)
    except RotateRefused as exc:
        AuditEntry.record(actor, "oauth_app.scope_changed", run=run, outcome="refused")
        return Rescoped(message=str(exc))
    except engine.StepBusy as exc:
        return Rescoped(message=str(exc), level="warning")
    if not outcome.ok:
        return Rescoped(message=outcome.message)
    run.refresh_from_db()
    try:
        return Rescoped(provider_url=reconnect.start(request, run, client))
    except reconnect.ReconnectRefused as exc:
        words = _("%(done)s The reconnect could not start: %(why)s") % {
            "done": outcome.message,
            "why": str(exc),
        }
    except flows.RateLimited:
        words = _(
            "%(done)s You have started many sign-ins in the last minute: wait a minute, then press Reconnect."
        ) % {"done": outcome.message}
    return Rescoped(message=words, level="warning", fragment="")
