"""One finding per root cause (issue 8 item 5): merge what one absence explains, count the harm, and
add what the stored checks found about setups whose HDP objects look whole.

A deleted application explains its profile's absence, which explains the data sources that lost
their ``OAuthProfileId``: support sees one finding, "application X is gone", with the rest listed
under it. Pure, like the rest of :mod:`portal.support.chain`.
"""

from __future__ import annotations

import dataclasses

from django.utils.translation import gettext as _

from portal.connections.status import Cause
from portal.support.chain.facts import RunFacts
from portal.support.chain.tree import Chain, DataSourceNode, Finding, Link


def _repair_action(owner: str) -> str:
    return _(
        "Ask the tenant admin %(owner)s to open the link below and use Repair: the portal re-creates what "
        "is missing and re-points the data source, and asks them to sign in at the provider where that is "
        "needed. Do not connect with your own provider account: the data source would then read the data as you."
    ) % {"owner": owner}


def _connection_finding(run: RunFacts) -> Finding | None:
    """A completed setup whose last check found it not working, though HDP's objects look whole."""
    if run.status != "completed" or run.connection not in ("needs_reconnect", "broken"):
        return None
    try:
        why = str(Cause(run.connection_cause).label) if run.connection_cause else ""
    except ValueError:
        why = ""
    ds = run.recorded("datasource")
    words = {"store": run.datastore_name or _("data store"), "owner": run.owner, "why": why or "—"}
    affected = (_("data source %(name)s") % {"name": ds.name},) if ds else ()

    def finding(code: str, link: Link, text: str, action: str) -> Finding:
        return Finding(code=code, severity="problem", text=text, action=action, ask_owner=run.owner,
                       run_id=run.id, affected=affected, link=link, harm=1, subject=f"run:{run.id}")  # fmt: skip

    if run.connection == "needs_reconnect":
        return finding(
            "needs_reconnect",
            "reconnect",
            _("The %(store)s setup by %(owner)s needs a reconnect: %(why)s.") % words,
            _(
                "Ask the tenant admin %(owner)s to open the link below and press Reconnect, signing in at "
                "the provider with the account the setup uses. Do not connect with your own provider "
                "account: the data source would then read the data as you."
            )
            % words,
        )
    if run.connection_cause == Cause.CLIENT_REFUSED:
        return finding(
            "client_refused",
            "rotate",
            _(
                "The %(store)s setup by %(owner)s is broken: the provider refuses the application's client "
                "id or secret (was the secret rotated at the provider?)."
            )
            % words,
            _(
                "Ask the tenant admin %(owner)s to open the link below and enter the application's current "
                "client secret under New client secret. No new sign-in is needed."
            )
            % words,
        )
    return finding(
        "connection_broken",
        "resume",
        _("The last check of the %(store)s setup by %(owner)s failed: %(why)s.") % words,
        _(
            "Ask the tenant admin %(owner)s to open their setup (link below): it says what failed and what "
            "to do, and Check now shows whether it works again."
        )
        % words,
    )


def _subject_and_cause(
    finding: Finding, node: DataSourceNode | None, run: RunFacts | None
) -> tuple[str, str]:
    """What ``finding`` is about and which absent object explains it ("kind:id" each)."""
    subject, because = finding.subject, finding.because
    if node is not None:
        subject = subject or f"datasource:{node.fact.id}"
        if finding.code == "datasource_missing_profile":
            because = because or f"profile:{node.fact.profile_ref.strip()}"
        elif finding.code == "drift_link_changed" and not node.fact.profile_ref.strip() and run is not None:
            # HDP strips OAuthProfileId when it deletes the profile: the profile's absence is the cause.
            recorded = run.recorded("profile")
            if recorded is not None and recorded.remote_id is not None:
                because = because or f"profile:{recorded.remote_id}"
    if finding.code == "drift_missing" and subject.startswith("profile:") and run is not None:
        app = run.recorded("app")
        if app is not None and app.remote_id is not None:
            because = because or f"app:{app.remote_id}"  # HDP deletes an app's profiles with it
    return subject, because


def _link(finding: Finding, run: RunFacts | None) -> Link:
    if finding.link or run is None:
        return finding.link
    if run.status != "completed":
        return "resume"
    if finding.code in ("drift_missing", "drift_link_changed", "datasource_missing_profile"):
        return "repair"
    return "resume"


def consolidate(chain: Chain, runs: list[RunFacts]) -> None:
    """Merge the findings that share one root cause into that cause's finding (the others become its
    ``affected`` list), count the data sources each stops, and add what the stored checks found.

    A deleted application explains its profile's absence, which explains the data sources that lost
    their ``OAuthProfileId``: support sees one finding, "application X is gone", with the rest under it.
    """
    run_by_id = {r.id: r for r in runs}
    for run in runs:
        if not any(f.run_id == run.id for f in chain._all_findings()):
            extra = _connection_finding(run)
            if extra is not None:
                chain.run_findings.append(extra)

    # Every finding with the list it sits in and its node.
    placed: list[tuple[Finding, list[Finding], DataSourceNode | None]] = []
    containers: list[tuple[list[Finding], DataSourceNode | None]] = [(chain.run_findings, None)]
    for app in chain.apps:
        containers.append((app.findings, None))
        containers += [(p.findings, None) for p in app.profiles]
    containers += [(ds.findings, ds) for ds in chain.datasource_nodes()]
    for found, node in containers:
        placed += [(f, found, node) for f in found]

    resolved: list[Finding] = []
    for finding, _found, node in placed:
        maker = run_by_id.get(finding.run_id)
        subject, because = _subject_and_cause(finding, node, maker)
        resolved.append(
            dataclasses.replace(finding, subject=subject, because=because, link=_link(finding, maker))
        )
    by_subject: dict[str, int] = {}
    for i, f in enumerate(resolved):
        by_subject.setdefault(f.subject, i)

    def root_key(i: int) -> str:
        seen = {i}
        while (
            resolved[i].because and (j := by_subject.get(resolved[i].because)) is not None and j not in seen
        ):
            seen.add(j)
            i = j
        # Findings whose cause has no finding of its own (e.g. a profile id nobody recorded) group by it.
        return (
            resolved[i].because
            if resolved[i].because and by_subject.get(resolved[i].because) is None
            else str(i)
        )

    groups: dict[str, list[int]] = {}
    for i in range(len(resolved)):
        groups.setdefault(root_key(i), []).append(i)

    replacement: dict[int, Finding | None] = {}
    for key, members in groups.items():
        if key.isdigit():
            root = int(key)
        else:  # the first finding that names the absent cause itself
            root = next((m for m in members if resolved[m].because == key), members[0])
        others = [m for m in members if m != root]
        finding = resolved[root]
        harmed = {resolved[m].subject for m in members if resolved[m].subject.startswith("datasource:")}
        harm = max(finding.harm, len(harmed))
        owner = run_by_id[finding.run_id].owner if finding.run_id in run_by_id else ""
        replacement[root] = dataclasses.replace(
            finding,
            affected=tuple(resolved[m].text for m in others) + finding.affected,
            harm=harm,
            severity="problem" if harm and finding.severity == "drift" else finding.severity,
            action=_repair_action(owner) if finding.link == "repair" and owner else finding.action,
        )
        replacement.update(dict.fromkeys(others))

    rebuilt: dict[int, list[Finding]] = {id(found): [] for found, _node in containers}
    for index, (_finding, found, _node) in enumerate(placed):
        kept = replacement[index]
        if kept is not None:
            rebuilt[id(found)].append(kept)
    for found, _node in containers:
        found[:] = rebuilt[id(found)]
