"""Editing the OAuth application a run registered (issue: secret fields are write-only; SECURITY.md item 18).

The app step offers "Edit these settings" only for an application this run created, and only until
the OAuth profile uses it. A changed authorize or token URI needs the secret again: without it the
form refuses before any HDP write, so the secret HDP holds can never be pointed at a new host.
"""

from __future__ import annotations

import httpx
import pytest
from django.urls import reverse

from portal.audit.models import AuditEntry
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import RemoteObject
from portal.sandbox.hdp.models import OAuthApp
from tests.helpers.wizard import (
    HTMX,
    create_app,
    make_hdp_app,
    run_at_datasource,
    run_at_profile,
    start_run,
)

SENTINEL = "edit-sentinel-secret-4711"
NEW_SECRET = "edit-new-secret-0815"
AUTHORIZE = "http://127.0.0.1:8000/sandbox/oauth/authorize/"
TOKEN = "http://127.0.0.1:8000/sandbox/oauth/token/"
NEW_TOKEN = "http://127.0.0.1:8000/sandbox/oauth/token/v2/"


def writes(requests: list[httpx.Request]) -> list[tuple[str, str]]:
    return [(r.method, r.url.path) for r in requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]


def created_run(client):
    run = start_run(client)
    response = create_app(client, run, client_secret=SENTINEL)
    assert response.status_code == 303, response.content[:2000]
    run.refresh_from_db()
    return run


def edit(client, run, headers=None, **overrides):
    data = {
        "action": "edit",
        "name": "Ignored_new_name",  # the name is read-only: a posted value is ignored
        "client_id": "sandbox-portal-client",
        "client_secret": "",
        "authorize_uri": AUTHORIZE,
        "token_uri": TOKEN,
        "scope": "read offline_access",
        "description": "",
    }
    data.update(overrides)
    return client.post(reverse("onboarding:step-app", args=[run.pk]), data, **(headers or {}))


def test_edit_form_shows_the_settings_but_never_the_secret(acme, hdp_log):
    run = created_run(acme)
    assert OAuthApp.objects.get(name="Acme_GA_app").client_secret == SENTINEL
    hdp_log.clear()
    html = acme.get(reverse("onboarding:step-app", args=[run.pk])).content.decode()
    assert hdp_log == []  # the settings come from the run; the page reads nothing back from HDP
    assert "Edit these settings" in html and 'name="action" value="edit"' in html
    assert SENTINEL not in html
    assert "sandbox-portal-client" in html and f'value="{TOKEN}"' in html and f'value="{AUTHORIZE}"' in html
    assert 'value="read offline_access"' in html
    assert 'name="client_secret"' in html and 'type="password"' in html
    assert "Leave empty to keep the secret HDP already holds." in html
    assert 'value="Acme_GA_app"' in html and "disabled" in html  # the name is shown read-only


def test_uri_change_without_the_secret_is_a_field_error_and_no_hdp_write(acme, hdp_log):
    run = created_run(acme)
    hdp_log.clear()
    response = edit(acme, run, token_uri=NEW_TOKEN, client_id="kept-client-id", scope="read")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_client_secret-error"' in html
    assert "enter the client secret again to confirm" in html
    assert writes(hdp_log) == []
    assert f'value="{NEW_TOKEN}"' in html and 'value="kept-client-id"' in html and 'value="read"' in html
    assert SENTINEL not in html
    app = OAuthApp.objects.get(name="Acme_GA_app")
    assert (app.token_uri, app.client_secret, app.client_id) == (TOKEN, SENTINEL, "sandbox-portal-client")
    run.refresh_from_db()
    assert (run.app_token_uri, run.app_client_id, run.app_scope) == (
        TOKEN,
        "sandbox-portal-client",
        "read offline_access",
    )
    assert not AuditEntry.objects.filter(action="app.updated").exists()


def test_uri_change_under_htmx_keeps_the_input_too(acme, hdp_log):
    run = created_run(acme)
    hdp_log.clear()
    response = edit(
        acme, run, headers=HTMX, authorize_uri="http://127.0.0.1:8000/sandbox/oauth/authorize/v2/"
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="id_client_secret-error"' in html
    assert 'value="http://127.0.0.1:8000/sandbox/oauth/authorize/v2/"' in html
    assert writes(hdp_log) == []


def test_uri_change_with_the_secret_updates_the_app_in_hdp(acme, hdp_log):
    run = created_run(acme)
    hdp_log.clear()
    response = edit(acme, run, token_uri=NEW_TOKEN, client_secret=NEW_SECRET)
    assert response.status_code == 303, response.content.decode()[-3000:]
    assert response["Location"] == reverse("onboarding:step-authorize", args=[run.pk])
    assert [m for m, _path in writes(hdp_log)] == ["PUT"]
    app = OAuthApp.objects.get(name="Acme_GA_app")
    assert (app.token_uri, app.client_secret) == (NEW_TOKEN, NEW_SECRET)
    run.refresh_from_db()
    assert run.app_token_uri == NEW_TOKEN and run.app_name == "Acme_GA_app"
    # The new secret is the one the consent's exchange will use (held encrypted, never in plain).
    assert run.held_client_secret() == NEW_SECRET and NEW_SECRET not in run.app_secret_enc
    entry = AuditEntry.objects.get(action="app.updated")
    assert entry.detail == {"fields": ["client_secret", "token_uri"]}
    assert NEW_SECRET not in str(entry.detail)
    html = acme.get(response["Location"]).content.decode()
    assert "connect to the provider again" in html
    assert NEW_SECRET not in html


def test_scope_only_change_without_the_secret_keeps_hdps_secret(acme, hdp_log):
    run = created_run(acme)
    hdp_log.clear()
    response = edit(acme, run, scope="read")
    assert response.status_code == 303, response.content.decode()[-3000:]
    app = OAuthApp.objects.get(name="Acme_GA_app")
    assert (app.scope, app.client_secret, app.token_uri) == ("read", SENTINEL, TOKEN)
    assert AuditEntry.objects.get(action="app.updated").detail == {"fields": ["scope"]}


def test_an_edit_after_consent_asks_for_a_new_consent(acme, hdp_log):
    run = run_at_profile(acme)
    assert run.tokens_enc
    response = edit(acme, run, scope="read")
    assert response.status_code == 303
    run.refresh_from_db()
    assert run.tokens_enc == "" and run.consented_at is None
    assert run.remote("app").outcome == RemoteObject.Outcome.CREATED
    # The profile step is closed again until the person connects with the new settings.
    page = acme.get(reverse("onboarding:step-profile", args=[run.pk]))
    assert page.status_code == 302 and page["Location"] == reverse("onboarding:step-authorize", args=[run.pk])


def test_a_sign_in_started_before_the_edit_cannot_finish(acme, hdp_log):
    run = created_run(acme)
    assert acme.post(reverse("onboarding:authorize-start", args=[run.pk])).status_code == 303
    assert edit(acme, run, token_uri=NEW_TOKEN, client_secret=NEW_SECRET).status_code == 303
    flow = OAuthFlow.objects.get(run=run)
    assert (flow.outcome, flow.error_code) == (OAuthFlow.Outcome.FAILED, "app_edited")
    assert flow.consumed_at is not None


def test_nothing_changed_makes_no_hdp_call(acme, hdp_log):
    run = created_run(acme)
    hdp_log.clear()
    response = edit(acme, run)
    assert response.status_code == 303
    assert hdp_log == []


def test_a_refused_address_is_explained_and_not_sent(acme, hdp_log):
    run = created_run(acme)
    hdp_log.clear()
    html = edit(acme, run, token_uri="http://evil.example/token", client_secret=NEW_SECRET).content.decode()
    assert 'id="id_token_uri-error"' in html
    assert NEW_SECRET not in html
    assert writes(hdp_log) == []
    assert OAuthApp.objects.get(name="Acme_GA_app").token_uri == TOKEN


def test_a_reused_app_is_not_editable_here(acme, hdp_log):
    existing = make_hdp_app("acme_admin", name="Acme_existing_app")
    run = start_run(acme)
    response = acme.post(
        reverse("onboarding:step-app", args=[run.pk]), {"action": "reuse", "app_id": existing.id}
    )
    assert response.status_code == 303
    hdp_log.clear()
    html = acme.get(reverse("onboarding:step-app", args=[run.pk])).content.decode()
    assert 'value="edit"' not in html and 'name="client_secret"' not in html
    assert "reuses an application that already existed in HDP" in html
    assert "existing-secret-sentinel" not in html
    response = edit(acme, run, token_uri=NEW_TOKEN, client_secret=NEW_SECRET)
    assert response.status_code == 403
    assert hdp_log == []  # not even a read: nothing is sent to HDP
    app = OAuthApp.objects.get(pk=existing.id)
    assert (app.token_uri, app.client_secret) == (TOKEN, "existing-secret-sentinel")
    run.refresh_from_db()
    assert run.app_token_uri == TOKEN
    assert not AuditEntry.objects.filter(action="app.updated").exists()


def test_the_edit_is_refused_once_a_profile_exists(acme, hdp_log):
    run = run_at_datasource(acme)
    hdp_log.clear()
    html = acme.get(reverse("onboarding:step-app", args=[run.pk])).content.decode()
    assert 'value="edit"' not in html
    assert "already uses this application" in html
    response = edit(acme, run, scope="read")
    assert response.status_code == 403
    assert writes(hdp_log) == []
    assert OAuthApp.objects.get(name="Acme_GA_app").scope == "read offline_access"


def test_another_tenants_admin_gets_404_and_no_hdp_call(acme, globex, hdp_log):
    run = created_run(acme)
    hdp_log.clear()
    assert globex.get(reverse("onboarding:step-app", args=[run.pk])).status_code == 404
    response = edit(globex, run, token_uri=NEW_TOKEN, client_secret=NEW_SECRET)
    assert response.status_code == 404
    assert hdp_log == []
    app = OAuthApp.objects.get(name="Acme_GA_app")
    assert (app.token_uri, app.client_secret) == (TOKEN, SENTINEL)


def test_the_engines_check_against_hdp_is_a_field_error_and_the_run_is_restored(acme, hdp_log):
    """HDP's app has another token URI than the run (changed outside the portal): the form sees no
    change, ``engine.update_app`` compares with HDP and refuses; the run keeps its old settings."""
    run = created_run(acme)
    OAuthApp.objects.filter(name="Acme_GA_app").update(token_uri=NEW_TOKEN)
    hdp_log.clear()
    response = edit(acme, run, scope="read")
    html = response.content.decode()
    assert 'id="id_client_secret-error"' in html and 'value="read"' in html
    assert writes(hdp_log) == []
    run.refresh_from_db()
    assert (run.app_scope, run.app_token_uri) == ("read offline_access", TOKEN)
    assert OAuthApp.objects.get(name="Acme_GA_app").scope == "read offline_access"


def test_the_engine_refuses_an_edit_once_a_profile_exists(acme, hdp_log):
    from portal.accounts.models import User
    from portal.hdp.client import HdpClient
    from portal.onboarding import engine

    run = run_at_datasource(acme)
    run.app_scope = "read"
    hdp_log.clear()
    with (
        HdpClient.for_user(User.objects.get(username="acme_admin")) as client,
        pytest.raises(engine.StepError),
    ):
        engine.update_app(run, client, client_secret=NEW_SECRET)
    assert hdp_log == []
