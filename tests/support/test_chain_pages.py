"""The chain of a large tenant (issue 10): one page of data sources read in detail, calls bounded by
the page size and the tenant's users, never moved by another tenant's objects, and no absence
finding made from a partial page."""

from __future__ import annotations

import html as html_lib

import pytest
from django.urls import reverse

from portal.onboarding.models import Run
from portal.sandbox.hdp.models import DataSource, HdpUser, OAuthApp, OAuthProfile
from tests.helpers.support import make_run

TENANT_URL = reverse("support:tenant", args=[71])
PAGE = 50
TENANT_USERS = 2  # acme_admin, acme_user


def grow(tenant_id: int, count: int, prefix: str = "Grow") -> list[DataSource]:
    """``count`` profile + data source pairs owned by the tenant's admin (bulk, as scripts/bench_django.py)."""
    owner = HdpUser.objects.get(tenant_id=tenant_id, user_name__endswith="_admin")
    app = OAuthApp.objects.create(
        name=f"{prefix}_app_{tenant_id}", tenant_id=tenant_id, data_store=54, client_id="grow",
        client_secret="grow-secret", authorize_uri="https://provider.example/authorize",
        token_uri="https://provider.example/token",
    )  # fmt: skip
    profiles = OAuthProfile.objects.bulk_create(
        [
            OAuthProfile(name=f"{prefix}_{tenant_id}_{i:03d}", app=app, owner=owner, refresh_token="rt")
            for i in range(count)
        ]  # fmt: skip
    )
    return DataSource.objects.bulk_create(
        [
            DataSource(
                name=f"{prefix}_{i:03d}",
                owner=owner,
                data_store=54,
                connection_type="GA",
                options={"OAuthProfileId": str(p.pk)},
            )
            for i, p in enumerate(profiles)
        ]  # fmt: skip
    )


@pytest.fixture
def paged(settings, hdp_log):
    settings.SUPPORT_CHAIN_PAGE_SIZE = PAGE
    return grow(71, 120)


def _get(staff, hdp_log, query: str = ""):
    hdp_log.clear()
    response = staff.get(TENANT_URL + query)
    assert response.status_code == 200, response.content[:2000]
    return response, html_lib.unescape(response.content.decode())


def test_calls_at_120_objects_are_bounded_by_the_page_size_and_the_users(staff, hdp_log, paged):
    _response, _html = _get(staff, hdp_log)
    # tenants, apps, users; two lists per tenant user; a page of data sources and of their profiles.
    assert len(hdp_log) <= 3 + 2 * TENANT_USERS + 2 * PAGE
    details = [r for r in hdp_log if r.url.path.startswith("/api/mgmt/datasources/")]
    assert len(details) == PAGE


def test_another_tenant_growing_does_not_change_the_calls(staff, hdp_log, paged):
    _get(staff, hdp_log)
    before = sorted(str(r.url) for r in hdp_log)
    globex = grow(72, 100, prefix="Globex")
    _get(staff, hdp_log)
    assert sorted(str(r.url) for r in hdp_log) == before
    read = {r.url.path for r in hdp_log}
    assert not any(f"/api/mgmt/datasources/{d.pk}" in read for d in globex)
    globex_profiles = OAuthProfile.objects.filter(app__tenant_id=72).values_list("pk", flat=True)
    assert not any(f"/api/mgmt/oauthprofiles/{pk}" in read for pk in globex_profiles)


def test_page_two_shows_its_data_sources_and_their_findings(staff, hdp_log, paged):
    DataSource.objects.filter(name="Grow_060").update(options={"OAuthProfileId": "987654"})
    response, html = _get(staff, hdp_log, "?page=2")
    shown = [n.fact.name for n in response.context["chain"].datasource_nodes()]
    assert sorted(shown) == [f"Grow_{i:03d}" for i in range(50, 100)]
    assert "Data sources 51–100 of 120" in html
    assert f'href="{TENANT_URL}?page=1" rel="prev">Previous</a>' in html
    assert f'href="{TENANT_URL}?page=3" rel="next">Next</a>' in html
    assert (
        "Data source Grow_060 (owner acme_admin) uses OAuth profile 987654, which HDP does not have." in html
    )
    _response, first = _get(staff, hdp_log, "?page=1")
    assert "Grow_060" not in first and "987654" not in first
    assert "Data sources 1–50 of 120" in first and 'rel="prev"' not in first


def test_a_partial_page_says_what_was_not_examined_and_claims_no_unused_profile(staff, hdp_log, paged):
    app = OAuthApp.objects.get(name="Grow_app_71")
    OAuthProfile.objects.create(name="Grow_idle", app=app, owner=HdpUser.objects.get(user_name="acme_admin"),
                                refresh_token="rt")  # fmt: skip
    OAuthApp.objects.create(name="Grow_lonely_app", tenant_id=71, data_store=54, client_id="x",
                            client_secret="s", authorize_uri="https://other.example/a",
                            token_uri="https://other.example/t")  # fmt: skip
    # A data source a setup recorded, on page 3: it exists, so it is not "no longer" in HDP.
    on_page_3 = DataSource.objects.get(name="Grow_110")
    make_run(status=Run.Status.COMPLETED, objects=[("datasource", "Grow_110", on_page_3.pk, "created")])
    response, html = _get(staff, hdp_log)
    assert (
        "70 data sources on other pages were not examined here: their findings show on their own pages."
        in html
    )
    codes = {f.code for f in response.context["findings"]}
    assert "profile_without_datasource" not in codes and "drift_missing" not in codes
    assert "Nothing broken found: every application" not in html
    # An application no listed profile can belong to is still reported: the lists are complete.
    assert "OAuth application Grow_lonely_app has no OAuth profile" in html
    assert "OAuth application Grow_app_71 has no OAuth profile" not in html


def test_a_tenant_on_one_page_still_reports_unused_profiles(staff, hdp_log, settings):
    settings.SUPPORT_CHAIN_PAGE_SIZE = PAGE
    grow(71, 10)
    app = OAuthApp.objects.get(name="Grow_app_71")
    OAuthProfile.objects.create(name="Grow_idle", app=app, owner=HdpUser.objects.get(user_name="acme_admin"),
                                refresh_token="rt")  # fmt: skip
    response, html = _get(staff, hdp_log)
    assert "OAuth profile Grow_idle is not used by any data source." in html
    assert response.context["pager"] is None and "not examined" not in html


def test_a_page_past_the_last_shows_the_last_and_junk_shows_the_first(staff, hdp_log, paged):
    _response, html = _get(staff, hdp_log, "?page=99")
    assert "Data sources 101–120 of 120" in html and 'rel="next"' not in html
    _response, html = _get(staff, hdp_log, "?page=abc")
    assert "Data sources 1–50 of 120" in html
