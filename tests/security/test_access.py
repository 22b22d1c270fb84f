"""SECURITY.md items 13, 19, 20, 21, 23 through the real views (issue 4, part 4).

* System-tenant OAuth applications are read-only to tenant admins: HDP (the emulator) answers 403
  to their PUT/DELETE, and the portal never sends one (reuse, update, cancel).
* Signing in again through the real login view cycles the session key and drops this browser's
  pending flows; logging out ends them too: the old callback is refused with 0 token calls.
* Rate limits at the configured numbers: the 11th flow start and the 11th connection test in a
  minute get 429 with a message; another person is not affected.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import responses
from django.conf import settings as django_settings
from django.urls import reverse

from portal.accounts.models import User
from portal.hdp.client import HdpClient
from portal.onboarding import engine
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp.emulator import mock_transport
from portal.sandbox.hdp.models import OAuthApp
from tests.helpers.sandbox import PASSWORDS
from tests.helpers.wizard import create_app, make_hdp_app, run_at_verify, sign_in, start_run


# --- item 21 ----------------------------------------------------------------------------------------
def _as(user: str) -> httpx.Client:
    return httpx.Client(transport=mock_transport(), base_url="http://hdp.test", auth=(user, PASSWORDS[user]))


def test_emulator_refuses_tenant_admin_writes_to_a_system_app(hdp_log):
    app = make_hdp_app("d2cadmin", name="System_GA_app", tenant_id=1)
    body = {"name": "Hijacked", "dataStore": 54, "clientId": "x", "clientSecret": "y",
            "authorizeURI": "https://evil.example/a", "tokenURI": "https://evil.example/t"}  # fmt: skip
    with _as("acme_admin") as acme_hdp:
        assert acme_hdp.get(f"/api/mgmt/oauthapps/{app.id}").status_code == 200  # usable...
        assert acme_hdp.put(f"/api/mgmt/oauthapps/{app.id}", json=body).status_code == 403  # ...not writable
        assert acme_hdp.delete(f"/api/mgmt/oauthapps/{app.id}").status_code == 403
    stored = OAuthApp.objects.get(pk=app.id)
    assert (stored.name, stored.token_uri) == ("System_GA_app", "http://127.0.0.1:8000/sandbox/oauth/token/")


def test_portal_never_writes_to_a_reused_system_app(acme, hdp_log):
    app = make_hdp_app("d2cadmin", name="System_GA_app", tenant_id=1)
    run = start_run(acme)
    # The wizard page lists the tenant's own apps; the engine (which also serves resume) accepts a
    # System app for reuse, so drive it directly.
    admin = User.objects.get(username="acme_admin")
    Run.objects.filter(pk=run.pk).update(app_mode=Run.AppMode.REUSE, reuse_app_id=app.id)
    run.refresh_from_db()
    hdp_log.clear()
    with HdpClient.for_user(admin) as client:
        assert engine.ensure_app(run, client, client_secret=None) == app.id
    assert RemoteObject.objects.get(run=run, kind="app").outcome == RemoteObject.Outcome.REUSED
    # The engine refuses to edit it (the only PUT path), before any HDP call.
    run.refresh_from_db()
    run.app_token_uri = "https://evil.example/token"
    with (
        HdpClient.for_user(User.objects.get(username="acme_admin")) as client,
        pytest.raises(engine.StepNotReady),
    ):
        engine.update_app(run, client, client_secret="new-secret")
    # Cancelling the run deletes nothing of it.
    response = acme.post(reverse("onboarding:cancel", args=[run.pk]))
    assert response.status_code == 303
    assert [(r.method, r.url.path) for r in hdp_log if r.method in ("PUT", "DELETE", "PATCH")] == []
    stored = OAuthApp.objects.get(pk=app.id)
    assert (stored.name, stored.token_uri) == ("System_GA_app", "http://127.0.0.1:8000/sandbox/oauth/token/")


# --- item 23 ----------------------------------------------------------------------------------------
def _start(client, run) -> str:
    response = client.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert response.status_code == 303, response.content[:500]
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def _authorize_ready(client) -> Run:
    run = start_run(client)
    assert create_app(client, run).status_code == 303
    return run


@pytest.fixture
def token_endpoint():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(
            "http://127.0.0.1:8000/sandbox/oauth/token/", json={"access_token": "a", "refresh_token": "r"}
        )
        yield mock


def test_signing_in_again_cycles_the_session_and_drops_pending_flows(acme, hdp_log, token_endpoint, caplog):
    caplog.set_level(logging.WARNING, logger="portal.security")
    run = _authorize_ready(acme)
    state = _start(acme, run)
    old_key = acme.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert sign_in(acme).status_code == 302  # the real login view, same browser
    assert acme.cookies[django_settings.SESSION_COOKIE_NAME].value != old_key
    response = acme.get(reverse("oauth:callback", args=["Acme_GA_app"]), {"state": state, "code": "c"})
    assert response.status_code == 400
    assert len(token_endpoint.calls) == 0
    events = [r.getMessage() for r in caplog.records if r.name == "portal.security"]
    assert len(events) == 1 and '"event": "oauth_session_mismatch"' in events[0]
    # A flow started after the new sign-in works as usual.
    fresh = _start(acme, run)
    assert acme.get(
        reverse("oauth:callback", args=["Acme_GA_app"]), {"state": fresh, "code": "c"}
    ).status_code in (303,)
    assert len(token_endpoint.calls) == 1


def test_logging_out_ends_pending_flows(acme, hdp_log, token_endpoint):
    run = _authorize_ready(acme)
    state = _start(acme, run)
    assert acme.post(reverse("accounts:logout")).status_code == 302
    assert sign_in(acme).status_code == 302
    response = acme.get(reverse("oauth:callback", args=["Acme_GA_app"]), {"state": state, "code": "c"})
    assert response.status_code == 400
    assert len(token_endpoint.calls) == 0
    from portal.oauth.models import OAuthFlow

    assert OAuthFlow.objects.get().error_code == "session_ended"


# --- item 13 ----------------------------------------------------------------------------------------
def test_eleventh_flow_start_in_a_minute_is_429_with_a_message(acme, globex, hdp_log, settings):
    assert settings.RATELIMIT_OAUTH_START_PER_MINUTE == 10  # the shipped default
    run = _authorize_ready(acme)
    for _ in range(10):
        assert acme.post(reverse("onboarding:authorize-start", args=[run.pk])).status_code == 303
    response = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert response.status_code == 429
    assert "Wait a minute, then try again" in response.content.decode()
    # Another person's limit is their own.
    other = start_run(globex)
    assert create_app(globex, other, name="Globex_GA_app").status_code == 303
    assert globex.post(reverse("onboarding:authorize-start", args=[other.pk])).status_code == 303


def test_eleventh_connection_test_in_a_minute_is_429_with_a_message(acme, hdp_log, settings):
    assert settings.RATELIMIT_TEST_PER_MINUTE == 10
    run = run_at_verify(acme)  # the automatic test when the data source was created is the first
    url = reverse("onboarding:step-verify", args=[run.pk])
    for _ in range(9):
        assert acme.post(url).status_code == 200
    hdp_log.clear()
    response = acme.post(url)
    assert response.status_code == 429
    assert "Wait a minute, then try again" in response.content.decode()
    assert hdp_log == []  # refused before HDP is asked to test anything
