"""SECURITY.md items 14, 16, 17 (and 3 of issue 4): the canary.

The whole wizard runs through the real views with sentinel values for every secret the portal
touches: the admin's HDP password, the portal's HDP service password, the client secret, two
authorization codes, two PKCE verifiers, the access and refresh tokens, and the tokens the
provider rotates on the verify step. Every logger writes at DEBUG into the real console handler
(with the production LOGGING filters), ``ADMINS`` is set, and two requests crash on purpose with
the secrets in the exception text (the callback, then the profile POST). Afterwards no sentinel
may appear in any log line, error mail, response body or header (Set-Cookie included), or any
database table the portal owns (sessions decoded). HDP's own store (the emulator) must hold the
client secret and the refresh token: that proves the sentinels really went through the wizard.
"""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import responses
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core import mail
from django.urls import reverse

from portal.hdp.client import HdpClient
from portal.lib import crypto
from portal.oauth import client as oauth_client
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import Run
from portal.sandbox.hdp import passwords, refresh
from portal.sandbox.hdp.models import HdpUser, OAuthApp, OAuthProfile
from tests.helpers.recording import RecordingClient
from tests.helpers.spans import dump

HDP_PASSWORD = "Sentinel-HdpPassword-7d1e"
SERVICE_PASSWORD = "Sentinel-ServicePassword-5a90"
CLIENT_SECRET = "sentinel-client-secret-2b77"
CODE_CRASH = "sentinel-code-crash-0c31"
CODE = "sentinel-code-good-84fd"
ACCESS = "sentinel-access-token-61aa"
REFRESH = "sentinel-refresh-token-3e02"
ROTATED_ACCESS = "sentinel-rotated-access-9b4c"
ROTATED_REFRESH = "sentinel-rotated-refresh-d715"

AUTHORIZE_URI = "https://login.example.com/oauth/authorize"
TOKEN_URI = "https://token.example.com/oauth/token"
APP_NAME = "Acme_GA_canary"


def _sentinel_passwords(settings):
    HdpUser.objects.filter(user_name="acme_admin").update(password=passwords.make(HDP_PASSWORD))
    HdpUser.objects.filter(user_name="portal_svc").update(password=passwords.make(SERVICE_PASSWORD))
    settings.HDP_SERVICE_PASSWORD = SERVICE_PASSWORD


def _state_and_verifier(response) -> tuple[str, str]:
    assert response.status_code == 303, response.content[:1000]
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == AUTHORIZE_URI
    state = parse_qs(url.query)["state"][0]
    flow = OAuthFlow.objects.order_by("-created_at").first()
    assert flow is not None
    return state, crypto.decrypt(flow.code_verifier_enc, aad=flow.aad())


def _database_dump() -> str:
    """Every value of every row of every table the portal owns, sessions decoded."""
    parts: list[str] = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label == "hdp_emulator":
            continue  # HDP's own store: it is *supposed* to hold the secret and tokens
        for row in model._base_manager.all():
            for field in model._meta.concrete_fields:
                parts.append(str(getattr(row, field.attname)))
    for session in Session.objects.all():
        parts.append(json.dumps(session.get_decoded(), default=str))
    return "\n".join(parts)


def _response_texts(browser: RecordingClient) -> list[str]:
    texts = []
    for response in browser.responses:
        headers = "\n".join(f"{k}: {v}" for k, v in response.items())
        cookies = response.cookies.output()
        body = b"".join(response.streaming_content) if response.streaming else response.content
        texts.append(f"{response.status_code}\n{headers}\n{cookies}\n{body.decode(errors='replace')}")
    return texts


def _forms(value: str) -> list[str]:
    """The sentinel as itself, URL-encoded, Base64-encoded, and (the client secret) inside the
    HTTP Basic credentials the token request carries."""
    forms = [value, quote(value, safe=""), base64.b64encode(value.encode()).decode().rstrip("=")]
    if value == CLIENT_SECRET:
        forms.append(base64.b64encode(f"canary-client:{value}".encode()).decode().rstrip("="))
    return forms


@pytest.mark.django_db
def test_whole_wizard_leaks_no_sentinel(
    spans,
    hdp_log,
    settings,
    caplog,
    console_at_debug,
    public_dns,
    monkeypatch,
):
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["*.example.com"]
    settings.PORTAL_BASE_URL = "https://portal.test"
    settings.DEBUG = False
    caplog.set_level(logging.DEBUG)
    _sentinel_passwords(settings)
    browser = RecordingClient(raise_request_exception=False)

    # Sign in through the real login view (HDP checks the sentinel password).
    response = browser.post(reverse("accounts:login"), {"username": "acme_admin", "password": HDP_PASSWORD})
    assert response.status_code == 302, response.content[:1000]

    # Step a (store + custom provider), step b (new app with the sentinel client secret).
    response = browser.post(reverse("onboarding:new"), {"datastore": "54", "provider": "custom"})
    assert response.status_code == 303, response.content[:1000]
    run = Run.objects.get()
    response = browser.post(
        reverse("onboarding:step-app", args=[run.pk]),
        {
            "action": "create",
            "name": APP_NAME,
            "client_id": "canary-client",
            "client_secret": CLIENT_SECRET,
            "authorize_uri": AUTHORIZE_URI,
            "token_uri": TOKEN_URI,
            "scope": "read offline_access",
            "extra_params": "prompt=consent",
        },
    )
    assert response.status_code == 303, response.content[:2000]
    browser.get(reverse("onboarding:step-app", args=[run.pk]))  # the done page (write-only secret)

    # Step c, first attempt: the token exchange crashes with every secret in the exception text.
    start = reverse("onboarding:authorize-start", args=[run.pk])
    callback = reverse("oauth:callback", args=[APP_NAME])
    state_1, verifier_1 = _state_and_verifier(browser.post(start))

    def crash(snapshot, client_secret, code, code_verifier):
        raise RuntimeError(f"token endpoint broke: code={code} verifier {code_verifier} with {client_secret}")

    with monkeypatch.context() as patched:
        patched.setattr(oauth_client, "exchange_code", crash)
        response = browser.get(callback, {"code": CODE_CRASH, "state": state_1})
    assert response.status_code == 500

    # Step c, second attempt: the provider (mocked at the HTTP boundary) returns sentinel tokens.
    state_2, verifier_2 = _state_and_verifier(browser.post(start))
    assert verifier_2 != verifier_1
    seen: list[str] = []

    def token_endpoint(request):
        body = request.body if isinstance(request.body, str) else request.body.decode()
        seen.append(body + " " + request.headers.get("Authorization", ""))
        assert f"code={CODE}" in body and f"code_verifier={verifier_2}" in body
        tokens = {
            "access_token": ACCESS,
            "refresh_token": REFRESH,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "read offline_access",
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(tokens)

    with responses.RequestsMock() as provider:
        provider.add_callback(responses.POST, TOKEN_URI, callback=token_endpoint)
        response = browser.get(callback, {"code": CODE, "state": state_2})
    assert response.status_code == 303, response.content[:1000]
    assert len(seen) == 1
    assert (
        CLIENT_SECRET in seen[0]
        or base64.b64encode(f"canary-client:{CLIENT_SECRET}".encode()).decode() in seen[0]
    )

    # Step d: the first profile POST crashes inside the HDP client with the tokens in the message.
    original = HdpClient.create_oauth_profile
    calls = {"n": 0}

    def create_profile(self, body):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError(
                f"lost {body.refresh_token.get_secret_value()} / {body.access_token.get_secret_value()}"
            )
        return original(self, body)

    monkeypatch.setattr(HdpClient, "create_oauth_profile", create_profile)
    profile = reverse("onboarding:step-profile", args=[run.pk])
    assert browser.post(profile, {"name": "Acme_GA_profile"}).status_code == 500
    response = browser.post(profile, {"name": "Acme_GA_profile"})
    assert response.status_code == 303, response.content[:2000]
    assert calls["n"] == 2

    # Step e, data source; step f, verify (HDP refreshes with the provider: rotated sentinels).
    response = browser.post(reverse("onboarding:step-datasource", args=[run.pk]), {"name": "AcmeGA"})
    assert response.status_code == 303, response.content[:2000]
    refreshed: list[tuple[str, str]] = []

    def refresh_with_provider(token_uri, client_id, client_secret, refresh_token):
        assert (token_uri, client_secret, refresh_token) == (TOKEN_URI, CLIENT_SECRET, REFRESH)
        refreshed.append((client_id, token_uri))
        return {"access_token": ROTATED_ACCESS, "refresh_token": ROTATED_REFRESH, "token_type": "Bearer"}

    monkeypatch.setattr(refresh, "refresh_with_provider", refresh_with_provider)
    response = browser.post(reverse("onboarding:step-verify", args=[run.pk]))
    assert response.status_code == 200, response.content[:2000]
    assert refreshed == [("canary-client", TOKEN_URI)]
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED
    for name in ("onboarding:runs",):
        browser.get(reverse(name))
    for name in ("step-app", "step-authorize", "step-profile", "step-datasource", "step-verify"):
        assert browser.get(reverse(f"onboarding:{name}", args=[run.pk])).status_code == 200
    browser.post(reverse("accounts:logout"))

    # HDP (the emulator) really holds what the wizard carried: the sentinels went all the way.
    app = OAuthApp.objects.get(name=APP_NAME)
    assert app.client_secret == CLIENT_SECRET
    assert OAuthProfile.objects.get(name="Acme_GA_profile").refresh_token == ROTATED_REFRESH

    sentinels = {
        "HDP password": HDP_PASSWORD,
        "HDP service password": SERVICE_PASSWORD,
        "client secret": CLIENT_SECRET,
        "code (crashed exchange)": CODE_CRASH,
        "code": CODE,
        "verifier (crashed exchange)": verifier_1,
        "verifier": verifier_2,
        "access token": ACCESS,
        "refresh token": REFRESH,
        "rotated access token": ROTATED_ACCESS,
        "rotated refresh token": ROTATED_REFRESH,
    }
    assert len(mail.outbox) == 2, [m.subject for m in mail.outbox]  # one per forced crash
    logs = console_at_debug.getvalue()
    assert "Internal Server Error" in logs  # the crashes really were logged through the handler
    places = {
        "console log": logs,
        "caplog": caplog.text,
        "mail": "\n".join(
            m.subject + m.body + "".join(str(a[0]) for a in m.alternatives) for m in mail.outbox
        ),
        "responses": "\n".join(_response_texts(browser)),
        "database": _database_dump(),
        # OpenTelemetry (issue 23): every span of the run, as the exporter would receive it.
        "spans": dump(spans.get_finished_spans()),
    }
    leaks = [
        (what, where)
        for what, value in sentinels.items()
        for where, text in places.items()
        if any(form in text for form in _forms(value))
    ]
    assert leaks == []
    assert len(sentinels) == 11
    # The provider's redirect back carried code and state: no span holds either (nor the state alone).
    assert "/oauth/callback/" in places["spans"]
    assert not [state for state in (state_1, state_2) if any(f in places["spans"] for f in _forms(state))]
