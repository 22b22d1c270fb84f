"""Assemble one tenant's chain from what HDP holds and what the runs recorded (a pure function)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from portal.support.chain.facts import HdpFacts, RunFacts
from portal.support.chain.findings import (
    _LIVE_OUTCOMES,
    _flag_absences,
    _flag_drift,
    _flag_stuck,
    _reconnect_action,
)
from portal.support.chain.roots import consolidate
from portal.support.chain.tree import AppNode, Chain, DataSourceNode, Finding, ProfileNode


def build_chain(tenant_id: int, hdp: HdpFacts, runs: list[RunFacts]) -> Chain:
    """Assemble app -> profiles -> data sources and flag problems, drift and stuck runs."""
    chain = Chain(tenant_id=tenant_id, hdp_complete=hdp.complete, unexamined=len(hdp.unexamined))
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
        _flag_absences(chain, run_of, hdp)
        _flag_drift(chain, hdp, live_runs, profiles)
    _flag_stuck(chain, live_runs)
    consolidate(chain, live_runs)
    return chain
