"""The engine takes the admin's input as typed values and records it on the run under its own
lease: a caller never writes the run's step columns before calling a step."""

from __future__ import annotations

from dataclasses import replace

import pytest

from portal.onboarding import engine
from portal.onboarding.models import Run
from portal.sandbox.hdp.models import DataSource as EmuDataSource
from portal.sandbox.hdp.models import OAuthApp as EmuApp
from portal.sandbox.hdp.models import OAuthProfile as EmuProfile
from tests.helpers.engine import SECRET, app_body, give_tokens, make_client

SETTINGS = engine.AppSettings(
    name="acme_typed_app",
    client_id="typed-client",
    authorize_uri="https://accounts.google.com/o/oauth2/v2/auth",
    token_uri="https://oauth2.googleapis.com/token",
    scope="openid",
    extra_params={"prompt": "consent"},
    description="typed in the form",
)


def test_ensure_app_records_the_settings_it_was_given_and_creates_with_them(hdp_client, make_run):
    run = make_run(app_mode="", app_name="")
    run.app_name = "unsaved_edit_is_not_used"  # the lease re-reads the run; only the input counts
    app_id = engine.ensure_app(run, hdp_client, SETTINGS, client_secret=SECRET)
    app = EmuApp.objects.get(pk=app_id)
    assert (app.name, app.client_id, app.scope, app.client_secret) == (
        "acme_typed_app",
        "typed-client",
        "openid",
        SECRET,
    )
    stored = Run.objects.get(pk=run.pk)
    assert stored.app_mode == Run.AppMode.CREATE and stored.reuse_app_id is None
    assert engine.AppSettings.recorded(stored) == SETTINGS
    assert stored.held_client_secret() == SECRET  # encrypted, until the consent's exchange


def test_ensure_app_with_a_reused_app_records_the_choice(hdp_client, make_run):
    existing = make_client().create_oauth_app(app_body("shared_app"))
    run = make_run(app_mode="")
    chosen = engine.ReusedApp(
        existing.id, "shared_app", "https://a.example/auth", "https://a.example/token", "read"
    )
    assert engine.ensure_app(run, hdp_client, chosen, client_secret=None) == existing.id
    stored = Run.objects.get(pk=run.pk)
    assert (stored.app_mode, stored.reuse_app_id, stored.app_name) == (
        Run.AppMode.REUSE,
        existing.id,
        "shared_app",
    )
    assert run.remote("app").outcome == "reused"


def test_update_app_records_the_new_settings_only_once_hdp_took_them(hdp_client, make_run):
    run = make_run()
    app_id = engine.ensure_app(run, hdp_client, SETTINGS, client_secret=SECRET)
    moved = replace(SETTINGS, token_uri="https://evil.example.com/token", scope="read")
    with pytest.raises(engine.SecretRequired):
        engine.update_app(run, hdp_client, moved, client_secret=None)
    stored = Run.objects.get(pk=run.pk)
    assert engine.AppSettings.recorded(stored) == SETTINGS  # nothing to roll back: never written
    assert EmuApp.objects.get(pk=app_id).token_uri == SETTINGS.token_uri

    engine.update_app(run, hdp_client, moved, client_secret="new-secret-value")
    assert engine.AppSettings.recorded(Run.objects.get(pk=run.pk)) == moved
    app = EmuApp.objects.get(pk=app_id)
    assert (app.token_uri, app.scope, app.client_secret) == (moved.token_uri, "read", "new-secret-value")


def test_ensure_profile_records_its_name_and_description(hdp_client, make_run):
    run = make_run()
    engine.ensure_app(run, hdp_client, client_secret=SECRET)
    give_tokens(run)
    engine.ensure_profile(run, hdp_client, engine.ProfileSettings("typed_profile", "for the dashboards"))
    stored = Run.objects.get(pk=run.pk)
    assert (stored.profile_name, stored.profile_description) == ("typed_profile", "for the dashboards")
    assert EmuProfile.objects.get().name == "typed_profile"


def test_ensure_datasource_records_its_input_but_never_the_secret_options(hdp_client, make_run):
    run = make_run(datastore_id=1, datastore_name="Salesforce", ds_name="", ds_options={})
    engine.ensure_app(run, hdp_client, client_secret=SECRET)
    give_tokens(run)
    engine.ensure_profile(run, hdp_client)
    wanted = engine.DataSourceSettings("typed_ds", "typed", {"User": "svc", "Password": "pw-sentinel-77"})
    engine.ensure_datasource(run, hdp_client, wanted, secret_options={"Password": "pw-sentinel-77"})
    stored = Run.objects.get(pk=run.pk)
    assert (stored.ds_name, stored.ds_description, stored.ds_options) == (
        "typed_ds",
        "typed",
        {"User": "svc"},
    )
    assert EmuDataSource.objects.get(name="typed_ds").options["Password"] == "pw-sentinel-77"
