"""The sandbox provider's own sign-in: provider accounts only, safe next, separate from the portal."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY

from portal.sandbox.provider import seed
from portal.sandbox.provider.views import SESSION_KEY
from tests.helpers.sandbox_provider import sign_in

LOGIN = "/sandbox/provider/login/"


def test_login_page_has_labelled_fields_and_branding(client, provider_app):
    response = client.get(LOGIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_username">' in html and '<label for="id_password">' in html
    assert "Sandbox OAuth provider — not a real provider" in html


def test_good_password_signs_in_and_follows_a_local_next(client, provider_app):
    response = sign_in(client, next_url="/sandbox/oauth/authorize/?client_id=x")
    assert response.status_code == 303
    assert response["Location"] == "/sandbox/oauth/authorize/?client_id=x"
    assert client.session[SESSION_KEY] == seed.seed_account().pk
    # The provider sign-in is not a Django (portal) sign-in.
    assert AUTH_SESSION_KEY not in client.session


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/x", "http://testserver.evil.example/", "javascript:alert(1)"],
)
def test_an_off_site_next_is_refused(client, provider_app, next_url):
    response = sign_in(client, next_url=next_url)
    assert response.status_code == 303
    assert response["Location"] == "/sandbox/provider/"


def test_wrong_password_is_refused(client, provider_app):
    response = sign_in(client, password="wrong")
    assert response.status_code == 400
    assert "do not match a sandbox provider account" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_a_portal_person_cannot_sign_in_to_the_provider(client, provider_app, django_user_model):
    person = django_user_model(username="acme_admin")
    person.set_password("their-password")
    person.save()
    response = sign_in(client, username="acme_admin", password="their-password")
    assert response.status_code == 400
    assert SESSION_KEY not in client.session


def test_a_deactivated_provider_account_cannot_sign_in(client, provider_app):
    seed.seed_account()
    type(seed.seed_account()).objects.filter(username=seed.ACCOUNT_USERNAME).update(is_active=False)
    assert sign_in(client).status_code == 400


def test_logout_ends_the_provider_sign_in_and_keeps_the_portal_one(client, provider_app, portal_user):
    client.force_login(portal_user)
    sign_in(client)
    assert SESSION_KEY in client.session

    response = client.post("/sandbox/provider/logout/")
    assert response.status_code == 303
    assert response["Location"] == LOGIN
    assert SESSION_KEY not in client.session
    assert client.session[AUTH_SESSION_KEY] == str(portal_user.pk)


def test_logout_is_post_only(client, provider_app):
    sign_in(client)
    assert client.get("/sandbox/provider/logout/").status_code == 405
    assert SESSION_KEY in client.session
