"""The pure chain builder: blast radius, problems, drift and stuck runs, from facts alone."""

from __future__ import annotations

import dataclasses

import pytest

from portal.support import chain
from portal.support.chain import (
    AppFact,
    DataSourceFact,
    HdpFacts,
    ProfileFact,
    RecordedObject,
    RunFacts,
    build_chain,
)

APP = AppFact(id=10, name="GA_app", data_store=54)
LONELY_APP = AppFact(id=11, name="Unused_app", data_store=54)
P_BUSY = ProfileFact(id=20, name="busy_profile", app_id=10)
P_IDLE = ProfileFact(id=21, name="idle_profile", app_id=10)
DS = [
    DataSourceFact(id=30, name="GA_one", data_store=54, owner="acme_admin", profile_ref="20"),
    DataSourceFact(id=31, name="GA_two", data_store=54, owner="acme_user", profile_ref="20"),
    DataSourceFact(id=32, name="GA_orphan", data_store=54, owner="acme_admin", profile_ref="999"),
    DataSourceFact(id=33, name="Pg", data_store=1004, owner="acme_admin"),
]
FACTS = HdpFacts(
    apps=(APP, LONELY_APP),
    profiles=(P_BUSY, P_IDLE),
    all_profile_names=((20, "busy_profile"), (21, "idle_profile"), (77, "other_tenant_profile")),
    datasources=tuple(DS),
)


def _codes(c: chain.Chain) -> list[str]:
    return sorted(f.code for f in c.findings)


def test_blast_radius_counts_the_data_sources_behind_each_profile_and_app():
    c = build_chain(71, FACTS, [])
    app = next(a for a in c.apps if a.id == 10)
    profiles = {p.name: p for p in app.profiles}
    assert profiles["busy_profile"].blast_radius == 2
    assert {n.fact.name for n in profiles["busy_profile"].datasources} == {"GA_one", "GA_two"}
    assert profiles["idle_profile"].blast_radius == 0
    assert app.blast_radius == 2
    assert next(a for a in c.apps if a.id == 11).blast_radius == 0
    assert [n.fact.name for n in c.broken_datasources] == ["GA_orphan"]
    assert [n.fact.name for n in c.other_datasources] == ["Pg"]
    assert c.datasource_count() == 4


def test_each_problem_is_flagged_once_in_plain_words_with_a_next_action():
    c = build_chain(71, FACTS, [])
    assert _codes(c) == ["app_without_profile", "datasource_missing_profile", "profile_without_datasource"]
    by_code = {f.code: f for f in c.findings}
    assert "Unused_app has no OAuth profile" in by_code["app_without_profile"].text
    assert "idle_profile is not used by any data source" in by_code["profile_without_datasource"].text
    orphan = by_code["datasource_missing_profile"]
    assert "GA_orphan" in orphan.text and "999" in orphan.text and "does not have" in orphan.text
    assert orphan.ask_owner == "acme_admin"
    assert "reconnect" in orphan.action and "your own provider account" in orphan.action
    assert all(f.action for f in c.findings)


def test_a_profile_of_another_tenants_app_hangs_under_that_app():
    facts = dataclasses.replace(
        FACTS,
        profiles=(*FACTS.profiles, ProfileFact(id=40, name="uses_system_app", app_id=5)),
        datasources=(
            DataSourceFact(id=41, name="GA_sys", data_store=54, owner="acme_admin", profile_ref="40"),
        ),
    )
    c = build_chain(71, facts, [])
    outside = next(a for a in c.apps if a.id == 5)
    assert outside.in_tenant is False and outside.blast_radius == 1
    assert not any(f.code == "app_without_profile" and "#5" in f.text for f in c.findings)


def _run(*objects: tuple[str, str, int | None, str], status: str = "completed", owner: str = "acme_admin"):
    return RunFacts(
        id="00000000-0000-0000-0000-000000000001",
        owner=owner,
        status=status,
        datastore_name="Google Analytics",
        objects=tuple(RecordedObject(kind=k, name=n, remote_id=i, outcome=o) for k, n, i, o in objects),
    )


def test_drift_an_object_the_run_created_is_gone():
    run = _run(("app", "Gone_app", 12, "created"))
    c = build_chain(71, FACTS, [run])
    (finding,) = [f for f in c.findings if f.code == "drift_missing"]
    assert "Gone_app" in finding.text and "12" in finding.text and "no longer has it" in finding.text
    assert finding.ask_owner == "acme_admin" and finding.run_id == run.id


def test_drift_same_name_under_a_new_id():
    run = _run(("profile", "busy_profile", 19, "created"))
    c = build_chain(71, FACTS, [run])
    (finding,) = [f for f in c.findings if f.code.startswith("drift")]
    assert finding.code == "drift_id_changed"
    assert "id 19" in finding.text and "id 20" in finding.text


def test_drift_the_data_source_now_uses_another_profile_or_none():
    run = _run(("profile", "idle_profile", 21, "created"), ("datasource", "GA_one", 30, "created"))
    c = build_chain(71, FACTS, [run])
    (finding,) = [f for f in c.findings if f.code == "drift_link_changed"]
    assert "GA_one" in finding.text and "21" in finding.text and "now uses profile 20" in finding.text
    unlinked = dataclasses.replace(
        FACTS, datasources=(DataSourceFact(id=30, name="GA_one", data_store=54, owner="acme_admin"),)
    )
    c2 = build_chain(71, unlinked, [run])
    (finding2,) = [f for f in c2.findings if f.code == "drift_link_changed"]
    assert "no OAuth profile" in finding2.text


def test_objects_that_still_match_are_not_drift():
    run = _run(("app", "GA_app", 10, "created"), ("profile", "busy_profile", 20, "created"),
               ("datasource", "GA_one", 30, "created"))  # fmt: skip
    assert not [f for f in build_chain(71, FACTS, [run]).findings if f.code.startswith("drift")]


def test_cancelled_runs_and_deleted_or_failed_objects_are_not_drift():
    cancelled = _run(("app", "Gone_app", 12, "created"), status="cancelled")
    deleted = _run(("app", "Gone_too", 13, "deleted"), ("profile", "x", 14, "failed"))
    assert not [
        f for f in build_chain(71, FACTS, [cancelled, deleted]).findings if f.code.startswith("drift")
    ]


@pytest.mark.parametrize("outcome", ["pending", "unknown"])
def test_a_run_stuck_in_progress_says_resume_from_my_setups_with_the_owner(outcome):
    run = _run(("app", "GA_app", 10, "created"), ("profile", "half_made", None, outcome),
               status="active", owner="acme_user")  # fmt: skip
    c = build_chain(71, FACTS, [run])
    (finding,) = [f for f in c.findings if f.code == "run_stuck"]
    assert "acme_user" in finding.text and "half_made" in finding.text
    assert "resume it from My setups (owner acme_user)" in finding.action
    assert finding.run_id == run.id


def test_a_finished_run_with_an_unknown_object_is_not_stuck():
    run = _run(("profile", "half_made", None, "unknown"), status="completed")
    assert "run_stuck" not in _codes(build_chain(71, FACTS, [run]))


def test_an_incomplete_read_reports_no_absence_and_no_drift_but_still_stuck_runs():
    partial = dataclasses.replace(FACTS, complete=False, profiles=(), all_profile_names=())
    runs = [_run(("app", "Gone_app", 12, "created")), _run(("app", "a", None, "pending"), status="active")]
    c = build_chain(71, partial, runs)
    assert _codes(c) == ["run_stuck"]
    assert c.hdp_complete is False


def test_an_empty_hdp_and_no_runs_is_an_empty_chain():
    c = build_chain(71, HdpFacts(), [])
    assert c.apps == [] and c.findings == [] and c.datasource_count() == 0


def test_no_fact_or_node_type_can_hold_a_secret():
    """Secrets can't reach a page because the chain has nowhere to keep them."""
    types = [AppFact, ProfileFact, DataSourceFact, HdpFacts, RecordedObject, RunFacts, chain.Finding,
             chain.DataSourceNode, chain.ProfileNode, chain.AppNode, chain.Chain]  # fmt: skip
    for cls in types:
        for f in dataclasses.fields(cls):
            lowered = f.name.lower()
            assert not any(w in lowered for w in ("secret", "token", "password", "options")), (cls, f.name)
