"""The chain of one tenant, OAuth application -> profiles -> data sources, and what is wrong with it.

:func:`build_chain` is a pure function: it takes what HDP holds now (:class:`HdpFacts`, read by
:mod:`portal.support.reads`) and what the portal's runs recorded (:class:`RunFacts`), and returns a
:class:`Chain` with the "blast radius" of each profile and application (docs/product.md: how many data
sources stop working if it breaks) and findings in plain words, each with a safe next action.

No type here has a field for a client secret, a token or a data-source option other than the
``OAuthProfileId`` reference: secrets cannot reach a support page because the chain cannot hold them.

Findings that compare the portal with HDP ("drift") and findings about absences ("no profile", "no
data source") are only made from a complete read of HDP: a partial read would report as missing
whatever the failed call did not return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# --- inputs ------------------------------------------------------------------------------------------


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

    def recorded(self, kind: str) -> RecordedObject | None:
        return next((o for o in self.objects if o.kind == kind), None)


# --- outputs -----------------------------------------------------------------------------------------

Severity = Literal["problem", "drift", "stuck"]


@dataclass(frozen=True)
class Finding:
    """One thing wrong, in plain words, with the safe next action.

    ``ask_owner``: the person to ask (the tenant admin who owns the setup or the data source).
    ``run_id``: their setup, when a portal run is involved (the page links to it, or to My setups).
    """

    code: str
    severity: Severity
    text: str
    action: str
    ask_owner: str = ""
    run_id: str = ""


@dataclass
class DataSourceNode:
    fact: DataSourceFact
    findings: list[Finding] = field(default_factory=list)


@dataclass
class ProfileNode:
    id: int
    name: str
    datasources: list[DataSourceNode] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def blast_radius(self) -> int:
        return len(self.datasources)


@dataclass
class AppNode:
    id: int
    name: str
    data_store: int | None
    #: False for an application of another tenant (e.g. System) that this tenant's profiles use.
    in_tenant: bool = True
    profiles: list[ProfileNode] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def blast_radius(self) -> int:
        return sum(p.blast_radius for p in self.profiles)


@dataclass
class Chain:
    tenant_id: int
    hdp_complete: bool
    apps: list[AppNode] = field(default_factory=list)
    #: Data sources whose ``OAuthProfileId`` names a profile HDP does not have.
    broken_datasources: list[DataSourceNode] = field(default_factory=list)
    #: Data sources with no ``OAuthProfileId`` (not OAuth, or no longer linked).
    other_datasources: list[DataSourceNode] = field(default_factory=list)
    #: Findings about portal runs that have no place in the HDP tree (stuck runs, missing objects).
    run_findings: list[Finding] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
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


# --- the builder -------------------------------------------------------------------------------------

_LIVE_OUTCOMES = frozenset({"created", "reused"})
_STUCK_OUTCOMES = frozenset({"pending", "unknown"})


def _kind_words(kind: str) -> str:
    words = {
        "app": _("OAuth application"),
        "profile": _("OAuth profile"),
        "datasource": _("data source"),
    }
    return words.get(kind, kind)


def _resume_action(owner: str) -> str:
    return _(
        "Ask the tenant admin %(owner)s to resume it from My setups (owner %(owner)s): the portal "
        "checks what exists in HDP before it creates anything, so nothing is made twice."
    ) % {"owner": owner}


def _reconnect_action(owner: str) -> str:
    return _(
        "Ask the tenant admin %(owner)s to open their setup (or My setups) and reconnect. Do not "
        "connect with your own provider account: the data source would then read the data as you."
    ) % {"owner": owner}


def build_chain(tenant_id: int, hdp: HdpFacts, runs: list[RunFacts]) -> Chain:
    """Assemble app -> profiles -> data sources and flag problems, drift and stuck runs."""
    chain = Chain(tenant_id=tenant_id, hdp_complete=hdp.complete)
    live_runs = [r for r in runs if r.status != "cancelled"]

    # Who made what, from the portal's side: used to name an owner and link a setup.
    run_of: dict[tuple[str, int], RunFacts] = {}
    for run in live_runs:
        for obj in run.objects:
            if obj.remote_id is not None and obj.outcome in _LIVE_OUTCOMES:
                run_of.setdefault((obj.kind, obj.remote_id), run)

    apps: dict[int, AppNode] = {
        a.id: AppNode(id=a.id, name=a.name, data_store=a.data_store) for a in hdp.apps
    }
    profiles: dict[int, ProfileNode] = {}
    for p in hdp.profiles:
        if p.app_id not in apps:
            apps[p.app_id] = AppNode(
                id=p.app_id,
                name=_("application #%(id)s") % {"id": p.app_id},
                data_store=None,
                in_tenant=False,
            )
        node = ProfileNode(id=p.id, name=p.name)
        profiles[p.id] = node
        apps[p.app_id].profiles.append(node)
    all_profile_ids = {pid for pid, _name in hdp.all_profile_names} | set(profiles)

    for ds in hdp.datasources:
        ds_node = DataSourceNode(fact=ds)
        pid = ds.profile_id
        if pid is not None and pid in profiles:
            profiles[pid].datasources.append(ds_node)
        elif ds.profile_ref.strip() and (pid is None or pid not in all_profile_ids):
            chain.broken_datasources.append(ds_node)
            if hdp.complete:
                maker = run_of.get(("datasource", ds.id))
                ds_node.findings.append(
                    Finding(
                        code="datasource_missing_profile",
                        severity="problem",
                        text=_(
                            "Data source %(ds)s (owner %(owner)s) uses OAuth profile %(ref)s, which HDP "
                            "does not have. It cannot connect until it is linked to a working profile."
                        )
                        % {"ds": ds.name, "owner": ds.owner, "ref": ds.profile_ref},
                        action=_reconnect_action(ds.owner),
                        ask_owner=ds.owner,
                        run_id=maker.id if maker else "",
                    )
                )
        else:
            # No profile, or one that exists but could not be read in detail (deleted meanwhile).
            chain.other_datasources.append(ds_node)

    chain.apps = sorted(apps.values(), key=lambda a: (not a.in_tenant, a.name.casefold(), a.id))
    for app in chain.apps:
        app.profiles.sort(key=lambda p: (p.name.casefold(), p.id))

    if hdp.complete:
        _flag_absences(chain, run_of)
        _flag_drift(chain, hdp, live_runs, profiles)
    _flag_stuck(chain, live_runs)
    return chain


def _flag_absences(chain: Chain, run_of: dict[tuple[str, int], RunFacts]) -> None:
    for app in chain.apps:
        if not app.in_tenant:
            continue
        if not app.profiles:
            run = run_of.get(("app", app.id))
            if run is not None and run.status == "active":
                action = _resume_action(run.owner)
            else:
                action = _(
                    "Nothing depends on it, so nothing is broken. Ask the tenant admin whether a setup "
                    "was left half done (they can finish it from My setups) or the application can go."
                )
            app.findings.append(
                Finding(
                    code="app_without_profile",
                    severity="problem",
                    text=_("OAuth application %(app)s has no OAuth profile, so no data source can use it.")
                    % {"app": app.name},
                    action=action,
                    ask_owner=run.owner if run else "",
                    run_id=run.id if run else "",
                )
            )
        for profile in app.profiles:
            if profile.datasources:
                continue
            run = run_of.get(("profile", profile.id))
            owner = run.owner if run else ""
            if run is not None and run.status == "active":
                action = _resume_action(run.owner)
            elif owner:
                action = _(
                    "Ask the tenant admin %(owner)s whether a data source should use it; they can add one "
                    "from My setups."
                ) % {"owner": owner}
            else:
                action = _(
                    "Ask the tenant admin whether a data source should use it, or whether it can be deleted."
                )
            profile.findings.append(
                Finding(
                    code="profile_without_datasource",
                    severity="problem",
                    text=_("OAuth profile %(profile)s is not used by any data source.")
                    % {"profile": profile.name},
                    action=action,
                    ask_owner=owner,
                    run_id=run.id if run else "",
                )
            )


def _flag_drift(chain: Chain, hdp: HdpFacts, runs: list[RunFacts], profiles: dict[int, ProfileNode]) -> None:
    app_ids = {a.id for a in hdp.apps}
    app_names = {a.name.casefold(): a.id for a in hdp.apps}
    profile_ids = {pid for pid, _name in hdp.all_profile_names} | set(profiles)
    profile_names: dict[str, int] = {}
    for pid, name in hdp.all_profile_names:
        profile_names.setdefault(name.casefold(), pid)
    ds_by_id = {d.id: d for d in hdp.datasources}
    ds_names = {(d.owner.casefold(), d.name.casefold()): d.id for d in hdp.datasources}

    for run in runs:
        for obj in run.objects:
            if obj.remote_id is None or obj.outcome not in _LIVE_OUTCOMES:
                continue
            if obj.kind == "app":
                present, same_name = obj.remote_id in app_ids, app_names.get(obj.name.casefold())
            elif obj.kind == "profile":
                present, same_name = obj.remote_id in profile_ids, profile_names.get(obj.name.casefold())
            elif obj.kind == "datasource":
                present = obj.remote_id in ds_by_id
                same_name = ds_names.get((run.owner.casefold(), obj.name.casefold()))
            else:
                continue
            if present:
                continue
            words = {"kind": _kind_words(obj.kind), "name": obj.name, "id": obj.remote_id, "owner": run.owner}
            if same_name is not None:
                finding = Finding(
                    code="drift_id_changed",
                    severity="drift",
                    text=_(
                        "The setup by %(owner)s recorded %(kind)s %(name)s with id %(id)s; HDP now has "
                        "%(kind)s %(name)s under id %(new)s (it was deleted and made again outside the setup)."
                    )
                    % {**words, "new": same_name},
                    action=_(
                        "Check with the tenant admin %(owner)s that the new one is intended. Anything "
                        "that pointed at id %(id)s no longer works."
                    )
                    % words,
                    ask_owner=run.owner,
                    run_id=run.id,
                )
            else:
                finding = Finding(
                    code="drift_missing",
                    severity="drift",
                    text=_(
                        "The setup by %(owner)s created %(kind)s %(name)s (id %(id)s), but HDP no longer has it."
                    )
                    % words,
                    action=_reconnect_action(run.owner)
                    if obj.kind != "datasource"
                    else _("Ask the tenant admin %(owner)s whether the data source was deleted on purpose.")
                    % words,
                    ask_owner=run.owner,
                    run_id=run.id,
                )
            chain.run_findings.append(finding)

        # The data source the setup made should still use the profile the setup made.
        ds_obj, profile_obj = run.recorded("datasource"), run.recorded("profile")
        if not (
            ds_obj and profile_obj and ds_obj.remote_id is not None and profile_obj.remote_id is not None
        ):
            continue
        if ds_obj.outcome not in _LIVE_OUTCOMES or profile_obj.outcome not in _LIVE_OUTCOMES:
            continue
        ds = ds_by_id.get(ds_obj.remote_id)
        if ds is None or ds.profile_id == profile_obj.remote_id:
            continue
        words = {"ds": ds.name, "owner": run.owner, "old": profile_obj.remote_id, "now": ds.profile_ref}
        text = (
            _(
                "Data source %(ds)s was linked by the setup of %(owner)s to OAuth profile %(old)s; "
                "it now uses profile %(now)s."
            )
            if ds.profile_ref.strip()
            else _(
                "Data source %(ds)s was linked by the setup of %(owner)s to OAuth profile %(old)s; "
                "it now has no OAuth profile (the profile or its application was deleted)."
            )
        ) % words
        finding = Finding(
            code="drift_link_changed",
            severity="drift",
            text=text,
            action=_reconnect_action(run.owner),
            ask_owner=run.owner,
            run_id=run.id,
        )
        node = _find_ds_node(chain, ds.id)
        if node is not None:
            node.findings.append(finding)
        else:  # pragma: no cover - every HDP data source has a node
            chain.run_findings.append(finding)


def _find_ds_node(chain: Chain, ds_id: int) -> DataSourceNode | None:
    for app in chain.apps:
        for profile in app.profiles:
            for node in profile.datasources:
                if node.fact.id == ds_id:
                    return node
    return next(
        (n for n in [*chain.broken_datasources, *chain.other_datasources] if n.fact.id == ds_id), None
    )


def _flag_stuck(chain: Chain, runs: list[RunFacts]) -> None:
    for run in runs:
        if run.status != "active":
            continue
        stuck = [o for o in run.objects if o.outcome in _STUCK_OUTCOMES]
        if not stuck:
            continue
        names = ", ".join(f"{_kind_words(o.kind)} {o.name}" for o in stuck)
        chain.run_findings.append(
            Finding(
                code="run_stuck",
                severity="stuck",
                text=ngettext(
                    "The %(store)s setup by %(owner)s is stuck: HDP's answer about %(objects)s never "
                    "arrived, so the portal does not know whether it exists.",
                    "The %(store)s setup by %(owner)s is stuck: HDP's answers about %(objects)s never "
                    "arrived, so the portal does not know whether they exist.",
                    len(stuck),
                )
                % {"store": run.datastore_name or _("data store"), "owner": run.owner, "objects": names},
                action=_resume_action(run.owner),
                ask_owner=run.owner,
                run_id=run.id,
            )
        )
