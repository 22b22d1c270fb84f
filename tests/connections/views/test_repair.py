"""The repair page's defects found by a new user (issue 18 item 6): a repaired application's client
secret is checked by the wizard's own field, and a repair whose sign-in was abandoned resumes from
what it already did. Real views, the HDP emulator in-process."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.connections import checks
from portal.connections.models import ConnectionCheck, Repair
from portal.connections.status import Cause
from portal.oauth.models import OAuthFlow
from portal.sandbox.hdp import faults
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.completed_setup import completed_setup, consent, ids, sign_in, use_emulator
from tests.helpers.refreshing_provider import patch_provider

APP_SECRET = "sentinel-repair-secret-61d0"


@pytest.fixture
def hdp(settings, db):
    client = use_emulator(settings)
    seed_demo()
    faults.clear()
    yield client
    faults.clear()


@pytest.fixture
def setup(client, hdp, monkeypatch):
    patch_provider(monkeypatch)
    sign_in(client)
    return completed_setup(hdp, "Acme_Rq")


def _apps_named(hdp, name: str) -> list[int]:
    return [int(a.id) for a in hdp.list_oauth_apps(tenant_id=71) if a.name == name]


def _app_deleted(setup, hdp) -> None:
    hdp.delete_oauth_app(ids(setup)["app"])  # HDP deletes its profile with it
    assert checks.run_check(setup, hdp, trigger=ConnectionCheck.Trigger.MANUAL).cause == Cause.APP_MISSING


def _repair(client, run, **data):
    return client.post(reverse("connections:repair", args=[run.pk]), {"cause": "app_missing", **data})


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        ("   ", "Enter the client secret from the provider&#x27;s app registration."),
        ("abc\x00def", "The client secret contains a control character"),
        ("x" * 1_000_000, "This is longer than any client secret"),
    ],
    ids=["spaces", "nul", "one-megabyte"],
)
def test_a_repaired_application_s_secret_is_checked_on_the_server_like_the_wizard_s(
    client, setup, hdp, secret, words
):
    _app_deleted(setup, hdp)
    answer = _repair(client, setup, client_secret=secret)
    assert answer.status_code == 303 and answer["Location"] == reverse("connections:repair", args=[setup.pk])
    page = client.get(answer["Location"]).content.decode()
    assert words in page
    assert _apps_named(hdp, "Acme_Rq_app") == []  # nothing registered in HDP
    assert not OAuthFlow.objects.exists()  # no sign-in started either


def test_an_abandoned_sign_in_resumes_the_application_repair_without_a_second_application(client, setup, hdp):
    _app_deleted(setup, hdp)
    first = _repair(client, setup, client_secret=APP_SECRET)
    assert first.status_code == 303 and "/sandbox/oauth/authorize/" in first["Location"]
    [app_id] = _apps_named(hdp, "Acme_Rq_app")
    # The person left the provider's page. Repair again: no secret asked, straight to the provider.
    page = client.get(reverse("connections:repair", args=[setup.pk])).content.decode()
    assert 'name="client_secret"' not in page and "Repair and sign in at the provider" in page
    again = _repair(client, setup)
    assert again.status_code == 303 and "/sandbox/oauth/authorize/" in again["Location"], again["Location"]
    assert _apps_named(hdp, "Acme_Rq_app") == [app_id]  # not marked lost, not registered twice
    done = client.get(consent(client, setup, again["Location"])["Location"]).content.decode()
    assert "The repair is done." in done
    assert _apps_named(hdp, "Acme_Rq_app") == [app_id]
    assert Repair.objects.get(run=setup).finished_at is not None


def test_a_rate_limited_sign_in_resumes_the_application_repair(client, setup, hdp, settings):
    _app_deleted(setup, hdp)
    settings.RATELIMIT_OAUTH_START_PER_MINUTE = 0  # the sign-in cannot start after the app is made
    limited = _repair(client, setup, client_secret=APP_SECRET)
    assert limited["Location"] == reverse("connections:repair", args=[setup.pk])
    assert "many sign-ins" in client.get(limited["Location"]).content.decode()
    [app_id] = _apps_named(hdp, "Acme_Rq_app")
    settings.RATELIMIT_OAUTH_START_PER_MINUTE = 50
    # With the secret entered again (the page no longer asks for it, but a second tab may send it).
    again = _repair(client, setup, client_secret=APP_SECRET)
    assert "/sandbox/oauth/authorize/" in again["Location"], client.get(again["Location"]).content.decode()
    assert _apps_named(hdp, "Acme_Rq_app") == [app_id]
