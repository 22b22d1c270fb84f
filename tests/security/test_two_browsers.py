"""SECURITY.md item 35: signing in on a second browser leaves the first signed in (its pending
consent included); the person's HDP account is re-checked periodically instead, so a removed
account or a changed password still ends every session at the next check."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.accounts import recheck
from portal.accounts.models import User
from portal.oauth import flows
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import Run
from portal.sandbox.hdp.models import HdpUser
from portal.sandbox.provider.seed import seed_provider
from tests.helpers.sandbox_provider import sign_in_and_consent
from tests.helpers.wizard import create_app, sign_in, start_run


def _signed_in(client) -> bool:
    return client.get(reverse("onboarding:runs")).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_second_browser_keeps_the_first_signed_in_and_its_consent_finishes(live_server, settings, hdp_log):
    settings.PORTAL_BASE_URL = live_server.url
    seed_provider([flows.redirect_uri_for("Acme_GA_app")])
    sandbox = {"authorize_uri": f"{live_server.url}/sandbox/oauth/authorize/",
               "token_uri": f"{live_server.url}/sandbox/oauth/token/"}  # fmt: skip
    first, second = Client(), Client()
    assert sign_in(first).status_code == 302
    run = start_run(first)
    assert create_app(first, run, **sandbox).status_code == 303
    start = first.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert start.status_code == 303
    url = urlsplit(start["Location"])
    # The same person signs in on a second browser while the consent is pending in the first.
    assert sign_in(second).status_code == 302
    assert _signed_in(first) and _signed_in(second)
    callback = urlsplit(sign_in_and_consent(first, url.path + "?" + url.query))  # provider login + consent
    response = first.get(callback.path + "?" + callback.query)
    assert response.status_code == 303, response.content[:1000]
    assert response["Location"] == reverse("onboarding:step-profile", args=[run.pk])
    assert json.loads(Run.objects.get(pk=run.pk).unseal("tokens"))["refresh_token"]
    assert OAuthFlow.objects.get(run=run).outcome == OAuthFlow.Outcome.SUCCEEDED
    assert _signed_in(first) and _signed_in(second)
    # Logging out ends only the session it is sent from.
    assert second.post(reverse("accounts:logout")).status_code == 302
    assert not _signed_in(second) and _signed_in(first)


def test_signing_in_again_keeps_the_session_auth_hash(hdp_log):
    assert sign_in(Client()).status_code == 302
    first_hash = User.objects.get(username="acme_admin").get_session_auth_hash()
    assert sign_in(Client()).status_code == 302
    user = User.objects.get(username="acme_admin")
    assert user.get_session_auth_hash() == first_hash
    assert not user.has_usable_password()


def _age_the_check(client) -> None:
    session = client.session
    session[recheck.CHECKED_KEY] = (timezone.now() - timedelta(minutes=6)).timestamp()
    session.save()


def _hdp_user_calls(hdp_log) -> list[str]:
    return [str(r.url) for r in hdp_log if "/api/admin/users/" in r.url.path]


def test_the_account_is_rechecked_at_most_once_per_period(acme, hdp_log, settings):
    assert settings.HDP_RECHECK_SECONDS == 300
    for _ in range(3):
        assert _signed_in(acme)
    assert _hdp_user_calls(hdp_log) == []  # checked at sign-in, not again within five minutes
    _age_the_check(acme)
    assert _signed_in(acme) and _signed_in(acme)
    calls = _hdp_user_calls(hdp_log)
    assert len(calls) == 1 and calls[0].endswith("?details=true")  # one call, service account
    assert hdp_log[-1].headers["Authorization"] == hdp_log[0].headers["Authorization"]


def test_an_account_removed_in_hdp_ends_every_session_at_the_next_check(acme, hdp_log, caplog):
    caplog.set_level(logging.WARNING, logger="portal.security")
    other = Client()
    assert sign_in(other).status_code == 302
    HdpUser.objects.filter(user_name="acme_admin").delete()
    assert _signed_in(acme)  # not yet: the next check is due in five minutes
    for client in (acme, other):
        _age_the_check(client)
        response = client.get(reverse("onboarding:runs"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
        assert "_auth_user_id" not in client.session
    events = [r.getMessage() for r in caplog.records if "session_ended_by_hdp_recheck" in r.getMessage()]
    assert len(events) == 2 and '"reason": "removed"' in events[0]


def test_a_password_change_in_hdp_ends_the_older_sessions(acme, hdp_log):
    hdp_user = HdpUser.objects.get(user_name="acme_admin")
    # HDP moves passwordExpiration when the password changes (a new expiry period starts).
    hdp_user.password_expiration = timezone.now() + timedelta(days=90)
    hdp_user.save()
    _age_the_check(acme)
    page = acme.get(reverse("onboarding:runs"), follow=True)
    assert page.redirect_chain and page.redirect_chain[0][0].startswith(reverse("accounts:login"))
    assert "You were signed out because your HDP account changed" in page.content.decode()
    # A session signed in after the change is fine.
    fresh = Client()
    assert sign_in(fresh).status_code == 302
    _age_the_check(fresh)
    assert _signed_in(fresh)


def test_htmx_requests_are_sent_to_the_sign_in_page(acme, hdp_log):
    HdpUser.objects.filter(user_name="acme_admin").delete()
    _age_the_check(acme)
    response = acme.get(reverse("onboarding:runs"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("accounts:login")


def test_hdp_down_at_the_check_keeps_the_session_and_retries_soon(acme, hdp_log):
    from portal.sandbox.hdp import faults

    faults.arm("GET", r"^/api/admin/users/\d+$", "status", status=503, times=10)
    _age_the_check(acme)
    assert _signed_in(acme)
    checked = acme.session[recheck.CHECKED_KEY]
    assert timezone.now().timestamp() - 300 + 50 < checked < timezone.now().timestamp()  # due in a minute


def test_why_ended_reads_hdp_status(db):
    from portal.hdp.schemas import HdpUserAccount

    user = User(username="acme_admin", hdp_user_id=4)
    ok = HdpUserAccount.model_validate(
        {"id": 4, "userName": "ACME_admin", "statusInfo": {"status": 1, "accountLocked": False},
         "passwordInfo": {"passwordExpiration": "2027-01-01 00:00:00.0"}}
    )  # fmt: skip
    assert recheck.why_ended(ok, user, "2027-01-01 00:00:00.0") is None
    assert recheck.why_ended(ok, user, "") is None  # HDP without password expiry: nothing to compare
    locked = ok.model_copy(update={"status_info": {"status": 1, "accountLocked": True}})
    assert recheck.why_ended(locked, user, "") == "disabled"
    disabled = ok.model_copy(update={"status_info": {"status": 0}})
    assert recheck.why_ended(disabled, user, "") == "disabled"
    renamed = ok.model_copy(update={"user_name": "someone_else"})
    assert recheck.why_ended(renamed, user, "") == "renamed"
    assert recheck.why_ended(ok, user, "2026-01-01 00:00:00.0") == "password_changed"
