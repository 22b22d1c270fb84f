"""``manage.py hdp_check`` against the emulator over real HTTP (its standalone server), including an
emulator changed to differ from what the portal assumes."""

from __future__ import annotations

import dataclasses
import io
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.sandbox.hdp import datastores, errors
from portal.sandbox.hdp.models import OAuthApp
from portal.sandbox.hdp.seed import USERS, seed_demo
from portal.sandbox.hdp.wsgi import build_server

PASSWORDS = {name: password for name, password, *_ in USERS}


@pytest.fixture
def hdp_url(transactional_db):
    seed_demo()
    server = build_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run(url: str, *args: str, user: str = "portal_svc", password: str | None = None, monkeypatch) -> str:
    monkeypatch.setenv("HDP_CHECK_PASSWORD", password or PASSWORDS[user])
    out = io.StringIO()
    try:
        call_command("hdp_check", "--url", url, "--user", user, *args, stdout=out)
    except CommandError as exc:
        raise CheckFailed(out.getvalue(), str(exc)) from None
    return out.getvalue()


class CheckFailed(Exception):
    def __init__(self, output: str, message: str) -> None:
        super().__init__(message)
        self.output = output


def line(output: str, label: str) -> str:
    return next(row for row in output.splitlines() if f"  {label}:" in row)


def test_all_assumptions_hold_on_the_sandbox(hdp_url, monkeypatch):
    before = OAuthApp.objects.count()
    output = run(hdp_url, "--on-behalf-of", "acme_admin", monkeypatch=monkeypatch)
    assert output.rstrip().endswith("All checks passed.")
    assert line(output, "health").startswith("OK")
    assert "4.6" in line(output, "version")
    assert line(output, "permissions") == "OK    permissions: Administrator (12)"
    assert "?user=acme_admin accepted" in line(output, "on behalf")
    assert "71 Acme" in line(output, "tenants")
    assert "store Snowflake (id 76): OAuthProfileId, AuthenticationMethod=OAuth2" in output
    assert "store Google BigQuery (id 62)" in output and "store Autonomous REST Connector (id 63)" in output
    assert "code 222207711" in line(output, "error body")
    assert line(output, "list applications").startswith("OK")
    assert OAuthApp.objects.count() == before  # read-only without --write
    assert PASSWORDS["portal_svc"] not in output


def test_wrong_password_fails_at_basic_auth(hdp_url, monkeypatch):
    with pytest.raises(CheckFailed) as info:
        run(hdp_url, password="not-the-password", monkeypatch=monkeypatch)
    assert line(info.value.output, "basic auth").startswith("FAIL")
    assert "Check --user and the password." in info.value.output
    assert "not-the-password" not in info.value.output


def test_missing_permissions_are_named(hdp_url, monkeypatch):
    with pytest.raises(CheckFailed) as info:
        run(hdp_url, user="acme_user", monkeypatch=monkeypatch)
    permissions = line(info.value.output, "permissions")
    assert permissions.startswith("FAIL") and "OnBehalfOf (21)" in permissions and "OAuth (28)" in permissions
    assert line(info.value.output, "tenants").startswith("FAIL")


def test_an_emulator_with_other_option_names_fails_the_store_check(hdp_url, monkeypatch):
    ga = datastores.get(54)
    assert ga is not None
    renamed = tuple(
        dataclasses.replace(o, id="OAuthProfile") if o.id == "OAuthProfileId" else o for o in ga.options
    )
    monkeypatch.setitem(datastores._BY_ID, 54, dataclasses.replace(ga, options=renamed))
    with pytest.raises(CheckFailed) as info:
        run(hdp_url, monkeypatch=monkeypatch)
    store = line(info.value.output, "store Google Analytics (id 54)")
    assert store.startswith("FAIL") and "no OAuthProfileId option" in store
    assert "1 check(s) failed" in str(info.value)


def test_an_error_body_of_another_shape_fails_the_error_check(hdp_url, monkeypatch):
    monkeypatch.setattr(errors, "error_body", lambda code, message: {"errorMessage": message, "status": code})
    with pytest.raises(CheckFailed) as info:
        run(hdp_url, monkeypatch=monkeypatch)
    shape = line(info.value.output, "error body")
    assert shape.startswith("FAIL") and "without the HDP error shape" in shape
    assert "report this server's shape" in info.value.output


def test_write_creates_reads_back_and_deletes_one_probe_app(hdp_url, monkeypatch):
    output = run(hdp_url, "--write", "Acme", monkeypatch=monkeypatch)
    probe = line(output, "write probe")
    assert probe.startswith("OK") and "in tenant Acme" in probe
    assert not OAuthApp.objects.filter(name__startswith="hdp_check_probe_").exists()


def test_write_to_an_unknown_tenant_fails_without_writing(hdp_url, monkeypatch):
    with pytest.raises(CheckFailed) as info:
        run(hdp_url, "--write", "Nowhere", monkeypatch=monkeypatch)
    assert "no tenant named 'Nowhere'" in line(info.value.output, "write probe")
    assert not OAuthApp.objects.exists()


def test_an_unreadable_ca_bundle_is_a_plain_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HDP_CHECK_PASSWORD", "x")
    with pytest.raises(CommandError, match="Cannot read --ca-bundle"):
        call_command(
            "hdp_check",
            "--url",
            "https://hdp.invalid",
            "--user",
            "svc",
            "--ca-bundle",
            str(tmp_path / "none.pem"),
        )
