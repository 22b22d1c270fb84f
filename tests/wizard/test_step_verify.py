from __future__ import annotations

from django.urls import reverse

from portal.onboarding.models import Run
from portal.sandbox.hdp import refresh
from tests.helpers.wizard import HTMX, run_at_verify


def _url(run):
    return reverse("onboarding:step-verify", args=[run.pk])


def test_a_passing_check_completes_the_setup(acme, hdp_log, monkeypatch):
    monkeypatch.setattr(refresh, "refresh_with_provider", lambda *a, **k: {"access_token": "new-at"})
    run = run_at_verify(acme)
    response = acme.post(_url(run))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Working: HDP connected" in html
    assert "Checked at" in html
    assert "AcmeGA" in html and "Acme_GA_profile" in html and "Acme_GA_app" in html
    assert "/api/odata4/AcmeGA" in html
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED and run.verify_ok is True


def test_a_failing_check_says_what_to_do(acme, hdp_log):
    run = run_at_verify(acme)
    html = acme.post(_url(run), **HTMX).content.decode()
    assert "Not working yet" in html
    assert reverse("onboarding:step-authorize", args=[run.pk]) in html
    assert "<html" not in html


def test_the_check_is_rate_limited(acme, hdp_log, settings):
    settings.RATELIMIT_TEST_PER_MINUTE = 1
    run = run_at_verify(acme)
    assert acme.post(_url(run)).status_code == 200
    response = acme.post(_url(run))
    assert response.status_code == 429
    assert "Wait a minute" in response.content.decode()


def test_get_shows_the_objects_without_testing(acme, hdp_log):
    run = run_at_verify(acme)
    hdp_log.clear()
    html = acme.get(_url(run)).content.decode()
    assert "Check the connection" in html
    assert hdp_log == []


def test_hdp_down_during_the_check_is_a_banner(acme, hdp_log):
    from portal.sandbox.hdp import faults

    run = run_at_verify(acme)
    faults.arm("POST", r"/test$", "status", status=503, times=5)
    response = acme.post(_url(run))
    html = response.content.decode()
    assert response.status_code == 503
    assert 'id="banner"' in html and "AcmeGA" in html
    run.refresh_from_db()
    assert run.status == Run.Status.ACTIVE
