"""The findings about one tenant's chain: absences, drift between the portal and HDP, stuck runs."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.support.chain.facts import HdpFacts, RunFacts
from portal.support.chain.tree import Chain, DataSourceNode, Finding, ProfileNode

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


def _flag_absences(chain: Chain, run_of: dict[tuple[str, int], RunFacts], hdp: HdpFacts) -> None:
    """Absences need the whole picture: "no profile" only when every profile an application may
    have was read, "no data source uses it" only when every data source's reference is known."""
    held_back = set(hdp.apps_with_unread_profiles)
    for app in chain.apps:
        if not app.in_tenant:
            continue
        if not app.profiles and app.id not in held_back:
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
                    severity="note",  # nothing depends on it
                    text=_("OAuth application %(app)s has no OAuth profile, so no data source can use it.")
                    % {"app": app.name},
                    action=action,
                    ask_owner=run.owner if run else "",
                    run_id=run.id if run else "",
                )
            )
        for profile in app.profiles:
            if profile.datasources or not hdp.whole:
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
                    severity="note",  # nothing depends on it
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
    examined = {d.id: d for d in hdp.datasources}
    # Existence from the complete lists: data sources on other pages exist too.
    ds_by_id = {d.id: d for d in (*hdp.datasources, *hdp.unexamined)}
    ds_names = {(d.owner.casefold(), d.name.casefold()): d.id for d in ds_by_id.values()}

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
                    subject=f"{obj.kind}:{obj.remote_id}",
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
                    subject=f"{obj.kind}:{obj.remote_id}",
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
        ds = examined.get(ds_obj.remote_id)  # on another page: its link is checked there
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
