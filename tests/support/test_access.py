from __future__ import annotations

import json
import logging

import pytest
from django.test import Client
from django.urls import reverse

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.support import access
from portal.support.templatetags.support import is_support_staff
from tests.helpers.support import sign_in

SUPPORT_GETS = [
    reverse("support:tenants"),
    reverse("support:reason"),
    reverse("support:tenant", args=[71]),
]
TEST_URL = reverse("support:test-datasource", args=[71, 1])


def _denials(caplog) -> list[dict]:
    found = []
    for record in caplog.records:
        if record.name == "portal.security" and "support_denied" in record.getMessage():
            found.append(json.loads(record.getMessage().split(" ", 1)[1]))
    return found


@pytest.mark.parametrize("username", ["acme_admin", "acme_user", "d2cuser"])
@pytest.mark.parametrize("url", SUPPORT_GETS)
def test_non_staff_get_a_403_page_and_one_security_event(client, hdp_log, caplog, username, url):
    sign_in(client, username)
    hdp_log.clear()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        response = client.get(url)
    assert response.status_code == 403
    assert "This page is for support staff" in response.content.decode()
    events = _denials(caplog)
    assert len(events) == 1
    assert events[0]["user"] == username and events[0]["path"] == url
    assert hdp_log == []  # nothing read from HDP for them
    assert not AuditEntry.objects.filter(action__startswith="support.").exists()


@pytest.mark.parametrize("username", ["acme_admin", "acme_user"])
def test_non_staff_cannot_run_a_test_either(client, hdp_log, caplog, username):
    sign_in(client, username)
    hdp_log.clear()
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        response = client.post(TEST_URL)
    assert response.status_code == 403
    assert len(_denials(caplog)) == 1
    assert hdp_log == []


def test_a_non_staff_reason_post_is_refused_and_not_stored(client, hdp_log):
    sign_in(client, "acme_admin")
    response = client.post(reverse("support:reason"), {"reason": "just curious about Globex"})
    assert response.status_code == 403
    assert access.REASON_SESSION_KEY not in client.session


def test_signed_out_people_are_sent_to_the_portal_login(client, hdp_log):
    response = client.get(reverse("support:tenants"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("username", ["support", "d2cadmin"])
def test_system_tenant_staff_get_in(client, hdp_log, username):
    sign_in(client, username)
    response = client.get(reverse("support:reason"))
    assert response.status_code == 200
    assert "Why are you opening the support console?" in response.content.decode()


@pytest.mark.parametrize(
    ("tenant", "perms", "expected"),
    [
        (1, [2, 11, 14, 25], True),  # the sandbox support account
        (1, [12], True),  # Administrator
        (1, [14], False),  # ViewUsers alone
        (1, [25], False),  # TenantAPI alone
        (71, [12], False),  # Administrator of a child tenant is not support staff
        (71, [14, 25], False),
        (None, [12, 14, 25], False),
    ],
)
def test_who_is_support_staff(tenant, perms, expected):
    user = User(username="someone", hdp_tenant_id=tenant, hdp_permissions=perms)
    assert access.is_support_staff(user) is expected
    assert is_support_staff(user) is expected  # the header-link filter agrees


def test_anonymous_and_provider_accounts_are_never_staff():
    from django.contrib.auth.models import AnonymousUser

    assert access.is_support_staff(AnonymousUser()) is False
    provider = User(username="p", hdp_tenant_id=1, hdp_permissions=[12], is_sandbox_provider_account=True)
    assert access.is_support_staff(provider) is False


def test_permissions_come_from_the_sign_in_snapshot(hdp_log):
    """Support is decided from what HDP said at sign-in, so the sandbox support account qualifies."""
    client = Client()
    sign_in(client, "support")
    user = User.objects.get(username="support")
    assert user.hdp_tenant_id == 1 and set(user.hdp_permissions) == {2, 11, 14, 25}
    assert access.is_support_staff(user)


def test_the_header_link_snippet_shows_only_for_staff(hdp_log):
    from django.template import Context, Template

    snippet = Template(
        "{% load i18n support %}{% if user|is_support_staff %}"
        "<a href=\"{% url 'support:tenants' %}\">{% translate 'Support console' %}</a>{% endif %}"
    )
    staff = User(username="support", hdp_tenant_id=1, hdp_permissions=[2, 11, 14, 25])
    admin = User(username="acme_admin", hdp_tenant_id=71, hdp_permissions=[1, 2, 11, 14, 28])
    assert snippet.render(Context({"user": staff})) == '<a href="/support/">Support console</a>'
    assert snippet.render(Context({"user": admin})) == ""
