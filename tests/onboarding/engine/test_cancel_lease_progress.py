"""cancel, reconcile, the lease (double submit), step order and the data-source name claim."""

from __future__ import annotations

import contextvars
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.hdp.errors import HdpUnavailable
from portal.onboarding import engine, wizard
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp import faults
from portal.sandbox.hdp.models import DataSource as EmuDataSource
from portal.sandbox.hdp.models import OAuthApp as EmuApp
from portal.sandbox.hdp.models import OAuthProfile as EmuProfile
from tests.helpers.engine import SECRET, Recording, app_body, ds_body, give_tokens, make_client


def full_run(run, client):
    engine.ensure_app(run, client, client_secret=SECRET)
    give_tokens(run)
    engine.ensure_profile(run, client)
    engine.ensure_datasource(run, client)
    return run


def in_another_request(fn, *args, **kwargs):
    """Run ``fn`` as a separate request would: without this context's leases."""
    return contextvars.Context().run(fn, *args, **kwargs)


# --- cancel -------------------------------------------------------------------------------------------
def test_cancel_deletes_newest_first_only_what_the_run_created(hdp_client, make_run):
    run = full_run(make_run(), hdp_client)
    # Same names, not this run's: another tenant's app and another person's data source.
    globex_app = make_client(on_behalf_of="globex_admin").create_oauth_app(
        app_body("acme_ga_app", tenant_id=72)
    )
    other_ds = make_client(on_behalf_of="acme_user").create_datasource(ds_body("acme_ga", DefaultView="1"))

    findings = engine.cancel(run, hdp_client)

    # Newest first: had the app gone first, HDP would have cascaded the profile ("already gone").
    assert findings == [
        "Deleted the data source 'acme_ga'.",
        "Deleted the OAuth profile 'acme_ga_profile'.",
        "Deleted the OAuth application 'acme_ga_app'.",
    ]
    assert list(EmuApp.objects.values_list("pk", flat=True)) == [globex_app.id]
    assert list(EmuDataSource.objects.values_list("pk", flat=True)) == [other_ds.id]
    assert EmuProfile.objects.count() == 0
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED and run.cancelled_at is not None
    assert (run.app_secret_enc, run.tokens_enc) == ("", "")
    assert set(RemoteObject.objects.filter(run=run).values_list("outcome", flat=True)) == {"deleted"}
    actions = list(AuditEntry.objects.filter(run=run).order_by("at", "pk").values_list("action", flat=True))
    assert actions[-4:] == [
        "hdp.datasource.deleted",
        "hdp.profile.deleted",
        "hdp.app.deleted",
        "run.cancelled",
    ]

    # Twice is harmless: nothing more is deleted, nothing more is audited.
    assert engine.cancel(run, hdp_client) == []
    assert EmuApp.objects.count() == 1 and EmuDataSource.objects.count() == 1
    assert AuditEntry.objects.filter(run=run, action="run.cancelled").count() == 1


def test_cancel_never_deletes_a_reused_app(hdp_client, make_run):
    shared = make_client().create_oauth_app(app_body("shared_app"))
    run = make_run(app_mode=Run.AppMode.REUSE, reuse_app_id=shared.id)
    engine.ensure_app(run, hdp_client, client_secret=None)
    give_tokens(run)
    engine.ensure_profile(run, hdp_client)

    assert engine.cancel(run, hdp_client) == ["Deleted the OAuth profile 'acme_ga_profile'."]
    assert list(EmuApp.objects.values_list("pk", flat=True)) == [shared.id]
    assert EmuProfile.objects.count() == 0


def test_cancel_counts_404_as_deleted(hdp_client, make_run):
    run = full_run(make_run(), hdp_client)
    EmuDataSource.objects.all().delete()  # removed in HDP meanwhile
    findings = engine.cancel(run, hdp_client)
    assert findings[0] == "The data source 'acme_ga' was already gone from HDP."
    assert EmuApp.objects.count() == 0 and EmuProfile.objects.count() == 0
    obj = run.remote("datasource")
    assert obj is not None and obj.outcome == "deleted"


def test_cancel_finds_an_app_created_just_before_a_crash(hdp_client, make_run):
    run = make_run()
    RemoteObject.objects.create(run=run, kind="app", name=run.app_name)
    make_client().create_oauth_app(engine.app._app_body(run, SECRET))
    assert engine.cancel(run, hdp_client) == ["Deleted the OAuth application 'acme_ga_app'."]
    assert EmuApp.objects.count() == 0


def test_cancel_stops_and_stays_active_when_a_delete_fails(hdp_client, make_run):
    run = full_run(make_run(), hdp_client)
    faults.arm("DELETE", r"^/api/mgmt/oauthprofiles/\d+$", "status", status=503)
    with pytest.raises(HdpUnavailable):
        engine.cancel(run, hdp_client)
    run.refresh_from_db()
    assert run.status == Run.Status.ACTIVE
    assert EmuDataSource.objects.count() == 0 and EmuProfile.objects.count() == 1
    # Cancel again: picks up where it stopped, deletes the data source only once.
    assert engine.cancel(run, hdp_client) == [
        "Deleted the OAuth profile 'acme_ga_profile'.",
        "Deleted the OAuth application 'acme_ga_app'.",
    ]
    assert EmuApp.objects.count() == 0


def test_completed_run_is_not_cancelled(hdp_client, make_run):
    run = full_run(make_run(), hdp_client)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.COMPLETED)
    run.refresh_from_db()
    with pytest.raises(engine.StepError):
        engine.cancel(run, hdp_client)
    assert EmuDataSource.objects.count() == 1


# --- reconcile ----------------------------------------------------------------------------------------
def test_reconcile_resets_an_intent_that_never_reached_hdp(hdp_client, make_run):
    run = make_run()
    RemoteObject.objects.create(run=run, kind="app", name=run.app_name, outcome="unknown")
    findings = engine.reconcile(run, hdp_client)
    assert findings == [
        "The OAuth application 'acme_ga_app' was not created in HDP; it will be created when you continue."
    ]
    obj = run.remote("app")
    assert obj is not None and obj.outcome == "failed"
    app_id = engine.ensure_app(run, hdp_client, client_secret=SECRET)
    assert list(EmuApp.objects.values_list("pk", flat=True)) == [app_id]


def test_reconcile_reports_objects_deleted_outside_the_portal(hdp_client, make_run):
    run = full_run(make_run(), hdp_client)
    ds_id = run.remote_id("datasource")
    EmuDataSource.objects.all().delete()
    assert engine.reconcile(run, hdp_client) == [
        f"The data source 'acme_ga' (id {ds_id}) no longer exists in HDP; it was deleted outside the portal."
    ]
    assert EmuApp.objects.count() == 1 and EmuProfile.objects.count() == 1


# --- lease --------------------------------------------------------------------------------------------
def test_a_second_request_gets_step_busy_and_makes_no_hdp_call(hdp_client, make_run):
    run = make_run()
    with engine.lease(run):
        other = Run.objects.get(pk=run.pk)
        sent = Recording()
        with pytest.raises(engine.StepBusy):
            in_another_request(engine.ensure_app, other, make_client(transport=sent), client_secret=SECRET)
        assert sent.requests == []  # not even a lookup
        assert EmuApp.objects.count() == 0
        assert RemoteObject.objects.count() == 0
    # Released on exit: the next request works.
    assert Run.objects.get(pk=run.pk).busy_until is None
    in_another_request(engine.ensure_app, run, hdp_client, client_secret=SECRET)
    assert EmuApp.objects.count() == 1


def test_two_leases_second_is_busy(make_run):
    run = make_run()
    with engine.lease(run), pytest.raises(engine.StepBusy):
        in_another_request(lambda: engine.lease(Run.objects.get(pk=run.pk)).__enter__())


def test_lease_is_released_when_the_step_fails(hdp_client, make_run):
    run = make_run(app_name="bad name!")
    with pytest.raises(Exception, match="HTTP 400"):
        engine.ensure_app(run, hdp_client, client_secret=SECRET)
    assert Run.objects.get(pk=run.pk).busy_until is None


def test_an_expired_lease_can_be_taken_over(make_run):
    run = make_run()
    Run.objects.filter(pk=run.pk).update(busy_until=timezone.now() - timedelta(seconds=1))
    with engine.lease(run):
        assert Run.objects.get(pk=run.pk).busy_until > timezone.now()
    Run.objects.filter(pk=run.pk).update(busy_until=timezone.now() + timedelta(seconds=30))
    with pytest.raises(engine.StepBusy):
        in_another_request(lambda: engine.lease(run).__enter__())


# --- where the run stands -----------------------------------------------------------------------------
def test_current_step_and_can_enter_follow_the_records(hdp_client, make_run):
    run = make_run(datastore_id=None)
    assert wizard.Progress.of(run).step == "store"
    assert wizard.can_enter(run, "store") and not wizard.can_enter(run, "app")
    run.datastore_id = 54
    run.save()
    assert wizard.Progress.of(run).step == "app"
    engine.ensure_app(run, hdp_client, client_secret=SECRET)
    assert wizard.Progress.of(run).step == "authorize"
    assert not wizard.can_enter(run, "profile")
    give_tokens(run)
    assert wizard.Progress.of(run).step == "profile"
    engine.ensure_profile(run, hdp_client)
    run.refresh_from_db()
    assert run.tokens_enc == "" and wizard.Progress.of(run).step == "datasource"
    assert (
        wizard.can_enter(run, "app")
        and wizard.can_enter(run, "datasource")
        and not wizard.can_enter(run, "verify")
    )
    engine.ensure_datasource(run, hdp_client)
    assert wizard.Progress.of(run).step == "verify"
    assert not wizard.can_enter(run, "nonsense")


# --- the data-source name among active runs -----------------------------------------------------------
def test_two_admins_same_tenant_and_name_one_wins(make_run):
    second_admin = User.objects.create(username="acme_admin2", hdp_tenant_id=71)
    first = make_run(ds_name="")
    second = make_run(ds_name="", owner=second_admin)
    engine.claim_ds_name(first, "sales")
    with pytest.raises(engine.NameTaken, match="already creating a data source named 'sales'"):
        engine.claim_ds_name(second, "sales")
    second.refresh_from_db()
    assert (first.ds_name, second.ds_name) == ("sales", "")
    # Another tenant may use the name; and once the first run is cancelled, so may the second admin.
    other_tenant = make_run(ds_name="", tenant_id=72)
    engine.claim_ds_name(other_tenant, "sales")
    Run.objects.filter(pk=first.pk).update(status=Run.Status.CANCELLED)
    engine.claim_ds_name(second, "sales")
    assert Run.objects.get(pk=second.pk).ds_name == "sales"
