"""Who can use a data source: share it with people of the tenant or the whole tenant (issue 20).

HDP's rules (docs/hdp-api.md §12): a share grants exactly its permission ids, nothing inherited; only
administrators share with a tenant; a data source is never shared with a tenant and with users of that
tenant at once (sharing with the tenant removes the user shares in it, and a user of a shared tenant
cannot be added). This module holds the plain-word permission choices, reads the current shares from
HDP, and applies a wanted set in an order those rules allow:

* **only me**: remove the tenant shares, then every user share;
* **people**: remove the tenant shares first (HDP refuses a user share inside a shared tenant), then the
  user shares no longer wanted, then change the permissions that differ, then add the new people in one
  call;
* **the whole tenant**: remove the other tenant shares and the user shares of people outside the tenant,
  then share with (or change) the tenant, which makes HDP drop the user shares inside it.

Removals come before additions so that nobody holds more than was asked for at any moment. Nothing is
retried: the first failure stops the sequence, and the shares are read back from HDP so the result says
exactly which exist now (:class:`ShareResult`). A removal HDP answers with "not found" counts as done (the
share is already gone, e.g. removed by HDP's tenant rule or by someone in HDP's Web UI).

Every call goes through the client it is given: pass ``HdpClient.for_user(owner)`` (the service account
acting for the data source's owner, ``?user=``), so HDP itself refuses a data source the person does not
own. :func:`audit` records each change (before/after from :class:`ShareResult`), :func:`remember` keeps
HDP's shares after it on the run (``Run.shares_set``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils.translation import gettext_lazy as _

from portal.audit.models import AuditEntry
from portal.hdp.client import HdpClient
from portal.hdp.errors import HdpError, HdpNotFound
from portal.hdp.schemas import SharedTenant, SharedUser
from portal.onboarding.models import Run

# --- permission choices ---------------------------------------------------------------------------------

VIEW_DS, JDBC, ODBC, ODATA = 2, 5, 6, 7  # docs/hdp-api.md §6, §12
DATASOURCE_GONE_CODES = frozenset({"222207004", "222207011"})  # "no data source with that id" (§7)


class Access(enum.StrEnum):
    """What the people shared with may do, in plain words. Maps to HDP data-source permission ids."""

    QUERY = "query"
    QUERY_AND_VIEW = "query_and_view"

    @property
    def permissions(self) -> frozenset[int]:
        return ACCESS_PERMISSIONS[self]

    @property
    def label(self) -> str:
        return str(ACCESS_LABELS[self])


#: "query the data": JDBC, ODBC and OData use (5, 6, 7); "and see its settings" adds ViewDataSource (2).
#: Neither lets anyone change or delete the data source (3, 4), and SQLEditor (10) cannot be set on a
#: share at all (docs/hdp-api.md §12; docs/decisions.md, "Sharing").
ACCESS_PERMISSIONS: dict[Access, frozenset[int]] = {
    Access.QUERY: frozenset({JDBC, ODBC, ODATA}),
    Access.QUERY_AND_VIEW: frozenset({VIEW_DS, JDBC, ODBC, ODATA}),
}
ACCESS_LABELS = {
    Access.QUERY: _("Query the data"),
    Access.QUERY_AND_VIEW: _("Query the data and see its settings"),
}


def access_for(permissions: Iterable[int]) -> Access | None:
    """The choice whose permission set is exactly ``permissions``; ``None`` for any other set (one made
    in HDP directly): the page then shows the ids rather than pretend it is one of the choices."""
    wanted = frozenset(permissions)
    return next((access for access, perms in ACCESS_PERMISSIONS.items() if perms == wanted), None)


# --- shares as HDP has them ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserShare:
    user_id: int
    permissions: frozenset[int]

    @property
    def access(self) -> Access | None:
        return access_for(self.permissions)


@dataclass(frozen=True)
class TenantShare:
    tenant_id: int
    permissions: frozenset[int]

    @property
    def access(self) -> Access | None:
        return access_for(self.permissions)


@dataclass(frozen=True)
class Shares:
    """A data source's shares, sorted by id. Empty = only the owner can use it."""

    users: tuple[UserShare, ...] = ()
    tenants: tuple[TenantShare, ...] = ()

    @classmethod
    def of(cls, users: Iterable[UserShare] = (), tenants: Iterable[TenantShare] = ()) -> Shares:
        return cls(
            tuple(sorted(users, key=lambda s: s.user_id)), tuple(sorted(tenants, key=lambda s: s.tenant_id))
        )

    @property
    def only_owner(self) -> bool:
        return not self.users and not self.tenants

    def user(self, user_id: int) -> UserShare | None:
        return next((s for s in self.users if s.user_id == user_id), None)

    def tenant(self, tenant_id: int) -> TenantShare | None:
        return next((s for s in self.tenants if s.tenant_id == tenant_id), None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, for remembering what the portal set (and comparing it with HDP later)."""
        return {
            "users": [{"userId": s.user_id, "permissions": sorted(s.permissions)} for s in self.users],
            "tenants": [
                {"tenantId": s.tenant_id, "permissions": sorted(s.permissions)} for s in self.tenants
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Shares:
        return cls.of(
            (
                UserShare(int(u["userId"]), frozenset(int(p) for p in u["permissions"]))
                for u in data.get("users", [])
            ),
            (
                TenantShare(int(t["tenantId"]), frozenset(int(p) for p in t["permissions"]))
                for t in data.get("tenants", [])
            ),
        )


def read_shares(client: HdpClient, datasource_id: int) -> Shares:
    """The data source's current shares, from HDP (two GETs; ``client`` acts for the owner)."""
    users = client.list_shared_users(datasource_id)
    tenants = client.list_shared_tenants(datasource_id)
    return Shares.of(
        (UserShare(u.user_id, frozenset(u.permissions)) for u in users),
        (TenantShare(t.tenant_id, frozenset(t.permissions)) for t in tenants),
    )


@dataclass(frozen=True)
class Drift:
    """Where HDP's shares differ from what the portal last set (someone changed them in HDP)."""

    added: Shares = field(default_factory=Shares)  # in HDP, not set by the portal
    removed: Shares = field(default_factory=Shares)  # set by the portal, gone from HDP
    changed: Shares = field(default_factory=Shares)  # in both, other permissions (HDP's now)

    @property
    def none(self) -> bool:
        return self.added.only_owner and self.removed.only_owner and self.changed.only_owner


def drift(expected: Shares, actual: Shares) -> Drift:
    def split(exp: Sequence[Any], act: Sequence[Any], key: str) -> tuple[list[Any], list[Any], list[Any]]:
        e = {getattr(s, key): s for s in exp}
        a = {getattr(s, key): s for s in act}
        added = [s for k, s in a.items() if k not in e]
        removed = [s for k, s in e.items() if k not in a]
        changed = [s for k, s in a.items() if k in e and e[k].permissions != s.permissions]
        return added, removed, changed

    ua, ur, uc = split(expected.users, actual.users, "user_id")
    ta, tr, tc = split(expected.tenants, actual.tenants, "tenant_id")
    return Drift(Shares.of(ua, ta), Shares.of(ur, tr), Shares.of(uc, tc))


# --- the people of the tenant ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str


def tenant_people(client: HdpClient, tenant_id: int, *, exclude: int | None = None) -> list[Person]:
    """The users of ``tenant_id`` by name, from HDP (``GET /api/admin/users``), sorted by name, without
    ``exclude`` (the owner). ``client`` acts for the admin (``HdpClient.for_user``), so HDP shows only the
    users that person may see; their ids are what :func:`desired_from_request` accepts."""
    users = client.list_users()
    people = [Person(u.id, u.user_name) for u in users if u.tenant_id == tenant_id and u.id != exclude]
    return sorted(people, key=lambda p: (p.name.casefold(), p.user_id))


def find_people(people: Sequence[Person], text: str) -> list[Person]:
    """The people whose name contains ``text`` (ignoring case): the search when a tenant has many."""
    needle = text.strip().casefold()
    return [p for p in people if needle in p.name.casefold()] if needle else list(people)


# --- what the person asks for ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Desired:
    """The wanted shares: nobody (only me), chosen users, or the whole tenant — never users and a tenant."""

    users: tuple[tuple[int, Access], ...] = ()
    tenant: tuple[int, Access] | None = None

    def as_shares(self) -> Shares:
        if self.tenant is not None:
            return Shares.of(tenants=[TenantShare(self.tenant[0], self.tenant[1].permissions)])
        return Shares.of(users=[UserShare(uid, access.permissions) for uid, access in self.users])


class SharingInputError(ValueError):
    """A request the portal refuses before calling HDP; ``message`` is a plain sentence to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _access(raw: object) -> Access:
    try:
        return Access(str(raw))
    except ValueError:
        raise SharingInputError(
            str(_("Choose what they may do: “%(query)s” or “%(view)s”."))
            % {"query": Access.QUERY.label, "view": Access.QUERY_AND_VIEW.label}
        ) from None


def _user_id(raw: object) -> int:
    if isinstance(raw, bool):
        raise SharingInputError(str(_("One of the chosen people is not a user of your tenant.")))
    if isinstance(raw, int):
        return raw
    text = str(raw).strip()
    if not text.isdigit():
        raise SharingInputError(str(_("One of the chosen people is not a user of your tenant.")))
    return int(text)


def desired_from_request(
    *,
    scope: str,
    users: Sequence[tuple[object, object]] = (),
    access: object = None,
    owner_id: int,
    tenant_id: int,
    tenant_user_ids: Collection[int],
    may_share_with_tenant: bool,
) -> Desired:
    """Check a request (from a form or a hand-made POST) and return what to apply.

    ``users`` are (user id, access) pairs for ``scope == "users"``; ``access`` is the choice for the whole
    tenant. ``tenant_user_ids`` are the ids HDP lists for the owner's tenant (read by the service account),
    ``may_share_with_tenant`` whether the owner administers it. Raises :class:`SharingInputError`.
    """
    if scope == "only_me":
        if users:
            raise SharingInputError(str(_("“Only me” shares with nobody: clear the chosen people.")))
        return Desired()
    if scope == "tenant":
        if not may_share_with_tenant:
            raise SharingInputError(
                str(
                    _(
                        "Only an administrator of the tenant can share with the whole tenant. Choose people instead."
                    )
                )
            )
        if users:
            raise SharingInputError(
                str(
                    _(
                        "Share either with the whole tenant or with chosen people: HDP does not allow both "
                        "at once."
                    )
                )
            )
        return Desired(tenant=(tenant_id, _access(access)))
    if scope != "users":
        raise SharingInputError(
            str(_("Choose who can use it: only you, chosen people, or the whole tenant."))
        )
    if not users:
        raise SharingInputError(str(_("Choose at least one person, or choose “Only me”.")))
    members = set(tenant_user_ids)
    seen: set[int] = set()
    chosen: list[tuple[int, Access]] = []
    for raw_user, raw_access in users:
        uid = _user_id(raw_user)
        if uid == owner_id:
            raise SharingInputError(str(_("You own this data source already: choose other people.")))
        if uid not in members:
            raise SharingInputError(str(_("One of the chosen people is not a user of your tenant.")))
        if uid in seen:
            raise SharingInputError(str(_("A person is chosen twice. Choose each person once.")))
        seen.add(uid)
        chosen.append((uid, _access(raw_access)))
    return Desired(users=tuple(sorted(chosen)))


# --- applying it -----------------------------------------------------------------------------------------

StepKind = Literal[
    "unshare_tenant", "unshare_user", "update_user", "share_users", "share_tenant", "update_tenant"
]


@dataclass(frozen=True)
class Step:
    """One HDP call. ``member_id`` is the user or tenant id (0 for ``share_users``, which names ``users``)."""

    kind: StepKind
    member_id: int = 0
    permissions: frozenset[int] = frozenset()
    users: tuple[UserShare, ...] = ()


def plan(current: Shares, desired: Desired, *, tenant_user_ids: Collection[int] = ()) -> list[Step]:
    """The HDP calls that turn ``current`` into ``desired``, in the order described in the module doc.

    ``tenant_user_ids``: the users of the tenant being shared with (their user shares are HDP's to drop).
    """
    steps: list[Step] = []
    if desired.tenant is not None:
        tenant_id, access = desired.tenant
        members = set(tenant_user_ids)
        steps += [Step("unshare_tenant", t.tenant_id) for t in current.tenants if t.tenant_id != tenant_id]
        steps += [Step("unshare_user", u.user_id) for u in current.users if u.user_id not in members]
        existing = current.tenant(tenant_id)
        if existing is None:
            steps.append(Step("share_tenant", tenant_id, access.permissions))
        elif existing.permissions != access.permissions:
            steps.append(Step("update_tenant", tenant_id, access.permissions))
        return steps
    wanted = dict(desired.users)
    steps += [Step("unshare_tenant", t.tenant_id) for t in current.tenants]
    steps += [Step("unshare_user", u.user_id) for u in current.users if u.user_id not in wanted]
    for user in current.users:
        choice = wanted.get(user.user_id)
        if choice is not None and user.permissions != choice.permissions:
            steps.append(Step("update_user", user.user_id, choice.permissions))
    new = tuple(
        UserShare(uid, access.permissions) for uid, access in desired.users if current.user(uid) is None
    )
    if new:
        steps.append(Step("share_users", users=new))
    return steps


def _run(client: HdpClient, datasource_id: int, step: Step) -> None:
    if step.kind == "unshare_tenant":
        client.unshare_tenant(datasource_id, step.member_id)
    elif step.kind == "unshare_user":
        client.unshare_user(datasource_id, step.member_id)
    elif step.kind == "update_user":
        client.update_shared_user(datasource_id, step.member_id, step.permissions)
    elif step.kind == "update_tenant":
        client.update_shared_tenant(datasource_id, step.member_id, step.permissions)
    elif step.kind == "share_tenant":
        client.share_with_tenants(
            datasource_id, [SharedTenant(tenant_id=step.member_id, permissions=sorted(step.permissions))]
        )
    else:
        client.share_with_users(
            datasource_id,
            [SharedUser(user_id=u.user_id, permissions=sorted(u.permissions)) for u in step.users],
        )


@dataclass(frozen=True)
class ShareResult:
    """What :func:`apply_shares` did. ``after`` is read back from HDP (``None`` if that read failed too)."""

    before: Shares | None
    after: Shares | None
    wanted: Shares
    done: tuple[Step, ...] = ()
    failed: Step | None = None
    error: HdpError | None = None
    read_back_error: HdpError | None = None

    @property
    def ok(self) -> bool:
        """Every step succeeded and HDP now has exactly the wanted shares."""
        return self.error is None and self.after == self.wanted

    @property
    def changed(self) -> bool:
        return self.before is None or self.after is None or self.before != self.after

    def message(self) -> str:
        """A plain sentence for the page (the shares that exist now are in ``after``, for the page to list)."""
        if self.ok:
            return str(_("Saved. HDP now has exactly these shares."))
        if self.error is not None and self.before is None:
            return str(
                _("The portal could not read the current shares from HDP, so nothing was changed. %(why)s")
            ) % {"why": self.error.explanation}
        if self.error is not None:
            text = str(_("HDP did not complete the change, and the portal did not try again. %(why)s")) % {
                "why": self.error.explanation
            }
        else:
            text = str(_("HDP accepted every change, but its shares now differ from what you asked for."))
        if self.after is None:
            return (
                text
                + " "
                + str(
                    _(
                        "The portal could not read the shares back from HDP: open this page again to see which exist now."
                    )
                )
            )
        return text + " " + str(_("The shares listed here are the ones HDP has now."))


def apply_shares(
    client: HdpClient, datasource_id: int, desired: Desired, *, tenant_user_ids: Collection[int] = ()
) -> ShareResult:
    """Make HDP's shares of ``datasource_id`` match ``desired``: read, plan, run each call once, read back.

    ``client`` must act for the data source's owner (``HdpClient.for_user(owner)``). Never raises an
    ``HdpError``: every failure is in the result, with the shares that exist afterwards.
    """
    wanted = desired.as_shares()
    try:
        before = read_shares(client, datasource_id)
    except HdpError as exc:
        return ShareResult(before=None, after=None, wanted=wanted, error=exc)
    done: list[Step] = []
    failed: Step | None = None
    error: HdpError | None = None
    for step in plan(before, desired, tenant_user_ids=tenant_user_ids):
        try:
            _run(client, datasource_id, step)
        except HdpNotFound as exc:
            # A removal whose share is already gone is done; anything else not found (the data source
            # itself, a user or tenant to add) stops here like any failure.
            if step.kind not in ("unshare_user", "unshare_tenant") or exc.code in DATASOURCE_GONE_CODES:
                failed, error = step, exc
                break
        except HdpError as exc:
            failed, error = step, exc
            break
        done.append(step)
    try:
        after: Shares | None = read_shares(client, datasource_id)
        read_back_error = None
    except HdpError as exc:
        after, read_back_error = None, exc
    return ShareResult(
        before=before,
        after=after,
        wanted=wanted,
        done=tuple(done),
        failed=failed,
        error=error,
        read_back_error=read_back_error,
    )


def _apply_steps(
    client: HdpClient,
    datasource_id: int,
    steps_for: Callable[[Shares], list[Step]],
    wanted_for: Callable[[Shares], Shares],
) -> ShareResult:
    """Read, run the steps ``steps_for(before)`` once each, read back (as :func:`apply_shares`)."""
    try:
        before = read_shares(client, datasource_id)
    except HdpError as exc:
        return ShareResult(before=None, after=None, wanted=Shares(), error=exc)
    wanted: Shares = wanted_for(before)
    done: list[Step] = []
    failed: Step | None = None
    error: HdpError | None = None
    for step in steps_for(before):
        try:
            _run(client, datasource_id, step)
        except HdpNotFound as exc:
            if step.kind not in ("unshare_user", "unshare_tenant") or exc.code in DATASOURCE_GONE_CODES:
                failed, error = step, exc
                break
        except HdpError as exc:
            failed, error = step, exc
            break
        done.append(step)
    try:
        after: Shares | None = read_shares(client, datasource_id)
        read_back_error = None
    except HdpError as exc:
        after, read_back_error = None, exc
    return ShareResult(before, after, wanted, tuple(done), failed, error, read_back_error)


def remove_share(
    client: HdpClient, datasource_id: int, kind: Literal["user", "tenant"], member_id: int
) -> ShareResult:
    """Remove one user's or one tenant's share (the setup page's Remove), then read back."""

    def steps(before: Shares) -> list[Step]:
        return [Step("unshare_user" if kind == "user" else "unshare_tenant", member_id)]

    def wanted(before: Shares) -> Shares:
        if kind == "user":
            return Shares.of([u for u in before.users if u.user_id != member_id], before.tenants)
        return Shares.of(before.users, [t for t in before.tenants if t.tenant_id != member_id])

    return _apply_steps(client, datasource_id, steps, wanted)


def change_share(
    client: HdpClient, datasource_id: int, kind: Literal["user", "tenant"], member_id: int, access: Access
) -> ShareResult:
    """Change one existing share's permissions to ``access`` (the setup page's Change), then read back.
    A share that is gone by now is not re-created: the result then differs from the wish, and says so."""

    def steps(before: Shares) -> list[Step]:
        current = before.user(member_id) if kind == "user" else before.tenant(member_id)
        if current is None or current.permissions == access.permissions:
            return []
        return [Step("update_user" if kind == "user" else "update_tenant", member_id, access.permissions)]

    def wanted(before: Shares) -> Shares:
        if kind == "user":
            users = [
                UserShare(u.user_id, access.permissions) if u.user_id == member_id else u
                for u in before.users
            ]
            return Shares.of(users, before.tenants)
        tenants = [
            TenantShare(t.tenant_id, access.permissions) if t.tenant_id == member_id else t
            for t in before.tenants
        ]
        return Shares.of(before.users, tenants)

    return _apply_steps(client, datasource_id, steps, wanted)


def restore(client: HdpClient, datasource_id: int, shares: Shares) -> ShareResult:
    """Share a re-created data source as the portal last saw it (a repair's offer): the user shares in one
    POST, then the tenant shares. Permission sets are restored exactly, even ones matching no choice."""

    def steps(before: Shares) -> list[Step]:
        out: list[Step] = []
        new_users = tuple(u for u in shares.users if before.user(u.user_id) is None)
        if new_users:
            out.append(Step("share_users", users=new_users))
        out += [
            Step("share_tenant", t.tenant_id, t.permissions)
            for t in shares.tenants
            if before.tenant(t.tenant_id) is None
        ]
        return out

    return _apply_steps(client, datasource_id, steps, lambda before: shares)


# --- the record of a change ------------------------------------------------------------------------------


def _step_words(step: Step) -> dict[str, Any]:
    if step.kind == "share_users":
        return {
            "action": step.kind,
            "users": [{"userId": u.user_id, "permissions": sorted(u.permissions)} for u in step.users],
        }
    member = "tenantId" if step.kind.endswith("tenant") else "userId"
    return {"action": step.kind, member: step.member_id, "permissions": sorted(step.permissions)}


def audit(actor: str, run: Run, change: str, result: ShareResult, **detail: Any) -> None:
    """One audit entry per change asked for: who, which data source, whom (each HDP call), before and after."""
    AuditEntry.record(
        actor,
        "datasource.share",
        run=run,
        change=change,
        datasource_id=run.remote_id("datasource"),
        datasource=run.ds_name,
        calls=[_step_words(s) for s in result.done],
        failed=_step_words(result.failed) if result.failed else None,
        before=result.before.as_dict() if result.before is not None else None,
        after=result.after.as_dict() if result.after is not None else None,
        outcome="ok" if result.ok else "failed",
        error=result.error.code if result.error is not None else "",
        **detail,
    )


def remember(run: Run, result: ShareResult) -> None:
    """Keep what HDP has after the portal's change, for the drift note and a repair's restore."""
    if result.after is not None:
        run.shares_set = result.after.as_dict()
        run.save(update_fields=["shares_set", "updated_at"])
