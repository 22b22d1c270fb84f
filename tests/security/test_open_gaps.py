"""Known gaps, pinned as strict xfails: each one fails today for the reason given, and starts
"passing" (so the suite goes red) the day it is fixed, so SECURITY.md gets updated with it."""

from __future__ import annotations

import pytest

from tests.wizard.fixtures import create_app, hdp_posts, start_run


@pytest.mark.xfail(
    strict=True,
    reason="security.md 5(d) at save time: the custom host-pair rule runs at flow start (flows.start), "
    "not in AppCreateForm, so the app (and its secret) reaches HDP first; see SECURITY.md 'Not done'",
)
def test_custom_pair_is_checked_when_the_app_is_saved(acme, hdp, settings):
    settings.OAUTH_ALLOW_LOOPBACK = False
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["*.example.com", "*.other.org"]
    run = start_run(acme, "54:custom")
    hdp.clear()
    response = create_app(
        acme,
        run,
        authorize_uri="https://login.example.com/oauth/authorize",
        token_uri="https://api.other.org/oauth/token",
    )
    assert response.status_code == 200
    assert 'id="id_token_uri-error"' in response.content.decode()
    assert hdp_posts(hdp, "/oauthapps") == []


def test_the_pair_is_refused_at_connect_today(acme, hdp, settings):
    """What does hold today: the same app cannot start a consent."""
    settings.OAUTH_ALLOW_LOOPBACK = False
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["*.example.com", "*.other.org"]
    run = start_run(acme, "54:custom")
    assert (
        create_app(
            acme,
            run,
            authorize_uri="https://login.example.com/oauth/authorize",
            token_uri="https://api.other.org/oauth/token",
        ).status_code
        == 303
    )
    from django.urls import reverse

    from portal.oauth.models import OAuthFlow

    response = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert response.status_code == 303
    assert response["Location"] == reverse("onboarding:step-authorize", args=[run.pk])
    assert not OAuthFlow.objects.exists()
