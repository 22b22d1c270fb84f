from __future__ import annotations

from django.urls import reverse

from portal.sandbox.hdp import faults
from portal.sandbox.hdp.models import OAuthProfile
from tests.helpers.wizard import HTMX, create_app, hdp_posts, run_at_profile, seal_tokens, start_run


def _url(run):
    return reverse("onboarding:step-profile", args=[run.pk])


def test_it_is_not_reachable_before_consent(acme, hdp_log):
    run = start_run(acme)
    create_app(acme, run)
    response = acme.get(_url(run))
    assert response.status_code == 302
    assert response["Location"] == reverse("onboarding:step-authorize", args=[run.pk])


def test_it_shows_consent_time_scopes_and_expiry_never_tokens(acme, hdp_log):
    run = run_at_profile(acme)
    html = acme.get(_url(run)).content.decode()
    assert (
        "read your sandbox data" in html and "stay connected when you&#x27;re away" in html
    )  # scopes in words
    assert "Connected at" in html and "Current access expires" in html
    assert 'value="Acme_GoogleAnalytics_profile"' in html
    assert "at-sentinel-123" not in html and "rt-sentinel-456" not in html


def test_it_creates_the_profile_and_drops_the_tokens(acme, hdp_log):
    run = run_at_profile(acme)
    response = acme.post(_url(run), {"name": "Acme_GA_profile", "description": "GA for Acme"})
    assert response.status_code == 303
    assert response["Location"] == reverse("onboarding:step-datasource", args=[run.pk])
    profile = OAuthProfile.objects.get(name="Acme_GA_profile")
    assert profile.refresh_token == "rt-sentinel-456"
    run.refresh_from_db()
    assert run.tokens_enc == ""
    assert run.remote("profile").remote_id == profile.pk


def test_a_bad_name_is_a_field_error_and_nothing_is_sent(acme, hdp_log):
    run = run_at_profile(acme)
    hdp_log.clear()
    response = acme.post(_url(run), {"name": "Acme-GA profile", "description": "kept description"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_name-error"' in html and "remove: space -" in html
    assert 'value="kept description"' in html
    assert hdp_posts(hdp_log, "/oauthprofiles") == []


def test_no_refresh_token_means_no_profile_and_a_reconnect(acme, hdp_log):
    run = start_run(acme)
    create_app(acme, run)
    seal_tokens(run, refresh=False)
    response = acme.post(_url(run), {"name": "Acme_GA_profile"})
    html = response.content.decode()
    assert "refresh token" in html
    assert reverse("onboarding:step-authorize", args=[run.pk]) in html
    assert not OAuthProfile.objects.exists()


def test_hdp_down_keeps_the_input(acme, hdp_log):
    run = run_at_profile(acme)
    faults.arm("*", r"^/api/mgmt/oauthprofiles", "status", status=503, times=20)
    response = acme.post(_url(run), {"name": "Acme_GA_profile", "description": "kept description"})
    html = response.content.decode()
    assert response.status_code == 503
    assert 'id="banner"' in html and 'value="kept description"' in html
    run.refresh_from_db()
    assert run.tokens_enc  # tokens kept (encrypted) for the retry


def test_done_step_shows_the_profile(acme, hdp_log):
    run = run_at_profile(acme)
    acme.post(_url(run), {"name": "Acme_GA_profile"})
    html = acme.get(_url(run)).content.decode()
    assert "Acme_GA_profile" in html and 'name="name"' not in html


def test_htmx_success_swaps_in_the_next_step_and_pushes_its_url(acme, hdp_log):
    run = run_at_profile(acme)
    response = acme.post(_url(run), {"name": "Acme_GA_profile"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Push-Url"] == reverse("onboarding:step-datasource", args=[run.pk])
    assert "<html" not in html and 'name="opt_DefaultView"' in html
    assert "HX-Request" in response["Vary"]
