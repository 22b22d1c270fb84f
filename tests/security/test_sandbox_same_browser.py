"""The sandbox demo in one browser (defect found by the issue-4 proof).

In the sandbox the provider shares the portal's origin and session cookie. Its sign-in cycles the
session key (fixation defence), which used to leave the portal's pending flow bound to the old
key, so the portal refused its own callback as "started in another browser". The provider now
moves this browser's pending flows to the new key; other sessions' flows stay where they are.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from portal.oauth import flows
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import Run
from portal.sandbox.provider.seed import seed_provider
from tests.helpers.sandbox_provider import sign_in_and_consent
from tests.helpers.wizard import create_app, sign_in, start_run


@pytest.mark.django_db(transaction=True)
def test_portal_and_provider_sign_in_in_one_browser(live_server, settings, hdp_log, acme):
    # The token exchange really goes over loopback HTTP to the provider on the live server.
    settings.PORTAL_BASE_URL = live_server.url
    seed_provider([flows.redirect_uri_for("Acme_GA_app"), flows.redirect_uri_for("Globex_GA_app")])
    sandbox = {"authorize_uri": f"{live_server.url}/sandbox/oauth/authorize/",
               "token_uri": f"{live_server.url}/sandbox/oauth/token/"}  # fmt: skip
    # Someone else's pending flow, in another browser: must not be touched.
    other = Client()
    assert sign_in(other, "globex_admin").status_code == 302
    other_run = start_run(other)
    assert create_app(other, other_run, name="Globex_GA_app", **sandbox).status_code == 303
    assert other.post(reverse("onboarding:authorize-start", args=[other_run.pk])).status_code == 303
    other_flow = OAuthFlow.objects.get(run=other_run)

    run = start_run(acme)
    assert create_app(acme, run, **sandbox).status_code == 303
    start = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    url = urlsplit(start["Location"])
    callback = urlsplit(sign_in_and_consent(acme, url.path + "?" + url.query))  # provider login + consent
    response = acme.get(callback.path + "?" + callback.query)
    assert response.status_code == 303, response.content[:1000]
    assert response["Location"] == reverse("onboarding:step-profile", args=[run.pk])
    run = Run.objects.get(pk=run.pk)
    assert json.loads(run.unseal("tokens"))["refresh_token"]
    assert OAuthFlow.objects.get(run=run).outcome == OAuthFlow.Outcome.SUCCEEDED
    assert OAuthFlow.objects.get(pk=other_flow.pk).session_key_hash == other_flow.session_key_hash
