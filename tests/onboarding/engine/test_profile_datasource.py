"""ensure_profile / ensure_datasource / verify (fault matrix rows "Create profile", "Create datasource", "Finish")."""

from __future__ import annotations

import json

import httpx
import pytest

from portal.audit.models import AuditEntry
from portal.hdp.errors import HdpRejected, HdpUnavailable
from portal.onboarding import engine, wizard
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp import faults, refresh
from portal.sandbox.hdp.models import DataSource as EmuDataSource
from portal.sandbox.hdp.models import Fault
from portal.sandbox.hdp.models import OAuthProfile as EmuProfile
from tests.helpers.engine import ACCESS, REFRESH, SECRET, Scripted, ds_body, give_tokens, make_client

PROFILES = r"^/api/mgmt/oauthprofiles$"
DATASOURCES = r"^/api/mgmt/datasources$"


@pytest.fixture
def run_with_app(hdp_client, make_run):
    run = make_run()
    engine.ensure_app(run, hdp_client, client_secret=SECRET)
    give_tokens(run)
    return run


@pytest.fixture
def run_with_profile(hdp_client, run_with_app):
    engine.ensure_profile(run_with_app, hdp_client)
    return run_with_app


def test_profile_created_with_the_tokens_which_are_then_dropped(hdp_client, run_with_app):
    run = run_with_app
    profile_id = engine.ensure_profile(run, hdp_client)
    profile = EmuProfile.objects.get()
    assert (profile.pk, profile.name, profile.app_id) == (profile_id, "acme_ga_profile", run.remote_id("app"))
    assert (profile.refresh_token, profile.access_token, profile.owner.user_name) == (
        REFRESH,
        ACCESS,
        "acme_admin",
    )
    run.refresh_from_db()
    assert run.tokens_enc == ""
    assert engine.ensure_profile(run, hdp_client) == profile_id  # idempotent
    assert EmuProfile.objects.count() == 1


def test_profile_refused_without_refresh_token(hdp_client, run_with_app):
    run = run_with_app
    give_tokens(run, refresh_token=None)
    with pytest.raises(engine.MissingTokens, match="refresh token"):
        engine.ensure_profile(run, hdp_client)
    assert EmuProfile.objects.count() == 0
    assert run.remote("profile") is None


def test_profile_needs_the_app_first(hdp_client, make_run):
    run = make_run()
    give_tokens(run)
    with pytest.raises(engine.StepNotReady):
        engine.ensure_profile(run, hdp_client)
    assert EmuProfile.objects.count() == 0


def test_profile_commit_then_drop_adopts_exactly_one_and_then_drops_tokens(hdp_client, run_with_app):
    run = run_with_app
    faults.arm("POST", PROFILES, "commit_then_drop")
    profile_id = engine.ensure_profile(run, hdp_client)
    assert not Fault.objects.exists()
    assert list(EmuProfile.objects.values_list("pk", flat=True)) == [profile_id]
    obj = run.remote("profile")
    assert obj is not None and (obj.outcome, obj.detail) == ("created", "adopted after unknown outcome")
    run.refresh_from_db()
    assert run.tokens_enc == ""


def test_profile_tokens_kept_while_the_outcome_is_unresolved(hdp_client, run_with_app):
    run = run_with_app
    # The create commits but its answer is lost, and HDP cannot be reached for the lookup either.
    transport = (
        Scripted().after("POST", PROFILES, httpx.ReadTimeout).before("GET", PROFILES, httpx.ConnectTimeout)
    )
    with pytest.raises(HdpUnavailable):
        engine.ensure_profile(run, make_client(transport=transport))
    assert transport.rules == []
    run.refresh_from_db()
    assert (
        json.loads(run.unseal("tokens") or "{}")["refresh_token"] == REFRESH
    )  # not lost: no re-consent needed
    obj = run.remote("profile")
    assert obj is not None and obj.outcome == "unknown"
    assert wizard.Progress.of(run).step == "profile"

    # Resume once HDP answers: adopted, not duplicated; only now are the tokens dropped.
    profile_id = engine.ensure_profile(run, hdp_client)
    assert list(EmuProfile.objects.values_list("pk", flat=True)) == [profile_id]
    run.refresh_from_db()
    assert run.tokens_enc == ""


def test_profile_4xx_keeps_tokens_for_resume(hdp_client, run_with_app):
    run = run_with_app
    run.profile_name = "bad name"
    run.save()
    with pytest.raises(HdpRejected):
        engine.ensure_profile(run, hdp_client)
    assert EmuProfile.objects.count() == 0
    run.refresh_from_db()
    assert json.loads(run.unseal("tokens") or "{}")["refresh_token"] == REFRESH
    obj = run.remote("profile")
    assert obj is not None and obj.outcome == "failed"

    run.profile_name = "acme_fixed_profile"
    run.save()
    profile_id = engine.ensure_profile(run, hdp_client)
    assert list(EmuProfile.objects.values_list("pk", "name")) == [(profile_id, "acme_fixed_profile")]
    run.refresh_from_db()
    assert run.tokens_enc == ""


def test_datasource_uses_the_profile_and_cloud(hdp_client, run_with_profile):
    run = run_with_profile
    ds_id = engine.ensure_datasource(run, hdp_client)
    ds = EmuDataSource.objects.get()
    assert (ds.pk, ds.name, ds.owner.user_name, ds.connection_type) == (
        ds_id,
        "acme_ga",
        "acme_admin",
        "Cloud",
    )
    assert ds.options["OAuthProfileId"] == str(run.remote_id("profile"))
    assert ds.options["DefaultView"] == "12345"
    assert engine.ensure_datasource(run, hdp_client) == ds_id
    assert EmuDataSource.objects.count() == 1


@pytest.mark.parametrize(
    "fault", ["commit_then_drop", "read_timeout_after_commit", "status_503", "status_500_twice"]
)
def test_datasource_unknown_outcomes_end_with_exactly_one(hdp_client, run_with_profile, fault):
    run = run_with_profile
    transport = Scripted()
    if fault == "commit_then_drop":
        faults.arm("POST", DATASOURCES, "commit_then_drop")
    elif fault == "read_timeout_after_commit":
        transport.after("POST", DATASOURCES, httpx.ReadTimeout)
    elif fault == "status_503":
        faults.arm("POST", DATASOURCES, "status", status=503)
    else:
        faults.arm("POST", DATASOURCES, "status", status=500, times=2)
    client = make_client(transport=transport)

    if fault == "status_500_twice":
        # Not created twice in a row: one blind retry only, then stop and leave it for resume.
        with pytest.raises(HdpUnavailable):
            engine.ensure_datasource(run, client)
        assert EmuDataSource.objects.count() == 0
        obj = run.remote("datasource")
        assert obj is not None and obj.outcome == "unknown"
        ds_id = engine.ensure_datasource(run, hdp_client)
    else:
        ds_id = engine.ensure_datasource(run, client)

    assert not Fault.objects.exists() and transport.rules == []
    assert list(EmuDataSource.objects.values_list("pk", "name")) == [(ds_id, "acme_ga")]
    obj = run.remote("datasource")
    assert obj is not None and (obj.outcome, obj.remote_id) == ("created", ds_id)


def test_datasource_crash_after_201_is_adopted_on_resume(hdp_client, run_with_profile):
    run = run_with_profile
    RemoteObject.objects.create(run=run, kind="datasource", name=run.ds_name)
    created = make_client().create_datasource(
        engine.datasource._datasource_body(run, run.remote_id("profile") or 0)
    )
    assert engine.ensure_datasource(run, hdp_client) == created.id
    assert EmuDataSource.objects.count() == 1
    assert (
        AuditEntry.objects.filter(action="hdp.datasource.adopted", detail__remote_id=created.id).count() == 1
    )


def test_datasource_name_owned_outside_the_run_is_not_adopted_or_overwritten(hdp_client, run_with_profile):
    run = run_with_profile
    # The same person made "acme_ga" in HDP's own UI earlier: it is not this run's.
    theirs = make_client().create_datasource(ds_body("acme_ga", DefaultView="999"))
    with pytest.raises(engine.NameTaken, match="Pick another name"):
        engine.ensure_datasource(run, hdp_client)
    ds = EmuDataSource.objects.get()
    assert (ds.pk, ds.options) == (theirs.id, {"DefaultView": "999"})
    assert run.remote("datasource") is None


def test_same_name_owned_by_another_user_is_left_alone(hdp_client, run_with_profile):
    run = run_with_profile
    theirs = make_client(on_behalf_of="acme_user").create_datasource(ds_body("acme_ga", DefaultView="999"))
    ds_id = engine.ensure_datasource(run, hdp_client)  # names are unique per owner in HDP
    assert ds_id != theirs.id
    assert EmuDataSource.objects.get(pk=theirs.id).options == {"DefaultView": "999"}
    assert EmuDataSource.objects.get(pk=ds_id).owner.user_name == "acme_admin"


def test_verify_success_completes_the_run_and_purges_secrets(hdp_client, run_with_profile, monkeypatch):
    run = run_with_profile
    engine.ensure_datasource(run, hdp_client)
    # Leftovers that must not survive completion (e.g. a secret re-entered for an edit).
    run.seal("app_secret", SECRET)
    give_tokens(run)
    monkeypatch.setattr(refresh, "refresh_with_provider", lambda *args: {"access_token": "fresh-access"})

    result = engine.verify(run, hdp_client)

    assert result.success is True
    run.refresh_from_db()
    assert (run.status, run.verify_ok, run.app_secret_enc, run.tokens_enc) == (
        Run.Status.COMPLETED,
        True,
        "",
        "",
    )
    assert run.completed_at is not None and run.verified_at is not None
    assert EmuProfile.objects.get().access_token == "fresh-access"  # HDP really tested the chain
    assert wizard.Progress.of(run).step == wizard.DONE
    assert AuditEntry.objects.filter(action="run.completed").count() == 1


def test_verify_failure_keeps_the_run_active(hdp_client, run_with_profile, monkeypatch):
    run = run_with_profile
    engine.ensure_datasource(run, hdp_client)

    def refuse(*args):
        raise refresh.RefreshError("the provider said invalid_grant")

    monkeypatch.setattr(refresh, "refresh_with_provider", refuse)
    result = engine.verify(run, hdp_client)
    assert result.success is False
    run.refresh_from_db()
    assert (run.status, run.verify_ok, run.completed_at) == (Run.Status.ACTIVE, False, None)
    assert run.verify_message and "invalid_grant" not in run.verify_message
    assert wizard.Progress.of(run).step == "verify"
