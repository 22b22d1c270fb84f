"""The step engine: every HDP write a run makes goes through here (SECURITY.md items 30-33).

Why it looks the way it does:

* **Intent first.** Before each create the run records a ``RemoteObject`` (outcome ``pending``) and
  commits it, then calls HDP. If the process dies after HDP created the object but before the id
  was saved, the intent row is what tells a later resume to look for the object instead of making
  a second one. No HDP call ever runs inside ``transaction.atomic()``: a rollback would forget an
  object that exists remotely.
* **Classify, then act.** The HDP client says whether a failed request may have been acted on
  (``HdpError.delivery``): ``not_sent`` is retried once, ``unknown`` is reconciled (list, match the
  exact name, adopt exactly one; escalate on more than one) before any retry, ``definite`` is a
  refusal that is recorded and re-raised for the view to explain.
* **Never adopt what this run did not create.** A same-named object that exists before the run ever
  sent its create belongs to someone else: ``NameTaken``, no write.
* **One runner per run.** A short lease on ``Run.busy_until`` (conditional UPDATE) lets exactly one
  request do HDP work for a run; a double submit gets ``StepBusy`` and makes no HDP call.
* **Minimal custody.** The client secret is dropped once the app exists; tokens once the profile
  exists; both when the run completes, is cancelled, or is abandoned (``purge_abandoned``).
* **Resume over compensation.** A failure keeps what exists; ``cancel`` is the explicit, idempotent
  compensation and deletes, newest first, only what this run recorded as created.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from pydantic import SecretStr

from portal.audit.models import AuditEntry
from portal.hdp.client import HdpClient
from portal.hdp.errors import HdpAuthError, HdpError, HdpNotFound
from portal.hdp.schemas import DataSourceCreate, OAuthAppCreate, OAuthProfileCreate, TestResult
from portal.lib.events import security_event
from portal.lib.logging import redact, register_secret
from portal.onboarding.models import RemoteObject, Run

logger = logging.getLogger(__name__)

STEP_ORDER = ["store", "app", "authorize", "profile", "datasource", "verify"]
#: HDP's system tenant: its OAuth applications are usable by every child tenant (docs/hdp-api.md §2).
SYSTEM_TENANT_ID = 1
#: What :func:`current_step` answers once every step is finished.
DONE = "done"

Kind = RemoteObject.Kind
Outcome = RemoteObject.Outcome

_KIND_WORDS = {
    Kind.APP: _l("OAuth application"),
    Kind.PROFILE: _l("OAuth profile"),
    Kind.DATASOURCE: _l("data source"),
}
_KIND_PLURALS = {
    Kind.APP: _l("OAuth applications"),
    Kind.PROFILE: _l("OAuth profiles"),
    Kind.DATASOURCE: _l("data sources"),
}
# Outcomes after which an object is in place for the next step.
_DONE_OUTCOMES = (Outcome.CREATED, Outcome.REUSED)
# Outcomes of an intent whose create may have reached HDP: reconcile before anything else.
_IN_FLIGHT = (Outcome.PENDING, Outcome.UNKNOWN)


# --- exceptions ------------------------------------------------------------------------------------
class StepError(Exception):
    """Base of the engine's own refusals. ``str()`` is a plain sentence safe to show the admin."""


class StepBusy(StepError):
    """Another request is already doing HDP work for this run; this one made no HDP call."""


class ReconcileConflict(StepError):
    """More than one HDP object has the name this run used: a person has to decide which is ours."""


class NameTaken(StepError):
    """A same-named object exists that this run did not create. It is never adopted or overwritten."""


class SecretRequired(StepError):
    """The client secret must be (re-)entered: to create the app, or to change its URIs (item 18)."""


class MissingTokens(StepError, ValueError):
    """No usable tokens (no consent yet, or no refresh token): authorize again before the profile."""


class StepNotReady(StepError):
    """An earlier step is unfinished (e.g. a profile without an application)."""


# --- lease ------------------------------------------------------------------------------------------
# Runs whose lease this context (thread / task) holds, so the step functions can take the lease
# themselves and still be called inside an outer ``with lease(run):``.
_HELD: contextvars.ContextVar[frozenset[Any]] = contextvars.ContextVar(
    "onboarding_leases", default=frozenset()
)


@contextmanager
def lease(run: Run, seconds: int = 60) -> Iterator[Run]:
    """Hold the run's lease for the block; a concurrent holder makes this raise ``StepBusy``.

    The lease is a conditional UPDATE (``busy_until`` NULL or past) in autocommit, so two requests
    racing for it cannot both win on any database, and no transaction stays open while HDP is
    called. It expires by itself if the process dies. On entry the run is re-read, so the holder
    sees what a previous holder recorded (so: save the run's edited fields before calling a step;
    unsaved changes are discarded). On exit it is released only if it is still ours. Re-entrant
    within one thread/context, so a view may hold it around several steps.
    """
    if run.pk in _HELD.get():
        yield run
        return
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    taken = (
        Run.objects.filter(pk=run.pk)
        .filter(Q(busy_until__isnull=True) | Q(busy_until__lt=now))
        .update(busy_until=until)
    )
    if not taken:
        raise StepBusy(
            _("This onboarding is already being worked on in another tab or request. Wait a moment.")
        )
    token = _HELD.set(_HELD.get() | {run.pk})
    try:
        run.refresh_from_db()
        yield run
    finally:
        _HELD.reset(token)
        Run.objects.filter(pk=run.pk, busy_until=until).update(busy_until=None)
        run.busy_until = None


# --- small helpers ----------------------------------------------------------------------------------
def _require_active(run: Run) -> None:
    """A cancelled run makes no more HDP objects (cancel deleted them; creating again would leak)."""
    if run.status == Run.Status.CANCELLED:
        raise StepError(_("This onboarding was cancelled. Start a new one to connect this data store."))


def _actor(run: Run) -> str:
    return str(run.owner.get_username())


def _audit(run: Run, action: str, **detail: Any) -> None:
    AuditEntry.record(_actor(run), action, run=run, **detail)


def _save(run: Run, *fields: str) -> None:
    # Only the named fields: the views write other fields of the same row.
    run.save(update_fields=[*fields, "updated_at"])


def _mark(obj: RemoteObject, outcome: str, *, detail: str = "", remote_id: int | None = None) -> None:
    obj.outcome = outcome
    obj.detail = detail[:500]
    if remote_id is not None:
        obj.remote_id = remote_id
    obj.save(update_fields=["outcome", "detail", "remote_id", "updated_at"])


def _as_int(value: Any) -> int:
    return int(value)  # HDP sends ids as int or as a numeric string (docs/hdp-api.md §0)


def _matches(items: Sequence[Any], name: str, *, exact: bool = True) -> list[int]:
    """Ids of the listed objects named ``name``.

    Adoption needs the exact name the run sent. The "someone else's" check ignores case, because
    HDP may treat names case-insensitively ([U]; the emulator does) and refuse ours anyway.
    """
    if exact:
        return [_as_int(item.id) for item in items if str(item.name) == name]
    folded = name.casefold()
    return [_as_int(item.id) for item in items if str(item.name).casefold() == folded]


def _intent(run: Run, kind: str, name: str) -> RemoteObject:
    """Record (and commit) the intent to create ``kind`` named ``name`` before the POST."""
    obj, _created = RemoteObject.objects.update_or_create(
        run=run,
        kind=kind,
        defaults={
            "name": name,
            "outcome": Outcome.PENDING,
            "created_by_run": True,
            "remote_id": None,
            "detail": "",
        },
    )
    return obj


def _fresh(run: Run, kind: str) -> RemoteObject | None:
    return RemoteObject.objects.filter(run=run, kind=kind).first()


def _done_id(run: Run, kind: str) -> int | None:
    obj = _fresh(run, kind)
    if obj is not None and obj.outcome in _DONE_OUTCOMES and obj.remote_id is not None:
        return obj.remote_id
    return None


def _plain(exc: HdpError) -> str:
    """The client's explanation (written for people, carries no HDP text or secret)."""
    return redact(exc.explanation)[:500]


def _alert_auth(run: Run, exc: HdpAuthError, step: str) -> None:
    security_event(
        "hdp.auth_refused",
        actor=_actor(run),
        tenant=run.tenant_id,
        run=str(run.pk),
        step=step,
        status=exc.status,
    )


def _purge_secrets(run: Run) -> list[str]:
    cleared = [f for f in ("app_secret_enc", "tokens_enc") if getattr(run, f)]
    for field in cleared:
        setattr(run, field, "")
    return cleared


# --- the create / reconcile core --------------------------------------------------------------------
def _adopt(run: Run, obj: RemoteObject, find: Callable[[], list[int]], why: str) -> int | None:
    """Look for the object by name: adopt exactly one, ``None`` for none, escalate on more."""
    found = find()
    if len(found) > 1:
        _mark(obj, Outcome.UNKNOWN, detail=f"{len(found)} objects named {obj.name!r} in HDP; needs a person")
        _audit(run, f"hdp.{obj.kind}.conflict", name=obj.name, ids=found)
        raise ReconcileConflict(
            _(
                "HDP has %(count)d %(kinds)s named %(name)r, so the portal cannot "
                "tell which one this onboarding created. Ask support to remove the extra one, then resume."
            )
            % {"count": len(found), "kinds": _KIND_PLURALS[Kind(obj.kind)], "name": obj.name}
        )
    if not found:
        return None
    remote_id = found[0]
    _mark(obj, Outcome.CREATED, detail=why, remote_id=remote_id)
    _audit(run, f"hdp.{obj.kind}.adopted", name=obj.name, remote_id=remote_id, reason=why)
    return remote_id


def _create(
    run: Run, obj: RemoteObject, *, create: Callable[[], Any], find: Callable[[], list[int]], step: str
) -> int:
    """POST with the intent row already committed; classify failures by delivery.

    ``not_sent``: retried once. ``unknown``: reconciled at once (adopt exactly one); if HDP has
    nothing by that name, one more create is safe. ``definite``: recorded as failed and re-raised.
    """
    not_sent_retries = 1
    retries_after_reconcile = 1
    while True:
        try:
            created = create()
        except HdpAuthError as exc:
            # Service credentials or permissions: fail closed, alert, never retry here.
            _mark(obj, Outcome.FAILED, detail=_plain(exc))
            _alert_auth(run, exc, step)
            raise
        except HdpError as exc:
            if exc.delivery == "not_sent":
                if not_sent_retries:
                    not_sent_retries -= 1
                    logger.info("onboarding %s: %s create not sent, retrying once", run.pk, obj.kind)
                    continue
                _mark(
                    obj, Outcome.PENDING, detail="HDP could not be reached, nothing was created. Try again."
                )
                raise
            if exc.delivery == "unknown":
                _mark(obj, Outcome.UNKNOWN, detail="HDP may or may not have created it; checking by name")
                # A failure of this lookup propagates and leaves the intent unknown for resume.
                adopted = _adopt(run, obj, find, "adopted after unknown outcome")
                if adopted is not None:
                    return adopted
                if retries_after_reconcile:
                    retries_after_reconcile -= 1
                    _mark(
                        obj,
                        Outcome.PENDING,
                        detail="not found in HDP after an unknown outcome; creating again",
                    )
                    continue
                _mark(obj, Outcome.UNKNOWN, detail="HDP did not answer clearly twice; resume to check again")
                raise
            _mark(obj, Outcome.FAILED, detail=_plain(exc))
            raise
        remote_id = _as_int(created.id)
        _mark(obj, Outcome.CREATED, remote_id=remote_id)
        _audit(run, f"hdp.{obj.kind}.created", name=obj.name, remote_id=remote_id)
        return remote_id


def _resume_in_flight(run: Run, kind: str, find_by: Callable[[str], list[int]]) -> int | None:
    """If a create of ``kind`` may have reached HDP (crash after 201, timeout), look for it under
    the name that was sent and adopt it; ``None`` if there is nothing in flight or nothing found."""
    obj = _fresh(run, kind)
    if obj is None or obj.outcome not in _IN_FLIGHT:
        return None
    recorded = obj.name
    return _adopt(run, obj, lambda: find_by(recorded), "adopted on resume")


def _ensure(
    run: Run,
    kind: str,
    name: str,
    *,
    create: Callable[[], Any],
    find_by: Callable[[str], list[int]],
    taken: Callable[[str], list[int]],
    step: str,
) -> int:
    """Create ``kind`` named ``name`` once, whatever happened before; return its id."""
    obj = _fresh(run, kind)
    if obj is not None and obj.outcome in _DONE_OUTCOMES and obj.remote_id is not None:
        return obj.remote_id
    adopted = _resume_in_flight(run, kind, find_by)
    if adopted is not None:
        return adopted
    if taken(name):
        # Nothing of ours in flight under this name, yet HDP has it: someone else's. Never adopt it.
        raise NameTaken(
            _(
                "An %(kind)s named %(name)r already exists in HDP and was not created by this "
                "onboarding. Pick another name."
            )
            % {"kind": _KIND_WORDS[Kind(kind)], "name": name}
        )
    obj = _intent(run, kind, name)
    return _create(run, obj, create=create, find=lambda: find_by(name), step=step)


# --- request bodies ---------------------------------------------------------------------------------
def _app_body(run: Run, secret: str) -> OAuthAppCreate:
    if run.datastore_id is None:
        raise StepNotReady(_("Choose the data store first."))
    return OAuthAppCreate(
        name=run.app_name,
        data_store=run.datastore_id,
        tenant_id=run.tenant_id,
        description=run.app_description or None,
        client_id=run.app_client_id,
        client_secret=SecretStr(secret),
        authorize_uri=run.app_authorize_uri,
        token_uri=run.app_token_uri,
        scope=run.app_scope or None,
    )


def _profile_body(run: Run, app_id: int, tokens: dict[str, Any]) -> OAuthProfileCreate:
    access = tokens.get("access_token")
    return OAuthProfileCreate(
        name=run.profile_name,
        oauth_app_id=app_id,
        description=run.profile_description or None,
        access_token=SecretStr(str(access)) if access else None,
        refresh_token=SecretStr(str(tokens["refresh_token"])),
    )


def _datasource_body(
    run: Run, profile_id: int, secret_options: Mapping[str, str] | None = None
) -> DataSourceCreate:
    if run.datastore_id is None:
        raise StepNotReady(_("Choose the data store first."))
    options = {str(k): str(v) for k, v in (run.ds_options or {}).items()}
    options.update(secret_options or {})
    options["OAuthProfileId"] = str(profile_id)
    return DataSourceCreate(
        name=run.ds_name,
        data_store=run.datastore_id,
        connection_type="Cloud",
        description=run.ds_description or None,
        options=options,
    )


# --- steps ------------------------------------------------------------------------------------------
def ensure_app(run: Run, client: HdpClient, *, client_secret: str | None) -> int:
    """Make sure the run's OAuth application exists in HDP exactly once; return its id.

    ``reuse``: the admin picked an existing app (``run.reuse_app_id``); it is read back (HDP checks
    the person may see it) and recorded as reused, never created, updated or deleted by the run.
    ``create``: see the module docstring. ``client_secret`` (if given) replaces the stored one; the
    secret is kept encrypted only until HDP holds it.
    """
    with lease(run):
        _require_active(run)
        if run.app_mode == Run.AppMode.REUSE:
            return _reuse_app(run, client)
        if run.app_mode != Run.AppMode.CREATE:
            raise StepNotReady(_("Choose whether to reuse an OAuth application or register a new one."))
        existing = _fresh(run, Kind.APP)
        if existing is not None and existing.outcome == Outcome.REUSED:
            _release_reused_app(run, existing)
        find_by = _finder(run, client, Kind.APP)
        done = _done_id(run, Kind.APP) or _resume_in_flight(run, Kind.APP, find_by)
        if done is not None:
            _drop_sealed(run, "app_secret")
            return done
        if client_secret:
            register_secret(client_secret)
            run.seal("app_secret", client_secret)
            _save(run, "app_secret_enc")
        secret = client_secret or run.unseal("app_secret")
        if not secret:
            raise SecretRequired(_("Enter the client secret from the provider's app registration."))
        register_secret(secret)
        app_id = _ensure(
            run,
            Kind.APP,
            run.app_name,
            create=lambda: client.create_oauth_app(_app_body(run, secret)),
            find_by=find_by,
            taken=_finder(run, client, Kind.APP, exact=False),
            step="app",
        )
        _drop_sealed(run, "app_secret")
        return app_id


def _drop_sealed(run: Run, field: str) -> None:
    """HDP holds this secret now (the app's client secret, or the tokens once the profile exists),
    so the portal stops keeping its encrypted copy (SECURITY.md item 14)."""
    if getattr(run, f"{field}_enc"):
        setattr(run, f"{field}_enc", "")
        _save(run, f"{field}_enc")


def _release_reused_app(run: Run, existing: RemoteObject) -> None:
    """Forget a reused app so another can be chosen, unless a profile already depends on it."""
    if _done_id(run, Kind.PROFILE) is not None:
        raise StepError(
            _(
                "The OAuth profile already uses the application chosen earlier. To use another one, "
                "cancel this onboarding and start again."
            )
        )
    _audit(run, "hdp.app.reuse_dropped", name=existing.name, remote_id=existing.remote_id)
    existing.delete()


def _reuse_app(run: Run, client: HdpClient) -> int:
    existing = _fresh(run, Kind.APP)
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
    remote_id = _as_int(app.id)
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
    _audit(run, "hdp.app.reused", name=str(app.name), remote_id=remote_id)
    return remote_id


def profile_in_play(run: Run) -> bool:
    """Whether the run has (or may have) an OAuth profile in HDP, which depends on its app."""
    return (
        RemoteObject.objects.filter(run=run, kind=Kind.PROFILE)
        .exclude(outcome__in=(Outcome.FAILED, Outcome.DELETED))
        .exists()
    )


def update_app(run: Run, client: HdpClient, *, client_secret: str | None) -> None:
    """PUT the run's edited app settings to the app this run created.

    Changing the authorize or token URI without re-entering the secret is refused before any HDP
    call: otherwise one edit would send the stored secret, and every tenant's refreshes, to a new
    host (SECURITY.md item 18). Reused apps are never modified, nor an app a profile already uses.
    """
    with lease(run):
        _require_active(run)
        obj = _fresh(run, Kind.APP)
        if obj is None or not obj.created_by_run or obj.outcome != Outcome.CREATED or obj.remote_id is None:
            raise StepNotReady(_("Only an OAuth application created by this onboarding can be edited here."))
        if profile_in_play(run):
            raise StepError(
                _(
                    "The setup's OAuth profile already uses this application, so its settings can no longer "
                    "be changed here."
                )
            )
        current = client.get_oauth_app(obj.remote_id)
        uris_changed = (current.authorize_uri or "") != run.app_authorize_uri or (
            current.token_uri or ""
        ) != run.app_token_uri
        secret = client_secret
        if secret is None:
            if uris_changed:
                raise SecretRequired(
                    _("The authorization or token address changed: enter the client secret again to confirm.")
                )
            # Same URIs: the secret HDP holds goes back unchanged (the PUT is a full replace).
            secret = current.client_secret.get_secret_value() if current.client_secret else ""
        register_secret(secret)
        client.update_oauth_app(obj.remote_id, _app_body(run, secret))
        obj.name = run.app_name
        obj.save(update_fields=["name", "updated_at"])
        _audit(run, "hdp.app.updated", name=run.app_name, remote_id=obj.remote_id, uris_changed=uris_changed)


def ensure_profile(run: Run, client: HdpClient) -> int:
    """Make sure the OAuth profile holding this run's tokens exists exactly once; return its id.

    The tokens stay encrypted on the run until the profile exists (then they are dropped: HDP is
    the token store). A refused create keeps them, so the admin can fix and resume within the TTL
    without a new consent. Tokens are only ever sent from a fresh exchange (item 33).
    """
    with lease(run):
        _require_active(run)
        find_by = _finder(run, client, Kind.PROFILE)
        done = _done_id(run, Kind.PROFILE) or _resume_in_flight(run, Kind.PROFILE, find_by)
        if done is not None:
            _drop_sealed(run, "tokens")
            return done
        app_id = _done_id(run, Kind.APP)
        if app_id is None:
            raise StepNotReady(_("The OAuth application must exist before the profile."))
        raw = run.unseal("tokens")
        tokens: dict[str, Any] = json.loads(raw) if raw else {}
        for value in tokens.values():
            if isinstance(value, str):
                register_secret(value)
        if not tokens.get("refresh_token"):
            raise MissingTokens(
                _(
                    "The provider did not return a refresh token, which HDP needs to keep the connection working. "
                    "Authorize again and allow offline access."
                )
            )
        profile_id = _ensure(
            run,
            Kind.PROFILE,
            run.profile_name,
            create=lambda: client.create_oauth_profile(_profile_body(run, app_id, tokens)),
            find_by=find_by,
            taken=_finder(run, client, Kind.PROFILE, exact=False),
            step="profile",
        )
        _drop_sealed(run, "tokens")
        return profile_id


def ensure_datasource(run: Run, client: HdpClient, *, secret_options: Mapping[str, str] | None = None) -> int:
    """Make sure the data source exists exactly once, using the run's profile; return its id.

    A same-named data source this run did not create is never adopted or overwritten (NameTaken).
    ``secret_options`` (back-end passwords) go to HDP in the create body only: the run never
    stores them, not even for the length of the request.
    """
    secrets_for_hdp = dict(secret_options or {})
    for value in secrets_for_hdp.values():
        register_secret(value)
    with lease(run):
        _require_active(run)
        done = _done_id(run, Kind.DATASOURCE)
        if done is not None:
            return done
        profile_id = _done_id(run, Kind.PROFILE)
        if profile_id is None:
            raise StepNotReady(_("The OAuth profile must exist before the data source."))
        if not run.ds_name:
            raise StepNotReady(_("Enter a name for the data source."))
        return _ensure(
            run,
            Kind.DATASOURCE,
            run.ds_name,
            create=lambda: client.create_datasource(_datasource_body(run, profile_id, secrets_for_hdp)),
            find_by=_finder(run, client, Kind.DATASOURCE),
            taken=_finder(run, client, Kind.DATASOURCE, exact=False),
            step="datasource",
        )


def verify(run: Run, client: HdpClient) -> TestResult:
    """Ask HDP to test the data source; on success the run is completed and holds no secret."""
    with lease(run):
        _require_active(run)
        ds_id = _done_id(run, Kind.DATASOURCE)
        if ds_id is None:
            raise StepNotReady(_("The data source must exist before it can be tested."))
        result = client.test_datasource(ds_id)
        ok = bool(result.success)
        run.verified_at = timezone.now()
        run.verify_ok = ok
        run.verify_message = (
            _("Connection test passed.")
            if ok
            else redact(str(result.message or _("The connection test failed.")))[:1000]
        )
        fields = ["verified_at", "verify_ok", "verify_message"]
        if ok:
            run.status = Run.Status.COMPLETED
            run.completed_at = run.verified_at
            fields += ["status", "completed_at", *_purge_secrets(run)]
        _save(run, *dict.fromkeys(fields))
        _audit(run, "run.verified", ok=ok, remote_id=ds_id)
        if ok:
            _audit(run, "run.completed")
        return result


def _finder(run: Run, client: HdpClient, kind: str, *, exact: bool = True) -> Callable[[str], list[int]]:
    """How to look an object of ``kind`` up by name, as the acting person sees them."""
    if kind == Kind.APP:
        return lambda name: _matches(client.list_oauth_apps(tenant_id=run.tenant_id), name, exact=exact)
    if kind == Kind.PROFILE:
        return lambda name: _matches(client.list_oauth_profiles(), name, exact=exact)
    return lambda name: _matches(client.list_datasources(), name, exact=exact)


def _by_name(run: Run, client: HdpClient, obj: RemoteObject) -> Callable[[], list[int]]:
    find_by, name = _finder(run, client, obj.kind), obj.name
    return lambda: find_by(name)


def _exists(client: HdpClient, obj: RemoteObject) -> bool:
    """Whether HDP still has the recorded object (404 on GET means it was deleted)."""
    assert obj.remote_id is not None
    get: Callable[[int], Any] = {
        Kind.APP: client.get_oauth_app,
        Kind.PROFILE: client.get_oauth_profile,
        Kind.DATASOURCE: client.get_datasource,
    }[Kind(obj.kind)]
    try:
        get(obj.remote_id)
    except HdpNotFound:
        return False
    return True


def reconcile(run: Run, client: HdpClient) -> list[str]:
    """Bring the run's records in line with HDP before resuming; return findings in plain words.

    Each pending/unknown intent is looked up by name: exactly one match is adopted, none resets the
    intent so the step creates it again, more than one raises ``ReconcileConflict``. Objects the run
    holds as created or reused but HDP no longer has are reported (not recreated silently).
    """
    findings: list[str] = []
    with lease(run):
        for obj in RemoteObject.objects.filter(run=run).order_by("intent_at", "pk"):
            words = f"{_KIND_WORDS[Kind(obj.kind)]} {obj.name!r}"  # e.g. OAuth profile 'Acme_GA_profile'
            if obj.outcome in _IN_FLIGHT:
                adopted = _adopt(run, obj, _by_name(run, client, obj), "adopted on resume")
                if adopted is not None:
                    findings.append(
                        _("The %(what)s had been created in HDP; the portal recorded it (id %(id)s).")
                        % {"what": words, "id": adopted}
                    )
                else:
                    _mark(obj, Outcome.FAILED, detail="not found in HDP on resume; will be created again")
                    findings.append(
                        _("The %(what)s was not created in HDP; it will be created when you continue.")
                        % {"what": words}
                    )
            elif obj.outcome in _DONE_OUTCOMES and obj.remote_id is not None and not _exists(client, obj):
                _mark(obj, obj.outcome, detail="no longer in HDP (deleted outside the portal)")
                findings.append(
                    _("The %(what)s (id %(id)s) no longer exists in HDP; it was deleted outside the portal.")
                    % {"what": words, "id": obj.remote_id}
                )
        if findings:
            _audit(run, "run.reconciled", findings=len(findings))
    return findings


def cancel(run: Run, client: HdpClient) -> list[str]:
    """Undo the run: delete, newest first, only what it created and recorded; purge its secrets.

    In-flight intents are reconciled first so an object created just before a crash is not leaked.
    404 on delete counts as deleted. Reused apps and unrecorded same-named objects are never touched.
    Calling it again makes no further deletes.
    """
    findings: list[str] = []
    with lease(run):
        if run.status == Run.Status.COMPLETED:
            raise StepError(
                _("This onboarding is complete; its data source is in use and is not removed here.")
            )
        for kind in (Kind.DATASOURCE, Kind.PROFILE, Kind.APP):
            obj = _fresh(run, kind)
            if obj is None or not obj.created_by_run:
                continue
            words = f"{_KIND_WORDS[Kind(kind)]} {obj.name!r}"
            if (
                obj.outcome in _IN_FLIGHT
                and _adopt(run, obj, _by_name(run, client, obj), "adopted on cancel") is None
            ):
                _mark(obj, Outcome.FAILED, detail="never created in HDP")
                continue
            if obj.outcome != Outcome.CREATED or obj.remote_id is None:
                continue
            delete = {
                Kind.DATASOURCE: client.delete_datasource,
                Kind.PROFILE: client.delete_oauth_profile,
                Kind.APP: client.delete_oauth_app,
            }[Kind(kind)]
            try:
                delete(obj.remote_id)
            except HdpNotFound:
                findings.append(_("The %(what)s was already gone from HDP.") % {"what": words})
            else:
                findings.append(_("Deleted the %(what)s.") % {"what": words})
            _mark(obj, Outcome.DELETED, detail="deleted on cancel")
            _audit(run, f"hdp.{kind}.deleted", name=obj.name, remote_id=obj.remote_id)
        fields = _purge_secrets(run)
        if run.status != Run.Status.CANCELLED:
            run.status = Run.Status.CANCELLED
            run.cancelled_at = timezone.now()
            fields += ["status", "cancelled_at"]
            _audit(run, "run.cancelled", deleted=len(findings))
        if fields:
            _save(run, *fields)
    return findings


# --- where the run stands ---------------------------------------------------------------------------
def current_step(run: Run) -> str:
    """The first unfinished step (``DONE`` when all are), from the run's fields and records."""
    outcomes = {obj.kind: obj.outcome for obj in RemoteObject.objects.filter(run=run)}

    def done(kind: str) -> bool:
        return outcomes.get(kind) in _DONE_OUTCOMES

    finished = {
        "store": run.datastore_id is not None,
        "app": done(Kind.APP),
        "authorize": bool(run.tokens_enc) or done(Kind.PROFILE),
        "profile": done(Kind.PROFILE),
        "datasource": done(Kind.DATASOURCE),
        "verify": run.verify_ok is True,
    }
    for step in STEP_ORDER:
        if not finished[step]:
            return step
    return DONE


def can_enter(run: Run, step: str) -> bool:
    """Finished steps and the first unfinished one may be opened; nothing past it."""
    if step not in STEP_ORDER:
        return False
    current = current_step(run)
    return current == DONE or STEP_ORDER.index(step) <= STEP_ORDER.index(current)


def claim_ds_name(run: Run, name: str) -> None:
    """Reserve ``name`` for this run among the tenant's active runs (DB unique constraint).

    Two admins of one tenant typing the same name at once: one save wins, the other gets a
    ``NameTaken`` that says why, and neither run loses anything else it holds.
    """
    if _done_id(run, Kind.DATASOURCE) is not None and name != run.ds_name:
        raise StepError(_("The data source already exists in HDP under its name; it is not renamed here."))
    run.ds_name = name
    try:
        with transaction.atomic():  # a savepoint, so a refusal does not spoil an outer transaction
            _save(run, "ds_name")
    except IntegrityError:
        run.ds_name = Run.objects.filter(pk=run.pk).values_list("ds_name", flat=True).first() or ""
        raise NameTaken(
            _(
                "Another onboarding in progress for this tenant is already creating a data source named %(name)r. "
                "Pick another name, or finish or cancel that onboarding first."
            )
            % {"name": name}
        ) from None
