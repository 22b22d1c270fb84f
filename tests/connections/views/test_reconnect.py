"""Reconnect is offered, and accepted, only while the last check's cause leaves a profile to
reconnect into (issue 18 item 6): after the profile or the application is deleted in HDP the setup
page offers Repair alone, and a Reconnect POST is refused in a plain sentence, with no flow started."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.connections import checks
from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause
from portal.oauth.models import OAuthFlow
from portal.sandbox.hdp import faults
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.completed_setup import completed_setup, consent, ids, sign_in, use_emulator
from tests.helpers.refreshing_provider import patch_provider

REFUSED = "nothing to reconnect. Repair the setup instead"


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
    return completed_setup(hdp, "Acme_Rc")


def _check(run, hdp) -> Cause:
    return Cause(checks.run_check(run, hdp, trigger=ConnectionCheck.Trigger.MANUAL).cause)


@pytest.mark.parametrize("deleted", ["profile", "app"])
def test_after_the_profile_is_deleted_the_setup_page_offers_repair_and_not_reconnect(
    client, setup, hdp, deleted
):
    reconnect_url = reverse("connections:reconnect", args=[setup.pk])
    page = client.get(reverse("connections:setup", args=[setup.pk])).content.decode()
    assert f'action="{reconnect_url}"' in page  # a working setup can be reconnected
    if deleted == "profile":
        hdp.delete_oauth_profile(ids(setup)["profile"])
    else:
        hdp.delete_oauth_app(ids(setup)["app"])
    assert _check(setup, hdp) in (Cause.PROFILE_MISSING, Cause.APP_MISSING)

    page = client.get(reverse("connections:setup", args=[setup.pk])).content.decode()
    assert f'action="{reconnect_url}"' not in page and 'id="reconnect"' not in page
    assert reverse("connections:repair", args=[setup.pk]) in page

    # A Reconnect POST (an old tab, a hand-made request) is refused before any flow starts.
    answer = client.post(reconnect_url)
    assert answer.status_code == 303 and answer["Location"] == reverse(
        "connections:reconnect-finish", args=[setup.pk]
    )
    finish = client.get(answer["Location"]).content.decode()
    assert REFUSED in finish
    assert f'action="{reconnect_url}"' not in finish  # no button that loops back to this refusal
    assert f"{reverse('connections:setup', args=[setup.pk])}#repair" in finish
    assert not OAuthFlow.objects.exists()


def test_a_profile_deleted_after_the_last_check_ends_the_reconnect_at_the_repair(client, setup, hdp):
    """The last check said Working, so Reconnect was offered; HDP lost the profile meanwhile."""
    start = client.post(reverse("connections:reconnect", args=[setup.pk]))
    hdp.delete_oauth_profile(ids(setup)["profile"])
    done = client.get(consent(client, setup, start["Location"])["Location"]).content.decode()
    assert "HDP no longer has this setup&#x27;s OAuth profile" in done
    assert "press Reconnect" not in done and REFUSED in done
    assert ConnectionCheck.objects.filter(run=setup).latest("started_at").cause == Cause.PROFILE_MISSING
    page = client.get(reverse("connections:setup", args=[setup.pk])).content.decode()
    assert 'id="reconnect"' not in page and "The OAuth profile was deleted in HDP" in page
