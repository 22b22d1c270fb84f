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
    datasources: tuple[DataSourceFact, ...] = ()
    complete: bool = True


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
