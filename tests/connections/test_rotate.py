"""Rotate a completed setup's client secret and change its scopes (issue 8 item 4).

Real views through Django's test client, the HDP emulator in-process (its database is what HDP
holds), and HDP's data-source test refreshing through ``refresh_with_provider``, replaced here by a
provider that accepts one client secret only (as the sandbox provider does after a rotation).
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from portal.audit.models import AuditEntry
from portal.connections import checks
from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause, State
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp import faults, refresh
from portal.sandbox.hdp.models import OAuthApp as EmuApp
from portal.sandbox.hdp.models import OAuthProfile as EmuProfile
from tests.helpers.connections import OLD_REFRESH, sandbox_setup

OLD_SECRET = "sandbox-portal-secret"
NEW_SECRET = "rotated-secret-SENTINEL-5d1c"


class Provider:
    """Refreshes only for the client secret it currently has; remembers what it was sent."""

    def __init__(self) -> None:
        self.secret = OLD_SECRET
        self.seen: list[tuple[str, str]] = []

    def refresh(self, token_uri, client_id, client_secret, refresh_token, **how):
        self.seen.append((client_secret, refresh_token))
        if client_secret != self.secret:
            raise refresh.RefreshError("the provider said invalid_client")
        return {"access_token": "fresh-access", "token_type": "Bearer"}


@pytest.fixture
def provider(monkeypatch):
    fake = Provider()
    monkeypatch.setattr(refresh, "refresh_with_provider", fake.refresh)
    return fake


@pytest.fixture
def setup(admin_client, hdp, provider):
    run = sandbox_setup(hdp)
    check = checks.run_check(run, hdp, trigger=ConnectionCheck.Trigger.MANUAL)
    assert check.state == State.WORKING
    return run


@pytest.fixture
def secrets_logged(caplog):
    caplog.set_level(logging.DEBUG)
    return lambda: "\n".join(r.getMessage() for r in caplog.records)


def _emu_app(run: Run) -> EmuApp:
    return EmuApp.objects.get(pk=run.remote_id("app"))


def _rotate(admin_client, run, secret=NEW_SECRET):
    return admin_client.post(reverse("connections:rotate-secret", args=[run.pk]), {"client_secret": secret})


def test_a_rotated_secret_is_put_into_the_same_app_without_consent_and_the_check_passes(
    admin_client, setup, provider, secrets_logged
):
    run = setup
    provider.secret = NEW_SECRET  # rotated at the provider: HDP's refresh with the old one fails
    broken = checks.run_check(run, checks_client(), trigger=ConnectionCheck.Trigger.MANUAL)
    assert (broken.state, broken.cause, broken.provider_error) == (
        State.BROKEN,
        Cause.CLIENT_REFUSED,
        "invalid_client",
    )
    before = _emu_app(run)
    page = admin_client.get(reverse("connections:setup", args=[run.pk])).content.decode()
    assert 'id="rotate"' in page and "The provider refused the application&#x27;s client id or secret" in page

    answer = _rotate(admin_client, run)
    assert answer.status_code == 303
    assert answer["Location"] == reverse("connections:setup", args=[run.pk]) + "#setup-status"
    after = _emu_app(run)
    assert after.client_secret == NEW_SECRET
    # Everything else HDP held comes back unchanged (a PUT is a full replace).
    for field in ("name", "client_id", "authorize_uri", "token_uri", "scope", "tenant_id", "data_store"):
        assert getattr(after, field) == getattr(before, field), field
    profile = EmuProfile.objects.get(pk=run.remote_id("profile"))
    assert profile.refresh_token == OLD_REFRESH  # the same sign-in: no consent
    assert not OAuthFlow.objects.exists()
    assert provider.seen[-1] == (NEW_SECRET, OLD_REFRESH)
    last = ConnectionCheck.objects.filter(run=run).first()
    assert last is not None and (last.state, last.requested_by) == (State.WORKING, "acme_admin")
    assert checks.status_for(run).state == State.WORKING

    shown = admin_client.get(answer["Location"]).content.decode()
    assert "HDP holds the new client secret. The connection was checked with it." in shown
    assert NEW_SECRET not in shown
    entry = AuditEntry.objects.get(action="oauth_app.secret_rotated")
    assert entry.detail["outcome"] == "updated" and entry.detail["app_id"] == run.remote_id("app")
    assert NEW_SECRET not in str(entry.detail) and NEW_SECRET not in secrets_logged()
    run.refresh_from_db()
    assert run.app_secret_enc == ""  # write-only: the portal keeps no copy


def checks_client():
    from portal.hdp.client import HdpClient

    return HdpClient.service(on_behalf_of="acme_admin")


def test_a_wrong_new_secret_is_saved_and_the_check_says_so(admin_client, setup, provider):
    run = setup
    provider.secret = NEW_SECRET
    answer = _rotate(admin_client, run, secret="not-the-new-one")
    assert answer.status_code == 303
    assert _emu_app(run).client_secret == "not-the-new-one"
    status = checks.status_for(run)
    assert (status.state, status.cause) == (State.BROKEN, Cause.CLIENT_REFUSED)
    page = admin_client.get(answer["Location"]).content.decode()
    assert "Broken" in page and "not-the-new-one" not in page


def test_an_empty_secret_changes_nothing(admin_client, setup, hdp):
    run = setup
    answer = _rotate(admin_client, run, secret="   ")
    assert answer.status_code == 303 and answer["Location"].endswith("#rotate")
    assert _emu_app(run).client_secret == OLD_SECRET
    page = admin_client.get(answer["Location"]).content.decode()
    assert "Enter the new client secret from the provider&#x27;s app registration." in page


def test_the_secret_field_is_write_only_on_the_page(admin_client, setup):
    page = admin_client.get(reverse("connections:setup", args=[setup.pk])).content.decode()
    field = page.split('id="rotate-secret"', 1)[0].rsplit("<input", 1)[1]
    assert 'type="password"' in field and "value=" not in field
    assert OLD_SECRET not in page


def test_a_reused_app_is_never_changed(admin_client, setup):
    run = setup
    RemoteObject.objects.filter(run=run, kind="app").update(outcome=RemoteObject.Outcome.REUSED)
    page = admin_client.get(reverse("connections:setup", args=[run.pk])).content.decode()
    assert "which it did not create" in page and 'name="client_secret"' not in page
    answer = _rotate(admin_client, run)
    assert answer.status_code == 303
    assert _emu_app(run).client_secret == OLD_SECRET
    assert "which it did not create" in admin_client.get(answer["Location"]).content.decode()


def test_the_secret_is_not_sent_when_hdp_holds_other_addresses(admin_client, setup):
    run = setup
    EmuApp.objects.filter(pk=run.remote_id("app")).update(token_uri="https://elsewhere.example/token")
    answer = _rotate(admin_client, run)
    assert _emu_app(run).client_secret == OLD_SECRET
    assert "does not send a secret to it" in admin_client.get(answer["Location"]).content.decode()
    assert AuditEntry.objects.get(action="oauth_app.secret_rotated").detail["outcome"] == "refused"


@pytest.mark.parametrize(
    ("kind", "status", "words"),
    [
        (
            "status",
            503,
            "HDP answered with an error (HTTP 503), so the portal does not know whether it saved",
        ),
        ("status", 400, "HDP refused the change:"),
        ("status", 403, "HDP did not allow you to change this OAuth application"),
        ("commit_then_drop", None, "so the portal does not know whether it saved the new secret"),
    ],
)
def test_hdp_failures_are_plain_words_and_nothing_is_kept(admin_client, setup, settings, kind, status, words):
    settings.SANDBOX_FAULTS_ENABLED = True
    run = setup
    checks_before = ConnectionCheck.objects.filter(run=run).count()
    faults.arm("PUT", r"^/api/mgmt/oauthapps/\d+$", kind, status=status)
    answer = _rotate(admin_client, run)
    assert answer.status_code == 303 and answer["Location"].endswith("#rotate")
    page = admin_client.get(answer["Location"]).content.decode().replace("&#x27;", "'")
    assert words in page and NEW_SECRET not in page
    assert ConnectionCheck.objects.filter(run=run).count() == checks_before  # no check on a failed PUT
    run.refresh_from_db()
    assert run.app_secret_enc == ""


def test_someone_elses_setup_is_a_404_and_hdp_is_not_touched(client, setup):
    from tests.helpers.sandbox import PASSWORDS

    other = client
    other.post(reverse("accounts:login"), {"username": "globex_admin", "password": PASSWORDS["globex_admin"]})
    answer = other.post(reverse("connections:rotate-secret", args=[setup.pk]), {"client_secret": NEW_SECRET})
    assert answer.status_code == 404
    assert _emu_app(setup).client_secret == OLD_SECRET


def test_a_scope_change_updates_the_app_and_leads_into_a_reconnect(admin_client, setup):
    run = setup
    answer = admin_client.post(
        reverse("connections:change-scope", args=[run.pk]), {"scope": " read  offline_access  write "}
    )
    assert answer.status_code == 303
    location = answer["Location"]
    assert location.startswith(settings.PORTAL_BASE_URL + "/sandbox/oauth/authorize/")
    assert parse_qs(urlsplit(location).query)["scope"] == ["read offline_access write"]
    assert _emu_app(run).scope == "read offline_access write"
    assert _emu_app(run).client_secret == OLD_SECRET  # the secret HDP held went back unchanged
    run.refresh_from_db()
    assert run.app_scope == "read offline_access write"
    (flow,) = OAuthFlow.objects.all()
    assert flow.frozen().purpose == "reconnect"
    entry = AuditEntry.objects.get(action="oauth_app.scope_changed")
    assert (entry.detail["old"], entry.detail["new"]) == ("read offline_access", "read offline_access write")


@pytest.mark.parametrize(
    ("scope", "words"),
    [
        ("read offline_access", "The application already has exactly these scopes."),
        ('read "quoted"', "is not a valid scope"),
        ("   ", "Enter at least one scope, separated by spaces."),
    ],
)
def test_a_scope_change_that_changes_nothing_or_is_invalid_is_refused(admin_client, setup, scope, words):
    run = setup
    answer = admin_client.post(reverse("connections:change-scope", args=[run.pk]), {"scope": scope})
    assert answer.status_code == 303 and answer["Location"].endswith("#rotate")
    assert words in admin_client.get(answer["Location"]).content.decode().replace("&quot;", '"')
    assert _emu_app(run).scope == "read offline_access"
    assert not OAuthFlow.objects.exists()


def test_an_unfinished_setup_goes_back_to_the_wizard(admin_client, hdp):
    run = sandbox_setup(hdp, status=Run.Status.ACTIVE)
    answer = _rotate(admin_client, run)
    assert answer.status_code == 303
    assert answer["Location"] == reverse("onboarding:resume", kwargs={"run_id": run.pk})
    assert _emu_app(run).client_secret == OLD_SECRET


def test_a_copy_held_for_a_repairs_consent_goes_when_the_secret_is_rotated(admin_client, setup, provider):
    """A repair that registered the application again holds its secret for the consent's exchange;
    rotating it makes that copy stale, so the portal drops it and the exchange reads HDP's."""
    run = setup
    run.seal("app_secret", "the-old-secret")
    run.save(update_fields=["app_secret_enc"])
    provider.secret = NEW_SECRET
    assert _rotate(admin_client, run).status_code == 303
    run.refresh_from_db()
    assert run.app_secret_enc == "" and _emu_app(run).client_secret == NEW_SECRET
