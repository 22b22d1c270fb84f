from __future__ import annotations

import json
import re

from django.urls import reverse

from portal.accounts.models import User
from portal.onboarding.models import Run
from portal.sandbox.hdp import faults
from tests.helpers.wizard import HTMX, start_run, store_choice


def test_it_offers_only_oauth_stores_then_their_presets(acme, hdp_log):
    html = acme.get(reverse("onboarding:new")).content.decode()
    for store_id in (54, 1, 76):
        assert f'name="datastore" value="{store_id}"' in html
    assert "Website traffic and audience reports." in html  # one plain line per store
    assert "DataSource Group" not in html  # isGroup
    assert "PostgreSQL" not in html  # no OAuth
    assert 'name="tenant"' not in html  # one tenant: no choice to make
    assert 'name="provider"' not in html  # the provider comes second
    assert html.count("Sandbox provider (practice, no real data)") == 0
    ga = acme.post(reverse("onboarding:new"), {"datastore": "54"}).content.decode()
    assert 'value="google_analytics"' in ga and 'value="sandbox"' in ga and 'value="custom"' in ga
    assert ga.count("Sandbox provider (practice, no real data)") == 1
    assert 'id="chosen-store"' in ga and "<strong>Google Analytics</strong>" in ga  # the store stays visible
    assert 'name="datastore" value="54"' in ga and 'type="hidden" name="datastore"' in ga
    salesforce = acme.post(reverse("onboarding:new"), {"datastore": "1"}).content.decode()
    assert 'value="salesforce_sandbox"' in salesforce and 'value="google_analytics"' not in salesforce
    snowflake = acme.post(reverse("onboarding:new"), {"datastore": "76"}).content.decode()
    assert 'value="snowflake"' in snowflake
    assert not Run.objects.exists()  # choosing the store alone starts nothing


def test_the_provider_question_needs_an_answer(acme, hdp_log):
    response = acme.post(reverse("onboarding:new"), {"datastore": "54", "stage": "provider"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Choose who signs you in to Google Analytics." in html
    assert 'id="chosen-store"' in html
    assert not Run.objects.exists()


def test_it_creates_the_run_with_the_store_and_its_options(acme, hdp_log):
    run = start_run(acme, "54:google_analytics")
    assert run.owner.username == "acme_admin"
    assert (run.tenant_id, run.tenant_name) == (71, "Acme")
    assert (run.datastore_id, run.datastore_name, run.preset) == (54, "Google Analytics", "google_analytics")
    ids = {o["id"] for o in run.datastore_option_defs}
    assert {"OAuthProfileId", "DefaultView", "StartDate"} <= ids


def test_posted_tenant_is_ignored_for_a_one_tenant_admin(acme, hdp_log):
    response = acme.post(
        reverse("onboarding:new"), {"datastore": "54", "provider": "sandbox", "tenant": "72"}
    )
    assert response.status_code == 303
    assert Run.objects.get().tenant_id == 71


def test_a_tenant_the_person_does_not_administer_is_refused(acme, hdp_log):
    user = User.objects.get(username="acme_admin")
    user.hdp_tenants_administered = [{"id": 71, "name": "Acme"}, {"id": 73, "name": "AcmeLabs"}]
    user.save()
    html = acme.get(reverse("onboarding:new")).content.decode()
    assert 'name="tenant"' in html and "AcmeLabs" in html
    response = acme.post(
        reverse("onboarding:new"), {"datastore": "54", "provider": "sandbox", "tenant": "72"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Run.objects.exists()


def test_a_non_oauth_or_group_store_cannot_be_forced(acme, hdp_log):
    for choice in ("56:custom", "1004:custom", "54:nonexistent"):
        response = acme.post(reverse("onboarding:new"), store_choice(choice))
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
    assert not Run.objects.exists()


def test_hdp_down_shows_a_banner_on_the_same_step(acme, hdp_log):
    faults.arm("GET", r"^/api/mgmt/datastores$", "status", status=503, times=5)
    response = acme.get(reverse("onboarding:new"))
    html = response.content.decode()
    assert response.status_code == 503
    assert 'id="banner"' in html
    assert 'id="step-heading"' in html  # still the step page, not an error page


def test_htmx_gets_the_partial_and_the_next_step_in_place(acme, hdp_log):
    response = acme.get(reverse("onboarding:new"), **HTMX)
    html = response.content.decode()
    assert "<html" not in html and 'id="step-heading"' in html
    assert "HX-Request" in response["Vary"]
    response = acme.post(reverse("onboarding:new"), {"datastore": "54", "provider": "sandbox"}, **HTMX)
    run = Run.objects.get()
    assert response.status_code == 200
    assert response["HX-Push-Url"] == reverse("onboarding:step-app", args=[run.pk])
    assert "Register a new application" in response.content.decode()
    assert "<html" not in response.content.decode()


def test_invalid_htmx_post_is_200_so_htmx_swaps_it(acme, hdp_log):
    response = acme.post(reverse("onboarding:new"), {"datastore": ""}, **HTMX)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()


def test_done_step_shows_the_choice_not_a_form(acme, hdp_log):
    run = start_run(acme)
    html = acme.get(reverse("onboarding:step-store", args=[run.pk])).content.decode()
    assert "Google Analytics" in html
    assert 'name="datastore"' not in html and 'name="provider"' not in html


def test_submitting_the_same_page_twice_makes_one_setup(acme, hdp_log):
    html = acme.get(reverse("onboarding:new")).content.decode()
    setup_id = re.search(r'name="setup_id" value="([0-9a-f-]+)"', html).group(1)
    first = acme.post(
        reverse("onboarding:new"), {"datastore": "54", "provider": "sandbox", "setup_id": setup_id}
    )
    hdp_log.clear()
    second = acme.post(
        reverse("onboarding:new"), {"datastore": "54", "provider": "sandbox", "setup_id": setup_id}
    )
    assert first.status_code == second.status_code == 303
    assert second["Location"] == first["Location"]
    assert Run.objects.count() == 1 and str(Run.objects.get().pk) == setup_id
    assert hdp_log == []


def test_another_persons_setup_id_is_404(acme, globex, hdp_log):
    run = start_run(acme)
    hdp_log.clear()
    response = globex.post(
        reverse("onboarding:new"), {"datastore": "54", "provider": "sandbox", "setup_id": str(run.pk)}
    )
    assert response.status_code == 404
    assert Run.objects.count() == 1
    assert hdp_log == []


# --- HDP reads: one for the whole of step a (portal/onboarding/catalogue.py) ----------------------
def _reads(hdp_log):
    """The data-store reads (a session's periodic re-check of its person may come in between)."""
    return [f"{r.method} {r.url.path}" for r in hdp_log if "/datastores" in r.url.path]


def test_step_a_reads_hdp_once_for_its_page_and_both_posts(acme, hdp_log):
    hdp_log.clear()
    acme.get(reverse("onboarding:new"))
    acme.post(reverse("onboarding:new"), {"datastore": "54"})
    run = start_run(acme, "54:sandbox")
    assert _reads(hdp_log) == ["GET /api/mgmt/datastores"]
    assert {"OAuthProfileId", "DefaultView"} <= {o["id"] for o in run.datastore_option_defs}


def test_a_list_without_option_definitions_reads_the_chosen_store_once(acme, hdp_log, monkeypatch):
    """docs/hdp-api.md §5 does not confirm that HDP's list carries the definitions: without them the
    chosen store is read on its own, once for both posts."""
    from portal.sandbox.hdp.api import mgmt, router
    from portal.sandbox.hdp.errors import json_response

    def bare_list(ctx, raw):
        listed = json.loads(mgmt.list_stores(ctx, raw).content)["dataStores"]
        return json_response(
            200, {"dataStores": [{k: v for k, v in s.items() if k != "connectionType"} for s in listed]}
        )

    methods = next(m for pattern, m in router._ROUTE_TABLE if pattern == r"/api/mgmt/datastores")
    monkeypatch.setitem(methods, "GET", bare_list)
    hdp_log.clear()
    acme.post(reverse("onboarding:new"), {"datastore": "54"})
    run = start_run(acme, "54:sandbox")
    assert _reads(hdp_log) == ["GET /api/mgmt/datastores", "GET /api/mgmt/datastores/54"]
    assert "OAuthProfileId" in {o["id"] for o in run.datastore_option_defs}


def test_the_catalogue_is_kept_per_person_and_for_the_configured_time(acme, globex, hdp_log, settings):
    from freezegun import freeze_time

    settings.HDP_STORE_CACHE_SECONDS = 300
    with freeze_time() as clock:
        acme.get(reverse("onboarding:new"))
        globex.get(reverse("onboarding:new"))  # another person: HDP's `authorized` is theirs
        clock.tick(299)
        acme.get(reverse("onboarding:new"))
        assert _reads(hdp_log) == ["GET /api/mgmt/datastores"] * 2
        clock.tick(2)
        acme.get(reverse("onboarding:new"))
        assert _reads(hdp_log) == ["GET /api/mgmt/datastores"] * 3


def test_nothing_is_kept_while_hdp_cannot_list(acme, hdp_log):
    faults.arm("GET", r"^/api/mgmt/datastores$", "status", status=503, times=5)
    assert acme.get(reverse("onboarding:new")).status_code == 503
    faults.clear()
    hdp_log.clear()
    html = acme.get(reverse("onboarding:new")).content.decode()
    assert 'name="datastore" value="54"' in html and _reads(hdp_log) == ["GET /api/mgmt/datastores"]
