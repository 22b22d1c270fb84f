"""The setup page of a completed setup, "Check now", and My setups' status column.

Every status shown comes from the stored checks (portal.connections.checks); the wizard's final
test is the first of them (the ``run_verified`` signal). HDP is the in-process emulator.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.timezone import localtime

from portal.audit.models import AuditEntry
from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause, State
from portal.onboarding.models import Run
from portal.sandbox.hdp.models import OAuthProfile
from tests.helpers.wizard import HTMX, run_at_verify

Trigger = ConnectionCheck.Trigger


@pytest.fixture
def completed(acme, hdp_log, provider):
    """A setup finished through the real wizard (its final test, run when the data source was
    created, passed)."""
    run = run_at_verify(acme)
    assert run.status == Run.Status.COMPLETED
    hdp_log.clear()
    return run


def page(client, run) -> str:
    response = client.get(reverse("connections:setup", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


def check_now(client, run, **headers):
    return client.post(reverse("connections:check-now", args=[run.pk]), **headers)


def test_the_wizards_final_test_is_the_setups_first_check(completed):
    (check,) = ConnectionCheck.objects.filter(run=completed)
    assert (check.trigger, check.state, check.cause) == (Trigger.SETUP, State.WORKING, Cause.TEST_PASSED)
    assert check.requested_by == "acme_admin" and check.finished_at is not None


def test_a_failed_final_test_is_recorded_too(acme, hdp_log, provider):
    provider.refuse = "invalid_grant"
    run = run_at_verify(acme)  # the final test runs when the data source is created
    (check,) = ConnectionCheck.objects.filter(run=run)
    assert (check.state, check.provider_error) == (State.NEEDS_RECONNECT, "invalid_grant")


def test_resume_and_my_setups_lead_a_completed_setup_to_its_page(acme, completed):
    url = reverse("connections:setup", args=[completed.pk])
    assert acme.get(reverse("onboarding:resume", args=[completed.pk]))["Location"] == url
    assert url in acme.get(reverse("onboarding:runs")).content.decode()


def test_the_page_shows_the_status_cause_time_and_what_hdp_holds_without_calling_hdp(
    acme, hdp_log, completed
):
    html = page(acme, completed)
    assert hdp_log == []  # a GET reads stored checks only
    assert "Working" in html and "HDP&#x27;s test of the data source passed" in html
    check = ConnectionCheck.objects.get(run=completed)
    assert f"{date_format(localtime(check.finished_at), 'DATETIME_FORMAT')} UTC" in html and " ago" in html
    for name in ("Acme_GA_app", "Acme_GA_profile", "AcmeGA"):
        assert name in html
    assert "Setup&#x27;s final check" in html  # the history names what started the check
    assert 'id="setup-status"' in html and reverse("connections:check-now", args=[completed.pk]) in html


def test_the_verify_step_of_a_completed_setup_links_to_its_page_without_a_stale_working(acme, completed):
    html = acme.get(reverse("onboarding:step-verify", args=[completed.pk])).content.decode()
    assert reverse("connections:setup", args=[completed.pk]) in html
    assert "Working: HDP connected" not in html


def test_no_stale_working_after_the_profile_is_deleted_in_hdp(acme, hdp_log, completed):
    OAuthProfile.objects.filter(name="Acme_GA_profile").delete()  # someone deleted it in HDP
    response = check_now(acme, completed)
    assert response.status_code == 303 and response["Location"] == reverse(
        "connections:setup", args=[completed.pk]
    )
    assert hdp_log != []  # a real check
    html = page(acme, completed)
    assert "Broken" in html and "The OAuth profile no longer exists in HDP" in html
    status_block = html.split('id="setup-status"', 1)[1].split("Recent checks", 1)[0]
    assert "Working" not in status_block
    runs_html = acme.get(reverse("onboarding:runs")).content.decode()
    rows = runs_html.split("<tbody>", 1)[1]
    assert "Broken" in rows and "Working" not in rows


def test_check_now_under_htmx_swaps_the_status_and_shows_a_busy_state(acme, completed):
    html = check_now(acme, completed, **HTMX).content.decode()
    assert "<html" not in html and 'id="setup-status"' in html
    assert "Checking…" in html and 'hx-indicator="#check-busy"' in html


def test_check_now_is_audited(acme, completed):
    check_now(acme, completed)
    entry = AuditEntry.objects.filter(action="connection.check").get()
    assert entry.actor == "acme_admin" and str(entry.run_id) == str(completed.pk)
    assert entry.detail["outcome"] == State.WORKING
    assert ConnectionCheck.objects.filter(run=completed, trigger=Trigger.MANUAL).count() == 1


def test_check_now_is_rate_limited(acme, hdp_log, completed, settings):
    settings.RATELIMIT_TEST_PER_MINUTE = 2  # one budget with the wizard's test, which used one
    assert check_now(acme, completed).status_code == 303
    hdp_log.clear()
    response = check_now(acme, completed)
    assert response.status_code == 429 and "Wait a minute" in response.content.decode()
    assert hdp_log == []
    assert AuditEntry.objects.filter(action="connection.check", detail__outcome="rate_limited").count() == 1


def test_a_running_check_is_a_plain_message(acme, hdp_log, completed):
    now = timezone.now()
    ConnectionCheck.objects.create(
        run=completed, trigger=Trigger.SCHEDULED, started_at=now, expires_at=now + timedelta(minutes=5)
    )
    hdp_log.clear()
    response = check_now(acme, completed)
    assert response.status_code == 409 and "already running" in response.content.decode()
    assert hdp_log == []
    assert "Checking" in page(acme, completed)


def test_a_running_check_refreshes_the_status_until_it_has_a_verdict(acme, hdp_log, completed):
    """A check someone else started (a worker, a reconnect by the account owner) ends without a reload."""
    poller = f'hx-get="{reverse("connections:setup", args=[completed.pk])}" hx-trigger="load delay:3s"'
    assert poller not in page(acme, completed)
    now = timezone.now()
    running = ConnectionCheck.objects.create(
        run=completed, trigger=Trigger.SCHEDULED, started_at=now, expires_at=now + timedelta(minutes=5)
    )
    assert poller in page(acme, completed)
    polled = acme.get(reverse("connections:setup", args=[completed.pk]), **HTMX).content.decode()
    assert "<html" not in polled and poller in polled
    running.finished_at, running.state, running.cause = timezone.now(), State.WORKING, Cause.TEST_PASSED
    running.save()
    polled = acme.get(reverse("connections:setup", args=[completed.pk]), **HTMX).content.decode()
    assert 'id="setup-status"' in polled and poller not in polled
    assert hdp_log == []


def test_another_owners_setup_is_404_with_an_event_and_no_hdp_call(globex, hdp_log, completed, caplog):
    caplog.set_level(logging.WARNING, logger="portal.security")
    assert globex.get(reverse("connections:setup", args=[completed.pk])).status_code == 404
    assert check_now(globex, completed).status_code == 404
    assert hdp_log == []
    events = [
        json.loads(r.getMessage().split(" ", 1)[1])
        for r in caplog.records
        if r.name == "portal.security" and "run_access_denied" in r.getMessage()
    ]
    assert len(events) == 2 and events[0]["exists"] is True
    assert ConnectionCheck.objects.filter(run=completed, trigger=Trigger.MANUAL).count() == 0


def test_an_unfinished_setup_goes_back_to_the_wizard(acme, hdp_log):
    run = run_at_verify(acme)
    response = acme.get(reverse("connections:setup", args=[run.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("onboarding:resume", args=[run.pk])


def test_what_hdp_holds_is_named_in_the_reader_s_language(acme, completed):
    """The object kinds come from the model's choices: translated, not English in a German page."""
    with translation.override("en"):  # on leaving, undoes the German the request's middleware activated
        response = acme.get(reverse("connections:setup", args=[completed.pk]), HTTP_ACCEPT_LANGUAGE="de")
    html = response.content.decode()
    assert "OAuth-Anwendung" in html and "Datenquelle" in html
    assert ">OAuth application<" not in html and ">Data source<" not in html


def test_the_page_reads_the_setups_hdp_records_once(acme, completed, django_assert_max_num_queries):
    """Session, user, run, the run's records (once: held objects and the rotate section share them;
    they were read three times, 11 queries), the checks (once: the status comes from the history's
    rows; it was a query of its own, 2 before that), the open repair, and the newest handoff link's
    state (issue 19: one query)."""
    with django_assert_max_num_queries(7) as captured:
        html = page(acme, completed)
    records = [q["sql"] for q in captured.captured_queries if '"onboarding_remoteobject"' in q["sql"]]
    assert len(records) == 1, records
    checks_read = [q["sql"] for q in captured.captured_queries if '"connections_connectioncheck"' in q["sql"]]
    assert len(checks_read) == 1, checks_read
    for name in ("Acme_GA_app", "Acme_GA_profile", "AcmeGA"):
        assert name in html
    assert reverse("connections:rotate-secret", args=[completed.pk]) in html  # the rotate section still shows


def test_the_open_repair_and_any_handoff_link_are_read_with_the_run(
    acme, completed, django_assert_max_num_queries
):
    """Session, user, the run (with its open repair's cause and whether a handoff link exists, as columns
    of its query), its records and its checks: 5 queries; no query of the repairs or the links of its own
    while the setup has no link."""
    with django_assert_max_num_queries(5) as captured:
        html = page(acme, completed)
    own = [
        q["sql"]
        for q in captured.captured_queries
        if ('"connections_repair"' in q["sql"] or '"portal_oauth_handofflink"' in q["sql"])
        and '"onboarding_run"' not in q["sql"]
    ]
    assert own == []
    assert 'id="repair"' in html


@pytest.mark.parametrize("with_link", [False, True])
@pytest.mark.parametrize("with_repair", [False, True])
def test_the_setup_pages_run_query_reads_what_the_orm_reads(hdp_log, with_link, with_repair):
    """``_setup_run`` writes its one query in plain SQL: every field of the run, the open repair's
    cause and the link flag must be what the ORM reads, and another person's run is not found."""
    from portal.connections.models import Repair
    from portal.connections.views.setup import _setup_run
    from portal.oauth.handoff import latest
    from portal.oauth.models import HandoffLink
    from tests.helpers.api import make_setup, sign_in

    acme, globex = sign_in("acme_admin"), sign_in("globex_admin")
    run = make_setup(acme)
    if with_repair:
        now = timezone.now()
        Repair.objects.create(
            run=run, cause=Cause.PROFILE_MISSING, started_at=now - timedelta(minutes=2), finished_at=now
        )
        Repair.objects.create(run=run, cause=Cause.APP_MISSING, started_at=now)  # the open one
    if with_link:
        HandoffLink.objects.create(
            token_hash="1" * 64, run=run, tenant_id=run.tenant_id, purpose="repair", created_by=acme,
            expires_at=timezone.now() + timedelta(hours=1), start={}, shown={},
        )  # fmt: skip
    fetched = _setup_run(run.pk, acme)
    assert fetched is not None
    orm = Run.objects.get(pk=run.pk)
    assert {f.attname: getattr(fetched, f.attname) for f in Run._meta.concrete_fields} == {
        f.attname: getattr(orm, f.attname) for f in Run._meta.concrete_fields
    }
    assert fetched.open_repair_cause == (Cause.APP_MISSING.value if with_repair else None)
    assert fetched.has_handoff_link_reconnect_repair is with_link
    assert (latest(fetched) is not None) is with_link
    assert _setup_run(run.pk, globex) is None
