"""Repair a completed setup whose part was deleted or unlinked in HDP (issue 8 item 3).

Real views through Django's test client, the HDP emulator in-process (its database is what HDP would
hold; faults armed with ``portal.sandbox.hdp.faults.arm``), the provider's token endpoint played by
``responses``, and HDP's data-source test refreshing through ``refresh_with_provider`` (replaced by a
fake provider). Self-contained: no fixtures from other test packages.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from pydantic import SecretStr

from portal.audit.models import AuditEntry
from portal.connections import checks
from portal.connections.models import ConnectionCheck, Repair
from portal.connections.status import Cause, State
from portal.hdp.client import HdpClient
from portal.hdp.schemas import DataSourceCreate, OAuthAppCreate, OAuthProfileCreate
from portal.oauth import flows
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp import faults
from portal.sandbox.hdp.emulator import mock_transport
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.refreshing_provider import ISSUER, id_token
from tests.helpers.sandbox import PASSWORDS

OLD_REFRESH = "sentinel-old-refresh-5d1a"
NEW_REFRESH = "sentinel-new-refresh-77e3"
NEW_ACCESS = "sentinel-new-access-0c4b"
APP_SECRET = "sentinel-app-secret-93fa"
SERVICE_URL = "https://api.example.test/v1"
Trigger = ConnectionCheck.Trigger


def _tokens(sub: str = "person-1", name: str = "Sandbox Person") -> dict[str, object]:
    return {
        "access_token": NEW_ACCESS,
        "refresh_token": NEW_REFRESH,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "read offline_access",
        "id_token": id_token(sub, name),
    }


@pytest.fixture
def hdp(settings, db):
    settings.HDP_TRANSPORT_FACTORY = "portal.sandbox.hdp.emulator.mock_transport"
    settings.HDP_BASE_URL = "http://hdp.test"
    settings.SANDBOX_FAULTS_ENABLED = True
    settings.RATELIMIT_OAUTH_START_PER_MINUTE = 50
    seed_demo()
    faults.clear()
    yield HdpClient(
        "http://hdp.test",
        "portal_svc",
        PASSWORDS["portal_svc"],
        on_behalf_of="acme_admin",
        transport=mock_transport(),
    )
    faults.clear()


@pytest.fixture
def setup(admin_client, hdp):
    """A completed setup of store 63: app, profile and data source in HDP, recorded on the run."""
    base = settings.PORTAL_BASE_URL
    app = hdp.create_oauth_app(
        OAuthAppCreate(
            name="Acme_Rp_app",
            data_store=63,
            tenant_id=71,
            client_id="sandbox-portal-client",
            client_secret=SecretStr("sandbox-portal-secret"),
            authorize_uri=f"{base}/sandbox/oauth/authorize/",
            token_uri=f"{base}/sandbox/oauth/token/",
            scope="read offline_access",
        )
    )
    profile = hdp.create_oauth_profile(
        OAuthProfileCreate(name="Acme_Rp_profile", oauth_app_id=app.id, refresh_token=SecretStr(OLD_REFRESH))
    )
    options = {"ServiceURL": SERVICE_URL, "OAuthProfileId": str(profile.id)}
    ds = hdp.create_datasource(DataSourceCreate(name="Acme_Rp", data_store=63, options=options))
    from portal.accounts.models import User

    run = Run.objects.create(
        owner=User.objects.get(username="acme_admin"),
        status=Run.Status.COMPLETED,
        completed_at=timezone.now(),
        tenant_id=71,
        tenant_name="Acme",
        datastore_id=63,
        datastore_name="Autonomous REST Connector",
        preset="sandbox",
        app_mode=Run.AppMode.CREATE,
        app_name=app.name,
        app_client_id="sandbox-portal-client",
        app_authorize_uri=f"{base}/sandbox/oauth/authorize/",
        app_token_uri=f"{base}/sandbox/oauth/token/",
        app_scope="read offline_access",
        profile_name=profile.name,
        ds_name=ds.name,
        ds_options={"ServiceURL": SERVICE_URL},
        provider_subject="person-1",
        provider_issuer=ISSUER,
        provider_display_name="Sandbox Person",
    )
    for kind, obj in (("app", app), ("profile", profile), ("datasource", ds)):
        RemoteObject.objects.create(
            run=run, kind=kind, name=obj.name, remote_id=obj.id, outcome=RemoteObject.Outcome.CREATED
        )
    return run


def _ids(run: Run) -> dict[str, int]:
    return {
        o.kind: o.remote_id
        for o in RemoteObject.objects.filter(run=run, outcome=RemoteObject.Outcome.CREATED)
        if o.remote_id is not None
    }


def _check(run: Run, hdp: HdpClient) -> ConnectionCheck:
    return checks.run_check(run, hdp, trigger=Trigger.MANUAL)


def _profiles_of_app(hdp: HdpClient, app_id: int) -> list[int]:
    return [int(p.id) for p in hdp.list_oauth_profiles() if int(p.oauth_app_id or 0) == app_id]


def _consent(admin_client, run: Run, start_answer, *, token_json=None, exchanged=True):
    """Come back from the provider with a code for the flow ``start_answer`` sent the browser to."""
    location = start_answer["Location"]
    assert location.startswith(settings.PORTAL_BASE_URL + "/sandbox/oauth/authorize/"), location
    state = parse_qs(urlsplit(location).query)["state"][0]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as token_endpoint:
        token_endpoint.post(settings.PORTAL_BASE_URL + "/sandbox/oauth/token/", json=token_json or _tokens())
        answer = admin_client.get(
            reverse("oauth:callback", args=[run.app_name]), {"state": state, "code": "c"}
        )
        assert len(token_endpoint.calls) == (1 if exchanged else 0)
    return answer


def _start(admin_client, run: Run, cause: str, **data):
    return admin_client.post(reverse("connections:repair", args=[run.pk]), {"cause": cause, **data})


def test_a_deleted_profile_is_repaired_after_a_new_consent_and_chosen_data_sources_follow(
    admin_client, setup, hdp, provider
):
    old = _ids(setup)
    # Two more data sources of the admin used the profile; one of another store and one on another profile must not be offered.
    sibling = hdp.create_datasource(
        DataSourceCreate(name="Acme_Rp_two", data_store=63, options={"OAuthProfileId": str(old["profile"])})
    )
    left_alone = hdp.create_datasource(
        DataSourceCreate(name="Acme_Rp_three", data_store=63, options={"OAuthProfileId": str(old["profile"])})
    )
    hdp.delete_oauth_profile(old["profile"])  # HDP strips OAuthProfileId from every data source using it
    assert _check(setup, hdp).cause == Cause.PROFILE_MISSING

    page = admin_client.get(reverse("connections:setup", args=[setup.pk])).content.decode()
    assert 'id="repair"' in page and reverse("connections:repair", args=[setup.pk]) in page
    assert "The OAuth profile was deleted in HDP" in page

    confirm = admin_client.get(reverse("connections:repair", args=[setup.pk])).content.decode()
    assert f'name="also" value="{sibling.id}"' in confirm and f'value="{left_alone.id}"' in confirm
    assert f'value="{old["datasource"]}"' not in confirm  # the setup's own is re-pointed anyway
    assert 'name="client_secret"' not in confirm  # only a deleted app asks for it

    start = _start(admin_client, setup, "profile_missing", also=[str(sibling.id)])
    assert start.status_code == 303
    flow = OAuthFlow.objects.get(run=setup)
    assert flow.frozen().purpose == "repair"
    answer = _consent(admin_client, setup, start)
    assert answer.status_code == 303
    assert answer["Location"] == reverse("connections:repair-finish", args=[setup.pk])

    done = admin_client.get(answer["Location"])
    body = done.content.decode()
    assert done.status_code == 200
    assert "The repair is done." in body
    [new_profile] = _profiles_of_app(hdp, old["app"])  # exactly one profile for the app, a new id
    assert new_profile != old["profile"]
    assert f"Created the OAuth profile Acme_Rp_profile (id {new_profile})." in body
    assert f"The data source Acme_Rp (id {old['datasource']}) now uses OAuth profile {new_profile}." in body
    assert f"The data source Acme_Rp_two (id {sibling.id}) now uses OAuth profile {new_profile}." in body
    assert str(State.WORKING.label) in body
    assert NEW_REFRESH not in body and NEW_ACCESS not in body

    own = hdp.get_datasource(old["datasource"])
    assert own.options == {"ServiceURL": SERVICE_URL, "OAuthProfileId": str(new_profile)}  # the rest kept
    assert hdp.get_datasource(sibling.id).options.get("OAuthProfileId") == str(new_profile)
    assert "OAuthProfileId" not in hdp.get_datasource(left_alone.id).options  # not ticked: left alone
    assert hdp.get_oauth_profile(new_profile).refresh_token.get_secret_value() == NEW_REFRESH
    assert provider.used[-1] == NEW_REFRESH
    assert _ids(setup)["profile"] == new_profile
    last = ConnectionCheck.objects.filter(run=setup).latest("started_at")
    assert (last.trigger, last.state) == (Trigger.REPAIR, State.WORKING)
    setup.refresh_from_db()
    assert setup.tokens_enc == ""
    repaired = AuditEntry.objects.get(action="connection.repaired", run_id=setup.pk)
    assert repaired.detail["cause"] == "profile_missing" and len(repaired.detail["changes"]) == 3
    assert AuditEntry.objects.filter(action="connection.repair_started", run_id=setup.pk).count() == 1
    assert NEW_REFRESH not in json.dumps([e.detail for e in AuditEntry.objects.all()])
    # Reloading the page changes nothing and still shows what changed.
    again = admin_client.get(reverse("connections:repair-finish", args=[setup.pk])).content.decode()
    assert f"Created the OAuth profile Acme_Rp_profile (id {new_profile})." in again
    assert _profiles_of_app(hdp, old["app"]) == [new_profile]
    assert ConnectionCheck.objects.filter(run=setup, trigger=Trigger.REPAIR).count() == 1


def test_the_profile_is_created_under_another_name_when_someone_else_took_it(
    admin_client, setup, hdp, provider
):
    old = _ids(setup)
    hdp.delete_oauth_profile(old["profile"])
    # A profile the setup did not make took the name since (the admin made it by hand): never adopted.
    hand_made = hdp.create_oauth_profile(
        OAuthProfileCreate(name="Acme_Rp_profile", oauth_app_id=old["app"], refresh_token=SecretStr("x"))
    )
    start = _start(admin_client, setup, "profile_missing")
    body = admin_client.get(_consent(admin_client, setup, start)["Location"]).content.decode()
    setup.refresh_from_db()
    assert setup.profile_name == "Acme_Rp_profile_2"
    assert f"Created the OAuth profile Acme_Rp_profile_2 (id {_ids(setup)['profile']})." in body
    assert _ids(setup)["profile"] != hand_made.id
    assert hdp.get_oauth_profile(hand_made.id).refresh_token.get_secret_value() == "x"  # untouched


def test_the_repair_purpose_is_enforced_at_start_and_at_the_callback(
    admin_client, setup, hdp, provider, caplog
):
    caplog.set_level(logging.WARNING, logger="portal.security")
    assert setup.consent_purpose() == "reconnect" and not flows.fits(setup, "repair")  # nothing to repair
    # Nothing is broken: a hand-made repair POST is refused before any flow starts.
    refused = _start(admin_client, setup, "profile_missing")
    assert refused["Location"] == reverse("connections:repair", args=[setup.pk])
    page = admin_client.get(refused["Location"]).content.decode()
    assert "changed since the page was shown" in page and "there is nothing to repair" in page
    assert OAuthFlow.objects.filter(run=setup).count() == 0 and Repair.objects.count() == 0

    hdp.delete_oauth_profile(_ids(setup)["profile"])
    first = _start(admin_client, setup, "profile_missing")
    second = _start(admin_client, setup, "profile_missing")  # another tab, while the first is at the provider
    setup.refresh_from_db()
    assert setup.consent_purpose() == "repair" and not flows.fits(setup, "reconnect")
    assert Repair.objects.filter(run=setup).count() == 1  # one repair, two pending sign-ins
    # A reconnect cannot start while the profile is gone.
    admin_client.post(reverse("connections:reconnect", args=[setup.pk]))
    assert OAuthFlow.objects.filter(run=setup).count() == 2
    admin_client.get(_consent(admin_client, setup, first)["Location"])
    assert setup.consent_purpose() == "reconnect"

    late = _consent(
        admin_client, setup, second, exchanged=False
    )  # the profile exists again: this sign-in no longer fits
    assert late.status_code == 400 and "no longer fits the setup" in late.content.decode()
    setup.refresh_from_db()
    assert setup.tokens_enc == ""
    assert OAuthFlow.objects.filter(run=setup, error_code="purpose_mismatch").count() == 1
    assert len(_profiles_of_app(hdp, _ids(setup)["app"])) == 1


def test_a_repair_consent_as_another_provider_account_is_refused(admin_client, setup, hdp):
    hdp.delete_oauth_profile(_ids(setup)["profile"])
    start = _start(admin_client, setup, "profile_missing")
    answer = _consent(admin_client, setup, start, token_json=_tokens(sub="person-2", name="Someone Else"))
    assert answer["Location"] == reverse("connections:repair-finish", args=[setup.pk])
    page = admin_client.get(answer["Location"]).content.decode()
    assert "You signed in as Someone Else, but this connection was set up with Sandbox Person." in page
    assert "Continue the repair" in page
    assert _profiles_of_app(hdp, _ids(setup)["app"]) == []
    setup.refresh_from_db()
    assert setup.tokens_enc == "" and setup.provider_subject == "person-1"


def test_a_deleted_app_is_registered_again_with_the_secret_entered_again(
    admin_client, setup, hdp, provider, caplog
):
    caplog.set_level(logging.DEBUG)
    old = _ids(setup)
    hdp.delete_oauth_app(old["app"])  # HDP deletes its profile too and strips the data source's link
    assert _check(setup, hdp).cause == Cause.APP_MISSING

    confirm = admin_client.get(reverse("connections:repair", args=[setup.pk])).content.decode()
    assert 'name="client_secret"' in confirm and 'type="password"' in confirm
    missing = _start(admin_client, setup, "app_missing")
    page = admin_client.get(missing["Location"]).content.decode()
    assert "Enter the client secret" in page
    assert all(a.name != "Acme_Rp_app" for a in hdp.list_oauth_apps(tenant_id=71))  # nothing sent

    start = _start(admin_client, setup, "app_missing", client_secret=APP_SECRET)
    assert start.status_code == 303 and APP_SECRET not in start["Location"]
    [app] = [a for a in hdp.list_oauth_apps(tenant_id=71) if a.name == "Acme_Rp_app"]
    assert int(app.id) != old["app"]
    assert hdp.get_oauth_app(app.id).client_secret.get_secret_value() == APP_SECRET
    assert OAuthFlow.objects.get(run=setup).frozen().app_id == int(app.id)
    setup.refresh_from_db()
    assert setup.held_client_secret() == APP_SECRET  # encrypted, for the repair's token exchange

    body = admin_client.get(_consent(admin_client, setup, start)["Location"]).content.decode()
    [profile] = _profiles_of_app(hdp, int(app.id))
    assert f"Created the OAuth application Acme_Rp_app (id {app.id})." in body
    assert f"Created the OAuth profile Acme_Rp_profile (id {profile})." in body
    assert f"The data source Acme_Rp (id {old['datasource']}) now uses OAuth profile {profile}." in body
    assert str(State.WORKING.label) in body
    assert hdp.get_datasource(old["datasource"]).options["ServiceURL"] == SERVICE_URL
    for text in (page, confirm, body, json.dumps([e.detail for e in AuditEntry.objects.all()]), caplog.text):
        assert APP_SECRET not in text
    setup.refresh_from_db()
    assert setup.app_secret_enc == ""  # the exchange used it; HDP holds it


def test_a_deleted_data_source_is_created_again_with_the_recorded_options(admin_client, setup, hdp, provider):
    old = _ids(setup)
    hdp.delete_datasource(old["datasource"])
    assert _check(setup, hdp).cause == Cause.DATASOURCE_MISSING
    confirm = admin_client.get(reverse("connections:repair", args=[setup.pk])).content.decode()
    assert "The data source was deleted in HDP." in confirm and 'name="also"' not in confirm

    start = _start(admin_client, setup, "datasource_missing")
    assert start["Location"] == reverse("connections:repair-finish", args=[setup.pk])
    body = admin_client.get(start["Location"]).content.decode()
    [ds] = [d for d in hdp.list_datasources() if d.name == "Acme_Rp"]
    assert int(ds.id) != old["datasource"]
    assert ds.options == {"ServiceURL": SERVICE_URL, "OAuthProfileId": str(old["profile"])}
    assert f"Created the data source Acme_Rp (id {ds.id}), using OAuth profile {old['profile']}." in body
    assert _ids(setup)["datasource"] == int(ds.id)
    assert ConnectionCheck.objects.filter(run=setup).latest("started_at").state == State.WORKING
    assert OAuthFlow.objects.filter(run=setup).count() == 0  # no consent needed


@pytest.mark.parametrize("how", ["unlinked", "other_profile"])
def test_a_data_source_unlinked_or_on_another_profile_is_repointed_after_confirmation(
    admin_client, setup, hdp, provider, how
):
    old = _ids(setup)
    options = {"ServiceURL": SERVICE_URL, "AuthenticationMethod": "OAuth2-RefreshToken"}
    if how == "other_profile":
        other = hdp.create_oauth_profile(
            OAuthProfileCreate(name="Acme_Rp_other", oauth_app_id=old["app"], refresh_token=SecretStr("o"))
        )
        options["OAuthProfileId"] = str(other.id)
    hdp.update_datasource(old["datasource"], DataSourceCreate(name="Acme_Rp", data_store=63, options=options))
    cause = {"unlinked": Cause.DATASOURCE_UNLINKED, "other_profile": Cause.DATASOURCE_OTHER_PROFILE}[how]
    assert _check(setup, hdp).cause == cause

    confirm = admin_client.get(reverse("connections:repair", args=[setup.pk])).content.decode()
    assert f'name="cause" value="{cause.value}"' in confirm
    if how == "other_profile":
        assert f"now uses OAuth profile {other.id}. Confirm to point it" in confirm
    assert hdp.get_datasource(old["datasource"]).options == options  # showing the page changed nothing

    body = admin_client.get(_start(admin_client, setup, cause.value)["Location"]).content.decode()
    assert (
        f"The data source Acme_Rp (id {old['datasource']}) now uses OAuth profile {old['profile']}." in body
    )
    assert hdp.get_datasource(old["datasource"]).options == {**options, "OAuthProfileId": str(old["profile"])}
    assert ConnectionCheck.objects.filter(run=setup).latest("started_at").state == State.WORKING
    assert (
        AuditEntry.objects.get(action="connection.repaired", run_id=setup.pk).detail["cause"] == cause.value
    )


def test_a_repair_racing_a_second_tab_gets_already_in_progress_and_changes_nothing(admin_client, setup, hdp):
    hdp.delete_datasource(_ids(setup)["datasource"])
    # Another tab holds the setup's lease (a request in the middle of its HDP work).
    Run.objects.filter(pk=setup.pk).update(busy_until=timezone.now() + timezone.timedelta(seconds=60))
    answer = _start(admin_client, setup, "datasource_missing")
    assert answer["Location"] == reverse("connections:setup", args=[setup.pk]) + "#repair"
    page = admin_client.get(answer["Location"]).content.decode()
    assert "A repair of this setup is already in progress in another tab or window." in page
    assert Repair.objects.count() == 0
    assert [d for d in hdp.list_datasources() if d.name == "Acme_Rp"] == []

    Run.objects.filter(pk=setup.pk).update(busy_until=None)
    admin_client.get(_start(admin_client, setup, "datasource_missing")["Location"])
    assert len([d for d in hdp.list_datasources() if d.name == "Acme_Rp"]) == 1


def test_hdp_timing_out_between_profile_create_and_repoint_resumes_without_a_duplicate(
    admin_client, setup, hdp, provider
):
    old = _ids(setup)
    hdp.delete_oauth_profile(old["profile"])
    start = _start(admin_client, setup, "profile_missing")
    faults.arm("PUT", r"^/api/mgmt/datasources/\d+$", "status", status=504)  # the re-point is lost
    first = admin_client.get(_consent(admin_client, setup, start)["Location"]).content.decode()
    assert "HDP did not answer in time" in first and "Try again" in first
    [new_profile] = _profiles_of_app(hdp, old["app"])
    assert f"Created the OAuth profile Acme_Rp_profile (id {new_profile})." in first
    assert Repair.objects.get(run=setup).finished_at is None
    # The next check reports what HDP holds: the profile is back, the data source still has no profile.
    assert _check(setup, hdp).cause == Cause.DATASOURCE_UNLINKED
    assert AuditEntry.objects.filter(action="connection.repair_interrupted", run_id=setup.pk).count() == 1

    retry = admin_client.post(reverse("connections:repair-finish", args=[setup.pk])).content.decode()
    assert "The repair is done." in retry
    assert _profiles_of_app(hdp, old["app"]) == [new_profile]  # no duplicate profile
    assert hdp.get_datasource(old["datasource"]).options["OAuthProfileId"] == str(new_profile)
    assert ConnectionCheck.objects.filter(run=setup).latest("started_at").state == State.WORKING


def test_a_lost_answer_after_hdp_made_the_profile_or_the_repoint_is_reconciled(
    admin_client, setup, hdp, provider
):
    old = _ids(setup)
    hdp.delete_oauth_profile(old["profile"])
    start = _start(admin_client, setup, "profile_missing")
    faults.arm("POST", r"^/api/mgmt/oauthprofiles$", "commit_then_drop")  # made, answer lost: adopted by name
    faults.arm("PUT", r"^/api/mgmt/datasources/\d+$", "commit_then_drop")  # re-pointed, answer lost
    first = admin_client.get(_consent(admin_client, setup, start)["Location"]).content.decode()
    assert "HDP did not answer in time" in first
    [new_profile] = _profiles_of_app(hdp, old["app"])
    assert _check(setup, hdp).state == State.WORKING  # HDP did make both changes: the check says so
    retry = admin_client.post(reverse("connections:repair-finish", args=[setup.pk])).content.decode()
    assert "The repair is done." in retry
    assert _profiles_of_app(hdp, old["app"]) == [new_profile]


def test_hdp_refusing_a_change_is_explained_in_plain_words(admin_client, setup, hdp, provider):
    hdp.delete_datasource(_ids(setup)["datasource"])
    faults.arm("POST", r"^/api/mgmt/datasources$", "status", status=403)
    body = admin_client.get(_start(admin_client, setup, "datasource_missing")["Location"]).content.decode()
    assert "HDP refused a change:" in body and "Try again" in body
    assert "Injected" not in body  # HDP's own text is not shown
    assert Repair.objects.get(run=setup).finished_at is None
    retry = admin_client.post(reverse("connections:repair-finish", args=[setup.pk])).content.decode()
    assert "The repair is done." in retry


def test_hdp_unreachable_while_reading_the_plan_is_explained(admin_client, setup, hdp):
    faults.arm("GET", r"^/api/mgmt/oauthapps/\d+$", "status", status=503, times=3)
    page = admin_client.get(reverse("connections:repair", args=[setup.pk]))
    assert page.status_code == 200 and 'class="alert alert-error"' in page.content.decode()
    assert Repair.objects.count() == 0


def test_someone_elses_setup_cannot_be_repaired(client, setup, hdp):
    client.post(
        reverse("accounts:login"), {"username": "globex_admin", "password": PASSWORDS["globex_admin"]}
    )
    assert client.get(reverse("connections:repair", args=[setup.pk])).status_code == 404
    assert client.post(reverse("connections:repair", args=[setup.pk]), {"cause": "x"}).status_code == 404
    assert client.post(reverse("connections:repair-finish", args=[setup.pk])).status_code == 404


def test_a_repair_consent_fits_only_a_completed_setup_whose_profile_a_repair_marked_gone(setup):
    profile = RemoteObject.objects.get(run=setup, kind="profile")
    app = RemoteObject.objects.get(run=setup, kind="app")
    assert setup.consent_purpose() == "reconnect"
    profile.outcome = RemoteObject.Outcome.FAILED
    profile.save()
    assert setup.consent_purpose() == "repair"
    assert (
        flows.fits(setup, "repair")
        and not flows.fits(setup, "consent")
        and not flows.fits(setup, "reconnect")
    )
    app.outcome = RemoteObject.Outcome.FAILED  # the application is gone too: it is registered again first
    app.save()
    assert setup.consent_purpose() is None
    setup.status = Run.Status.ACTIVE  # the wizard's rule is unchanged: a first consent
    assert setup.consent_purpose() == "consent"


def test_a_healthy_setup_page_has_the_repair_section_without_a_repair_button(
    admin_client, setup, hdp, provider
):
    _check(setup, hdp)
    page = admin_client.get(reverse("connections:setup", args=[setup.pk])).content.decode()
    assert 'id="repair"' in page
    assert reverse("connections:repair", args=[setup.pk]) not in page


def test_a_refused_app_registration_keeps_no_secret_and_asks_for_it_again(admin_client, setup, hdp, provider):
    hdp.delete_oauth_app(_ids(setup)["app"])
    faults.arm("POST", r"^/api/mgmt/oauthapps$", "status", status=400)
    refused = _start(admin_client, setup, "app_missing", client_secret=APP_SECRET)
    assert refused["Location"] == reverse("connections:repair", args=[setup.pk])
    page = admin_client.get(refused["Location"]).content.decode()
    assert 'name="client_secret"' in page and APP_SECRET not in page
    setup.refresh_from_db()
    assert setup.app_secret_enc == ""  # a completed setup keeps no secret, even after a refusal
    assert Repair.objects.get(run=setup).finished_at is None
    again = _start(admin_client, setup, "app_missing", client_secret=APP_SECRET)
    body = admin_client.get(_consent(admin_client, setup, again)["Location"]).content.decode()
    assert "The repair is done." in body
    assert len([a for a in hdp.list_oauth_apps(tenant_id=71) if a.name == "Acme_Rp_app"]) == 1
