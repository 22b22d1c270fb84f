"""What :func:`portal.support.chain.build_chain` takes: HDP's objects now, and what the portal's runs recorded."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AppFact:
    id: int
    name: str
    data_store: int


@dataclass(frozen=True)
class ProfileFact:
    id: int
    name: str
    app_id: int


@dataclass(frozen=True)
class DataSourceFact:
    id: int
    name: str
    data_store: int
    owner: str
    #: The raw ``OAuthProfileId`` option value ("" when the data source has none).
    profile_ref: str = ""
    #: The owner's HDP user id (None when unknown), and who else queries through it: the ids of the
    #: users and tenants it is shared with (docs/hdp-api.md §12); ``shares_known`` False = not read.
    owner_id: int | None = None
    shared_users: tuple[int, ...] = ()
    shared_tenants: tuple[int, ...] = ()
    shares_known: bool = False

    @property
    def profile_id(self) -> int | None:
        text = self.profile_ref.strip()
        return int(text) if text.isdigit() else None


@dataclass(frozen=True)
class HdpFacts:
    """What HDP holds for one tenant. ``complete`` is False when a read failed part way."""

    apps: tuple[AppFact, ...] = ()
    #: Profiles read in detail: those of this tenant's applications and those its data sources use.
    profiles: tuple[ProfileFact, ...] = ()
    #: Every profile HDP lists (id -> name), to tell "missing" from "re-created under a new id".
    all_profile_names: tuple[tuple[int, str], ...] = ()
    #: The data sources of this page, read in detail (``profile_ref`` is HDP's value).
    datasources: tuple[DataSourceFact, ...] = ()
    complete: bool = True
    #: The tenant's data sources on other pages: known to exist (from the complete per-user lists),
    #: not read in detail, so their ``profile_ref`` is unknown ("").
    unexamined: tuple[DataSourceFact, ...] = ()
    #: Which page of the tenant's data sources ``datasources`` is (1-based), of how many, and the
    #: position of its first data source among all of them (ordered by owner, name, id).
    page: int = 1
    pages: int = 1
    first: int = 1
    #: Applications of this tenant that may have profiles not read on this page: no finding says
    #: they have no profile.
    apps_with_unread_profiles: tuple[int, ...] = ()
    #: Profiles no data source uses beyond the ones read on this page (a single page only).
    unused_unread: int = 0

    @property
    def whole(self) -> bool:
        """Every data source's profile reference is known (the tenant fits on one page)."""
        return not self.unexamined

    @property
    def datasource_total(self) -> int:
        return len(self.datasources) + len(self.unexamined)


@dataclass(frozen=True)
class RecordedObject:
    """A ``RemoteObject`` row: what a run recorded about one HDP object."""

    kind: str
    name: str
    remote_id: int | None
    outcome: str


@dataclass(frozen=True)
class RunFacts:
    id: str
    owner: str
    status: str
    datastore_name: str
    objects: tuple[RecordedObject, ...] = ()
    #: A completed setup's connection status from its stored checks (``checks.statuses_for``):
    #: ``State`` and ``Cause`` values, "" when none. Read by ``findings.consolidate``.
    connection: str = ""
    connection_cause: str = ""

    def recorded(self, kind: str) -> RecordedObject | None:
        return next((o for o in self.objects if o.kind == kind), None)
