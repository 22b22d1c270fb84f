"""ensure_app / update_app against the in-process HDP emulator (fault matrix rows "Create oauthapp")."""

from __future__ import annotations

import logging

import httpx
import pytest

from portal.audit.models import AuditEntry
from portal.hdp.errors import HdpNotFound, HdpRejected, HdpUnauthorized, HdpUnavailable
from portal.onboarding import engine
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp import faults
from portal.sandbox.hdp.models import Fault
from portal.sandbox.hdp.models import OAuthApp as EmuApp
from tests.helpers.engine import SECRET, Recording, Scripted, app_body, make_client

APPS = r"^/api/mgmt/oauthapps$"


def test_creates_the_app_once_and_holds_the_secret_encrypted_for_the_exchange(hdp_client, make_run):
    run = make_run()
    app_id = engine.ensure_app(run, hdp_client, client_secret=SECRET)

    app = EmuApp.objects.get()
    assert (app.pk, app.name, app.tenant_id, app.client_secret) == (app_id, "acme_ga_app", 71, SECRET)
    run.refresh_from_db()
    assert (
        run.held_client_secret() == SECRET and SECRET not in run.app_secret_enc
    )  # encrypted, for the exchange
    obj = run.remote("app")
    assert obj is not None
    assert (obj.outcome, obj.remote_id, obj.created_by_run) == ("created", app_id, True)
    entry = AuditEntry.objects.get(action="hdp.app.created")
    assert entry.detail == {"name": "acme_ga_app", "remote_id": app_id}
    # Idempotent: a second call (back button, resume) makes nothing new.
    assert engine.ensure_app(run, hdp_client, client_secret=None) == app_id
    assert EmuApp.objects.count() == 1


def test_refuses_to_create_without_a_secret(hdp_client, make_run):
    run = make_run()
    with pytest.raises(engine.SecretRequired):
        engine.ensure_app(run, hdp_client, client_secret=None)
    assert EmuApp.objects.count() == 0
    assert run.remote("app") is None


def test_connect_timeout_is_retried_once_automatically(hdp_client, make_run):
    run = make_run()
    transport = Scripted().before("POST", APPS, httpx.ConnectTimeout)
    sent = Recording(transport)  # every attempt, the failed one included
    app_id = engine.ensure_app(run, make_client(transport=sent), client_secret=SECRET)
    assert transport.rules == []  # the fault did fire
    assert [r.url.path for r in sent.requests if r.method == "POST"] == [
        "/api/mgmt/oauthapps"
    ] * 2  # one retry
    assert list(EmuApp.objects.values_list("pk", flat=True)) == [app_id]


def test_connect_timeout_twice_leaves_intent_pending_and_secret_kept(hdp_client, make_run):
    run = make_run()
    client = make_client(
        transport=Scripted()
        .before("POST", APPS, httpx.ConnectTimeout)
        .before("POST", APPS, httpx.ConnectTimeout)
    )
    with pytest.raises(HdpUnavailable):
        engine.ensure_app(run, client, client_secret=SECRET)
    assert EmuApp.objects.count() == 0
    run.refresh_from_db()
    assert run.unseal("app_secret") == SECRET  # kept (encrypted) for the retry
    obj = run.remote("app")
    assert obj is not None and obj.outcome == "pending" and "nothing was created" in obj.detail
    # The admin presses "try again": no secret to re-enter, exactly one app.
    app_id = engine.ensure_app(run, hdp_client, client_secret=None)
    assert list(EmuApp.objects.values_list("pk", flat=True)) == [app_id]


@pytest.mark.parametrize("how", ["commit_then_drop", "read_timeout_after_commit"])
def test_unknown_outcome_after_commit_adopts_exactly_one(hdp_client, make_run, how):
    run = make_run()
    transport = Scripted().after("POST", APPS, httpx.ReadTimeout)
    if how == "commit_then_drop":
        faults.arm("POST", APPS, "commit_then_drop")
        transport.rules.clear()
    app_id = engine.ensure_app(run, make_client(transport=transport), client_secret=SECRET)

    assert not Fault.objects.exists() and transport.rules == []  # the fault did fire
    assert list(EmuApp.objects.values_list("pk", flat=True)) == [app_id]
    obj = run.remote("app")
    assert obj is not None
    assert (obj.outcome, obj.remote_id, obj.detail) == ("created", app_id, "adopted after unknown outcome")
    assert AuditEntry.objects.filter(action="hdp.app.adopted").count() == 1
    run.refresh_from_db()
    assert (
        run.held_client_secret() == SECRET and SECRET not in run.app_secret_enc
    )  # encrypted, for the exchange


def test_5xx_without_commit_reconciles_to_nothing_then_creates_once(hdp_client, make_run):
    run = make_run()
    faults.arm("POST", APPS, "status", status=503)
    app_id = engine.ensure_app(run, hdp_client, client_secret=SECRET)
    assert not Fault.objects.exists()
    assert list(EmuApp.objects.values_list("pk", flat=True)) == [app_id]
    assert AuditEntry.objects.filter(action="hdp.app.created").count() == 1


def test_crash_after_201_is_reconciled_on_resume(hdp_client, make_run):
    run = make_run()
    # The POST reached HDP and committed, then the portal died before saving the id.
    RemoteObject.objects.create(run=run, kind="app", name=run.app_name)
    created = make_client().create_oauth_app(engine.app._app_body(run, SECRET))

    findings = engine.reconcile(run, hdp_client)

    assert findings == [
        f"The OAuth application 'acme_ga_app' had been created in HDP; the portal recorded it (id {created.id})."
    ]
    assert engine.ensure_app(run, hdp_client, client_secret=None) == created.id
    assert EmuApp.objects.count() == 1


def test_crash_after_201_resume_through_ensure_app_needs_no_secret(hdp_client, make_run):
    run = make_run()
    RemoteObject.objects.create(run=run, kind="app", name=run.app_name)
    created = make_client().create_oauth_app(engine.app._app_body(run, SECRET))
    assert engine.ensure_app(run, hdp_client, client_secret=None) == created.id
    assert EmuApp.objects.count() == 1


def test_definite_4xx_marks_failed_and_keeps_the_input(hdp_client, make_run):
    run = make_run(app_name="bad name!")
    with pytest.raises(HdpRejected):
        engine.ensure_app(run, hdp_client, client_secret=SECRET)
    assert EmuApp.objects.count() == 0
    run.refresh_from_db()
    assert (run.app_name, run.app_client_id, run.unseal("app_secret")) == ("bad name!", "client-123", SECRET)
    obj = run.remote("app")
    assert obj is not None and obj.outcome == "failed" and obj.detail
    # Fixed name, resume: exactly one app, no secret to re-enter.
    run.app_name = "acme_fixed"
    run.save()
    app_id = engine.ensure_app(run, hdp_client, client_secret=None)
    assert list(EmuApp.objects.values_list("pk", "name")) == [(app_id, "acme_fixed")]


def test_401_on_service_credentials_fails_closed_without_retry(hdp_client, make_run, caplog):
    run = make_run()
    faults.arm("POST", APPS, "unauthorized")  # one shot: a retry would succeed and create an app
    with caplog.at_level(logging.WARNING, logger="portal.security"), pytest.raises(HdpUnauthorized):
        engine.ensure_app(run, hdp_client, client_secret=SECRET)
    assert EmuApp.objects.count() == 0
    obj = run.remote("app")
    assert obj is not None and obj.outcome == "failed"
    run.refresh_from_db()
    assert run.unseal("app_secret") == SECRET and run.status == Run.Status.ACTIVE
    events = [r.getMessage() for r in caplog.records if r.name == "portal.security"]
    assert len(events) == 1 and "hdp.auth_refused" in events[0] and SECRET not in events[0]


def test_same_named_app_not_created_by_the_run_is_never_adopted(hdp_client, make_run):
    run = make_run()
    other = make_client(on_behalf_of="d2cadmin").create_oauth_app(app_body("ACME_GA_APP"))
    with pytest.raises(engine.NameTaken, match="Pick another name"):
        engine.ensure_app(run, hdp_client, client_secret=SECRET)
    assert list(EmuApp.objects.values_list("pk", "client_secret")) == [(other.id, "their-secret")]
    assert run.remote("app") is None


def test_more_than_one_match_escalates(hdp_client, make_run):
    run = make_run()
    RemoteObject.objects.create(run=run, kind="app", name=run.app_name, outcome="unknown")
    for _ in range(2):  # HDP's uniqueness is undocumented; the portal must cope with duplicates
        EmuApp.objects.create(
            name=run.app_name,
            data_store=54,
            tenant_id=71,
            client_id="c",
            client_secret="s",
            authorize_uri="https://a",
            token_uri="https://t",
        )
    with pytest.raises(engine.ReconcileConflict, match="cannot tell which"):
        engine.ensure_app(run, hdp_client, client_secret=SECRET)
    assert EmuApp.objects.count() == 2
    obj = run.remote("app")
    assert obj is not None and obj.outcome == "unknown" and obj.remote_id is None


def test_reuse_records_the_existing_app_without_creating(hdp_client, make_run):
    existing = make_client().create_oauth_app(app_body("shared_app", "s3cret-shared"))
    run = make_run(app_mode=Run.AppMode.REUSE, app_name="", reuse_app_id=existing.id)
    assert engine.ensure_app(run, hdp_client, client_secret=None) == existing.id
    obj = run.remote("app")
    assert obj is not None
    assert (obj.outcome, obj.created_by_run, obj.remote_id, obj.name) == (
        "reused",
        False,
        existing.id,
        "shared_app",
    )
    assert EmuApp.objects.count() == 1


def test_update_app_uri_change_without_secret_is_refused_before_any_write(hdp_client, make_run):
    run = make_run()
    app_id = engine.ensure_app(run, hdp_client, client_secret=SECRET)
    run.app_token_uri = "https://evil.example.com/token"
    run.save()
    with pytest.raises(engine.SecretRequired):
        engine.update_app(run, hdp_client, client_secret=None)
    app = EmuApp.objects.get(pk=app_id)
    assert (app.token_uri, app.client_secret) == ("https://oauth2.googleapis.com/token", SECRET)

    engine.update_app(run, hdp_client, client_secret="new-secret-value")
    app.refresh_from_db()
    assert (app.token_uri, app.client_secret) == ("https://evil.example.com/token", "new-secret-value")


def test_update_app_without_uri_change_keeps_hdps_secret(hdp_client, make_run):
    run = make_run()
    app_id = engine.ensure_app(run, hdp_client, client_secret=SECRET)
    run.app_description = "Edited description"
    run.save()
    engine.update_app(run, hdp_client, client_secret=None)
    app = EmuApp.objects.get(pk=app_id)
    assert (app.description, app.client_secret) == ("Edited description", SECRET)


def test_update_app_refuses_a_reused_app(hdp_client, make_run):
    existing = make_client().create_oauth_app(app_body("shared_app", "s3cret-shared"))
    run = make_run(app_mode=Run.AppMode.REUSE, reuse_app_id=existing.id, app_description="mine now")
    engine.ensure_app(run, hdp_client, client_secret=None)
    with pytest.raises(engine.StepNotReady):
        engine.update_app(run, hdp_client, client_secret="whatever-secret")
    assert EmuApp.objects.get().description == ""


def test_reuse_refuses_an_app_of_another_tenant(hdp_client, make_run):
    globex = make_client(on_behalf_of="globex_admin").create_oauth_app(app_body("globex_app", tenant_id=72))
    run = make_run(app_mode=Run.AppMode.REUSE, reuse_app_id=globex.id)
    # acme_admin cannot even see it; the portal's own check also holds for a system admin acting.
    with pytest.raises(HdpNotFound):
        engine.ensure_app(run, hdp_client, client_secret=None)
    with pytest.raises(engine.StepError, match="another tenant"):
        engine.ensure_app(run, make_client(on_behalf_of="d2cadmin"), client_secret=None)
    assert run.remote("app") is None


def test_reuse_accepts_a_system_tenant_app(hdp_client, make_run):
    system_app = make_client(on_behalf_of="d2cadmin").create_oauth_app(app_body("system_app", tenant_id=1))
    run = make_run(app_mode=Run.AppMode.REUSE, reuse_app_id=system_app.id)
    assert engine.ensure_app(run, hdp_client, client_secret=None) == system_app.id


def test_switching_from_reuse_to_create_before_the_profile(hdp_client, make_run):
    shared = make_client().create_oauth_app(app_body("shared_app"))
    run = make_run(app_mode=Run.AppMode.REUSE, reuse_app_id=shared.id)
    engine.ensure_app(run, hdp_client, client_secret=None)
    run.app_mode = Run.AppMode.CREATE
    run.save()
    app_id = engine.ensure_app(run, hdp_client, client_secret=SECRET)
    assert app_id != shared.id
    obj = run.remote("app")
    assert obj is not None and (obj.outcome, obj.created_by_run, obj.remote_id) == ("created", True, app_id)
    assert EmuApp.objects.count() == 2


def test_switching_to_reuse_after_creating_keeps_the_record_for_cancel(hdp_client, make_run):
    shared = make_client().create_oauth_app(app_body("shared_app"))
    run = make_run()
    app_id = engine.ensure_app(run, hdp_client, client_secret=SECRET)
    run.app_mode, run.reuse_app_id = Run.AppMode.REUSE, shared.id
    run.save()
    with pytest.raises(engine.StepError, match="cancel this onboarding"):
        engine.ensure_app(run, hdp_client, client_secret=None)
    obj = run.remote("app")
    assert obj is not None and (obj.outcome, obj.remote_id, obj.created_by_run) == ("created", app_id, True)


def test_a_cancelled_run_creates_nothing(hdp_client, make_run):
    run = make_run()
    engine.cancel(run, hdp_client)
    with pytest.raises(engine.StepError, match="cancelled"):
        engine.ensure_app(run, hdp_client, client_secret=SECRET)
    assert EmuApp.objects.count() == 0
    assert run.remote("app") is None
