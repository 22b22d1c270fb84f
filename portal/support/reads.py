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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings

from portal.hdp import client as hdp
from portal.hdp import errors
from portal.hdp.schemas import DataSource, OAuthAppSummary, OAuthProfile, OAuthProfileSummary
from portal.lib.logging import register_secret
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


def each(items: Sequence[T], read: Callable[[T], R]) -> list[R]:
    """``read`` of every item, in order, at most ``READ_WORKERS`` at once; the first ``HdpError``
    is raised (the others finish or fail on their own timeouts). No database access in ``read``.

    One at a time over a transport from ``HDP_TRANSPORT_FACTORY`` (tests: the in-process emulator
    answers from the test's own database transaction, which other threads cannot see)."""
    workers = 1 if getattr(settings, "HDP_TRANSPORT_FACTORY", None) else min(READ_WORKERS, len(items))
    if workers <= 1:
        return [read(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(read, items))


def _service_read(call: Callable[[hdp.HdpClient], R]) -> R:
    with hdp.HdpClient.service() as service:
        return call(service)


def _owner_read(owner: str, datasource_id: int) -> DataSource | None:
    """A data source as its owner sees it (with options), or None when it is gone."""
    try:
        with hdp.HdpClient.service(on_behalf_of=owner) as as_owner:
            return as_owner.get_datasource(datasource_id)
    except errors.HdpNotFound:
        return None


def _profile_read(profile_id: int) -> OAuthProfile | None:
    """The profile in detail (its tokens are registered by the caller, in the request's context)."""
    try:
        return _service_read(lambda c: c.get_oauth_profile(profile_id))
    except errors.HdpNotFound:
        return None


def tenant_name(tenant_id: int) -> str | None:
    """The tenant's HDP name, or None when HDP has no such tenant. Raises ``HdpError``."""
    with hdp.HdpClient.service() as service:
        return next((t.name for t in service.list_tenants() if t.id == tenant_id), None)


def read_tenant(
    tenant_id: int, recorded_profile_ids: Iterable[int] = ()
) -> tuple[HdpFacts, errors.HdpError | None]:
    """What HDP holds for ``tenant_id``, and the error that stopped the read (or None).

    On a failure the facts read so far come back with ``complete=False``.
    """
    apps: list[AppFact] = []
    profiles: list[ProfileFact] = []
    all_profiles: list[tuple[int, str]] = []
    datasources: list[DataSourceFact] = []

    def partial(exc: errors.HdpError) -> tuple[HdpFacts, errors.HdpError]:
        facts = HdpFacts(
            apps=tuple(apps),
            profiles=tuple(profiles),
            all_profile_names=tuple(all_profiles),
            datasources=tuple(datasources),
            complete=False,
        )
        return facts, exc

    try:
        with hdp.HdpClient.service() as service:
            app_summaries = service.list_oauth_apps(tenant_id)
            apps = [AppFact(id=a.id, name=a.name, data_store=a.data_store) for a in app_summaries]
            summaries = service.list_oauth_profiles()
            all_profiles = [(s.id, s.name) for s in summaries]
            users = sorted(
                (u for u in service.list_users() if u.tenant_id == tenant_id),
                key=lambda u: u.user_name.casefold(),
            )
            owned = each(users, lambda u: _service_read(lambda c: c.list_user_datasources(u.id)))
            pairs = [
                (user.user_name, listed.id)
                for user, listed_ds in zip(users, owned, strict=True)
                for listed in listed_ds
            ]
            for (owner, _id), detail in zip(pairs, each(pairs, lambda pair: _owner_read(*pair)), strict=True):
                if detail is None:
                    continue  # deleted between the two reads
                ref = next((v for k, v in detail.options.items() if k.lower() == PROFILE_OPTION), "")
                datasources.append(
                    DataSourceFact(
                        id=detail.id,
                        name=detail.name,
                        data_store=detail.data_store,
                        owner=owner,
                        profile_ref=ref,
                    )
                )
            listed_ids = {s.id for s in summaries}
            wanted = {s.id for s in summaries if _may_belong(s, app_summaries)}
            wanted |= {d.profile_id for d in datasources if d.profile_id is not None}
            wanted |= set(recorded_profile_ids)
            tenant_app_ids = {a.id for a in apps}
            used_ids = {d.profile_id for d in datasources}
            profile_ids = sorted(wanted & listed_ids)
            for profile_id, read in zip(profile_ids, each(profile_ids, _profile_read), strict=True):
                if read is None:
                    continue
                fact = _profile_fact(read, profile_id)  # here: registers the tokens in this request
                if fact.app_id in tenant_app_ids or fact.id in used_ids:
                    profiles.append(fact)
    except errors.HdpError as exc:
        return partial(exc)
    facts = HdpFacts(
        apps=tuple(apps),
        profiles=tuple(profiles),
        all_profile_names=tuple(all_profiles),
        datasources=tuple(datasources),
        complete=True,
    )
    return facts, None


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
