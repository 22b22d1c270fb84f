"""Idle expiry without a session write on every request (portal.lib.middleware.SessionIdleRefreshMiddleware)."""

from __future__ import annotations

from unittest import mock

from django.contrib.sessions.models import Session
from django.urls import reverse

from tests.helpers.sandbox import PASSWORDS
from tests.helpers.wizard import sign_in


def _expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_requests_inside_the_refresh_window_do_not_rewrite_the_session(client, hdp_log):
    sign_in(client, "ACME_Admin", PASSWORDS["acme_admin"])
    first = _expiry(client)
    client.get(reverse("onboarding:runs"))
    assert _expiry(client) == first


def test_a_request_after_the_window_pushes_the_idle_expiry_forward(client, hdp_log, settings):
    sign_in(client, "ACME_Admin", PASSWORDS["acme_admin"])
    first = _expiry(client)
    later = __import__("time").time() + settings.SESSION_REFRESH_SECONDS + 5
    with mock.patch("portal.lib.middleware.time.time", return_value=later):
        client.get(reverse("onboarding:runs"))
    assert _expiry(client) > first
    assert settings.SESSION_COOKIE_AGE == 30 * 60


def test_sandbox_client_secret_is_hashed_at_the_sandbox_cost(db, settings):
    from django.contrib.auth import hashers

    from portal.accounts.models import User
    from portal.sandbox.hdp import passwords
    from portal.sandbox.provider import seed

    # Django's default hashers, as in production (the suite hashes with MD5: tests/conftest.py).
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    app = seed.seed_provider([])
    decoded = hashers.identify_hasher(app.client_secret).decode(app.client_secret)
    assert decoded["iterations"] == passwords.SANDBOX_ITERATIONS
    assert hashers.check_password("sandbox-portal-secret", app.client_secret)
    # The sandbox provider's people (published demo passwords) too, and a second seed keeps the hash.
    for spec in seed.ACCOUNTS:
        account = User.objects.get(username=spec.username)
        assert hashers.identify_hasher(account.password).decode(account.password)["iterations"] == (
            passwords.SANDBOX_ITERATIONS
        )
        assert hashers.check_password(spec.password, account.password)
    before = list(User.objects.filter(is_sandbox_provider_account=True).values_list("password", flat=True))
    seed.seed_provider([])
    assert (
        list(User.objects.filter(is_sandbox_provider_account=True).values_list("password", flat=True))
        == before
    )
