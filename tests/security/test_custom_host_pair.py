"""SECURITY.md item 5d: a custom authorize/token host pair must belong together, checked when the app
is saved (before its secret reaches HDP) and again when a consent starts."""

from __future__ import annotations

from tests.helpers.wizard import create_app, hdp_posts, start_run


def test_custom_pair_is_checked_when_the_app_is_saved(acme, hdp_log, settings):
    settings.OAUTH_ALLOW_LOOPBACK = False
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["*.example.com", "*.other.org"]
    run = start_run(acme, "54:custom")
    hdp_log.clear()
    response = create_app(
        acme,
        run,
        authorize_uri="https://login.example.com/oauth/authorize",
        token_uri="https://api.other.org/oauth/token",
    )
    assert response.status_code == 200
    assert 'id="id_token_uri-error"' in response.content.decode()
    assert hdp_posts(hdp_log, "/oauthapps") == []


def test_the_pair_is_refused_at_connect_too(acme, hdp_log, settings):
    """Defence in depth: an app saved before the rule existed (or edited in HDP) cannot start a consent."""
    settings.OAUTH_ALLOW_LOOPBACK = False
    # Saved while an operator allowed this exact pair...
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["login.example.com", "api.other.org"]
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
    # ...then the operator narrowed the allowlist: the stored pair must not start a consent.
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["*.example.com", "*.other.org"]
    from django.urls import reverse

    from portal.oauth.models import OAuthFlow

    response = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert response.status_code == 303
    assert response["Location"] == reverse("onboarding:step-authorize", args=[run.pk])
    assert not OAuthFlow.objects.exists()
