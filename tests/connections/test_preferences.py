"""The notifications page: a person turns their e-mails on or off (no JavaScript needed)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from portal.accounts.models import User
from portal.connections.models import NotificationPreference

URL = "/connections/notifications/"


@pytest.fixture
def person(db):
    return User.objects.create(username="acme_admin", hdp_tenant_id=71, email="ada@acme.example")


def test_the_url_is_the_one_the_emails_link_to():
    assert reverse("connections:notifications") == URL


def test_signed_out_people_are_sent_to_sign_in(db, client):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_emails_are_on_by_default_with_the_account_address(person, client):
    client.force_login(person)
    response = client.get(URL)
    assert response.status_code == 200
    assert b'name="email_enabled"' in response.content and b"checked" in response.content
    assert b'value="ada@acme.example"' in response.content


def test_turning_emails_off_is_saved(person, client):
    client.force_login(person)
    response = client.post(URL, {"email": "ada@acme.example"})  # an unticked box is not sent
    assert response.status_code == 302
    pref = NotificationPreference.objects.get(user=person)
    assert pref.email_enabled is False
    client.post(URL, {"email_enabled": "on", "email": "ops@acme.example"})
    pref.refresh_from_db()
    assert pref.email_enabled and pref.email == "ops@acme.example"


def test_a_bad_address_is_refused_in_plain_words(person, client):
    client.force_login(person)
    response = client.post(URL, {"email_enabled": "on", "email": "not an address"})
    assert response.status_code == 400 and b"valid email address" in response.content
    assert not NotificationPreference.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(person):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(person)
    assert browser.post(URL, {"email": ""}).status_code == 403
    assert not NotificationPreference.objects.exists()
