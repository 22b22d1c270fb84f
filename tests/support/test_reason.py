from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from portal.audit.models import AuditEntry
from portal.support import access
from tests.helpers.support import state_reason


@pytest.mark.parametrize("url", [reverse("support:tenants"), reverse("support:tenant", args=[71])])
def test_without_a_reason_staff_get_the_reason_form_and_hdp_is_not_called(staff_no_reason, hdp_log, url):
    response = staff_no_reason.get(url)
    assert response.status_code == 303
    location = urlsplit(response["Location"])
    assert location.path == reverse("support:reason") and not location.netloc
    assert parse_qs(location.query)["next"] == [url]
    form = staff_no_reason.get(response["Location"])
    html = form.content.decode()
    assert 'name="reason"' in html and f'value="{url}"' in html
    assert '<label for="id_reason">' in html
    assert hdp_log == []
    assert not AuditEntry.objects.filter(action="support.view_tenants").exists()


def test_without_a_reason_the_test_action_makes_no_hdp_call(staff_no_reason, hdp_log):
    response = staff_no_reason.post(reverse("support:test-datasource", args=[71, 1]))
    assert response.status_code == 303
    assert urlsplit(response["Location"]).path == reverse("support:reason")
    assert hdp_log == []
    assert not AuditEntry.objects.filter(action="support.test_datasource").exists()


@pytest.mark.parametrize("text", ["", "abcd", "   ab   ", "x" * 301])
def test_a_reason_must_be_5_to_300_characters(staff_no_reason, hdp_log, text):
    response = staff_no_reason.post(reverse("support:reason"), {"reason": text})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert access.REASON_SESSION_KEY not in staff_no_reason.session
    assert not AuditEntry.objects.filter(action="support.reason").exists()


def test_opening_the_reason_form_is_audited(staff_no_reason, hdp_log):
    staff_no_reason.get(reverse("support:reason"))
    entry = AuditEntry.objects.get(action="support.reason_form")
    assert entry.actor == "support" and entry.detail["reason"] == ""


def test_the_reason_is_kept_in_the_session_and_audited(staff_no_reason, hdp_log):
    target = reverse("support:tenant", args=[72])
    response = staff_no_reason.post(reverse("support:reason"), {"reason": "  SUP-981  ", "next": target})
    assert response.status_code == 303 and response["Location"] == target
    assert staff_no_reason.session[access.REASON_SESSION_KEY]["text"] == "SUP-981"
    entry = AuditEntry.objects.get(action="support.reason")
    assert entry.actor == "support" and entry.detail["reason"] == "SUP-981"
    page = staff_no_reason.get(target)
    assert page.status_code == 200
    assert "SUP-981" in page.content.decode()  # shown back to the staff member
    assert AuditEntry.objects.get(action="support.view_tenant").detail["reason"] == "SUP-981"


def test_the_reason_lapses_after_an_hour(staff_no_reason, hdp_log):
    state_reason(staff_no_reason, "SUP-1 hour test")
    start = timezone.now()
    # Requests every 25 minutes keep the (idle-timeout) session alive; the reason still lapses.
    for minutes in (25, 50, 59):
        with freeze_time(start + timedelta(minutes=minutes)):
            assert staff_no_reason.get(reverse("support:tenants")).status_code == 200
    with freeze_time(start + timedelta(minutes=61)):
        response = staff_no_reason.get(reverse("support:tenants"))
    assert response.status_code == 303
    assert urlsplit(response["Location"]).path == reverse("support:reason")


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/support/",
        "//evil.example/support/",
        "/accounts/logout/",
        "/support\\@evil.example",
        "/support/../accounts/logout/",
        "/support/tenants/71/datasources/1/test/",
        "/support/nowhere/",
    ],
)
def test_next_only_leads_back_into_the_support_console(staff_no_reason, hdp_log, target):
    response = staff_no_reason.post(reverse("support:reason"), {"reason": "SUP-42 check", "next": target})
    assert response.status_code == 303
    assert response["Location"] == reverse("support:tenants")
