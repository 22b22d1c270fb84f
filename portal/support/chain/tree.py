"""What :func:`portal.support.chain.build_chain` returns: the app -> profiles -> data sources tree, with findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from portal.support.chain.facts import DataSourceFact

#: "note": nothing depends on it (e.g. an application with no profile); shown last, not as a problem.
Severity = Literal["problem", "drift", "stuck", "note"]
#: What the tenant admin is sent to: their setup's Reconnect, Repair, "New client secret", or the
#: setup itself (resume); "" = My setups.
Link = Literal["reconnect", "repair", "rotate", "resume", ""]
_SEVERITY_ORDER = {"problem": 0, "drift": 1, "stuck": 2, "note": 3}


@dataclass(frozen=True)
class People:
    """Who queries through a profile or application: each data source's owner plus the users it is
    shared with (counted once), or, once any is shared with a tenant, those whole tenants.
    ``unknown``: a data source whose shares could not be read (the count is then a lower bound)."""

    count: int = 0
    tenants: tuple[int, ...] = ()
    unknown: bool = False


def people_of(datasources: list[DataSourceNode]) -> People:
    users: set[str] = set()
    tenants: set[int] = set()
    unknown = False
    for node in datasources:
        fact = node.fact
        users.add(f"id:{fact.owner_id}" if fact.owner_id is not None else f"name:{fact.owner.casefold()}")
        users.update(f"id:{u}" for u in fact.shared_users)
        tenants.update(fact.shared_tenants)
        unknown = unknown or not fact.shares_known
    return People(count=len(users), tenants=tuple(sorted(tenants)), unknown=unknown)


@dataclass(frozen=True)
class Finding:
    """One thing wrong, in plain words, with the safe next action.

    ``ask_owner``: the person to ask (the tenant admin who owns the setup or the data source).
    ``run_id``: their setup, when a portal run is involved (the page links to it, or to My setups).
    One finding per root cause: ``affected`` lists, in plain words, what else the same cause broke
    (``portal.support.chain.findings.consolidate``); ``harm`` counts the data sources it stops.
    ``subject`` / ``because`` ("kind:id") say what the finding is about and which other object's
    absence explains it, so findings with one cause merge.
    """

    code: str
    severity: Severity
    text: str
    action: str
    ask_owner: str = ""
    run_id: str = ""
    affected: tuple[str, ...] = ()
    link: Link = ""
    harm: int = 0
    subject: str = ""
    because: str = ""

    @property
    def order(self) -> tuple[int, int, int]:
        """Most harmful first: broken data sources (the most first), then drift, stuck runs, notes."""
        return (0 if self.harm else 1, _SEVERITY_ORDER[self.severity], -self.harm)


@dataclass
class DataSourceNode:
    fact: DataSourceFact
    findings: list[Finding] = field(default_factory=list)
    #: The data store's name, for people (``portal.support.stores.name_stores``); "" = unknown.
    store_name: str = ""


@dataclass
class ProfileNode:
    id: int
    name: str
    datasources: list[DataSourceNode] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def blast_radius(self) -> int:
        return len(self.datasources)

    @property
    def people(self) -> People:
        return people_of(self.datasources)


@dataclass
class AppNode:
    id: int
    name: str
    data_store: int | None
    #: False for an application of another tenant (e.g. System) that this tenant's profiles use.
    in_tenant: bool = True
    profiles: list[ProfileNode] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    store_name: str = ""

    @property
    def blast_radius(self) -> int:
        return sum(p.blast_radius for p in self.profiles)

    @property
    def people(self) -> People:
        return people_of([ds for p in self.profiles for ds in p.datasources])


@dataclass
class Chain:
    tenant_id: int
    hdp_complete: bool
    #: The tenant's data sources on other pages, not examined here (their findings show on their page).
    unexamined: int = 0
    apps: list[AppNode] = field(default_factory=list)
    #: Data sources whose ``OAuthProfileId`` names a profile HDP does not have.
    broken_datasources: list[DataSourceNode] = field(default_factory=list)
    #: Data sources with no ``OAuthProfileId`` (not OAuth, or no longer linked).
    other_datasources: list[DataSourceNode] = field(default_factory=list)
    #: Findings about portal runs that have no place in the HDP tree (stuck runs, missing objects).
    run_findings: list[Finding] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        """Every finding, most harmful first (a stable sort: equals keep the tree's order)."""
        return sorted(self._all_findings(), key=lambda f: f.order)

    def datasource_nodes(self) -> list[DataSourceNode]:
        nodes = [ds for app in self.apps for profile in app.profiles for ds in profile.datasources]
        return nodes + self.broken_datasources + self.other_datasources

    def _all_findings(self) -> list[Finding]:
        found: list[Finding] = list(self.run_findings)
        for app in self.apps:
            found += app.findings
            for profile in app.profiles:
                found += profile.findings
                for ds in profile.datasources:
                    found += ds.findings
        for ds in [*self.broken_datasources, *self.other_datasources]:
            found += ds.findings
        return found

    def datasource_count(self) -> int:
        return (
            sum(a.blast_radius for a in self.apps)
            + len(self.broken_datasources)
            + len(self.other_datasources)
        )
