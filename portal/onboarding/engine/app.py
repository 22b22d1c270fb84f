"""Step b: the run's OAuth application, registered by the run or an existing one reused.

**Minimal custody.** The client secret is kept encrypted on the run from the moment it is entered
until the consent that follows exchanges its code (``Run.record_consent`` drops it), so the callback
needs no read of it back from HDP; the hourly ``purge_abandoned`` drops it from a run left idle
before that (SECURITY.md item 14). A reused application is never created, updated or deleted by the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from pydantic import SecretStr

from portal.hdp.client import HdpClient
from portal.hdp.schemas import OAuthAppCreate
from portal.lib.logging import register_secret
from portal.onboarding.engine import records
from portal.onboarding.engine.errors import SecretRequired, StepError, StepNotReady
from portal.onboarding.engine.lease import lease
from portal.onboarding.engine.reconcile import ensure, finder, resume_in_flight, verifiable
from portal.onboarding.engine.records import SYSTEM_TENANT_ID, Kind, Outcome
from portal.onboarding.models import RemoteObject, Run

# The run's columns an application's settings are recorded in.
_SETTINGS_FIELDS = ("app_name", "app_client_id", "app_authorize_uri", "app_token_uri", "app_scope",
                    "app_extra_params", "app_description", "app_token_auth")  # fmt: skip


@dataclass(frozen=True)
class AppSettings:
    """What the admin asks HDP to register (the client secret travels separately)."""

    name: str
    client_id: str
    authorize_uri: str
    token_uri: str
    scope: str = ""
    extra_params: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    # Client authentication at the token endpoint ("basic" | "post"; "" = the preset's). The portal
    # keeps it on the run: HDP's application has no field for it (docs/hdp-api.md).
    token_auth: str = ""

    @classmethod
    def recorded(cls, run: Run) -> AppSettings:
        """The settings the run holds (the last ones given to HDP or about to be)."""
        return cls(
            name=run.app_name,
            client_id=run.app_client_id,
            authorize_uri=run.app_authorize_uri,
            token_uri=run.app_token_uri,
            scope=run.app_scope,
            extra_params=dict(run.app_extra_params or {}),
            description=run.app_description,
            token_auth=run.app_token_auth,
        )


@dataclass(frozen=True)
class ReusedApp:
    """An application that already exists in HDP, picked for reuse (as the list showed it)."""

    app_id: int
    name: str
    authorize_uri: str
    token_uri: str
    scope: str
    extra_params: Mapping[str, str] = field(default_factory=dict)


def _record(run: Run, app: AppSettings) -> None:
    run.app_name = app.name
    run.app_client_id = app.client_id
    run.app_authorize_uri = app.authorize_uri
    run.app_token_uri = app.token_uri
    run.app_scope = app.scope
    run.app_extra_params = dict(app.extra_params)
    run.app_description = app.description
    run.app_token_auth = app.token_auth
    records.save(run, *_SETTINGS_FIELDS)


def _record_choice(run: Run, app: AppSettings | ReusedApp) -> None:
    """Under the lease: the admin's choice (register ``AppSettings`` or reuse ``ReusedApp``)."""
    if isinstance(app, ReusedApp):
        run.app_mode, run.reuse_app_id = Run.AppMode.REUSE, app.app_id
        run.app_name, run.app_authorize_uri, run.app_token_uri = app.name, app.authorize_uri, app.token_uri
        run.app_scope, run.app_extra_params = app.scope, dict(app.extra_params)
        run.app_token_auth = ""  # the preset's method
        records.save(run, "app_mode", "reuse_app_id", "app_name", "app_authorize_uri", "app_token_uri",
                     "app_scope", "app_extra_params", "app_token_auth")  # fmt: skip
        return
    run.app_mode, run.reuse_app_id = Run.AppMode.CREATE, None
    records.save(run, "app_mode", "reuse_app_id")
    _record(run, app)


def _app_body(run: Run, secret: str, app: AppSettings | None = None) -> OAuthAppCreate:
    if run.datastore_id is None:
        raise StepNotReady(_("Choose the data store first."))
    app = app or AppSettings.recorded(run)
    return OAuthAppCreate(
        name=app.name,
        data_store=run.datastore_id,
        tenant_id=run.tenant_id,
        description=app.description or None,
        client_id=app.client_id,
        client_secret=SecretStr(secret),
        authorize_uri=app.authorize_uri,
        token_uri=app.token_uri,
        scope=app.scope or None,
    )


def ensure_app(
    run: Run,
    client: HdpClient,
    app: AppSettings | ReusedApp | None = None,
    *,
    client_secret: str | None,
) -> int:
    """Make sure the run's OAuth application exists in HDP exactly once; return its id.

    ``app`` is the admin's choice, recorded on the run under the lease (``None``: the one the run
    holds, e.g. on resume). ``ReusedApp``: it is read back (HDP checks the person may see it) and
    recorded as reused, never created, updated or deleted by the run. ``AppSettings``: created as
    the engine's module docstring says. ``client_secret`` (if given) replaces the stored one; the
    secret stays encrypted on the run for the token exchange (the module docstring). No list is read
    before the create while the run holds the secret: HDP refuses a taken name itself, and after a
    lost answer a same-named application is adopted only if it holds that secret (engine.reconcile).
    """
    if client_secret:
        register_secret(client_secret)
    with lease(run):
        records.require_active(run)
        if app is not None:
            _record_choice(run, app)
        if run.app_mode == Run.AppMode.REUSE:
            return _reuse_app(run, client)
        if run.app_mode != Run.AppMode.CREATE:
            raise StepNotReady(_("Choose whether to reuse an OAuth application or register a new one."))
        existing = records.fresh(run, Kind.APP)
        if existing is not None and existing.outcome == Outcome.REUSED:
            _release_reused_app(run, existing)
        done = records.done_id(run, Kind.APP) or resume_in_flight(
            run, Kind.APP, finder(run, client, Kind.APP)
        )
        if done is not None:
            return done
        if client_secret:
            run.seal("app_secret", client_secret)
            records.save(run, "app_secret_enc")
        secret = client_secret or run.unseal("app_secret")
        if not secret:
            raise SecretRequired(_("Enter the client secret from the provider's app registration."))
        register_secret(secret)
        app_id = ensure(
            run,
            Kind.APP,
            run.app_name,
            create=lambda: client.create_oauth_app(_app_body(run, secret)),
            find_by=finder(run, client, Kind.APP),  # the secret is held now: read, not list, to adopt
            taken=finder(run, client, Kind.APP, exact=False),
            step="app",
            check_first=not verifiable(run, Kind.APP),
        )
        return app_id


def _release_reused_app(run: Run, existing: RemoteObject) -> None:
    """Forget a reused app so another can be chosen, unless a profile already depends on it."""
    if records.done_id(run, Kind.PROFILE) is not None:
        raise StepError(
            _(
                "The OAuth profile already uses the application chosen earlier. To use another one, "
                "cancel this onboarding and start again."
            )
        )
    records.audit(run, "hdp.app.reuse_dropped", name=existing.name, remote_id=existing.remote_id)
    existing.delete()


def _reuse_app(run: Run, client: HdpClient) -> int:
    existing = records.fresh(run, Kind.APP)
    wanted = run.reuse_app_id
    if (
        existing is not None
        and existing.outcome == Outcome.REUSED
        and wanted is not None
        and existing.remote_id == wanted
    ):
        return wanted
    if existing is not None and existing.created_by_run and existing.outcome != Outcome.FAILED:
        # Never overwrite the record of an app this run created (or may have): cancel must find it.
        raise StepError(
            _(
                "This onboarding already registered its own OAuth application. To reuse another one instead, "
                "cancel this onboarding and start again."
            )
        )
    if existing is not None and existing.outcome == Outcome.REUSED:
        _release_reused_app(run, existing)
    if wanted is None:
        raise StepNotReady(_("Pick the OAuth application to reuse."))
    app = client.get_oauth_app(wanted)  # HdpNotFound / HdpForbidden if not visible to this person
    if app.tenant_id not in (None, run.tenant_id, SYSTEM_TENANT_ID):
        # Usable only inside its own tenant (docs/hdp-api.md §2); HDP would refuse the profile later anyway.
        raise StepError(
            _("That OAuth application belongs to another tenant. Pick one available to this tenant.")
        )
    remote_id = records.as_int(app.id)
    RemoteObject.objects.update_or_create(
        run=run,
        kind=Kind.APP,
        defaults={
            "name": str(app.name),
            "remote_id": remote_id,
            "outcome": Outcome.REUSED,
            "created_by_run": False,
            "detail": "existing application reused",
        },
    )
    records.audit(run, "hdp.app.reused", name=str(app.name), remote_id=remote_id)
    return remote_id


def profile_in_play(run: Run) -> bool:
    """Whether the run has (or may have) an OAuth profile in HDP, which depends on its app."""
    return (
        RemoteObject.objects.filter(run=run, kind=Kind.PROFILE)
        .exclude(outcome__in=(Outcome.FAILED, Outcome.DELETED))
        .exists()
    )


def update_app(
    run: Run, client: HdpClient, app: AppSettings | None = None, *, client_secret: str | None
) -> None:
    """PUT ``app`` (default: the settings the run holds) to the application this run created.

    The run records the new settings only once HDP took them, so its addresses stay the ones HDP
    holds with the secret (the consent step uses them). Changing the authorize or token URI without re-entering the secret is refused before any HDP
    call: otherwise one edit would send the stored secret, and every tenant's refreshes, to a new
    host (SECURITY.md item 18). Reused apps are never modified, nor an app a profile already uses.
    """
    if client_secret:
        register_secret(client_secret)
    with lease(run):
        records.require_active(run)
        obj = records.fresh(run, Kind.APP)
        if obj is None or not obj.created_by_run or obj.outcome != Outcome.CREATED or obj.remote_id is None:
            raise StepNotReady(_("Only an OAuth application created by this onboarding can be edited here."))
        if profile_in_play(run):
            raise StepError(
                _(
                    "The setup's OAuth profile already uses this application, so its settings can no longer "
                    "be changed here."
                )
            )
        wanted = app or AppSettings.recorded(run)
        current = client.get_oauth_app(obj.remote_id)
        uris_changed = (current.authorize_uri or "") != wanted.authorize_uri or (
            current.token_uri or ""
        ) != wanted.token_uri
        secret = client_secret
        if secret is None:
            if uris_changed:
                raise SecretRequired(
                    _("The authorization or token address changed: enter the client secret again to confirm.")
                )
            # Same URIs: the secret HDP holds goes back unchanged (the PUT is a full replace).
            secret = current.client_secret.get_secret_value() if current.client_secret else ""
        register_secret(secret)
        client.update_oauth_app(obj.remote_id, _app_body(run, secret, wanted))
        if client_secret:  # the consent's exchange uses the secret HDP now holds
            run.seal("app_secret", client_secret)
            records.save(run, "app_secret_enc")
        _record(run, wanted)
        obj.name = wanted.name
        obj.save(update_fields=["name", "updated_at"])
        records.audit(
            run, "hdp.app.updated", name=wanted.name, remote_id=obj.remote_id, uris_changed=uris_changed
        )
