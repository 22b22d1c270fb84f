"""Read-only HDP calls of the support console, turned into secret-free facts for :mod:`.chain`.

Everything is read with the portal's service account, never with the support person's identity.
Two reads need the owner's view of a data source (HDP shows a data source's options to its owner
only; the Administrator API lists a user's data sources without options), so those GETs act
``?user=<owner>``: ``GET /api/mgmt/datasources/{id}`` (for ``OAuthProfileId``) and the test.

Secrets: ``GET /api/mgmt/oauthprofiles/{id}`` answers with the tokens, and a data source's options
can hold a password. Only names, ids and the ``OAuthProfileId`` value are copied out; the tokens
are registered for log redaction and dropped with the response.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings

from portal.hdp import client as hdp
from portal.hdp import errors
from portal.hdp.schemas import DataSource, OAuthAppSummary, OAuthProfile, OAuthProfileSummary
from portal.lib.logging import register_secret, secrets_in
from portal.onboarding import sharing
from portal.onboarding.sharing import Shares
from portal.support.chain import AppFact, DataSourceFact, HdpFacts, ProfileFact

PROFILE_OPTION = "oauthprofileid"  # HDP option ids compare case-insensitively


def _profile_fact(profile: OAuthProfile, profile_id: int) -> ProfileFact:
    for secret in (profile.access_token, profile.refresh_token):
        if secret is not None and secret.get_secret_value():
            register_secret(secret.get_secret_value())
    return ProfileFact(
        id=profile.id if profile.id is not None else profile_id,
        name=profile.name,
        app_id=profile.oauth_app_id,
    )


def _may_belong(summary: OAuthProfileSummary, apps: Iterable[OAuthAppSummary]) -> bool:
    """Profile lists carry the app's URIs but not its id: read in detail only the profiles that can
    be one of these apps' (or all of them, when HDP leaves the URIs out)."""
    if not summary.authorize_uri and not summary.token_uri:
        return True
    return any(
        (summary.authorize_uri, summary.token_uri, summary.scope or "")
        == (a.authorize_uri, a.token_uri, a.scope or "")
        for a in apps
    )


#: At most this many of one chain's per-object reads run at once (each on its own client over the
#: process's shared HDP transport, with the configured timeouts): bounded load on HDP, a page in
#: a fraction of the one-after-another time.
READ_WORKERS = 8

T = TypeVar("T")
R = TypeVar("R")


def _run_in(context: contextvars.Context, read: Callable[[T], R], item: T) -> R:
    return context.run(read, item)


def each(items: Sequence[T], read: Callable[[T], R]) -> list[R]:
    """``read`` of every item, in order, at most ``READ_WORKERS`` at once; the first ``HdpError``
    is raised (the others finish or fail on their own timeouts). No database access in ``read``.

    With no more items than ``READ_WORKERS``, the calling thread reads the first item itself while the
    pool's threads read the others (one thread fewer to start: a request's two user lists need one); with
    more, ``READ_WORKERS`` pool threads read them all (the caller reading one would leave one read fewer
    in flight for the rest of the list). Each pool read runs in a copy of the caller's
    context: its log lines and spans carry the request's id and redact what the request registered, and
    what it registers is registered in the caller's context once every read has ended. One at a time over
    a transport from ``HDP_TRANSPORT_FACTORY`` (tests: the in-process emulator answers from the test's own
    database transaction, which other threads cannot see)."""
    workers = 1 if getattr(settings, "HDP_TRANSPORT_FACTORY", None) else min(READ_WORKERS, len(items))
    if workers <= 1:
        return [read(item) for item in items]
    own, rest = (items[:1], items[1:]) if len(items) <= READ_WORKERS else (items[:0], items)
    contexts = [contextvars.copy_context() for _item in rest]
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(READ_WORKERS, len(rest))) as pool:
            later = pool.map(_run_in, contexts, [read] * len(rest), rest)
            return [*[read(item) for item in own], *later]
    finally:  # after the pool's shutdown: every read has ended
        for context in contexts:
            for value in secrets_in(context):
                register_secret(value)


def _service_read(call: Callable[[hdp.HdpClient], R]) -> R:
    with hdp.HdpClient.service() as service:
        return call(service)


def _owner_read(owner: str, datasource_id: int, shared: bool) -> tuple[DataSource, Shares | None] | None:
    """A data source as its owner sees it (with options) and, when the user list flagged it
    ``sharedWithAnotherUser``, its shares (None when HDP would not list them: the blast radius then says
    it may count too few); unflagged: no shares, no call. None when the data source is gone."""
    try:
        with hdp.HdpClient.service(on_behalf_of=owner) as as_owner:
            detail = as_owner.get_datasource(datasource_id)
            if not shared:
                return detail, Shares()
            try:
                shares: Shares | None = sharing.read_shares(as_owner, datasource_id)
            except errors.HdpError:
                shares = None
            return detail, shares
    except errors.HdpNotFound:
        return None


def _profile_read(profile_id: int) -> OAuthProfile | None:
    """The profile in detail (its tokens are registered by the caller, in the request's context)."""
    try:
        return _service_read(lambda c: c.get_oauth_profile(profile_id))
    except errors.HdpNotFound:
        return None


@contextlib.contextmanager
def _service(given: hdp.HdpClient | None) -> Iterator[hdp.HdpClient]:
    """``given`` (the caller's service client, left open), else a new one for the block."""
    if given is not None:
        yield given
        return
    with hdp.HdpClient.service() as service:
        yield service


def tenant_name(tenant_id: int, service: hdp.HdpClient | None = None) -> str | None:
    """The tenant's HDP name, or None when HDP has no such tenant. Raises ``HdpError``.
    ``service``: the caller's service client (the tenant page reads the tenant with the same one)."""
    with _service(service) as client:
        return next((t.name for t in client.list_tenants() if t.id == tenant_id), None)


def _user_lists(user_id: int, user_name: str) -> tuple[list[DataSource], list[OAuthProfileSummary]]:
    """A tenant user's data sources (the Administrator API: no options) and the profiles HDP lists
    for them (``?user=``: their own, docs/hdp-api.md §3)."""
    with hdp.HdpClient.service() as service:
        owned = service.list_user_datasources(user_id)
    with hdp.HdpClient.service(on_behalf_of=user_name) as as_user:
        profiles = as_user.list_oauth_profiles()
    return owned, profiles


def read_tenant(
    tenant_id: int,
    recorded_profile_ids: Iterable[int] = (),
    page: int = 1,
    service: hdp.HdpClient | None = None,
) -> tuple[HdpFacts, errors.HdpError | None]:
    """What HDP holds for ``tenant_id``, and the error that stopped the read (or None).

    Only HDP objects of this tenant are read: its applications, its users' data-source and profile
    lists (complete: one of each per user), and in detail one page of its data sources
    (``SUPPORT_CHAIN_PAGE_SIZE``, ordered by owner, name, id), the profiles they use, the profiles
    its runs recorded and, when every data source fits on one page, up to a page of its profiles no
    data source uses. The calls therefore grow with the tenant's users and the page size only.

    On a failure the facts read so far come back with ``complete=False``. ``service``: the caller's
    service client for the tenant-wide lists (the per-object reads each open their own).
    """
    size = max(1, int(settings.SUPPORT_CHAIN_PAGE_SIZE))
    apps: list[AppFact] = []
    profiles: list[ProfileFact] = []
    names: dict[int, str] = {}
    datasources: list[DataSourceFact] = []

    def facts(complete: bool, **more: Any) -> HdpFacts:
        return HdpFacts(
            apps=tuple(apps),
            profiles=tuple(profiles),
            all_profile_names=tuple(names.items()),
            datasources=tuple(datasources),
            complete=complete,
            **more,
        )

    try:
        with _service(service) as client:
            app_summaries = client.list_oauth_apps(tenant_id)
            apps = [AppFact(id=a.id, name=a.name, data_store=a.data_store) for a in app_summaries]
            users = sorted(
                (u for u in client.list_users() if u.tenant_id == tenant_id),
                key=lambda u: u.user_name.casefold(),
            )
        lists = each(users, lambda u: _user_lists(u.id, u.user_name))
        listed: dict[int, OAuthProfileSummary] = {}
        for _owned, user_profiles in lists:
            for summary in user_profiles:
                listed.setdefault(summary.id, summary)
        names = {s.id: s.name for s in listed.values()}
        everything = sorted(
            (
                DataSourceFact(id=d.id, name=d.name, data_store=d.data_store, owner=user.user_name)
                for user, (owned, _profiles) in zip(users, lists, strict=True)
                for d in owned
            ),
            key=lambda d: (d.owner.casefold(), d.name.casefold(), d.id),
        )
        pages = max(1, -(-len(everything) // size))
        page = min(max(1, page), pages)
        start = (page - 1) * size
        on_page = everything[start : start + size]
        unexamined = tuple(everything[:start] + everything[start + size :])
        flagged = {d.id for owned, _profiles in lists for d in owned if d.shared_with_another_user}
        details = each(on_page, lambda d: _owner_read(d.owner, d.id, d.id in flagged))
        owner_ids = {u.user_name: u.id for u in users}
        for listed_ds, owner_view in zip(on_page, details, strict=True):
            if owner_view is None:
                continue  # deleted between the two reads
            detail, shares = owner_view
            ref = next((v for k, v in detail.options.items() if k.lower() == PROFILE_OPTION), "")
            datasources.append(
                DataSourceFact(
                    id=detail.id,
                    name=detail.name,
                    data_store=detail.data_store,
                    owner=listed_ds.owner,
                    profile_ref=ref,
                    owner_id=owner_ids.get(listed_ds.owner),
                    shared_users=tuple(u.user_id for u in shares.users) if shares else (),
                    shared_tenants=tuple(t.tenant_id for t in shares.tenants) if shares else (),
                    shares_known=shares is not None,
                )
            )
        used_ids = {d.profile_id for d in datasources if d.profile_id is not None}
        wanted = used_ids | (set(recorded_profile_ids) & set(listed))
        unused = sorted(
            (s for s in listed.values() if s.id not in wanted and _may_belong(s, app_summaries)),
            key=lambda s: (s.name.casefold(), s.id),
        )
        unused_read = unused[:size] if not unexamined else []
        wanted |= {s.id for s in unused_read}
        unread = [s for s in listed.values() if s.id not in wanted]
        maybe_unread = tuple(a.id for a in app_summaries if any(_may_belong(s, [a]) for s in unread))
        tenant_app_ids = {a.id for a in apps}
        profile_ids = sorted(wanted)
        for profile_id, read in zip(profile_ids, each(profile_ids, _profile_read), strict=True):
            if read is None:
                continue
            fact = _profile_fact(read, profile_id)  # here: registers the tokens in this request
            names.setdefault(fact.id, fact.name)  # a profile of another owner that a data source uses
            if fact.app_id in tenant_app_ids or fact.id in used_ids:
                profiles.append(fact)
    except errors.HdpError as exc:
        return facts(False), exc
    more = {
        "unexamined": unexamined,
        "page": page,
        "pages": pages,
        "first": start + 1,
        "apps_with_unread_profiles": maybe_unread,
        "unused_unread": len(unused) - len(unused_read) if not unexamined else 0,
    }
    return facts(True, **more), None


def datasource_owner(tenant_id: int, datasource_id: int) -> str | None:
    """The user name of the tenant user who owns ``datasource_id``, or None. Raises ``HdpError``."""
    with hdp.HdpClient.service() as service:
        for user in service.list_users():
            if user.tenant_id != tenant_id:
                continue
            if any(d.id == datasource_id for d in service.list_user_datasources(user.id)):
                return user.user_name
    return None


@dataclass(frozen=True)
class TestOutcome:
    """HDP's test of a data source: ``message`` in plain words, ``detail`` HDP's own text (escape it)."""

    __test__ = False  # not a pytest test class

    name: str
    success: bool
    message: str
    detail: str


def test_datasource(owner: str, datasource_id: int) -> TestOutcome:
    """Ask HDP to test the data source, as its owner (HDP tests only the owner's data sources)."""
    with hdp.HdpClient.service(on_behalf_of=owner) as as_owner:
        name = as_owner.get_datasource(datasource_id).name
        result = as_owner.test_datasource(datasource_id)
    return TestOutcome(name=name, success=result.success, message=result.message, detail=result.detail or "")
