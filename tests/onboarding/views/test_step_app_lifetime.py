"""Issue 22 item 2: the application step asks only what the portal cannot know about the sign-in's
lifetime, with the preset's documented default preselected and a one-line source; kept with the setup."""

from __future__ import annotations

from django.urls import reverse

from tests.helpers.wizard import create_app, start_run

GOOGLE = {
    "client_id": "1234.apps.googleusercontent.com",
    "authorize_uri": "https://accounts.google.com/o/oauth2/v2/auth",
    "token_uri": "https://oauth2.googleapis.com/token",
    "scope": "https://www.googleapis.com/auth/analytics.readonly",
}


def _page(client, run) -> str:
    return client.get(reverse("onboarding:step-app", args=[run.pk])).content.decode()


def test_google_asks_published_or_testing_with_published_preselected(acme):
    run = start_run(acme, "54:google_analytics")
    html = _page(acme, run)
    assert "Is the app published, or still in Testing?" in html
    assert (
        '<input type="radio" name="signin_rule" value="google_published" id="id_signin_rule_0" checked>'
        in html
    )
    assert '<input type="radio" name="signin_rule" value="google_testing" id="id_signin_rule_1">' in html
    assert "Still in Testing: ends 7 days after each sign-in" in html
    assert "an app whose consent screen is in Testing gets refresh tokens that end after 7 days" in html
    assert "Preselected: the provider's documented default." in html


def test_the_answer_is_kept_with_the_setup(acme):
    run = start_run(acme, "54:google_analytics")
    response = create_app(acme, run, name="Acme_GA_app", signin_rule="google_testing", **GOOGLE)
    assert response.status_code == 303, response.content.decode()[:3000]
    run.refresh_from_db()
    assert (run.signin_rule, run.signin_rule_days) == ("google_testing", None)


def test_not_answering_keeps_the_default(acme):
    run = start_run(acme, "54:google_analytics")
    assert create_app(acme, run, **GOOGLE).status_code == 303
    run.refresh_from_db()
    assert run.signin_rule == "google_published"


def test_the_sandbox_asks_nothing(acme):
    run = start_run(acme)
    html = _page(acme, run)
    assert 'name="signin_rule"' not in html


def test_a_custom_provider_asks_no_known_end_or_days_and_checks_the_days(acme, settings):
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["login.example.com", "token.example.com"]
    run = start_run(acme, "54:custom")
    html = _page(acme, run)
    assert "How long do your provider&#x27;s refresh tokens last?" in html
    assert "No known end" in html and "A number of days without use" in html
    custom = {
        "client_id": "c",
        "authorize_uri": "https://login.example.com/authorize",
        "token_uri": "https://token.example.com/token",
        "scope": "read offline_access",
        "extra_params": "prompt=consent",
    }
    bad = create_app(acme, run, signin_rule="fixed_days", signin_rule_days="0", **custom)
    assert bad.status_code == 200
    body = bad.content.decode()
    assert 'id="id_signin_rule_days-error"' in body
    missing = create_app(acme, run, signin_rule="sliding_days", signin_rule_days="", **custom)
    assert "Enter the number of days this rule counts." in missing.content.decode()
    good = create_app(acme, run, signin_rule="sliding_days", signin_rule_days="45", **custom)
    assert good.status_code == 303
    run.refresh_from_db()
    assert (run.signin_rule, run.signin_rule_days) == ("sliding_days", 45)
