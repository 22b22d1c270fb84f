"""Repair a completed setup whose part was deleted or unlinked in HDP (issue 8 item 3; SECURITY.md items 30-36).

The check (:mod:`portal.connections.checks`) names the most fundamental broken link; for each the
setup page offers the one safe fix, done with the wizard's engine (intent first, never twice, one
runner per run: ``engine.lease``):

* **profile deleted** (the tokens went with it): a new consent (flow purpose "repair", enforced at
  the start and at the callback like the others), the profile created again (same name if free),
  the setup's data source pointed at it, and the other data sources the admin ticked;
* **application deleted** (HDP deletes its profiles too): the client secret entered again (write-only),
  the application created again with the recorded settings, then as for a deleted profile;
* **data source deleted**: created again with the options the setup recorded and its profile;
* **data source unlinked or pointing at another profile**: pointed at the setup's profile again.

A data source is re-pointed with ``PUT /api/mgmt/datasources/{id}`` after reading it, so every other
option stays as HDP holds it (HDP's PUT is a full replace, docs/hdp-api.md §4). A :class:`Repair`
row stays open until every change is made, so a consent round trip, a timeout or a second attempt
resumes where it stopped; its ``changes`` are what the page shows afterwards ("What changed").
Then one real check (trigger REPAIR) shows the new status. No HDP call runs inside a transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.audit.models import AuditEntry
from portal.connections import checks, reconnect
from portal.connections.models import ConnectionCheck, Repair
from portal.connections.status import Cause, ChainRead, Status, chain_verdict
from portal.hdp.client import HdpClient
from portal.hdp.errors import HdpError, HdpNotFound
from portal.hdp.schemas import DataSource, DataSourceCreate
from portal.lib.logging import register_secret
from portal.oauth import flows
from portal.onboarding import engine, sharing
from portal.onboarding.engine import records
from portal.onboarding.models import RemoteObject, Run

Kind = RemoteObject.Kind
Outcome = RemoteObject.Outcome
PROFILE_OPTION = checks.PROFILE_OPTION

#: The breaks a repair fixes, and the one sentence that explains each fix.
FIXES = {
    Cause.APP_MISSING: gettext_lazy(
        "The OAuth application was deleted in HDP, and its OAuth profile with it. Enter the client secret "
        "again: the portal registers the application again with the settings this setup recorded, you sign "
        "in at the provider, and the portal creates the profile again and points the data source at it."
    ),
    Cause.PROFILE_MISSING: gettext_lazy(
        "The OAuth profile was deleted in HDP, and the sign-in it held went with it. Sign in at the "
        "provider again: the portal creates the profile again and points the data source at it."
    ),
    Cause.DATASOURCE_MISSING: gettext_lazy(
        "The data source was deleted in HDP. The portal creates it again with the options this setup "
        "recorded, using the setup's OAuth profile."
    ),
    Cause.DATASOURCE_UNLINKED: gettext_lazy(
        "The data source no longer uses an OAuth profile. The portal points it at this setup's OAuth "
        "profile again and keeps every other option as HDP holds it."
    ),
    Cause.DATASOURCE_OTHER_PROFILE: gettext_lazy(
        "The data source now uses a different OAuth profile. The portal points it back at this setup's "
        "OAuth profile and keeps every other option as HDP holds it."
    ),
}
#: Breaks whose fix needs a new consent (the tokens were in the deleted profile).
CONSENT_CAUSES = (Cause.APP_MISSING, Cause.PROFILE_MISSING)
#: Another tab or window holds the setup (engine.lease): nothing was done by this request.
BUSY = gettext_lazy(
    "A repair of this setup is already in progress in another tab or window. Wait a moment, then reload this page."
)
#: Profile names tried when the old one is taken by someone else: the name, then name_2 ... name_9.
_NAME_TRIES = 9


class RepairRefused(Exception):
    """The repair cannot go on; ``str(exc)`` is safe to show."""


@dataclass(frozen=True)
class Candidate:
    """Another data source of the admin that lost the deleted profile (HDP strips the link) or still names it."""

    id: int
    name: str
    #: Its ``OAuthProfileId`` now ("" when HDP removed the link).
    ref: str


@dataclass(frozen=True)
class Plan:
    """What the repair page proposes, from what HDP holds now."""

    cause: Cause
    explanation: str
    needs_secret: bool
    needs_consent: bool
    datasource_name: str
    profile_name: str
    #: The data source's ``OAuthProfileId`` now (the other profile), for the confirmation.
    current_ref: str = ""
    candidates: list[Candidate] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    ok: bool
    message: str
    #: HDP's answer was lost or it could not be reached: "Try again" resumes, nothing is made twice.
    retry: bool = False
    #: The repair waits for a sign-in at the provider (press Repair to go there).
    needs_consent: bool = False
    check: ConnectionCheck | None = None


# --- what the setup page shows (stored facts only, no HDP call) -----------------------------------
def open_repair(run: Run) -> Repair | None:
    return Repair.objects.filter(run=run, finished_at__isnull=True).first()


def last_repair(run: Run) -> Repair | None:
    return Repair.objects.filter(run=run).first()


#: The column :func:`open_cause_sql` gives a query of runs.
OPEN_CAUSE = "open_repair_cause"
_OPEN_CAUSE_SQL = (
    "SELECT r.cause FROM {repairs} r WHERE r.run_id = {run} AND r.finished_at IS NULL "
    "ORDER BY r.started_at DESC, r.id DESC LIMIT 1"
)


def open_cause_sql(run_id_column: str, db: str) -> str:
    """A scalar subquery (no parameters) for the cause of the open repair of the run whose id is
    ``run_id_column`` (quoted ``table.column``), or NULL: the one thing :func:`offer` reads about
    repairs, a column :data:`OPEN_CAUSE` of the setup page's one run query."""
    return _OPEN_CAUSE_SQL.format(
        repairs=connections[db].ops.quote_name(Repair._meta.db_table), run=run_id_column
    )


def offer(run: Run, status: Status) -> dict[str, Any]:
    """The setup page's repair section: an open repair to continue, else the fix the last check calls for.

    Only the open repair's cause is read (one column, no model row): the page needs nothing else. A run
    fetched with the :data:`OPEN_CAUSE` column carries it; otherwise it is read here."""
    if hasattr(run, OPEN_CAUSE):
        cause_of_open = getattr(run, OPEN_CAUSE)
    else:
        cause_of_open = (
            Repair.objects.filter(run=run, finished_at__isnull=True).values_list("cause", flat=True).first()
        )
    if cause_of_open is not None:
        return {"open": True, "explanation": FIXES.get(Cause(cause_of_open), "")}
    cause = status.cause if status.is_problem else None
    if cause in FIXES:
        return {"cause": cause, "explanation": FIXES[cause]}
    return {}


def describe(change: dict[str, Any]) -> str:
    """One line of "What changed", in plain words."""
    words = {
        "app_created": _("Created the OAuth application %(name)s (id %(id)s)."),
        "profile_created": _("Created the OAuth profile %(name)s (id %(id)s)."),
        "datasource_created": _(
            "Created the data source %(name)s (id %(id)s), using OAuth profile %(profile)s."
        ),
        "datasource_repointed": _("The data source %(name)s (id %(id)s) now uses OAuth profile %(profile)s."),
        "datasource_left": _(
            "The data source %(name)s (id %(id)s) was left as it is: it changed or was deleted since you chose it."
        ),
    }
    text = words.get(str(change.get("action")), "")
    return text % {k: change.get(k, "") for k in ("name", "id", "profile")} if text else ""


def changes_of(repair: Repair | None) -> list[str]:
    return [line for line in (describe(c) for c in (repair.changes if repair else [])) if line]


# --- the plan (reads HDP) -------------------------------------------------------------------------
def _fixable(run: Run, cause: Cause) -> None:
    if cause == Cause.APP_MISSING and run.app_mode != Run.AppMode.CREATE:
        raise RepairRefused(
            _(
                "The OAuth application this setup reused was deleted in HDP. The portal registers again only an "
                "application it registered itself; ask whoever manages that application, or start a new setup."
            )
        )
    if cause == Cause.APP_MISSING and not run.app_client_id:
        raise RepairRefused(
            _("This setup did not record the application's client ID, so it cannot register it again.")
        )


def _candidates(run: Run, client: HdpClient, read: ChainRead) -> list[Candidate]:
    old = str(read.profile_id) if read.profile_id is not None else None
    found = []
    for ds in client.list_datasources():
        ref = str(ds.options.get(PROFILE_OPTION, "") or "").strip()
        if int(ds.id) == read.datasource_id or int(ds.data_store) != run.datastore_id:
            continue
        if ref == "" or ref == old:
            found.append(Candidate(int(ds.id), str(ds.name), ref))
    return found


def plan(run: Run, client: HdpClient) -> Plan | None:
    """The one safe fix for what HDP holds now; None when nothing is missing or unlinked.

    Raises ``HdpError`` (HDP could not be read) or :class:`RepairRefused` (a break with no safe fix)."""
    read = checks.read_chain(run, client)
    verdict = chain_verdict(read)
    if verdict is None or verdict.cause not in FIXES:
        return None
    cause = verdict.cause
    _fixable(run, cause)
    return Plan(
        cause=cause,
        explanation=str(FIXES[cause]),
        needs_secret=cause == Cause.APP_MISSING,
        needs_consent=cause in CONSENT_CAUSES,
        datasource_name=run.ds_name,
        profile_name=run.profile_name,
        current_ref=read.datasource_profile_ref,
        candidates=_candidates(run, client, read) if cause in CONSENT_CAUSES else [],
    )


# --- doing it -------------------------------------------------------------------------------------
def _actor(run: Run) -> str:
    return str(run.owner.get_username())


def _lost(run: Run, kind: str, gone_id: int | None) -> None:
    """Record that the setup's ``kind`` with id ``gone_id`` is gone from HDP (its old id kept): the
    run's consent purpose becomes "repair" (``Run.purpose_for``) and the engine creates the object
    again, intent first. Only that id: an object the repair already created again is never marked
    (a repair resumes from what it did)."""
    obj = records.fresh(run, kind)
    if obj is not None and obj.outcome in records.DONE_OUTCOMES and obj.remote_id == gone_id:
        records.mark(
            obj, Outcome.FAILED, detail="deleted in HDP outside the portal; a repair creates it again"
        )


def _changed(repair: Repair, action: str, remote_id: int, name: str, **extra: Any) -> None:
    repair.changes = [*repair.changes, {"action": action, "id": remote_id, "name": name, **extra}]
    repair.save(update_fields=["changes"])


def _awaits_consent(run: Run, repair: Repair) -> bool:
    if repair.cause not in CONSENT_CAUSES or records.done_id(run, Kind.PROFILE) is not None:
        return False
    profile = records.fresh(run, Kind.PROFILE)
    in_flight = profile is not None and profile.outcome in records.IN_FLIGHT
    return not in_flight and not run.tokens_enc


def needs_secret(run: Run, repair: Repair | None) -> bool:
    return repair is not None and repair.cause == Cause.APP_MISSING and records.done_id(run, Kind.APP) is None


def awaits_consent(run: Run, repair: Repair | None) -> bool:
    return repair is not None and _awaits_consent(run, repair)


def _open(run: Run, cause: str, also: Iterable[int], requested_by: str, client: HdpClient) -> Repair:
    """Under the lease: confirm the break with HDP now, then record the repair (its old ids kept)."""
    read = checks.read_chain(run, client)
    verdict = chain_verdict(read)
    if verdict is None or verdict.cause != cause:
        raise RepairRefused(
            _("What HDP holds for this setup changed since the page was shown. Review the repair again.")
        )
    _fixable(run, verdict.cause)
    allowed = {c.id for c in _candidates(run, client, read)} if verdict.cause in CONSENT_CAUSES else set()
    try:
        with transaction.atomic():
            repair = Repair.objects.create(
                run=run,
                cause=verdict.cause,
                requested_by=requested_by,
                started_at=timezone.now(),
                old_app_id=read.app_id,
                old_profile_id=read.profile_id,
                also_repoint=sorted({i for i in also if i in allowed}),
            )
            # What HDP lost is recorded once, with the repair (never on a later press of Repair).
            if verdict.cause == Cause.DATASOURCE_MISSING:
                _lost(run, Kind.DATASOURCE, read.datasource_id)
            if verdict.cause == Cause.APP_MISSING:
                _lost(run, Kind.APP, read.app_id)
            if verdict.cause in CONSENT_CAUSES:
                _lost(run, Kind.PROFILE, read.profile_id)
    except IntegrityError:
        raise RepairRefused(_("A repair of this setup is already in progress.")) from None
    AuditEntry.record(
        requested_by, "connection.repair_started", run=run, cause=repair.cause, also=repair.also_repoint
    )
    return repair


def begin(
    request: HttpRequest,
    run: Run,
    client: HdpClient,
    *,
    cause: str,
    also: Iterable[int] = (),
    client_secret: str = "",
) -> str | None:
    """Start (or continue) the repair the admin confirmed; the provider's URL when a consent is next,
    else None (then :func:`finish`). Raises RepairRefused, ``engine.StepBusy`` (another tab),
    ``engine.StepError``, ``HdpError``, ``flows.RateLimited``."""
    if client_secret:
        register_secret(client_secret)
    person = str(getattr(request.user, "username", "") or _actor(run))
    with engine.lease(run):
        if run.status != Run.Status.COMPLETED:
            raise RepairRefused(_("Only a completed setup can be repaired."))
        repair = open_repair(run) or _open(run, cause, also, person, client)
        if repair.cause not in CONSENT_CAUSES:
            return None
        if records.done_id(run, Kind.APP) is None:
            if not client_secret:
                raise engine.SecretRequired(
                    _("Enter the client secret from the provider's app registration.")
                )
            try:
                app_id = engine.ensure_app(run, client, None, client_secret=client_secret)
            except BaseException:
                # A completed setup keeps no secret: the next attempt asks for it again.
                records.drop_sealed(run, "app_secret")
                raise
            _changed(repair, "app_created", app_id, run.app_name)
        if not _awaits_consent(run, repair):
            return None
        try:
            return reconnect.authorize_url(request, run, client, "repair")
        except reconnect.ReconnectRefused as exc:
            raise RepairRefused(str(exc)) from None


def _put_profile(client: HdpClient, ds: DataSource, profile_id: int) -> None:
    """PUT the data source back exactly as HDP holds it, with only ``OAuthProfileId`` changed."""
    options = {str(k): str(v) for k, v in ds.options.items()}
    options[PROFILE_OPTION] = str(profile_id)
    client.update_datasource(
        int(ds.id),
        DataSourceCreate(
            name=ds.name,
            data_store=int(ds.data_store),
            connection_type=ds.connection_type or "Cloud",
            description=ds.description,
            options=options,
        ),
    )


def _own_datasource(run: Run, client: HdpClient, repair: Repair, profile_id: int) -> None:
    obj = records.fresh(run, Kind.DATASOURCE)
    if obj is not None and obj.outcome in records.DONE_OUTCOMES and obj.remote_id is not None:
        try:
            ds = client.get_datasource(obj.remote_id)
        except HdpNotFound:
            _lost(run, Kind.DATASOURCE, obj.remote_id)  # deleted as well: created again below
        else:
            if str(ds.options.get(PROFILE_OPTION, "") or "").strip() != str(profile_id):
                _put_profile(client, ds, profile_id)
                _changed(repair, "datasource_repointed", int(ds.id), str(ds.name), profile=profile_id)
            return
    ds_id = engine.ensure_datasource(run, client)
    _changed(repair, "datasource_created", ds_id, run.ds_name, profile=profile_id)


def _others(client: HdpClient, repair: Repair, profile_id: int) -> None:
    """The data sources the admin ticked: only if they still lost the old profile (else left alone)."""
    done = {
        int(c["id"]) for c in repair.changes if c.get("action") in ("datasource_repointed", "datasource_left")
    }
    old = {"", str(repair.old_profile_id)} if repair.old_profile_id is not None else {""}
    for ds_id in repair.also_repoint:
        if ds_id in done:
            continue
        try:
            ds = client.get_datasource(ds_id)
        except HdpNotFound:
            _changed(repair, "datasource_left", ds_id, "")
            continue
        ref = str(ds.options.get(PROFILE_OPTION, "") or "").strip()
        if ref == str(profile_id):
            continue
        if ref not in old:
            _changed(repair, "datasource_left", ds_id, str(ds.name))
            continue
        _put_profile(client, ds, profile_id)
        _changed(repair, "datasource_repointed", ds_id, str(ds.name), profile=profile_id)


def _ensure_profile(run: Run, client: HdpClient, repair: Repair) -> int:
    """The profile again, intent first; under the recorded name if free, else name_2, name_3..."""
    done = records.done_id(run, Kind.PROFILE)
    if done is not None:
        return done
    base = run.profile_name
    for n in range(1, _NAME_TRIES + 1):
        name = base if n == 1 else f"{base[:120]}_{n}"
        try:
            profile_id = engine.ensure_profile(
                run, client, engine.ProfileSettings(name, run.profile_description) if n > 1 else None
            )
        except engine.NameTaken:
            continue
        _changed(repair, "profile_created", profile_id, run.profile_name)
        return profile_id
    raise RepairRefused(
        _(
            "HDP already has OAuth profiles named %(name)s and %(name)s_2 to _%(last)s. Delete one, then try again."
        )
        % {"name": base, "last": _NAME_TRIES}
    )


def _explain(exc: HdpError) -> Result:
    if exc.delivery == "definite":
        return Result(
            False,
            _(
                "HDP refused a change: %(why)s What the repair already did is listed below; fix the cause, then "
                "press Try again."
            )
            % {"why": records.plain(exc)},
            retry=True,
        )
    return Result(
        False,
        _(
            "HDP did not answer in time, so the portal does not know whether it made the last change. "
            "Press Try again: the repair looks at what HDP holds first and creates nothing twice."
        ),
        retry=True,
    )


def finish(run: Run, client: HdpClient) -> Result | None:
    """Make the open repair's remaining changes, then check the connection once; None when none is open.

    Raises ``engine.StepBusy`` when another tab is at it (that request made no HDP call)."""
    with engine.lease(run):
        repair = open_repair(run)
        if repair is None:
            return None
        if _awaits_consent(run, repair):
            return Result(False, _("Sign in at the provider to continue the repair."), needs_consent=True)
        try:
            if repair.cause in CONSENT_CAUSES:
                try:
                    profile_id = _ensure_profile(run, client, repair)
                except engine.MissingTokens as exc:
                    records.drop_sealed(run, "tokens")  # the next Repair asks for a new sign-in
                    return Result(False, str(exc), needs_consent=True)
            else:
                held = records.done_id(run, Kind.PROFILE)
                if held is None:
                    raise RepairRefused(_("This setup has no OAuth profile recorded."))
                profile_id = held
            _own_datasource(run, client, repair, profile_id)
            _others(client, repair, profile_id)
        except HdpError as exc:
            AuditEntry.record(
                repair.requested_by or _actor(run),
                "connection.repair_interrupted",
                run=run,
                cause=repair.cause,
                hdp_code=exc.code,
                delivery=exc.delivery,
            )
            return _explain(exc)
        except (engine.StepError, RepairRefused) as exc:
            AuditEntry.record(
                repair.requested_by or _actor(run),
                "connection.repair_interrupted",
                run=run,
                cause=repair.cause,
            )
            return Result(False, str(exc), retry=True)
        repair.finished_at = timezone.now()
        repair.save(update_fields=["finished_at"])
    AuditEntry.record(
        repair.requested_by or _actor(run),
        "connection.repaired",
        run=run,
        cause=repair.cause,
        changes=repair.changes,
    )
    try:
        check = checks.run_check(
            run, client, trigger=ConnectionCheck.Trigger.REPAIR, requested_by=repair.requested_by
        )
    except checks.CheckBusy:
        return Result(True, _("The repair is done. A check of this setup is already running."))
    return Result(True, _("The repair is done."), check=check)


# --- what each page asks for, in one call (portal/connections/views/repair.py) ---------------------
@dataclass(frozen=True)
class StartPage:
    """The repair page: an open repair to continue, or the one fix for what HDP holds now."""

    open: Repair | None = None
    plan: Plan | None = None
    #: Why no plan could be made (HDP could not be read, or the break has no safe fix).
    problem: str = ""
    explanation: str = ""
    needs_secret: bool = False
    cause: str = ""
    changes: tuple[str, ...] = ()
    #: The open repair needs nothing from the admin now: go on to the finish page.
    go_on: bool = False


def start_page(run: Run, client: HdpClient) -> StartPage:
    """What the repair page shows; reads HDP only when no repair is open."""
    current = open_repair(run)
    if current is not None:
        secret = needs_secret(run, current)
        if not (secret or awaits_consent(run, current)):
            return StartPage(open=current, go_on=True)
        return StartPage(
            open=current,
            explanation=str(FIXES.get(Cause(current.cause), "")),
            needs_secret=secret,
            cause=current.cause,
            changes=tuple(changes_of(current)),
        )
    try:
        found = plan(run, client)
    except HdpError as exc:
        return StartPage(problem=exc.explanation)
    except RepairRefused as exc:
        return StartPage(problem=str(exc))
    if found is None:
        return StartPage()
    return StartPage(
        plan=found, explanation=found.explanation, needs_secret=found.needs_secret, cause=found.cause
    )


@dataclass(frozen=True)
class Begun:
    """The answer to the admin's confirmation: where the browser goes next."""

    #: A sign-in at the provider is next.
    provider_url: str = ""
    #: Why the repair could not go on (shown on the repair page); "" when it did.
    error: str = ""
    #: Another tab holds the setup: nothing was done.
    busy: bool = False


def confirm(
    request: HttpRequest,
    run: Run,
    client: HdpClient,
    *,
    cause: str,
    also: Iterable[int] = (),
    client_secret: str = "",
) -> Begun:
    """:func:`begin`, with every refusal turned into plain words (the secret is never in them)."""
    try:
        url = begin(request, run, client, cause=cause, also=also, client_secret=client_secret)
    except engine.StepBusy:
        return Begun(busy=True)
    except (RepairRefused, engine.StepError) as exc:
        return Begun(error=str(exc))
    except HdpError as exc:
        return Begun(error=exc.explanation)
    except flows.RateLimited:
        return Begun(
            error=_("You have started many sign-ins in the last minute. Wait a minute, then try again.")
        )
    return Begun(provider_url=url or "")


@dataclass(frozen=True)
class FinishPage:
    """The finish page: what this request changed, what the repair changed so far, the status."""

    result: Result | None
    open: Repair | None
    #: The open repair waits for the admin (a sign-in, or the client secret): "Continue the repair".
    awaits_consent: bool
    changes: tuple[str, ...]
    status: Status
    #: Another tab holds the setup: this request changed nothing.
    busy: bool = False
    #: The repair created the data source again and the portal saw it shared: offer to restore the shares.
    restore_shares: bool = False


def finish_page(run: Run, client: HdpClient) -> FinishPage:
    """Make the open repair's remaining changes (if one is open), then what the page shows."""
    result, busy = None, False
    if open_repair(run) is not None:
        try:
            result = finish(run, client)
        except engine.StepBusy:
            busy = True
        run.refresh_from_db()
    current = open_repair(run)
    return FinishPage(
        result=result,
        open=current,
        awaits_consent=awaits_consent(run, current) or needs_secret(run, current),
        changes=tuple(changes_of(last_repair(run))),
        status=checks.status_for(run),
        busy=busy,
        restore_shares=current is None and shares_to_restore(run) is not None,
    )


# --- the shares of a data source the repair created again (issue 20) -------------------------------------
def _recreated_datasource(run: Run) -> bool:
    """The last repair is finished and created the setup's data source again (HDP dropped its shares)."""
    last = last_repair(run)
    return (
        last is not None
        and last.finished_at is not None
        and any(c.get("action") == "datasource_created" for c in last.changes)
    )


def shares_to_restore(run: Run) -> sharing.Shares | None:
    """The shares the portal last saw, when a repair re-created the data source; None when there is nothing
    to offer (no such repair, or the portal never saw any share). Stored facts only, no HDP call."""
    if not _recreated_datasource(run) or run.shares_set is None:
        return None
    shares = sharing.Shares.from_dict(run.shares_set)
    return None if shares.only_owner else shares


@dataclass(frozen=True)
class ShareLine:
    """One share to restore, for the confirmation: who by name, and what they may do."""

    who: str
    what: str


@dataclass(frozen=True)
class RestorePage:
    """The confirmation that lists the shares to restore; ``problem`` when there is nothing to offer."""

    lines: tuple[ShareLine, ...] = ()
    problem: str = ""
    #: After the POST: what HDP has now (read back) and the sentence; None before it.
    result: sharing.ShareResult | None = None
    message: str = ""


def _what(permissions: frozenset[int]) -> str:
    access = sharing.access_for(permissions)
    if access is not None:
        return access.label
    return _("Permissions set in HDP: %(ids)s") % {"ids": ", ".join(str(p) for p in sorted(permissions))}


def _lines(run: Run, client: HdpClient, shares: sharing.Shares) -> tuple[ShareLine, ...]:
    try:
        names = {p.user_id: p.name for p in sharing.tenant_people(client, run.tenant_id)}
    except HdpError:
        names = {}  # the ids still say who; the names are a courtesy
    lines = [
        ShareLine(
            _("The whole tenant %(name)s") % {"name": run.tenant_name}
            if t.tenant_id == run.tenant_id
            else _("The whole tenant #%(id)s") % {"id": t.tenant_id},
            _what(t.permissions),
        )
        for t in shares.tenants
    ]
    lines += [
        ShareLine(names.get(u.user_id) or _("User #%(id)s") % {"id": u.user_id}, _what(u.permissions))
        for u in shares.users
    ]
    return tuple(lines)


NOTHING_TO_RESTORE = gettext_lazy(
    "There are no shares to restore: no repair created this setup's data source again, or the portal "
    "never saw it shared."
)


def restore_page(run: Run, client: HdpClient) -> RestorePage:
    """The confirmation page: the shares the portal last saw, by name (one HDP read for the names)."""
    shares = shares_to_restore(run)
    if shares is None:
        return RestorePage(problem=str(NOTHING_TO_RESTORE))
    return RestorePage(lines=_lines(run, client, shares))


def restore_shares(run: Run, client: HdpClient, actor: str) -> RestorePage:
    """Share the re-created data source as the portal last saw it (after the confirmation), audited; the
    answer lists HDP's shares as read back. ``client`` acts for the owner. Nothing is retried."""
    shares = shares_to_restore(run)
    datasource_id = run.remote_id(Kind.DATASOURCE)
    if shares is None or datasource_id is None:
        return RestorePage(problem=str(NOTHING_TO_RESTORE))
    result = sharing.restore(client, datasource_id, shares)
    sharing.audit(actor, run, "restore", result)
    sharing.remember(run, result)
    after = result.after if result.after is not None else sharing.Shares()
    return RestorePage(lines=_lines(run, client, after), result=result, message=result.message())
