"""Issue 22 item 1: at every consent the token answer's lifetimes, its Date header and the time are kept
on the run (``Run.signin_facts``), never a token; faked at the HTTP boundary (responses)."""

from __future__ import annotations

import json
from unittest.mock import patch

import pytest
from django.db import connection
from django.urls import reverse

from portal.oauth import client
from portal.onboarding.models import Run
from tests.helpers.oauth import ACCESS, CONFIG_X, REFRESH, SECRET, start_flow, token_json

CODE = "sentinel-auth-code-22aa"
DATE = "Tue, 01 Dec 2026 09:00:00 GMT"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def secret_lookup():
    with patch("portal.oauth.callback.client_secret_for", return_value=SECRET) as mock:
        yield mock


def _consent(signed_in, user, run, mocked, **answer):
    mocked.post(CONFIG_X["token_uri"], json=token_json(**answer), headers={"Date": DATE})
    _, state, _ = start_flow(signed_in, user, run)
    response = signed_in.get(
        reverse("oauth:callback", args=[CONFIG_X["app_name"]]) + f"?code={CODE}&state={state}"
    )
    assert response.status_code == 303
    run.refresh_from_db()
    return run


def test_the_consent_keeps_what_the_answer_said_of_lifetimes(signed_in, user, run, mocked):
    run = _consent(signed_in, user, run, mocked, refresh_token_expires_in=7776000)
    facts = run.signin_facts
    assert facts["refresh_token_expires_in"] == 7776000
    assert facts["expires_in"] == 3600
    assert facts["date"] == DATE
    assert facts["at"] == run.consented_at.isoformat()
    assert facts["purpose"] == "consent" and facts["replaced"] is False


def test_no_lifetime_in_the_answer_is_kept_as_none(signed_in, user, run, mocked):
    run = _consent(signed_in, user, run, mocked)
    assert run.signin_facts["refresh_token_expires_in"] is None


def test_an_odd_lifetime_is_kept_as_sent_short(signed_in, user, run, mocked):
    run = _consent(signed_in, user, run, mocked, refresh_token_expires_in="x" * 500)
    assert run.signin_facts["refresh_token_expires_in"] == "x" * 40


def test_the_facts_never_hold_a_token(signed_in, user, run, mocked):
    run = _consent(signed_in, user, run, mocked, refresh_token_expires_in=600)
    dumped = json.dumps(run.signin_facts)
    for secret in (ACCESS, REFRESH, SECRET, CODE):
        assert secret not in dumped
    with connection.cursor() as cursor:
        cursor.execute("SELECT signin_facts FROM onboarding_run")
        stored = repr(cursor.fetchall())
    for secret in (ACCESS, REFRESH, SECRET, CODE):
        assert secret not in stored


def test_a_reconnect_records_that_a_refresh_token_was_replaced(run):
    run.record_consent(
        "{}", scope="", expires_at=None, purpose="reconnect", lifetime={"refresh_token_expires_in": 60}
    )
    run.refresh_from_db()
    assert run.signin_facts["replaced"] is True and run.signin_facts["purpose"] == "reconnect"


def test_forgetting_the_consent_forgets_its_facts(run):
    run.record_consent("{}", scope="", expires_at=None, lifetime={"refresh_token_expires_in": 60})
    run.forget_consent()
    assert Run.objects.get(pk=run.pk).signin_facts == {}


@pytest.mark.parametrize(
    ("sent", "kept"),
    [(600, 600), (1.5, 1.5), ("600", "600"), (True, "True"), (None, None), ({"a": 1}, "{'a': 1}")],
)
def test_lifetime_facts_keep_numbers_and_short_text(sent, kept):
    assert client.lifetime_facts({"refresh_token_expires_in": sent}, DATE)["refresh_token_expires_in"] == kept
