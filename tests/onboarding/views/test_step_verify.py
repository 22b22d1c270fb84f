from __future__ import annotations

from django.urls import reverse

from portal.onboarding.models import Run
from portal.sandbox.hdp import refresh
from tests.helpers.wizard import HTMX, hdp_posts, run_at_datasource, run_at_verify


def _url(run):
    return reverse("onboarding:step-verify", args=[run.pk])


def test_creating_the_data_source_runs_the_check_and_completes_the_setup(acme, hdp_log, monkeypatch):
    monkeypatch.setattr(refresh, "refresh_with_provider", lambda *a, **k: {"access_token": "new-at"})
    run = run_at_datasource(acme)
    response = acme.post(
        reverse("onboarding:step-datasource", args=[run.pk]), {"name": "AcmeGA"}, follow=True
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == _url(run) + "?checked=1"  # no extra click
    assert hdp_posts(hdp_log, "/test")  # HDP's test ran by itself
    assert "<h1 " in html and ">Setup complete</h1>" in html
    assert "<title>Setup complete" in html
    assert "Connection works: HDP connected" in html
    assert "(you are here)" not in html and html.count("(done)") == 6  # every step done
    assert reverse("connections:setup", args=[run.pk]) in html and reverse("onboarding:runs") in html
    assert "Check the connection" not in html and "Check again" not in html
    assert "Checked at" in html
    assert "AcmeGA" in html and "Acme_GA_profile" in html and "Acme_GA_app" in html
    assert "/api/odata4/AcmeGA" in html
    assert "(id 71)" not in html and "HDP id" not in html  # internal ids are for support pages
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED and run.verify_ok is True
    later = acme.get(_url(run)).content.decode()  # a later visit: still complete, no stale result
    assert ">Setup complete</h1>" in later and "Connection works" not in later


def test_a_passing_check_completes_the_setup(acme, hdp_log, monkeypatch):
    run = run_at_verify(acme)  # the automatic check failed: the provider was not patched yet
    monkeypatch.setattr(refresh, "refresh_with_provider", lambda *a, **k: {"access_token": "new-at"})
    response = acme.post(_url(run))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Connection works: HDP connected" in html
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
    settings.RATELIMIT_TEST_PER_MINUTE = 2
    run = run_at_verify(acme)  # the automatic check is the first
    assert acme.post(_url(run)).status_code == 200
    response = acme.post(_url(run))
    assert response.status_code == 429
    assert "Wait a minute" in response.content.decode()


def test_get_shows_the_objects_without_testing(acme, hdp_log):
    run = run_at_verify(acme)
    hdp_log.clear()
    html = acme.get(_url(run)).content.decode()
    assert "Check again" in html  # the automatic check ran (and failed: no provider here)
    assert hdp_log == []


def test_hdp_down_during_the_automatic_check_says_so_and_offers_the_check(acme, hdp_log):
    from portal.sandbox.hdp import faults

    run = run_at_datasource(acme)
    faults.arm("POST", r"/test$", "status", status=503, times=5)
    response = acme.post(
        reverse("onboarding:step-datasource", args=[run.pk]), {"name": "AcmeGA"}, follow=True
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == _url(run)
    assert "HDP had an internal problem" in html and "HTTP 503" not in html
    assert "Check the connection" in html  # the button that runs it again
    run.refresh_from_db()
    assert run.status == Run.Status.ACTIVE


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
