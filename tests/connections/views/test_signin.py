"""Issue 22 items 2, 3, 5: the setup page and My setups show the sign-in's expected end with its basis
(<details>, no JavaScript needed), and the rule can be changed on the setup page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.audit.models import AuditEntry
from portal.onboarding.models import Run
from tests.helpers.refreshing_provider import patch_provider
from tests.helpers.wizard import run_at_verify


@pytest.fixture
def signed_in_setup(acme, hdp_log, monkeypatch):
    patch_provider(monkeypatch)
    run = run_at_verify(acme)
    assert run.status == Run.Status.COMPLETED
    return run


def page(client, run) -> str:
    response = client.get(reverse("connections:setup", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


def said(run: Run, seconds) -> Run:
    assert run.consented_at is not None
    run.signin_facts = {
        **run.signin_facts,
        "refresh_token_expires_in": seconds,
        "at": run.consented_at.isoformat(),
    }
    run.save(update_fields=["signin_facts"])
    return run


def test_the_setup_page_shows_the_end_the_provider_said(acme, signed_in_setup):
    said(signed_in_setup, 600)
    html = page(acme, signed_in_setup)
    assert '<section id="signin"' in html
    assert "Sign-in valid until" in html and "(1 day)" in html
    assert '<details class="signin-basis">' in html
    assert "the sandbox provider said 10 minutes at the sign-in of" in html
    assert "replaces the refresh token each time it is used" in html  # the sandbox rotates


def test_my_setups_shows_the_same_line_and_basis(acme, signed_in_setup):
    said(signed_in_setup, 600)
    html = acme.get(reverse("onboarding:runs")).content.decode()
    assert "Sign-in valid until" in html
    assert "the sandbox provider said 10 minutes" in html


def test_no_answer_and_no_rule_is_no_known_end(acme, signed_in_setup):
    said(signed_in_setup, None)
    assert "No known end" in page(acme, signed_in_setup)
    assert "No known end" in acme.get(reverse("onboarding:runs")).content.decode()


def test_a_bad_answer_is_no_known_end_with_its_note_on_the_page(acme, signed_in_setup):
    said(signed_in_setup, -30)
    html = page(acme, signed_in_setup)
    assert "No known end" in html
    assert "refresh_token_expires_in = -30, which is not a lifetime" in html


@pytest.fixture
def google_setup(signed_in_setup):
    Run.objects.filter(pk=signed_in_setup.pk).update(preset="google_analytics")
    signed_in_setup.refresh_from_db()
    return said(signed_in_setup, None)


def test_the_rule_is_changed_on_the_setup_page(acme, google_setup):
    html = page(acme, google_setup)
    assert "Is the app published, or still in Testing?" in html
    assert reverse("connections:signin-rule", args=[google_setup.pk]) in html
    response = acme.post(
        reverse("connections:signin-rule", args=[google_setup.pk]), {"signin_rule": "google_testing"}
    )
    assert response.status_code == 303
    assert response["Location"].endswith("#signin")
    google_setup.refresh_from_db()
    assert google_setup.signin_rule == "google_testing"
    html = page(acme, google_setup)
    assert "7 days after the sign-in of" in html
    assert "(7 days)" in html or "(6 days)" in html
    assert "The sign-in lifetime rule was saved" in html
    entry = AuditEntry.objects.get(action="connection.signin_rule_changed")
    assert entry.run_id == google_setup.pk


def test_a_refused_rule_changes_nothing_and_says_why(acme, signed_in_setup):
    Run.objects.filter(pk=signed_in_setup.pk).update(preset="snowflake")
    response = acme.post(
        reverse("connections:signin-rule", args=[signed_in_setup.pk]),
        {"signin_rule_days": "365"},
        follow=True,
    )
    assert "enter between 1 and 90 days" in response.content.decode()
    signed_in_setup.refresh_from_db()
    assert signed_in_setup.signin_rule_days is None


def test_someone_elses_setup_rule_cannot_be_changed(globex, signed_in_setup):
    response = globex.post(
        reverse("connections:signin-rule", args=[signed_in_setup.pk]), {"signin_rule": "none"}
    )
    assert response.status_code == 404
    signed_in_setup.refresh_from_db()
    assert signed_in_setup.signin_rule == ""


def test_the_sandbox_has_no_rule_to_change(acme, signed_in_setup):
    response = acme.post(reverse("connections:signin-rule", args=[signed_in_setup.pk]), {}, follow=True)
    assert "There is nothing to choose for this provider." in response.content.decode()
