"""seed_provider and the seed_sandbox command are idempotent and leave a working client."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.contrib.auth import hashers
from django.core.management import call_command
from oauth2_provider.models import Application

from portal.sandbox.provider import seed
from tests.helpers.sandbox import PASSWORDS, PROVIDER_PASSWORD
from tests.helpers.sandbox_provider import REDIRECT_URI


def test_seed_creates_the_account_and_a_confidential_code_client(db):
    app = seed.seed_provider([REDIRECT_URI])
    account = seed.seed_account()
    assert account.is_sandbox_provider_account and account.is_active and not account.is_staff
    assert hashers.check_password(seed.ACCOUNT_PASSWORD, account.password)
    assert app.client_id == settings.SANDBOX_PROVIDER_CLIENT_ID
    assert app.client_type == Application.CLIENT_CONFIDENTIAL
    assert app.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert app.algorithm == Application.RS256_ALGORITHM  # OpenID Connect id_tokens (keys.py)
    assert app.skip_authorization is False
    # Stored hashed, and the documented secret still matches.
    assert app.client_secret != settings.SANDBOX_PROVIDER_CLIENT_SECRET
    assert hashers.check_password(settings.SANDBOX_PROVIDER_CLIENT_SECRET, app.client_secret)


def test_seed_is_idempotent_and_merges_redirect_uris(db, django_user_model):
    seed.seed_provider([REDIRECT_URI])
    first_hash = Application.objects.get().client_secret
    seed.seed_provider()
    seed.seed_provider(["https://b.example/cb", REDIRECT_URI, "https://b.example/cb"])
    assert Application.objects.count() == 1
    assert django_user_model.objects.filter(is_sandbox_provider_account=True).count() == len(
        seed.ACCOUNTS
    )  # sandbox_person, sandbox_owner
    app = Application.objects.get()
    assert app.redirect_uris.split() == [REDIRECT_URI, "https://b.example/cb"]
    assert app.client_secret == first_hash  # not rewritten when it still matches


def test_seed_repairs_a_changed_secret_and_password(db, django_user_model):
    seed.seed_provider()
    Application.objects.update(client_secret=hashers.make_password("something-else"))
    django_user_model.objects.filter(username=seed.ACCOUNT_USERNAME).update(
        password=hashers.make_password("x"), is_active=False
    )
    seed.seed_provider()
    assert hashers.check_password(
        settings.SANDBOX_PROVIDER_CLIENT_SECRET, Application.objects.get().client_secret
    )
    account = django_user_model.objects.get(username=seed.ACCOUNT_USERNAME)
    assert account.is_active and hashers.check_password(seed.ACCOUNT_PASSWORD, account.password)


def test_seed_never_turns_a_portal_person_into_a_provider_account(db, django_user_model):
    django_user_model.objects.create(username=seed.ACCOUNT_USERNAME)
    with pytest.raises(seed.SeedError):
        seed.seed_provider()
    assert not django_user_model.objects.get(username=seed.ACCOUNT_USERNAME).is_sandbox_provider_account


def test_seed_sandbox_command_seeds_both_sandboxes_and_prints_the_sign_ins(db):
    out = io.StringIO()
    call_command("seed_sandbox", stdout=out)
    call_command("seed_sandbox", stdout=io.StringIO())  # idempotent

    callback = settings.PORTAL_BASE_URL + "/oauth/callback/Sandbox_app/"
    assert Application.objects.get().redirect_uris.split() == [callback]

    from portal.sandbox.hdp.models import HdpUser

    assert HdpUser.objects.filter(user_name__iexact="acme_admin").count() == 1

    text = out.getvalue()
    for name, password in [
        ("d2cadmin", PASSWORDS["d2cadmin"]),
        ("acme_admin", PASSWORDS["acme_admin"]),
        ("globex_admin", PASSWORDS["globex_admin"]),
        ("acme_user", PASSWORDS["acme_user"]),
        ("sandbox_person", PROVIDER_PASSWORD),
    ]:
        assert name in text and password in text
    assert settings.PORTAL_BASE_URL + "/" in text
    assert callback in text


def test_seed_sandbox_command_registers_extra_app_names(db):
    call_command("seed_sandbox", "--app-name", "Other_app", stdout=io.StringIO())
    uris = Application.objects.get().redirect_uris.split()
    assert settings.PORTAL_BASE_URL + "/oauth/callback/Other_app/" in uris
    assert settings.PORTAL_BASE_URL + "/oauth/callback/Sandbox_app/" in uris
