"""The notifications page and a setup's check history name the configured check interval
(HEALTH_CHECK_INTERVAL, the setting that schedules the background checks), in the reader's language:
not "once a day" and "Daily check" when the checks run every two minutes (issue 18 item 6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause, State
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.completed_setup import completed_setup, sign_in, use_emulator


@pytest.fixture
def admin(client, settings, db):
    use_emulator(settings)  # signing in asks HDP who the person is
    seed_demo()
    sign_in(client)
    return client


@pytest.mark.parametrize(
    ("seconds", "en", "de", "fr"),
    [
        (120, "every 2 minutes", "alle 2 Minuten", "toutes les 2 minutes"),
        (86400, "once a day", "einmal am Tag", "une fois par jour"),
        (6 * 3600, "every 6 hours", "alle 6 Stunden", "toutes les 6 heures"),
    ],
)
def test_the_notifications_page_says_how_often_the_checks_run(admin, settings, seconds, en, de, fr):
    settings.HEALTH_CHECK_INTERVAL = seconds
    url = reverse("connections:notifications")
    assert f"The portal checks each connection you set up {en}." in admin.get(url).content.decode()
    assert f"haben, {de}." in admin.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert f"configurée {fr}." in admin.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode().replace(
        "&#x27;", "'"
    )


def test_the_check_history_names_a_scheduled_check_by_the_configured_interval(admin, settings):
    settings.HEALTH_CHECK_INTERVAL = 120  # make run
    run = completed_setup(use_emulator(settings), "Acme_Nt")
    now = timezone.now()
    ConnectionCheck.objects.create(
        run=run,
        trigger=ConnectionCheck.Trigger.SCHEDULED,
        started_at=now - timedelta(seconds=5),
        expires_at=now + timedelta(minutes=5),
        finished_at=now,
        state=State.WORKING,
        cause=Cause.TEST_PASSED,
    )
    page = admin.get(reverse("connections:setup", args=[run.pk])).content.decode()
    assert "Scheduled check (every 2 minutes)" in page and "Daily check" not in page
    german = admin.get(
        reverse("connections:setup", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()
    assert "Geplante Prüfung (alle 2 Minuten)" in german
