from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from portal.accounts.backends import HdpBackend
from portal.sandbox.hdp import faults
from tests.helpers.sandbox import PASSWORDS
from tests.helpers.wizard import sign_in

User = get_user_model()


def test_login_page_has_labelled_fields_and_no_password_value(client, hdp_log):
    response = client.get(reverse("accounts:login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html
    assert 'autocomplete="current-password"' in html
    assert hdp_log == []  # rendering the page never calls HDP


def test_it_signs_in_with_hdp_and_keeps_a_snapshot(client, hdp_log):
    client.get(reverse("accounts:login"))
    before = client.session.session_key
    response = sign_in(client, "ACME_Admin", PASSWORDS["acme_admin"])
    assert response.status_code == 302
    assert response["Location"] == reverse("onboarding:runs")
    user = User.objects.get(username="acme_admin")
    assert user.hdp_tenant_id == 71
    assert user.hdp_tenant_name == "Acme"
    assert user.hdp_tenants_administered == [{"id": 71, "name": "Acme"}]
    assert 28 in user.hdp_permissions
    assert not user.has_usable_password()
    assert client.session.session_key != before  # login() cycled the key
    # The password was checked with the person's own account, once.
    me_calls = [r for r in hdp_log if r.url.path.endswith("/api/mgmt/user")]
    assert len(me_calls) == 1


def test_wrong_password_is_refused_without_echoing_it(client, hdp_log, caplog):
    caplog.set_level(logging.DEBUG)
    response = sign_in(client, "acme_admin", "not-the-password-sentinel")
    html = response.content.decode()
    assert response.status_code == 401
    assert "did not match" in html
    assert "not-the-password-sentinel" not in html
    assert "not-the-password-sentinel" not in caplog.text
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(username="acme_admin").exists()


def test_hdp_down_says_which_host_and_keeps_the_password_out(client, hdp_log, caplog):
    caplog.set_level(logging.DEBUG)
    faults.arm("GET", r"^/api/mgmt/user$", "status", status=503, times=5)
    response = sign_in(client, "acme_admin", PASSWORDS["acme_admin"])
    html = response.content.decode()
    assert response.status_code == 503
    assert "HDP at hdp.test can" in html and "reached right now; try again in a minute" in html
    assert PASSWORDS["acme_admin"] not in html
    assert PASSWORDS["acme_admin"] not in caplog.text


def test_person_without_onboarding_permissions_is_told_which(client, hdp_log):
    assert sign_in(client, "acme_user").status_code == 302
    runs = client.get(reverse("onboarding:runs")).content.decode()
    assert "<strong>OAuth</strong>" in runs
    assert "Start a new setup" not in runs
    response = client.get(reverse("onboarding:new"))
    assert response.status_code == 403
    assert "<strong>OAuth</strong>" in response.content.decode()
    response = client.post(reverse("onboarding:new"), {"datastore": "54", "provider": "sandbox"})
    assert response.status_code == 403
    from portal.onboarding.models import Run

    assert not Run.objects.exists()


def test_logout_is_post_only(client, hdp_log):
    sign_in(client)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_pages_need_sign_in(client, hdp_log):
    response = client.get(reverse("onboarding:runs"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_next_never_leaves_the_site(client, hdp_log):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        c = Client()
        response = c.post(
            reverse("accounts:login"),
            {"username": "acme_admin", "password": PASSWORDS["acme_admin"], "next": target},
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("onboarding:runs"), target


def test_sandbox_provider_accounts_never_get_a_session(db):
    person = User.objects.create(username="sandbox_person", is_sandbox_provider_account=True)
    normal = User.objects.create(username="someone")
    assert HdpBackend().get_user(person.pk) is None
    assert HdpBackend().get_user(normal.pk) == normal


def test_sandbox_provider_account_name_cannot_sign_in(client, hdp_log):
    User.objects.create(username="acme_admin", is_sandbox_provider_account=True)
    response = sign_in(client)
    assert response.status_code == 401
    assert "_auth_user_id" not in client.session
