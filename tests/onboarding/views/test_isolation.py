"""Tenant isolation: another tenant's admin gets 404 on every URL of a run, and HDP hears nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.accounts.models import User
from portal.onboarding.models import Run
from tests.helpers.sandbox import PASSWORDS
from tests.helpers.wizard import HTMX, run_at_datasource

RUN_URLS = [
    ("onboarding:resume", {}),
    ("onboarding:step-store", {}),
    ("onboarding:step-app", {}),
    ("onboarding:step-authorize", {}),
    ("onboarding:authorize-start", {}),
    ("onboarding:step-profile", {}),
    ("onboarding:step-datasource", {}),
    ("onboarding:step-verify", {}),
    ("onboarding:cancel", {}),
    ("onboarding:validate", {"field": "app_name"}),
]


@pytest.mark.parametrize(("name", "extra"), RUN_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("htmx", [False, True])
def test_another_tenants_admin_gets_404_and_hdp_is_not_called(
    acme, globex, hdp_log, name, extra, method, htmx
):
    run = run_at_datasource(acme)
    hdp_log.clear()
    url = reverse(name, kwargs={"run_id": run.pk, **extra})
    data = {"action": "create", "name": "Evil_name", "client_secret": "x"} if method == "post" else None
    response = getattr(globex, method)(url, data, **(HTMX if htmx else {}))
    assert response.status_code in (404, 405), (name, method, response.status_code)
    if response.status_code == 405:  # wrong method for this URL: refused before the lookup
        assert (name, method) in {
            ("onboarding:authorize-start", "get"),
            ("onboarding:validate", "get"),
            ("onboarding:resume", "post"),
            ("onboarding:step-store", "post"),
            ("onboarding:step-authorize", "post"),
        }
    assert hdp_log == []
    run.refresh_from_db()
    assert run.status == Run.Status.ACTIVE


def test_a_run_in_a_tenant_the_owner_no_longer_administers_is_404(acme, hdp_log):
    run = run_at_datasource(acme)
    User.objects.filter(username="acme_admin").update(hdp_tenants_administered=[{"id": 72, "name": "Globex"}])
    hdp_log.clear()
    assert acme.get(reverse("onboarding:step-verify", args=[run.pk])).status_code == 404
    assert acme.post(reverse("onboarding:step-verify", args=[run.pk])).status_code == 404
    assert hdp_log == []


@pytest.mark.parametrize("name", ["onboarding:authorize-start", "onboarding:validate"])
def test_get_on_mutating_urls_is_405(acme, hdp_log, name):
    run = run_at_datasource(acme)
    kwargs = {"run_id": run.pk, **({"field": "ds_name"} if name == "onboarding:validate" else {})}
    assert acme.get(reverse(name, kwargs=kwargs)).status_code == 405


def test_mutating_posts_need_the_csrf_token(hdp_log):
    from django.test import Client

    from tests.helpers.wizard import sign_in

    strict = Client(enforce_csrf_checks=True)
    # Signing in needs the token too; fetch it the way a browser would.
    strict.get(reverse("accounts:login"))
    token = strict.cookies["csrftoken"].value
    strict.post(reverse("accounts:login"), {"username": "acme_admin", "password": PASSWORDS["acme_admin"],
                                             "csrfmiddlewaretoken": token})  # fmt: skip
    hdp_log.clear()
    response = strict.post(reverse("onboarding:new"), {"datastore": "54", "provider": "sandbox"})
    assert response.status_code == 403
    assert hdp_log == []
    assert not Run.objects.exists()
    assert sign_in  # imported helper kept for symmetry
