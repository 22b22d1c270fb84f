"""SECURITY.md item 19: the wizard's own security events, one structured line each, no values."""

from __future__ import annotations

import json
import logging

from django.urls import reverse

from tests.helpers.wizard import create_app, start_run


def _events(caplog, name):
    found = []
    for record in caplog.records:
        if record.name == "portal.security" and record.getMessage().startswith("security "):
            payload = json.loads(record.getMessage().split(" ", 1)[1])
            if payload["event"] == name:
                found.append(payload)
    return found


def test_opening_another_persons_run_is_one_event(acme, globex, hdp_log, caplog):
    caplog.set_level(logging.WARNING, logger="portal.security")
    run = start_run(acme, "54:sandbox")
    hdp_log.clear()
    response = globex.get(reverse("onboarding:step-app", args=[run.pk]))
    assert response.status_code == 404
    events = _events(caplog, "run_access_denied")
    assert len(events) == 1
    assert events[0]["exists"] is True and events[0]["user"] == "globex_admin"
    assert hdp_log == []  # refused before any HDP call


def test_a_refused_provider_address_is_one_event_without_the_address(acme, hdp_log, caplog):
    caplog.set_level(logging.WARNING, logger="portal.security")
    run = start_run(acme, "54:custom")
    response = create_app(acme, run, token_uri="https://169.254.169.254/latest/meta-data")
    assert response.status_code == 200
    events = _events(caplog, "provider_uri_refused")
    assert len(events) == 1
    assert events[0]["fields"] == "token_uri"
    assert "169.254" not in json.dumps(events[0])
