"""A completed setup's Reconnect through a handoff link (issue 19): the admin makes the link on the setup
page, the account owner (another test client, never signed in) uses it, and the new sign-in goes into
HDP's same profile by itself, then one check; the admin gets one e-mail and the webhook one event.

The HDP emulator runs in-process; the provider's token endpoint is played by ``responses``; HDP's
data-source test refreshes through tests/helpers/refreshing_provider.py. Self-contained."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import responses
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from portal.audit.models import AuditEntry
from portal.connections import checks
from portal.connections import handoff as connections_handoff
from portal.connections.models import ConnectionCheck, WebhookDelivery
from portal.connections.status import State
from portal.hdp.client import HdpClient
from portal.oauth.models import HandoffLink
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp.emulator import mock_transport
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.completed_setup import completed_setup, sign_in
from tests.helpers.refreshing_provider import id_token, patch_provider
from tests.helpers.sandbox import PASSWORDS

pytestmark = pytest.mark.django_db
NEW_REFRESH = "sentinel-handoff-refresh-5d1a"
LOSE_PUT = {"left": 0}


def losing_transport() -> httpx.BaseTransport:
    """The emulator; an armed profile PUT is committed and its answer lost (a timeout)."""
    inner = mock_transport()

    def handler(request: httpx.Request) -> httpx.Response:
        if LOSE_PUT["left"] and request.method == "PUT" and "/oauthprofiles/" in request.url.path:
            LOSE_PUT["left"] -= 1
            inner.handle_request(request).read()
            raise httpx.ReadTimeout("injected", request=request)
        return inner.handle_request(request)

    return httpx.MockTransport(handler)


@pytest.fixture
def hdp(settings, db):
    settings.HDP_TRANSPORT_FACTORY = "tests.connections.test_handoff.losing_transport"
    settings.HDP_BASE_URL = "http://hdp.test"
    settings.RATELIMIT_OAUTH_START_PER_MINUTE = 50
    settings.HEALTH_WEBHOOK_URL = "https://hooks.example.test/portal"
    LOSE_PUT["left"] = 0
    seed_demo()
    return HdpClient("http://hdp.test", "portal_svc", PASSWORDS["portal_svc"], on_behalf_of="acme_admin",
                     transport=mock_transport())  # fmt: skip


@pytest.fixture
def admin(client, hdp):
    sign_in(client)
    from portal.accounts.models import User

    User.objects.filter(username="acme_admin").update(email="admin@acme.example")
    return client


@pytest.fixture
def setup(admin, hdp):
    return completed_setup(hdp, prefix="Acme_Ho")


def _make_link(admin: Client, run: Run, **form: str) -> str:
    data = {
        "handoff-hours": "72",
        "handoff-email": "",
        "handoff-note": "",
        **{f"handoff-{k}": v for k, v in form.items()},
    }
    page = admin.post(reverse("connections:handoff-create", args=[run.pk, "reconnect"]), data)
    assert page.status_code == 200, page.content[:300]
    assert page["Cache-Control"] == "no-store"
    found = re.search(r'id="handoff-url" type="text" readonly value="([^"]+)"', page.content.decode())
    assert found, page.content.decode()
    return found.group(1)


def _owner_signs_in(url: str, token_json: dict[str, object]) -> str:
    owner = Client()
    path = urlsplit(url).path
    page = owner.get(path)
    assert page.status_code == 200
    form = re.search(r'name="form" value="([^"]+)"', page.content.decode()).group(1)
    start = owner.post(path, {"form": form})
    assert start.status_code == 303
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    with responses.RequestsMock() as token_endpoint:
        token_endpoint.post(settings.PORTAL_BASE_URL + "/sandbox/oauth/token/", json=token_json)
        back = owner.get(reverse("oauth:callback", args=["Acme_Ho_app"]), {"state": state, "code": "c"})
    assert back["Location"] == reverse("oauth:handoff-result")
    return owner.get(back["Location"]).content.decode()


def _tokens(sub: str = "person-1", name: str = "Sandbox Person") -> dict[str, object]:
    return {"access_token": "a", "refresh_token": NEW_REFRESH, "token_type": "Bearer", "expires_in": 3600,
            "scope": "read offline_access", "id_token": id_token(sub, name)}  # fmt: skip


def _held_refresh(hdp: HdpClient, run: Run) -> str:
    profile = hdp.get_oauth_profile(run.remote_id("profile"))
    return profile.refresh_token.get_secret_value() if profile.refresh_token else ""


def test_a_reconnect_link_puts_the_owners_sign_in_into_the_same_profile(
    admin, setup, hdp, monkeypatch, django_capture_on_commit_callbacks, mailoutbox
):
    patch_provider(monkeypatch)
    profile_id = setup.remote_id("profile")
    page = admin.get(reverse("connections:setup", args=[setup.pk])).content.decode()
    assert "Ask the account owner" in page
    url = _make_link(admin, setup, email="owner@acme.example", note="Please reconnect GA")
    assert (
        len(mail.outbox) == 1 and url in mail.outbox[0].body and "Please reconnect GA" in mail.outbox[0].body
    )

    page = admin.get(reverse("connections:setup", args=[setup.pk])).content.decode()
    assert "Waiting for owner@acme.example to sign in" in page and 'hx-trigger="every 5s"' in page
    assert url not in page

    with django_capture_on_commit_callbacks(execute=True):
        body = _owner_signs_in(url, _tokens())
    assert "Done: you can close this page." in body
    assert NEW_REFRESH not in body and "Acme_Ho" not in body

    assert _held_refresh(hdp, setup) == NEW_REFRESH
    assert RemoteObject.objects.get(run=setup, kind="profile").remote_id == profile_id
    assert [p.name for p in hdp.list_oauth_profiles() if p.name.startswith("Acme_Ho")] == ["Acme_Ho_profile"]
    last = ConnectionCheck.objects.filter(run=setup).latest("started_at")
    assert (last.trigger, last.state) == (ConnectionCheck.Trigger.RECONNECT, State.WORKING)
    setup.refresh_from_db()
    assert setup.tokens_enc == ""
    link = HandoffLink.objects.get()
    assert (link.state, link.used_by) == ("used", "Sandbox Person")

    # The admin's poll sees the change and reloads the page; the page says who used it.
    poll = admin.get(
        reverse("connections:handoff-state", args=[setup.pk]) + "?was=waiting", HTTP_HX_REQUEST="true"
    )
    assert poll["HX-Refresh"] == "true" and "Used by Sandbox Person" in poll.content.decode()

    # One webhook event (queued through the health webhook's delivery) and one e-mail task.
    delivery = WebhookDelivery.objects.get()
    assert (
        delivery.event["type"] == "handoff.completed"
        and delivery.event["data"]["account"] == "Sandbox Person"
    )
    assert url.rsplit("/", 2)[-2] not in json.dumps(delivery.event)
    assert connections_handoff.email_admin(str(link.pk), "used") == "sent"
    assert mail.outbox[-1].to == ["admin@acme.example"] and "Used by Sandbox Person" in mail.outbox[-1].body
    token = url.rstrip("/").rsplit("/", 1)[-1]
    assert token not in json.dumps(list(AuditEntry.objects.values("detail")), default=str)


def test_a_reconnect_link_used_by_another_account_changes_nothing_in_hdp(
    admin, setup, hdp, django_capture_on_commit_callbacks
):
    url = _make_link(admin, setup)
    with django_capture_on_commit_callbacks(execute=True):
        body = _owner_signs_in(url, _tokens(sub="person-2", name="Someone Else"))
    assert "different account" in body and "Sandbox Person" not in body
    assert _held_refresh(hdp, setup) == "old-refresh"
    setup.refresh_from_db()
    assert setup.tokens_enc == "" and setup.provider_subject == "person-1"
    assert HandoffLink.objects.get().state == "refused"
    assert WebhookDelivery.objects.get().event["type"] == "handoff.refused"


def test_hdp_timing_out_during_the_put_keeps_the_tokens_for_try_again(
    admin, setup, hdp, monkeypatch, django_capture_on_commit_callbacks
):
    patch_provider(monkeypatch)
    url = _make_link(admin, setup)
    LOSE_PUT["left"] = 1
    with django_capture_on_commit_callbacks(execute=True):
        assert "Done" in _owner_signs_in(url, _tokens())
    setup.refresh_from_db()
    assert setup.tokens_enc  # held (encrypted) until HDP confirms: "Try again" as today
    finish = admin.post(reverse("connections:reconnect-finish", args=[setup.pk]))
    assert "HDP holds the new sign-in in the same OAuth profile." in finish.content.decode()
    assert _held_refresh(hdp, setup) == NEW_REFRESH
    assert [p.name for p in hdp.list_oauth_profiles() if p.name.startswith("Acme_Ho")] == ["Acme_Ho_profile"]


def test_no_link_without_a_recorded_account_and_none_for_another_admin(admin, setup, hdp):
    Run.objects.filter(pk=setup.pk).update(provider_subject="", provider_issuer="")
    answer = admin.post(
        reverse("connections:handoff-create", args=[setup.pk, "reconnect"]), {"handoff-hours": "72"}
    )
    assert answer.status_code == 303 and HandoffLink.objects.count() == 0
    other = sign_in(Client(), "globex_admin")
    response = other.post(
        reverse("connections:handoff-create", args=[setup.pk, "reconnect"]), {"handoff-hours": "72"}
    )
    assert response.status_code == 404 and HandoffLink.objects.count() == 0


def test_a_repair_link_lets_the_owner_sign_in_and_the_repair_goes_on(
    admin, setup, hdp, monkeypatch, django_capture_on_commit_callbacks
):
    from portal.connections.status import Cause

    patch_provider(monkeypatch)
    old_profile = setup.remote_id("profile")
    hdp.delete_oauth_profile(old_profile)
    assert checks.run_check(setup, hdp, trigger=ConnectionCheck.Trigger.MANUAL).cause == Cause.PROFILE_MISSING
    start = admin.post(reverse("connections:repair", args=[setup.pk]), {"cause": "profile_missing"})
    assert start.status_code == 303  # to the provider: the admin does not sign in there themselves
    page = admin.get(reverse("connections:repair-finish", args=[setup.pk])).content.decode()
    assert "Ask the account owner" in page
    data = {"handoff-hours": "24", "handoff-email": "", "handoff-note": ""}
    made = admin.post(reverse("connections:handoff-create", args=[setup.pk, "repair"]), data)
    url = re.search(r'readonly value="([^"]+)"', made.content.decode()).group(1)

    with django_capture_on_commit_callbacks(execute=True):
        assert "Done: you can close this page." in _owner_signs_in(url, _tokens())
    profiles = [p for p in hdp.list_oauth_profiles() if p.name == "Acme_Ho_profile"]
    assert len(profiles) == 1 and profiles[0].id != old_profile
    assert _held_refresh(hdp, Run.objects.get(pk=setup.pk)) == NEW_REFRESH
    assert hdp.get_datasource(setup.remote_id("datasource")).options["OAuthProfileId"] == str(profiles[0].id)
    assert HandoffLink.objects.get().state == "used"
