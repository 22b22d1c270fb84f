"""SECURITY.md item 34: failed sign-ins are throttled per user name, per client address and in
total, before HDP is asked; the wait is shown; nothing tells whether the user name exists."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from portal.accounts import throttle
from portal.ratelimit.models import RateCounter
from tests.helpers.sandbox import PASSWORDS
from tests.helpers.wizard import sign_in

WRONG = "wrong-password-sentinel"


def _events(caplog, name: str) -> list[dict]:
    found = []
    for record in caplog.records:
        if record.name == "portal.security" and f'"event": "{name}"' in record.getMessage():
            found.append(json.loads(record.getMessage().split(" ", 1)[1]))
    return found


def test_the_shipped_defaults():
    assert django_settings.LOGIN_THROTTLE_PER_USER == 5
    assert django_settings.LOGIN_THROTTLE_WINDOW_SECONDS == 15 * 60
    assert django_settings.LOGIN_THROTTLE_BASE_SECONDS == 60
    assert django_settings.LOGIN_THROTTLE_MAX_SECONDS == 3600
    assert django_settings.LOGIN_THROTTLE_PER_CLIENT == 20
    assert django_settings.LOGIN_THROTTLE_GLOBAL == 500


def test_after_five_failures_the_right_password_is_refused_without_asking_hdp(client, hdp_log, caplog):
    caplog.set_level(logging.WARNING, logger="portal.security")
    for _ in range(5):
        assert sign_in(client, "acme_admin", WRONG).status_code == 401
    assert len([r for r in hdp_log if r.url.path.endswith("/api/mgmt/user")]) == 5
    hdp_log.clear()
    response = sign_in(client, "acme_admin")  # the right password
    html = response.content.decode()
    assert response.status_code == 429
    assert hdp_log == []  # HDP was not asked
    assert "_auth_user_id" not in client.session
    assert "Too many failed sign-ins" in html and "try again in 60 seconds" in html
    assert 55 <= int(response["Retry-After"]) <= 60
    assert WRONG not in html and PASSWORDS["acme_admin"] not in html
    # One event when the threshold was crossed, with hashed identifiers and no password.
    events = _events(caplog, "login_throttled")
    assert len(events) == 1
    assert events[0]["scope"] == "user" and events[0]["failures"] == 5 and events[0]["wait_seconds"] == 60
    assert "acme_admin" not in caplog.text and WRONG not in caplog.text


def test_an_unknown_user_name_gets_the_same_answer(hdp_log):
    answers = []
    for name in ("acme_admin", "nobody_at_all"):
        c = Client()
        for _ in range(5):
            assert sign_in(c, name, WRONG).status_code == 401
        with freeze_time(timezone.now()):
            response = sign_in(c, name, WRONG)
            answers.append((response.status_code, response["Retry-After"]))
        assert "Too many failed sign-ins" in response.content.decode()
    assert answers[0] == answers[1] == (429, "60")


def test_the_wait_doubles_with_each_further_failure_and_a_success_resets_it(client, hdp_log):
    start = timezone.now()
    with freeze_time(start) as clock:
        for _ in range(5):
            sign_in(client, "acme_admin", WRONG)
        assert sign_in(client, "acme_admin", WRONG).status_code == 429
        clock.tick(61)
        assert sign_in(client, "acme_admin", WRONG).status_code == 401  # the 6th failure...
        response = sign_in(client, "acme_admin")
        assert response.status_code == 429 and response["Retry-After"] == "120"  # ...doubles the wait
        assert "try again in 2 minutes" in response.content.decode()
        clock.tick(121)
        assert sign_in(client, "acme_admin").status_code == 302  # the right password, after the wait
    assert not RateCounter.objects.filter(key__startswith="login:user:").exists()  # reset by success
    other = Client()
    for _ in range(4):
        assert sign_in(other, "acme_admin", WRONG).status_code == 401
    assert sign_in(other, "acme_admin").status_code == 302  # a fresh count of 5


def test_failures_outside_the_window_do_not_add_up(client, hdp_log):
    with freeze_time(timezone.now()) as clock:
        for _ in range(4):
            sign_in(client, "acme_admin", WRONG)
        clock.tick(15 * 60 + 1)
        assert sign_in(client, "acme_admin", WRONG).status_code == 401
        assert sign_in(client, "acme_admin").status_code == 302


def test_one_client_guessing_many_names_is_throttled_by_address(hdp_log, settings, caplog):
    caplog.set_level(logging.WARNING, logger="portal.security")
    settings.LOGIN_THROTTLE_PER_CLIENT = 3
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for name in ("a1", "a2", "a3"):
        assert sign_in(attacker, name, WRONG).status_code == 401
    hdp_log.clear()
    assert sign_in(attacker, "acme_admin").status_code == 429
    assert hdp_log == []
    # Someone else, from another address, is not affected.
    assert sign_in(Client(REMOTE_ADDR="198.51.100.7"), "acme_admin").status_code == 302
    assert [e["scope"] for e in _events(caplog, "login_throttled")] == ["client"]


def test_the_global_ceiling_pauses_every_sign_in(hdp_log, settings):
    settings.LOGIN_THROTTLE_GLOBAL = 4
    for i in range(4):
        assert sign_in(Client(REMOTE_ADDR=f"198.51.100.{i}"), f"user{i}", WRONG).status_code == 401
    hdp_log.clear()
    assert sign_in(Client(REMOTE_ADDR="192.0.2.1"), "globex_admin").status_code == 429
    assert hdp_log == []


def test_counters_are_shared_through_the_database(hdp_log):
    for _ in range(5):
        sign_in(Client(), "acme_admin", WRONG)  # five browsers, as if on five instances
    assert RateCounter.objects.filter(key__startswith="login:user:", count=5).count() == 1
    assert sign_in(Client(), "ACME_Admin ", PASSWORDS["acme_admin"]).status_code == 429  # case, spaces


def test_hdp_being_down_is_not_a_failure(client, hdp_log):
    from portal.sandbox.hdp import faults

    faults.arm("GET", r"^/api/mgmt/user$", "status", status=503, times=30)
    for _ in range(6):
        assert sign_in(client, "acme_admin").status_code == 503
    assert throttle.blocked_until(client.get("/").wsgi_request, "acme_admin") is None


def test_trusted_proxy_hops_picks_the_address_the_proxy_saw(rf, settings):
    request = rf.post("/", HTTP_X_FORWARDED_FOR="10.0.0.1, 203.0.113.5", REMOTE_ADDR="10.0.0.2")
    assert throttle.client_address(request) == "10.0.0.2"  # default: the forwarded header is ignored
    settings.TRUSTED_PROXY_HOPS = 1
    assert throttle.client_address(request) == "203.0.113.5"
    settings.TRUSTED_PROXY_HOPS = 2
    assert throttle.client_address(request) == "10.0.0.1"


def test_a_block_ends_at_the_time_it_says(client, hdp_log):
    with freeze_time(timezone.now()) as clock:
        for _ in range(5):
            sign_in(client, "acme_admin", WRONG)
        until = throttle.blocked_until(client.get("/").wsgi_request, "acme_admin")
        assert until == timezone.now() + timedelta(seconds=60)
        html = sign_in(client, "acme_admin").content.decode()
        assert f"after {until.strftime('%H:%M:%S')} UTC" in html
        clock.tick(60)
        assert throttle.blocked_until(client.get("/").wsgi_request, "acme_admin") is None
