"""Personal API tokens: the page, manage.py api_token, hashing, HDP re-check, and never in a log."""

from __future__ import annotations

import logging
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.api import tokens
from portal.api.models import ApiToken
from portal.lib.logging import redact
from portal.sandbox.hdp.models import HdpUser
from tests.helpers.api import make_token, sign_in

pytestmark = pytest.mark.django_db


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_the_page_shows_a_new_token_once_and_lists_it_without_it(client, acme):
    client.force_login(acme)
    page = client.get("/api/tokens/")
    assert page.status_code == 200 and "API tokens" in page.content.decode()
    assert 'value="support:read"' not in page.content.decode()  # not support staff
    made = client.post("/api/tokens/", {"name": "nightly", "scopes": ["setups:read"], "days": "30"})
    html = made.content.decode()
    [token] = re.findall(r"hdpp_[A-Za-z0-9_-]{43}", html)
    row = ApiToken.objects.get()
    assert row.token_hash == tokens.digest(token) and token not in str(ApiToken.objects.values().get())
    assert (row.name, row.scopes) == ("nightly", ["setups:read"])
    again = client.get("/api/tokens/").content.decode()
    assert token not in again and "nightly" in again and row.prefix in again
    assert client.get("/api/v1/me", **bearer(token)).json()["username"] == "acme_admin"
    client.post(f"/api/tokens/{row.pk}/revoke/")
    assert client.get("/api/v1/me", **bearer(token)).status_code == 401


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "x", "scopes": ["setups:read"], "days": "366"}, "days"),
        ({"name": "x", "scopes": ["support:read"], "days": "30"}, "scopes"),
        ({"name": "x", "scopes": ["handoff:admin"], "days": "30"}, "scopes"),
        ({"name": "", "scopes": ["setups:read"], "days": "30"}, "name"),
    ],
)
def test_the_page_refuses_bad_input_with_the_field_named(client, acme, data, field):
    client.force_login(acme)
    answer = client.post("/api/tokens/", data)
    assert answer.status_code == 400 and field in answer.context["form"].errors
    assert not ApiToken.objects.exists()


def test_the_page_offers_handoff_write_now_that_its_endpoints_exist(client, acme):
    client.force_login(acme)
    assert 'value="handoff:write"' in client.get("/api/tokens/").content.decode()
    made = client.post("/api/tokens/", {"name": "links", "scopes": ["handoff:write"], "days": "30"})
    assert made.status_code == 200 and ApiToken.objects.get().scopes == ["handoff:write"]


def test_support_read_is_for_support_staff_only(api_hdp):
    with pytest.raises(tokens.TokenRefused):
        tokens.create(sign_in("acme_admin"), name="x", scopes=["support:read"], days=1, is_support=False)
    staff = sign_in("support")
    row, _token = tokens.create(staff, name="x", scopes=["support:read"], days=1, is_support=True)
    assert row.scopes == ["support:read"]


def test_manage_py_prints_the_token_once_and_lists_and_revokes(client, acme):
    out = StringIO()
    call_command(
        "api_token",
        "create",
        "--user",
        "acme_admin",
        "--scope",
        "setups:read",
        "--expires-in-days",
        "7",
        stdout=out,
    )
    token = out.getvalue().strip()
    assert tokens.PATTERN.fullmatch(token)
    assert client.get("/api/v1/me", **bearer(token)).status_code == 200
    listing = StringIO()
    call_command("api_token", "list", "--user", "acme_admin", stdout=listing)
    assert "setups:read" in listing.getvalue() and token not in listing.getvalue()
    call_command("api_token", "revoke", str(ApiToken.objects.get().pk), stdout=StringIO())
    assert client.get("/api/v1/me", **bearer(token)).status_code == 401
    with pytest.raises(CommandError):
        call_command(
            "api_token",
            "create",
            "--user",
            "acme_admin",
            "--scope",
            "setups:read",
            "--expires-in-days",
            "400",
        )
    with pytest.raises(CommandError):
        call_command("api_token", "create", "--user", "nobody", "--scope", "setups:read")


def test_a_person_removed_from_hdp_loses_api_access_within_the_recheck_interval(client, acme, settings):
    token = make_token(acme, "setups:read")
    assert client.get("/api/v1/me", **bearer(token)).status_code == 200
    HdpUser.objects.filter(user_name="acme_admin").delete()  # removed from HDP
    assert client.get("/api/v1/me", **bearer(token)).status_code == 200  # within the interval
    settings.HDP_RECHECK_SECONDS = 0  # the interval has passed
    answer = client.get("/api/v1/me", **bearer(token))
    assert answer.status_code == 401 and answer.json()["code"] == "account_refused"
    assert ApiToken.objects.get().hdp_refusal == "removed"


def test_a_token_never_reaches_a_log_line(client, acme, console_at_debug):
    token = make_token(acme, "setups:read")
    logging.getLogger("portal.test").warning("calling with Authorization: Bearer %s", token)
    logging.getLogger("portal.test").warning("a token pasted in a message: %s.", token)
    client.get("/api/v1/me", **bearer(token))
    client.get("/api/v1/nowhere", **bearer(token))
    text = console_at_debug.getvalue()
    assert "a token pasted" in text and token not in text and token[5:20] not in text
    assert redact(f"x {token} y") == "x hdpp_[redacted] y"
