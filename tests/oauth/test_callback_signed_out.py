"""A person signed out while at the provider gets a clear page, not a login redirect whose
``next`` would carry the authorization code into another URL."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from django.urls import reverse

from portal.oauth.models import OAuthFlow
from tests.helpers.oauth import CONFIG_X, SECRET, start_flow, token_json

pytestmark = pytest.mark.django_db
CODE = "sentinel-auth-code-signed-out"


def test_signed_out_arrival_is_refused_and_the_code_goes_nowhere(
    signed_in, user, run, mocked, security_events
):
    _, state, _ = start_flow(signed_in, user, run)
    mocked.post(CONFIG_X["token_uri"], json=token_json())
    signed_in.logout()

    with patch("portal.oauth.callback.client_secret_for", return_value=SECRET):
        response = signed_in.get(
            reverse("oauth:callback", args=[CONFIG_X["app_name"]]) + f"?code={CODE}&state={state}"
        )

    assert response.status_code == 400
    assert "Location" not in response
    body = response.content.decode()
    assert "signed out" in body and reverse("accounts:login") in body
    assert CODE not in body
    assert len(mocked.calls) == 0
    assert [r.getMessage() for r in security_events() if "oauth_signed_out" in r.getMessage()]
    assert OAuthFlow.objects.get().consumed_at is None or OAuthFlow.objects.get().outcome != "succeeded"
