from __future__ import annotations

from django.urls import reverse

from portal.onboarding.models import RemoteObject
from portal.sandbox.hdp import faults
from portal.sandbox.hdp.models import OAuthApp
from tests.helpers.wizard import HTMX, create_app, hdp_posts, make_hdp_app, start_run

SECRET = "sandbox-portal-secret"


def test_it_shows_the_redirect_uri_before_anything_is_created(acme, hdp_log):
    run = start_run(acme)
    hdp_log.clear()
    html = acme.get(reverse("onboarding:step-app", args=[run.pk])).content.decode()
    assert "http://127.0.0.1:8000/oauth/callback/Acme_GoogleAnalytics_app/" in html
    assert 'data-copy="redirect-uri"' in html
    assert reverse("sandbox_provider:console") in html
    assert hdp_posts(hdp_log, "/oauthapps") == []


def test_it_registers_a_new_app_and_holds_the_secret_only_encrypted(acme, hdp_log):
    run = start_run(acme)
    response = create_app(acme, run)
    assert response.status_code == 303
    assert response["Location"] == reverse("onboarding:step-authorize", args=[run.pk])
    app = OAuthApp.objects.get(name="Acme_GA_app")
    assert app.tenant_id == 71 and app.client_id == "sandbox-portal-client"
    run.refresh_from_db()
    assert run.held_client_secret() == app.client_secret and app.client_secret not in run.app_secret_enc
    assert run.remote("app").outcome == RemoteObject.Outcome.CREATED
    assert run.app_extra_params == {"prompt": "consent"}


def test_done_step_shows_the_result_not_a_resubmittable_form(acme, hdp_log):
    run = start_run(acme)
    create_app(acme, run)
    html = acme.get(reverse("onboarding:step-app", args=[run.pk])).content.decode()
    assert "Acme_GA_app" in html
    # The secret field on this page belongs to the edit form (tests/onboarding/views/test_step_app_edit.py).
    assert 'name="action" value="create"' not in html
    assert SECRET not in html
    hdp_log.clear()
    create_app(acme, run)  # back button + resubmit
    assert hdp_posts(hdp_log, "/oauthapps") == []
    assert OAuthApp.objects.filter(name="Acme_GA_app").count() == 1


def test_a_bad_name_is_explained_next_to_the_field_and_the_rest_kept(acme, hdp_log):
    run = start_run(acme)
    hdp_log.clear()
    response = create_app(acme, run, name="Acme GA!", client_id="kept-client-id")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_name-error"' in html and "remove: space !" in html
    assert 'value="kept-client-id"' in html
    assert 'value="http://127.0.0.1:8000/sandbox/oauth/token/"' in html
    assert SECRET not in html
    assert "Type it again" in html
    assert hdp_posts(hdp_log, "/oauthapps") == []


def test_an_unsafe_uri_is_refused_before_hdp(acme, hdp_log):
    run = start_run(acme)
    hdp_log.clear()
    for uri in ("https://169.254.169.254/token", "http://evil.example/auth", "https://2130706433/x"):
        response = create_app(acme, run, token_uri=uri)
        html = response.content.decode()
        assert 'id="id_token_uri-error"' in html, uri
        assert 'value="Acme_GA_app"' in html
    assert hdp_posts(hdp_log, "/oauthapps") == []


def test_reserved_extra_parameters_are_refused(acme, hdp_log):
    run = start_run(acme, "54:custom")
    response = create_app(acme, run, extra_params="redirect_uri=https://evil.example")
    assert "the portal sets it itself" in response.content.decode()


def test_hdp_down_keeps_everything_but_the_secret(acme, hdp_log):
    run = start_run(acme)
    faults.arm("*", r"^/api/mgmt/oauthapps", "status", status=503, times=20)
    response = create_app(acme, run, client_id="kept-client-id")
    html = response.content.decode()
    assert response.status_code == 503
    assert 'id="banner"' in html
    assert 'value="kept-client-id"' in html and 'value="Acme_GA_app"' in html
    assert SECRET not in html
    assert "Type it again" in html


def test_hdp_refusal_of_a_duplicate_name_is_shown_at_the_name(acme, hdp_log):
    make_hdp_app("acme_admin", name="Acme_GA_app")
    run = start_run(acme)
    hdp_log.clear()
    html = create_app(acme, run).content.decode()
    assert 'id="id_name-error"' in html and "Pick another name" in html
    assert run.remote("app") is None or run.remote("app").outcome != RemoteObject.Outcome.CREATED
    # HDP's own refusal, told apart by a list afterwards; the page again offers the app to reuse.
    assert [f"{r.method} {r.url.path}" for r in hdp_log] == [
        "POST /api/mgmt/oauthapps", "GET /api/mgmt/oauthapps", "GET /api/mgmt/oauthapps"
    ]  # fmt: skip
    assert 'name="app_id"' in html and "Acme_GA_app" in html


def test_registering_an_application_is_one_hdp_call(acme, hdp_log):
    run = start_run(acme)
    hdp_log.clear()
    assert create_app(acme, run).status_code == 303
    assert [f"{r.method} {r.url.path}" for r in hdp_log] == ["POST /api/mgmt/oauthapps"]


def test_it_reuses_an_existing_app_of_the_tenant_and_store(acme, hdp_log):
    existing = make_hdp_app("acme_admin", name="Acme_existing_app")
    make_hdp_app("acme_admin", name="Acme_salesforce_app", datastore=1)  # other store: not offered
    run = start_run(acme)
    html = acme.get(reverse("onboarding:step-app", args=[run.pk])).content.decode()
    assert "Acme_existing_app" in html and "read offline_access" in html
    assert "Acme_salesforce_app" not in html
    assert "existing-secret-sentinel" not in html
    hdp_log.clear()
    response = acme.post(
        reverse("onboarding:step-app", args=[run.pk]), {"action": "reuse", "app_id": existing.id}
    )
    assert response.status_code == 303
    obj = run.remote("app")
    assert (obj.remote_id, obj.outcome, obj.created_by_run) == (existing.id, "reused", False)
    assert hdp_posts(hdp_log, "/oauthapps") == []


def test_another_tenants_app_cannot_be_picked(acme, hdp_log):
    other = make_hdp_app("globex_admin", name="Globex_app", tenant_id=72)
    run = start_run(acme)
    response = acme.post(
        reverse("onboarding:step-app", args=[run.pk]), {"action": "reuse", "app_id": other.id}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert run.remote("app") is None


def test_inline_validation_is_local_and_returns_the_field_error(acme, hdp_log):
    run = start_run(acme)
    hdp_log.clear()
    url = reverse("onboarding:validate", args=[run.pk, "app_name"])
    html = acme.post(url, {"name": "bad name"}, **HTMX).content.decode()
    assert 'id="id_name-error"' in html and "remove: space" in html
    html = acme.post(url, {"name": "Good_name"}, **HTMX).content.decode()
    assert "field-error" not in html
    assert 'hx-swap-oob="true"' in html and "/oauth/callback/Good_name/" in html
    url = reverse("onboarding:validate", args=[run.pk, "token_uri"])
    html = acme.post(url, {"token_uri": "http://10.0.0.5/token"}, **HTMX).content.decode()
    assert 'id="id_token_uri-error"' in html
    assert acme.get(url).status_code == 405
    assert acme.post(reverse("onboarding:validate", args=[run.pk, "nope"])).status_code == 404
    assert hdp_log == []


def test_form_controls_carry_inline_validation_and_describedby(acme, hdp_log):
    run = start_run(acme)
    html = acme.get(reverse("onboarding:step-app", args=[run.pk])).content.decode()
    assert 'hx-trigger="input changed delay:400ms"' in html
    assert 'hx-params="name"' in html  # the secret is never sent to the validate endpoint
    assert 'aria-describedby="id_client_secret-help id_client_secret-error"' in html
    assert 'type="password"' in html


def test_the_suggested_name_avoids_apps_hdp_already_has(acme, hdp_log):
    make_hdp_app("acme_admin", name="Acme_GoogleAnalytics_app", datastore=1)
    run = start_run(acme)
    html = acme.get(reverse("onboarding:step-app", args=[run.pk])).content.decode()
    assert 'value="Acme_GoogleAnalytics_app_2"' in html
    assert "/oauth/callback/Acme_GoogleAnalytics_app_2/" in html


def test_preset_placeholders_are_filled_from_their_fields(acme, hdp_log):
    run = start_run(acme, "1002:microsoft")
    html = acme.get(reverse("onboarding:step-app", args=[run.pk])).content.decode()
    assert 'name="ph_tenant"' in html and 'name="ph_org"' in html
    response = acme.post(
        reverse("onboarding:step-app", args=[run.pk]),
        {
            "action": "create",
            "name": "Acme_D365_app",
            "client_id": "d365-client",
            "client_secret": "d365-secret",
            "authorize_uri": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
            "token_uri": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
            "scope": "https://{org}.crm.dynamics.com/user_impersonation offline_access",
            "ph_tenant": "contoso.onmicrosoft.com",
            "ph_org": "contoso",
        },
    )
    assert response.status_code == 303, response.content.decode()[-3000:]
    app = OAuthApp.objects.get(name="Acme_D365_app")
    assert (
        app.authorize_uri == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
    )
    assert app.scope == "https://contoso.crm.dynamics.com/user_impersonation offline_access"


def test_a_missing_placeholder_is_a_field_error(acme, hdp_log):
    run = start_run(acme, "76:snowflake")
    response = create_app(
        acme,
        run,
        authorize_uri="https://{account}.snowflakecomputing.com/oauth/authorize",
        token_uri="https://{account}.snowflakecomputing.com/oauth/token-request",
    )
    html = response.content.decode()
    assert 'id="id_ph_account-error"' in html
    assert not OAuthApp.objects.exists()


def test_a_preset_pins_its_hosts(acme, hdp_log):
    run = start_run(acme, "54:google_analytics")
    response = create_app(
        acme,
        run,
        authorize_uri="https://accounts.google.com/o/oauth2/v2/auth",
        token_uri="https://oauth2.evil.example/token",
    )
    assert 'id="id_token_uri-error"' in response.content.decode()
    assert not OAuthApp.objects.exists()


def test_custom_preset_extra_params_are_kept_for_the_sign_in(acme, hdp_log):
    run = start_run(acme, "54:custom")
    response = create_app(acme, run, extra_params="prompt=consent\naudience=reports")
    assert response.status_code == 303
    run.refresh_from_db()
    assert run.app_extra_params == {"prompt": "consent", "audience": "reports"}
