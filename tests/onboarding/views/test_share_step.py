"""The wizard's optional last page "Who can use it" (issue 20): reached from "Setup complete" only once
the check passed, "Only me" by default, shares as the owner, works as a plain form and under htmx."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.onboarding.models import Run
from portal.sandbox.hdp import faults
from portal.sandbox.hdp.models import HdpUser
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.completed_setup import completed_setup, ids, sign_in, use_emulator


@pytest.fixture
def hdp(settings, db):
    client = use_emulator(settings)
    seed_demo()
    faults.clear()
    yield client
    faults.clear()


@pytest.fixture
def setup(client, hdp):
    sign_in(client)
    return completed_setup(hdp, "Acme_Step")


def test_setup_complete_offers_the_optional_step(client, setup):
    Run.objects.filter(pk=setup.pk).update(verify_ok=True)
    html = client.get(reverse("onboarding:step-verify", args=[setup.pk])).content.decode()
    assert reverse("onboarding:step-share", args=[setup.pk]) in html
    assert "Choose who can use it" in html


def test_the_step_shares_with_a_person_and_only_me_is_the_default(client, setup, hdp):
    url = reverse("onboarding:step-share", args=[setup.pk])
    html = client.get(url).content.decode()
    assert "<title>Who can use it" in html and 'id="step-heading"' in html
    assert 'value="only_me" id="scope-only-me" checked' in html
    assert "reads Autonomous REST Connector as Sandbox Person" in html
    user_id = HdpUser.objects.get(user_name="acme_user").pk
    response = client.post(url, {"scope": "users", "user": [str(user_id)], f"access_{user_id}": "query"})
    assert response.status_code == 200
    assert "Saved. HDP now has exactly these shares." in response.content.decode()
    shared = hdp.list_shared_users(ids(setup)["datasource"])
    assert [(u.user_id, sorted(u.permissions)) for u in shared] == [(user_id, [5, 6, 7])]

    # Under htmx: the step body only, with the section to swap.
    response = client.post(url, {"scope": "only_me"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and 'id="sharing"' in body and "<html" not in body
    assert hdp.list_shared_users(ids(setup)["datasource"]) == []


def test_the_step_waits_for_a_completed_setup(client, setup, hdp):
    Run.objects.filter(pk=setup.pk).update(status=Run.Status.ACTIVE)
    url = reverse("onboarding:step-share", args=[setup.pk])
    assert client.get(url).status_code == 302
    user_id = HdpUser.objects.get(user_name="acme_user").pk
    response = client.post(url, {"scope": "users", "user": [str(user_id)], f"access_{user_id}": "query"})
    assert response.status_code == 303
    assert hdp.list_shared_users(ids(setup)["datasource"]) == []


def test_another_person_s_setup_is_not_found(client, setup):
    client.logout()
    sign_in(client, "globex_admin")
    assert client.get(reverse("onboarding:step-share", args=[setup.pk])).status_code == 404
