"""The tenant list and one tenant's chain, read from the emulator through the real views."""

from __future__ import annotations

import html as html_lib

import pytest
from django.urls import reverse

from portal.audit.models import AuditEntry
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp import faults
from portal.sandbox.hdp.models import DataSource as EmuDataSource
from tests.helpers.support import (
    SENTINELS,
    as_user,
    make_app,
    make_datasource,
    make_profile,
    make_run,
)

TENANT_URL = reverse("support:tenant", args=[71])


def _page(client, url=TENANT_URL, status=200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.content[:3000]
    return html_lib.unescape(response.content.decode())


@pytest.fixture
def acme_chain(hdp_log):
    """Acme: one app, a busy profile (2 data sources), an idle profile, an app with no profile."""
    app = make_app("Acme_GA_app")
    busy = make_profile(app.id, "Acme_busy")
    idle = make_profile(app.id, "Acme_idle")
    ds1 = make_datasource("AcmeGA1", busy.id)
    ds2 = make_datasource("AcmeGA2", busy.id)
    lonely = make_app("Acme_lonely_app")
    return {"app": app, "busy": busy, "idle": idle, "ds1": ds1, "ds2": ds2, "lonely": lonely}


def test_tenant_list_shows_hdp_tenants_with_portal_run_counts(staff, hdp_log):
    make_run(status=Run.Status.ACTIVE)
    make_run(status=Run.Status.COMPLETED)
    make_run("globex_admin", tenant_id=72, status=Run.Status.CANCELLED)
    response = staff.get(reverse("support:tenants"))
    assert response.status_code == 200
    rows = {r.id: r for r in response.context["rows"]}
    assert set(rows) == {1, 71, 72}
    assert (rows[71].name, rows[71].runs, rows[71].active, rows[71].completed) == ("Acme", 2, 1, 1)
    assert (rows[72].runs, rows[72].active) == (1, 0)
    assert rows[1].runs == 0
    html = response.content.decode()
    assert f'href="{TENANT_URL}"' in html
    assert [r.url.path for r in hdp_log] == ["/api/admin/tenants"]  # no object was made before this GET
    assert (
        "Authorization" in hdp_log[0].headers and "user" not in hdp_log[0].url.params
    )  # service account, as itself


def test_each_page_view_writes_an_audit_entry_with_the_reason(staff, hdp_log, acme_chain):
    before = AuditEntry.objects.count()
    staff.get(reverse("support:tenants"))
    staff.get(TENANT_URL)
    staff.get(TENANT_URL)
    entries = list(AuditEntry.objects.order_by("id"))[before:]
    assert [e.action for e in entries] == [
        "support.view_tenants",
        "support.view_tenant",
        "support.view_tenant",
    ]
    for entry in entries:
        assert entry.actor == "support"
        assert entry.detail["reason"] == "SUP-1234 GA source stopped working"
        assert entry.detail["hdp_ok"] is True
    assert entries[1].tenant_id == 71 and entries[1].detail["path"] == TENANT_URL
    assert entries[1].detail["findings"] == ["app_without_profile", "profile_without_datasource"]


def test_the_chain_page_shows_blast_radius_per_profile_and_app(staff, hdp_log, acme_chain):
    response = staff.get(TENANT_URL)
    assert response.status_code == 200
    chain = response.context["chain"]
    app = next(a for a in chain.apps if a.name == "Acme_GA_app")
    assert {p.name: p.blast_radius for p in app.profiles} == {"Acme_busy": 2, "Acme_idle": 0}
    assert app.blast_radius == 2
    html = html_lib.unescape(response.content.decode())
    assert "Blast radius: 2 data sources depend on this application." in html
    assert "Blast radius: 2 data sources depend on this profile." in html
    assert "Blast radius: 0 data sources depend on this profile." in html
    assert "AcmeGA1" in html and "AcmeGA2" in html


def test_the_chain_is_read_with_the_service_account_and_owner_views_only(staff, hdp_log, acme_chain):
    hdp_log.clear()
    staff.get(TENANT_URL)
    acting_for = {r.url.params.get("user") for r in hdp_log}
    assert acting_for <= {None, "acme_admin", "acme_user"}  # never as the support person
    assert all(r.method == "GET" for r in hdp_log)
    on_behalf = {(r.url.path, r.url.params.get("user")) for r in hdp_log if r.url.params.get("user")}
    assert on_behalf == {
        (f"/api/mgmt/datasources/{acme_chain['ds1'].id}", "acme_admin"),
        (f"/api/mgmt/datasources/{acme_chain['ds2'].id}", "acme_admin"),
        # each tenant user's own profiles (docs/hdp-api.md §3), never the all-tenant list:
        ("/api/mgmt/oauthprofiles", "acme_admin"),
        ("/api/mgmt/oauthprofiles", "acme_user"),
    }
    assert not [
        r for r in hdp_log if r.url.path == "/api/mgmt/oauthprofiles" and not r.url.params.get("user")
    ]


def test_problems_are_flagged_in_plain_words(staff, hdp_log, acme_chain):
    html = _page(staff)
    assert "OAuth application Acme_lonely_app has no OAuth profile, so no data source can use it." in html
    assert "OAuth profile Acme_idle is not used by any data source." in html
    assert "Nothing broken found" not in html


def test_a_data_source_pointing_at_a_missing_profile(staff, hdp_log, acme_chain):
    # HDP strips the option when it deletes a profile; an older HDP or a direct edit can leave it dangling.
    EmuDataSource.objects.filter(pk=acme_chain["ds2"].id).update(options={"OAuthProfileId": "987654"})
    html = _page(staff)
    assert (
        "Data source AcmeGA2 (owner acme_admin) uses OAuth profile 987654, which HDP does not have." in html
    )
    assert "Ask the tenant admin acme_admin to open their setup (or My setups) and reconnect." in html
    assert "http://portal.test" + reverse("onboarding:runs") in html
    assert "Blast radius: 1 data source depends on this profile." in html


def test_drift_objects_a_run_created_that_hdp_no_longer_has(staff, hdp_log, acme_chain):
    run = make_run(status=Run.Status.COMPLETED, objects=[("app", "Deleted_app", 424242, "created")])
    html = _page(staff)
    assert (
        "The setup by acme_admin created OAuth application Deleted_app (id 424242), but HDP no longer has it."
        in html
    )
    assert "http://portal.test" + reverse("onboarding:resume", args=[run.pk]) in html


def test_drift_an_id_that_changed(staff, hdp_log, acme_chain):
    make_run(status=Run.Status.COMPLETED, objects=[("profile", "Acme_busy", 31337, "created")])
    html = _page(staff)
    assert (
        f"recorded OAuth profile Acme_busy with id 31337; HDP now has OAuth profile Acme_busy under id "
        f"{acme_chain['busy'].id}" in html
    )


def test_drift_a_data_source_relinked_after_its_profile_was_deleted(staff, hdp_log, acme_chain):
    extra = make_profile(acme_chain["app"].id, "Acme_extra")
    ds = make_datasource("AcmeGA3", extra.id)
    make_run(status=Run.Status.COMPLETED, objects=[
        ("app", "Acme_GA_app", acme_chain["app"].id, "created"),
        ("profile", "Acme_extra", extra.id, "created"),
        ("datasource", "AcmeGA3", ds.id, "created"),
    ])  # fmt: skip
    with as_user("acme_admin") as hdp_client:
        hdp_client.delete_oauth_profile(extra.id)  # HDP drops OAuthProfileId from AcmeGA3
    html = _page(staff)
    assert "The setup by acme_admin created OAuth profile Acme_extra" in html and "no longer has it" in html
    assert f"Data source AcmeGA3 was linked by the setup of acme_admin to OAuth profile {extra.id}" in html
    assert "it now has no OAuth profile" in html


def test_a_stuck_run_says_resume_from_my_setups_with_the_owner(staff, hdp_log, acme_chain):
    run = make_run("acme_user", objects=[
        ("app", "Acme_GA_app", acme_chain["app"].id, "reused"),
        ("profile", "Acme_half", None, "unknown"),
    ])  # fmt: skip
    html = _page(staff)
    assert "The Google Analytics setup by acme_user is stuck" in html
    assert "resume it from My setups (owner acme_user)" in html
    assert "http://portal.test" + reverse("onboarding:resume", args=[run.pk]) in html


def test_a_healthy_tenant_says_nothing_is_broken(staff, hdp_log):
    app = make_app("Acme_ok_app")
    profile = make_profile(app.id, "Acme_ok_profile")
    ds = make_datasource("AcmeOK", profile.id)
    make_run(status=Run.Status.COMPLETED, objects=[
        ("app", "Acme_ok_app", app.id, "created"), ("profile", "Acme_ok_profile", profile.id, "created"),
        ("datasource", "AcmeOK", ds.id, "created"),
    ])  # fmt: skip
    response = staff.get(TENANT_URL)
    assert response.context["findings"] == []
    assert "Nothing broken found" in response.content.decode()


def test_no_secret_reaches_any_support_page_though_hdp_returns_them(staff, hdp_log, acme_chain, monkeypatch):
    from portal.sandbox.hdp import refresh

    monkeypatch.setattr(refresh, "refresh_with_provider", lambda *a, **k: {"access_token": "fresh"})
    pg = make_datasource("AcmePg", datastore=1004, options={
        "ServerName": "db.acme.test", "Database": "sales", "User": "reader", "Password": SENTINELS[3],
    })  # fmt: skip
    # The premise: HDP's GETs do return the secrets.
    with as_user("acme_admin") as hdp_client:
        assert hdp_client.get_oauth_app(acme_chain["app"].id).client_secret.get_secret_value() == SENTINELS[0]
        profile = hdp_client.get_oauth_profile(acme_chain["busy"].id)
        assert profile.access_token.get_secret_value() == SENTINELS[1]
        assert profile.refresh_token.get_secret_value() == SENTINELS[2]
        assert hdp_client.get_datasource(pg.id).options["Password"] == SENTINELS[3]
    pages = [
        staff.get(reverse("support:tenants")),
        staff.get(TENANT_URL),
        staff.post(reverse("support:test-datasource", args=[71, acme_chain["ds1"].id])),
        staff.post(reverse("support:test-datasource", args=[71, pg.id])),
        staff.get(reverse("support:reason")),
    ]
    assert [p.status_code for p in pages] == [200, 200, 200, 200, 200]
    assert any(r.url.path.startswith("/api/mgmt/oauthprofiles/") for r in hdp_log)  # the tokens did come back
    for page in pages:
        body = page.content.decode()
        for sentinel in SENTINELS:
            assert sentinel not in body
    for entry in AuditEntry.objects.all():
        for sentinel in SENTINELS:
            assert sentinel not in str(entry.detail)


def test_hdp_down_shows_a_banner_and_what_the_portal_knows(staff, hdp_log):
    make_run("acme_user", objects=[("profile", "Acme_half", None, "pending")])
    faults.arm("*", r"^/api/", "status", status=503, times=100)
    tenants = staff.get(reverse("support:tenants"))
    assert tenants.status_code == 503
    html = html_lib.unescape(tenants.content.decode())
    assert 'id="banner"' in html and "HDP had an internal problem" in html
    assert [r.id for r in tenants.context["rows"]] == [71]  # known from the portal's run
    page = staff.get(TENANT_URL)
    assert page.status_code == 503
    html = html_lib.unescape(page.content.decode())
    assert "HDP had an internal problem" in html
    assert "The Google Analytics setup by acme_user is stuck" in html
    assert "Acme_half" in html
    assert [f.code for f in page.context["findings"]] == ["run_stuck"]  # no false "missing" findings
    assert AuditEntry.objects.filter(action="support.view_tenant", detail__hdp_ok=False).count() == 1


def test_a_read_failing_part_way_holds_back_absence_findings(staff, hdp_log, acme_chain):
    faults.arm("GET", r"^/api/admin/users$", "status", status=503, times=2)
    page = staff.get(TENANT_URL)
    assert page.status_code == 503
    assert page.context["chain"].hdp_complete is False
    assert page.context["findings"] == []
    assert "Acme_GA_app" in page.content.decode()  # what was read is still shown


def test_an_unknown_tenant_is_a_404_and_the_lookup_is_audited(staff, hdp_log):
    assert staff.get(reverse("support:tenant", args=[999])).status_code == 404
    entry = AuditEntry.objects.get(action="support.view_tenant")
    assert entry.tenant_id == 999 and entry.detail["outcome"] == "not_found"


def test_a_tenant_hdp_no_longer_has_still_shows_the_portal_records(staff, hdp_log):
    make_run(tenant_id=555, objects=[("app", "Old_app", 5, "created")])
    html = _page(staff, reverse("support:tenant", args=[555]))
    assert "HDP has no tenant with this id any more" in html
    assert "Old_app" in html


def test_remote_objects_created_by_the_wizard_look_like_the_test_rows(hdp_log):
    """Guard: the outcomes the chain compares with are the model's values."""
    assert {"created", "reused", "pending", "unknown"} <= set(RemoteObject.Outcome.values)
