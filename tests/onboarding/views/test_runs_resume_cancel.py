from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from portal.onboarding import wizard
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp.models import OAuthApp, OAuthProfile
from tests.helpers.wizard import HTMX, create_app, hdp_posts, make_hdp_app, run_at_datasource, start_run


def test_my_setups_lists_status_step_and_actions(acme, hdp_log):
    run = start_run(acme)
    html = acme.get(reverse("onboarding:runs")).content.decode()
    assert "Google Analytics" in html and "In progress" in html
    assert "Application" in html  # the next step
    assert reverse("onboarding:resume", args=[run.pk]) in html
    assert reverse("onboarding:cancel", args=[run.pk]) in html


def test_my_setups_shows_only_my_own(acme, globex, hdp_log):
    run = start_run(acme)
    html = globex.get(reverse("onboarding:runs")).content.decode()
    assert str(run.pk) not in html
    assert "You have no setups yet" in html


def test_resume_goes_to_the_first_unfinished_step(acme, hdp_log):
    run = start_run(acme)
    create_app(acme, run)
    response = acme.get(reverse("onboarding:resume", args=[run.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("onboarding:step-authorize", args=[run.pk])


def test_resume_reports_what_changed_in_hdp(acme, hdp_log):
    run = start_run(acme)
    create_app(acme, run)
    OAuthApp.objects.filter(name="Acme_GA_app").delete()  # deleted outside the portal
    response = acme.get(reverse("onboarding:resume", args=[run.pk]), follow=True)
    assert "no longer exists in HDP" in response.content.decode()


def test_resume_adopts_an_object_created_before_a_crash(acme, hdp_log):
    run = start_run(acme)
    make_hdp_app("acme_admin", name="Acme_crash_app")
    Run.objects.filter(pk=run.pk).update(app_mode="create", app_name="Acme_crash_app")
    RemoteObject.objects.create(run=run, kind="app", name="Acme_crash_app", outcome="pending")
    response = acme.get(reverse("onboarding:resume", args=[run.pk]), follow=True)
    assert "had been created in HDP" in response.content.decode()
    assert run.remote("app").outcome == RemoteObject.Outcome.CREATED


def test_cancel_lists_what_will_be_deleted_then_deletes_it(acme, hdp_log):
    run = run_at_datasource(acme)
    html = acme.get(reverse("onboarding:cancel", args=[run.pk])).content.decode()
    assert "Acme_GA_app" in html and "Acme_GA_profile" in html
    assert OAuthApp.objects.filter(name="Acme_GA_app").exists()
    response = acme.post(reverse("onboarding:cancel", args=[run.pk]))
    assert response.status_code == 303
    assert not OAuthApp.objects.filter(name="Acme_GA_app").exists()
    assert not OAuthProfile.objects.filter(name="Acme_GA_profile").exists()
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    follow = acme.get(response["Location"]).content.decode()
    assert "Deleted the OAuth application" in follow
    # A cancelled run's steps send the person back to their list.
    assert acme.get(reverse("onboarding:step-app", args=[run.pk]))["Location"] == reverse("onboarding:runs")


def test_cancel_keeps_a_reused_app(acme, hdp_log):
    existing = make_hdp_app("acme_admin", name="Acme_existing_app")
    run = start_run(acme)
    acme.post(reverse("onboarding:step-app", args=[run.pk]), {"action": "reuse", "app_id": existing.id})
    html = acme.get(reverse("onboarding:cancel", args=[run.pk])).content.decode()
    assert "Kept" in html and "Acme_existing_app" in html
    acme.post(reverse("onboarding:cancel", args=[run.pk]))
    assert OAuthApp.objects.filter(pk=existing.id).exists()


def test_a_second_click_while_busy_makes_no_hdp_call(acme, hdp_log):
    run = start_run(acme)
    hdp_log.clear()
    # Another request (another thread or process) holds the run's lease.
    Run.objects.filter(pk=run.pk).update(busy_until=timezone.now() + timedelta(seconds=60))
    response = create_app(acme, run)
    htmx = create_app(acme, run, headers=HTMX)
    assert response.status_code == 202 and htmx.status_code == 202
    assert "Already working on it" in response.content.decode()
    assert hdp_posts(hdp_log, "/oauthapps") == []
    assert hdp_log == []


def test_stepper_marks_done_current_and_next_in_text(acme, hdp_log):
    run = start_run(acme)
    html = acme.get(reverse("onboarding:step-app", args=[run.pk])).content.decode()
    assert 'aria-current="step"' in html
    assert "(done)" in html and "(you are here)" in html and "(to do)" in html
    items = wizard.stepper(run, "app")
    assert [i.state for i in items] == ["done", "current", "next", "next", "next", "next"]
    assert items[0].url and items[2].url is None  # no link past the first unfinished step


def test_wizard_step_order_without_http(acme, hdp_log):
    run = start_run(acme)
    assert wizard.current(run) == "app"
    assert wizard.can_enter(run, "app") and not wizard.can_enter(run, "authorize")
    create_app(acme, run)
    assert wizard.current(run) == "authorize"
    assert wizard.next_step("authorize") == "profile"


def test_cancel_with_hdp_down_keeps_the_run(acme, hdp_log):
    from portal.sandbox.hdp import faults

    run = run_at_datasource(acme)
    faults.arm("*", r"^/api/mgmt/", "status", status=503, times=50)
    response = acme.post(reverse("onboarding:cancel", args=[run.pk]))
    assert response.status_code == 503
    assert 'id="banner"' in response.content.decode()
    run.refresh_from_db()
    assert run.status == Run.Status.ACTIVE
    assert OAuthApp.objects.filter(name="Acme_GA_app").exists()
