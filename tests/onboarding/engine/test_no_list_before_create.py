"""The profile and data-source creates send no name-taken list first: the objects they create point
at objects this run made (the profile at the run's new application, the data source at the run's
profile), so after an unknown outcome a same-named object is adopted only when it points there, and
HDP's own refusal of a taken name is still explained as "pick another name"."""

from __future__ import annotations

import httpx
import pytest

from portal.onboarding import engine
from portal.onboarding.engine.reconcile import verifiable
from portal.onboarding.models import RemoteObject
from portal.sandbox.hdp.models import DataSource as EmuDataSource
from portal.sandbox.hdp.models import HdpUser
from portal.sandbox.hdp.models import OAuthApp as EmuApp
from portal.sandbox.hdp.models import OAuthProfile as EmuProfile
from tests.helpers.engine import SECRET, Recording, Scripted, app_body, ds_body, give_tokens, make_client

DATASOURCES = r"^/api/mgmt/datasources$"
PROFILES = r"^/api/mgmt/oauthprofiles$"


@pytest.fixture
def run_with_app(hdp_client, make_run):
    run = make_run()
    engine.ensure_app(run, hdp_client, client_secret=SECRET)
    give_tokens(run)
    return run


def _calls(recording: Recording) -> list[str]:
    return [f"{r.method} {r.url.path}" for r in recording.requests]


def test_the_profile_and_the_data_source_are_each_one_post(run_with_app):
    recording = Recording()
    client = make_client(transport=recording)
    engine.ensure_profile(run_with_app, client)
    engine.ensure_datasource(run_with_app, client)
    assert _calls(recording) == ["POST /api/mgmt/oauthprofiles", "POST /api/mgmt/datasources"]


def test_a_lost_answer_adopts_the_data_source_that_names_the_runs_profile(hdp_client, run_with_app):
    engine.ensure_profile(run_with_app, hdp_client)
    client = make_client(transport=Scripted().after("POST", DATASOURCES, httpx.ReadTimeout))
    ds_id = engine.ensure_datasource(run_with_app, client)
    assert EmuDataSource.objects.get().pk == ds_id
    assert run_with_app.remote("datasource").outcome == "created"


def test_a_same_named_data_source_of_the_person_is_never_adopted_after_a_lost_answer(
    hdp_client, run_with_app
):
    engine.ensure_profile(run_with_app, hdp_client)
    theirs = make_client().create_datasource(ds_body("acme_ga", DefaultView="999"))
    # HDP refuses the duplicate name, and that answer is lost: the portal must not take theirs.
    client = make_client(transport=Scripted().after("POST", DATASOURCES, httpx.ReadTimeout))
    with pytest.raises(engine.NameTaken, match="Pick another name"):
        engine.ensure_datasource(run_with_app, client)
    ds = EmuDataSource.objects.get()
    assert (ds.pk, ds.options) == (theirs.id, {"DefaultView": "999"})
    assert run_with_app.remote("datasource") is None


def test_a_same_named_profile_of_the_person_is_refused_by_name_and_left_alone(hdp_client, run_with_app):
    other_app = EmuApp.objects.create(
        name="their_app", data_store=54, tenant_id=71, client_id="x", client_secret="y",
        authorize_uri="https://p.example/a", token_uri="https://p.example/t",
    )  # fmt: skip
    owner = HdpUser.objects.get(user_name="acme_admin")
    theirs = EmuProfile.objects.create(name="acme_ga_profile", app=other_app, owner=owner, refresh_token="rt")
    with pytest.raises(engine.NameTaken, match="Pick another name"):
        engine.ensure_profile(run_with_app, hdp_client)
    assert list(EmuProfile.objects.values_list("pk", "app_id")) == [(theirs.pk, other_app.pk)]
    assert run_with_app.remote("profile") is None


def test_a_reused_application_keeps_the_name_check_before_the_profile_create(hdp_client, make_run):
    theirs = make_client(on_behalf_of="d2cadmin").create_oauth_app(app_body("Shared_app"))
    run = make_run()
    engine.ensure_app(
        run, hdp_client, engine.ReusedApp(theirs.id, "Shared_app", "", "", ""), client_secret=None
    )
    give_tokens(run)
    recording = Recording()
    engine.ensure_profile(run, make_client(transport=recording))
    assert _calls(recording) == ["GET /api/mgmt/oauthprofiles", "POST /api/mgmt/oauthprofiles"]


APPS = r"^/api/mgmt/oauthapps$"


def test_registering_the_application_is_one_post(hdp_client, make_run):
    recording = Recording()
    engine.ensure_app(make_run(), make_client(transport=recording), client_secret=SECRET)
    assert _calls(recording) == ["POST /api/mgmt/oauthapps"]


def test_a_lost_answer_adopts_the_application_that_holds_the_runs_secret(hdp_client, make_run):
    run = make_run()
    client = make_client(transport=Scripted().after("POST", APPS, httpx.ReadTimeout))
    app_id = engine.ensure_app(run, client, client_secret=SECRET)
    assert list(EmuApp.objects.values_list("pk", "client_secret")) == [(app_id, SECRET)]
    assert run.remote("app").outcome == "created"


def test_a_same_named_application_with_another_secret_is_never_adopted_after_a_lost_answer(
    hdp_client, make_run
):
    theirs = make_client().create_oauth_app(app_body("acme_ga_app", "their-own-secret"))
    run = make_run()
    # HDP refuses the duplicate name, and that answer is lost: the portal must not take theirs.
    client = make_client(transport=Scripted().after("POST", APPS, httpx.ReadTimeout))
    with pytest.raises(engine.NameTaken, match="Pick another name"):
        engine.ensure_app(run, client, client_secret=SECRET)
    assert list(EmuApp.objects.values_list("pk", "client_secret")) == [(theirs.id, "their-own-secret")]
    assert run.remote("app") is None


def test_hdps_refusal_of_a_taken_application_name_reads_pick_another_name(hdp_client, make_run):
    make_client().create_oauth_app(app_body("acme_ga_app"))
    run = make_run()
    recording = Recording()
    with pytest.raises(engine.NameTaken, match="Pick another name"):
        engine.ensure_app(run, make_client(transport=recording), client_secret=SECRET)
    # The create, refused; then the list that tells the refusal is about the name.
    assert _calls(recording) == ["POST /api/mgmt/oauthapps", "GET /api/mgmt/oauthapps"]
    assert run.remote("app") is None


def test_without_a_held_secret_a_resumed_create_adopts_by_list(hdp_client, make_run):
    """After the purge dropped the held copy, an in-flight create is looked up by its name again."""
    run = make_run()
    app_id = engine.ensure_app(run, hdp_client, client_secret=SECRET)
    RemoteObject.objects.filter(run=run, kind="app").update(outcome="unknown", remote_id=None)
    type(run).objects.filter(pk=run.pk).update(app_secret_enc="")  # as if the answer was lost, then purged
    run.refresh_from_db()
    assert not verifiable(run, "app")
    recording = Recording()
    assert engine.ensure_app(run, make_client(transport=recording), client_secret=None) == app_id
    assert _calls(recording) == ["GET /api/mgmt/oauthapps"]
    assert run.remote("app").outcome == "created"
