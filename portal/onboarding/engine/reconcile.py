"""The create / reconcile core (SECURITY.md items 30-33).

* **Intent first.** Before each create the run records a ``RemoteObject`` (outcome ``pending``) and
  commits it, then calls HDP. If the process dies after HDP created the object but before the id
  was saved, the intent row is what tells a later resume to look for the object instead of making
  a second one. No HDP call ever runs inside ``transaction.atomic()``: a rollback would forget an
  object that exists remotely.
* **Classify, then act.** The HDP client says whether a failed request may have been acted on
  (``HdpError.delivery``): ``not_sent`` is retried once, ``unknown`` is reconciled (list, match the
  exact name with ``portal.hdp.client.find_by_name``, adopt exactly one; escalate on more than one)
  before any retry, ``definite`` is a refusal that is recorded and re-raised for the view to explain.
* **Never adopt what this run did not create.** A same-named object that exists before the run ever
  sent its create belongs to someone else: ``NameTaken``, no write. Each kind is told apart by
  reading it instead of by a list before the create (:func:`verifiable`): an application holds the
  client secret and client id the run sent (the run keeps the secret, encrypted, for the token
  exchange), a profile the application the run created, a data source the run's profile. Nothing
  older points at what the run made, and an older application with the very secret the admin just
  typed would be the same registration; so no list is needed first, and HDP's refusal of a taken
  name becomes the same ``NameTaken``. Without the held secret (resume after the purge) an
  application falls back to the list.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.utils.translation import gettext as _

from portal.hdp import client as hdp
from portal.hdp.client import HdpClient
from portal.hdp.errors import HdpAuthError, HdpError, HdpNotFound, HdpRejected
from portal.lib.logging import register_secret
from portal.onboarding.engine import records
from portal.onboarding.engine.errors import NameTaken, ReconcileConflict
from portal.onboarding.engine.lease import lease
from portal.onboarding.engine.records import DONE_OUTCOMES, IN_FLIGHT, KIND_PLURALS, KIND_WORDS, Kind, Outcome
from portal.onboarding.models import RemoteObject, Run

logger = logging.getLogger(__name__)


def _matches(items: Sequence[Any], name: str, *, exact: bool = True) -> list[int]:
    """Ids of the listed objects named ``name``.

    Adoption needs the exact name the run sent (the client's ``find_by_name``). The "someone
    else's" check ignores case, because HDP may treat names case-insensitively ([U]; the emulator
    does) and refuse ours anyway.
    """
    if exact:
        return [records.as_int(item.id) for item in hdp.find_by_name(items, name)]
    folded = name.casefold()
    return [records.as_int(item.id) for item in items if str(item.name).casefold() == folded]


def _listed(run: Run, client: HdpClient, kind: str, name: str, *, exact: bool) -> list[int]:
    if kind == Kind.APP:
        return _matches(client.list_oauth_apps(tenant_id=run.tenant_id), name, exact=exact)
    if kind == Kind.PROFILE:
        return _matches(client.list_oauth_profiles(), name, exact=exact)
    return _matches(client.list_datasources(), name, exact=exact)


def _app_made_by_run(run: Run) -> int | None:
    app = records.fresh(run, Kind.APP)
    if app is None or not app.created_by_run or app.outcome not in DONE_OUTCOMES:
        return None
    return app.remote_id


def verifiable(run: Run, kind: str) -> bool:
    """Whether an object found by name can be told to be this run's by reading it: a data source
    names the run's profile, a profile the application this run created, an application holds the
    secret the run holds. For these no name check is needed before the create."""
    if kind == Kind.APP:
        return run.app_mode == Run.AppMode.CREATE and bool(run.app_secret_enc)
    if kind == Kind.DATASOURCE:
        return records.done_id(run, Kind.PROFILE) is not None
    if kind == Kind.PROFILE:
        return _app_made_by_run(run) is not None
    return False


def _is_ours(run: Run, client: HdpClient, kind: str, remote_id: int) -> bool:
    try:
        if kind == Kind.APP:
            app = client.get_oauth_app(remote_id)
            held = run.held_client_secret() or ""
            theirs = app.client_secret.get_secret_value() if app.client_secret is not None else ""
            if theirs:
                register_secret(theirs)
            same = bool(held) and hmac.compare_digest(theirs.encode(), held.encode())
            return same and app.client_id == run.app_client_id
        if kind == Kind.DATASOURCE:
            options = client.get_datasource(remote_id).options
            wanted = str(records.done_id(run, Kind.PROFILE))
            return any(k.lower() == "oauthprofileid" and str(v).strip() == wanted for k, v in options.items())
        profile = client.get_oauth_profile(remote_id)
    except HdpNotFound:
        return False
    for token in (profile.access_token, profile.refresh_token):
        if token is not None:
            register_secret(token.get_secret_value())
    return profile.oauth_app_id == _app_made_by_run(run)


def finder(run: Run, client: HdpClient, kind: str, *, exact: bool = True) -> Callable[[str], list[int]]:
    """How to look an object of ``kind`` up by name, as the acting person sees them. For adoption
    (``exact``) of a :func:`verifiable` kind, only the same-named objects that are this run's."""
    if exact and verifiable(run, kind):
        return lambda name: [
            i for i in _listed(run, client, kind, name, exact=True) if _is_ours(run, client, kind, i)
        ]
    return lambda name: _listed(run, client, kind, name, exact=exact)


def by_name(run: Run, client: HdpClient, obj: RemoteObject) -> Callable[[], list[int]]:
    find_by, name = finder(run, client, obj.kind), obj.name
    return lambda: find_by(name)


def adopt(run: Run, obj: RemoteObject, find: Callable[[], list[int]], why: str) -> int | None:
    """Look for the object by name: adopt exactly one, ``None`` for none, escalate on more."""
    found = find()
    if len(found) > 1:
        records.mark(
            obj, Outcome.UNKNOWN, detail=f"{len(found)} objects named {obj.name!r} in HDP; needs a person"
        )
        records.audit(run, f"hdp.{obj.kind}.conflict", name=obj.name, ids=found)
        raise ReconcileConflict(
            _(
                "HDP has %(count)d %(kinds)s named %(name)r, so the portal cannot "
                "tell which one this onboarding created. Ask support to remove the extra one, then resume."
            )
            % {"count": len(found), "kinds": KIND_PLURALS[Kind(obj.kind)], "name": obj.name}
        )
    if not found:
        return None
    remote_id = found[0]
    records.mark(obj, Outcome.CREATED, detail=why, remote_id=remote_id)
    records.audit(run, f"hdp.{obj.kind}.adopted", name=obj.name, remote_id=remote_id, reason=why)
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
            records.mark(obj, Outcome.FAILED, detail=records.plain(exc))
            records.alert_auth(run, exc, step)
            raise
        except HdpError as exc:
            if exc.delivery == "not_sent":
                if not_sent_retries:
                    not_sent_retries -= 1
                    logger.info("onboarding %s: %s create not sent, retrying once", run.pk, obj.kind)
                    continue
                records.mark(
                    obj, Outcome.PENDING, detail="HDP could not be reached, nothing was created. Try again."
                )
                raise
            if exc.delivery == "unknown":
                records.mark(
                    obj, Outcome.UNKNOWN, detail="HDP may or may not have created it; checking by name"
                )
                # A failure of this lookup propagates and leaves the intent unknown for resume.
                adopted = adopt(run, obj, find, "adopted after unknown outcome")
                if adopted is not None:
                    return adopted
                if retries_after_reconcile:
                    retries_after_reconcile -= 1
                    records.mark(
                        obj,
                        Outcome.PENDING,
                        detail="not found in HDP after an unknown outcome; creating again",
                    )
                    continue
                records.mark(
                    obj, Outcome.UNKNOWN, detail="HDP did not answer clearly twice; resume to check again"
                )
                raise
            records.mark(obj, Outcome.FAILED, detail=records.plain(exc))
            raise
        remote_id = records.as_int(created.id)
        records.mark(obj, Outcome.CREATED, remote_id=remote_id)
        records.audit(run, f"hdp.{obj.kind}.created", name=obj.name, remote_id=remote_id)
        return remote_id


def resume_in_flight(run: Run, kind: str, find_by: Callable[[str], list[int]]) -> int | None:
    """If a create of ``kind`` may have reached HDP (crash after 201, timeout), look for it under
    the name that was sent and adopt it; ``None`` if there is nothing in flight or nothing found."""
    obj = records.fresh(run, kind)
    if obj is None or obj.outcome not in IN_FLIGHT:
        return None
    recorded = obj.name
    return adopt(run, obj, lambda: find_by(recorded), "adopted on resume")


def ensure(
    run: Run,
    kind: str,
    name: str,
    *,
    create: Callable[[], Any],
    find_by: Callable[[str], list[int]],
    taken: Callable[[str], list[int]],
    step: str,
    check_first: bool = True,
) -> int:
    """Create ``kind`` named ``name`` once, whatever happened before; return its id.

    ``check_first=False`` (a :func:`verifiable` kind, whose ``find_by`` adopts only objects that are
    provably this run's): no list before the create; HDP's own refusal of a taken name is told
    apart afterwards with ``taken``, so the admin still reads "pick another name".
    """
    obj = records.fresh(run, kind)
    if obj is not None and obj.outcome in DONE_OUTCOMES and obj.remote_id is not None:
        return obj.remote_id
    adopted = resume_in_flight(run, kind, find_by)
    if adopted is not None:
        return adopted
    if check_first and taken(name):
        # Nothing of ours in flight under this name, yet HDP has it: someone else's. Never adopt it.
        raise _name_taken(kind, name)
    obj = records.intent(run, kind, name)
    try:
        return _create(run, obj, create=create, find=lambda: find_by(name), step=step)
    except HdpRejected:
        if check_first or not taken(name):
            raise
        obj.delete()  # refused: nothing was created, and the name belongs to someone else
        raise _name_taken(kind, name) from None


def _name_taken(kind: str, name: str) -> NameTaken:
    return NameTaken(
        _(
            "An %(kind)s named %(name)r already exists in HDP and was not created by this "
            "onboarding. Pick another name."
        )
        % {"kind": KIND_WORDS[Kind(kind)], "name": name}
    )


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
            words = f"{KIND_WORDS[Kind(obj.kind)]} {obj.name!r}"  # e.g. OAuth profile 'Acme_GA_profile'
            if obj.outcome in IN_FLIGHT:
                adopted = adopt(run, obj, by_name(run, client, obj), "adopted on resume")
                if adopted is not None:
                    findings.append(
                        _("The %(what)s had been created in HDP; the portal recorded it (id %(id)s).")
                        % {"what": words, "id": adopted}
                    )
                else:
                    records.mark(
                        obj, Outcome.FAILED, detail="not found in HDP on resume; will be created again"
                    )
                    findings.append(
                        _("The %(what)s was not created in HDP; it will be created when you continue.")
                        % {"what": words}
                    )
            elif obj.outcome in DONE_OUTCOMES and obj.remote_id is not None and not _exists(client, obj):
                records.mark(obj, obj.outcome, detail="no longer in HDP (deleted outside the portal)")
                findings.append(
                    _("The %(what)s (id %(id)s) no longer exists in HDP; it was deleted outside the portal.")
                    % {"what": words, "id": obj.remote_id}
                )
        if findings:
            records.audit(run, "run.reconciled", findings=len(findings))
    return findings
