from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.urls import reverse

from portal.oauth.models import OAuthFlow
from portal.onboarding.models import Run
from portal.sandbox.hdp.models import OAuthApp
from tests.helpers.wizard import create_app, make_hdp_app, start_run


def _authorize_ready(client):
    run = start_run(client)
    assert create_app(client, run).status_code == 303
    return run


def test_it_explains_and_shows_provider_scopes_and_redirect_uri(acme, hdp_log):
    run = _authorize_ready(acme)
    hdp_log.clear()
    response = acme.get(reverse("onboarding:step-authorize", args=[run.pk]))
    html = response.content.decode()
    assert "Connect to Sandbox provider" in html and "(127.0.0.1)" in html
    assert "stay connected when you&#x27;re away" in html and "read your sandbox data" in html
    assert "<code>offline_access</code>" not in html  # scopes in plain words
    assert reverse("onboarding:cancel", args=[run.pk]) in html  # a way out of the setup
    assert "http://127.0.0.1:8000/oauth/callback/Acme_GA_app/" in html
    assert f'action="{reverse("onboarding:authorize-start", args=[run.pk])}"' in html
    assert hdp_log == []  # no HDP call to render the page


def test_csp_form_action_allows_the_provider_origin(acme, hdp_log):
    run = _authorize_ready(acme)
    response = acme.get(reverse("onboarding:step-authorize", args=[run.pk]))
    policy = response["Content-Security-Policy"]
    directive = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    assert "'self'" in directive
    assert "http://127.0.0.1:8000" in directive
    # Other pages keep form-action 'self' only.
    other = acme.get(reverse("onboarding:runs"))["Content-Security-Policy"]
    assert "127.0.0.1" not in other


def test_start_redirects_to_the_provider_with_state_pkce_and_extra_params(acme, hdp_log):
    run = _authorize_ready(acme)
    response = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert response.status_code == 303
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "http://127.0.0.1:8000/sandbox/oauth/authorize/"
    query = parse_qs(url.query)
    assert query["state"][0]
    assert query["code_challenge"][0]
    assert query["code_challenge_method"] == ["S256"]
    assert query["prompt"] == ["consent"]
    assert query["client_id"] == ["sandbox-portal-client"]
    assert query["redirect_uri"] == ["http://127.0.0.1:8000/oauth/callback/Acme_GA_app/"]
    assert OAuthFlow.objects.filter(run=run).count() == 1


def test_start_is_post_only(acme, hdp_log):
    run = _authorize_ready(acme)
    assert acme.get(reverse("onboarding:authorize-start", args=[run.pk])).status_code == 405
    assert not OAuthFlow.objects.exists()


def test_start_is_rate_limited(acme, hdp_log, settings):
    settings.RATELIMIT_OAUTH_START_PER_MINUTE = 1
    run = _authorize_ready(acme)
    assert acme.post(reverse("onboarding:authorize-start", args=[run.pk])).status_code == 303
    response = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert response.status_code == 429
    assert "Wait a minute" in response.content.decode()


def test_a_flow_failure_is_shown_with_try_again(acme, hdp_log):
    run = _authorize_ready(acme)
    start = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    back = acme.get(
        reverse("oauth:callback", args=["Acme_GA_app"]), {"state": state, "error": "access_denied"}
    )
    assert back.status_code == 303
    html = acme.get(back["Location"]).content.decode()
    assert 'role="alert"' in html
    assert "Start the connection again" in html  # the retry button says what it does


def _refused_back(acme, run, **params):
    """Start the sign-in, come back from the provider with ``params``; the page the browser lands on."""
    start = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    back = acme.get(reverse("oauth:callback", args=["Acme_GA_app"]), {"state": state, **params})
    assert back.status_code == 303
    return acme.get(back["Location"]).content.decode()


def test_a_wrong_client_secret_offers_edit_the_application(acme, hdp_log, monkeypatch):
    from portal.oauth import client, errors

    def refused(*args, **kwargs):
        raise errors.explain("invalid_client")

    run = _authorize_ready(acme)
    monkeypatch.setattr(client, "exchange_code", refused)
    html = _refused_back(acme, run, code="a-code")
    assert "did not accept the client ID or client secret" in html
    edit = reverse("onboarding:step-app", args=[run.pk]) + "?edit=1#edit-app"
    assert f'href="{edit}"' in html and "Edit the application" in html
    form = acme.get(edit.split("#")[0]).content.decode()  # the link opens the editable form
    assert '<details class="card" id="edit-app" open>' in form
    assert 'name="action" value="edit"' in form


def test_a_redirect_mismatch_shows_the_address_with_copy_and_retry(acme, hdp_log):
    run = _authorize_ready(acme)
    html = _refused_back(acme, run, error="redirect_uri_mismatch")
    assert 'id="fix-redirect-uri"' in html
    box = html.split('id="fix-redirect-uri"', 1)[1]
    assert "http://127.0.0.1:8000/oauth/callback/Acme_GA_app/" in box and "data-copy" in box
    assert "I've registered it, try again" in html


def test_an_old_sign_in_tab_offers_start_the_connection_again(acme, hdp_log):
    run = _authorize_ready(acme)
    start = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    callback = reverse("oauth:callback", args=["Acme_GA_app"])
    acme.get(callback, {"state": state, "error": "access_denied"})  # this tab's sign-in ended
    old_tab = acme.get(callback, {"state": state, "code": "late-code"})  # the old tab comes back
    html = old_tab.content.decode()
    assert old_tab.status_code == 400
    assert f'href="{reverse("onboarding:step-authorize", args=[run.pk])}"' in html
    assert "Start the connection again" in html


def test_a_reused_app_is_read_back_from_hdp_and_its_uris_checked(acme, hdp_log):
    existing = make_hdp_app("acme_admin", name="Acme_existing_app", client_id="from-hdp-client")
    run = start_run(acme)
    acme.post(reverse("onboarding:step-app", args=[run.pk]), {"action": "reuse", "app_id": existing.id})
    response = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert response.status_code == 303
    assert parse_qs(urlsplit(response["Location"]).query)["client_id"] == ["from-hdp-client"]
    # Someone changes the app in HDP to point at another host: the portal refuses to start.
    OAuthApp.objects.filter(pk=existing.id).update(authorize_uri="https://evil.example/authorize")
    flows_before = OAuthFlow.objects.count()
    response = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert response.status_code == 303
    assert response["Location"] == reverse("onboarding:step-authorize", args=[run.pk])
    assert OAuthFlow.objects.count() == flows_before
    assert "won&#x27;t use" in acme.get(response["Location"]).content.decode()


def test_authorize_step_before_the_app_exists_sends_back(acme, hdp_log):
    run = start_run(acme)
    response = acme.get(reverse("onboarding:step-authorize", args=[run.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("onboarding:step-app", args=[run.pk])
    assert acme.post(reverse("onboarding:authorize-start", args=[run.pk])).status_code == 302


def test_under_htmx_the_authorize_page_is_a_full_page_load(acme, hdp_log):
    """Its CSP (form-action with the provider) only applies to a freshly loaded document."""
    from tests.helpers.wizard import HTMX

    run = start_run(acme)
    response = create_app(acme, run, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("onboarding:step-authorize", args=[run.pk])


def test_htmx_request_for_a_step_not_yet_reachable_moves_the_whole_page(acme, hdp_log):
    from tests.helpers.wizard import HTMX

    run = start_run(acme)
    response = acme.get(reverse("onboarding:step-profile", args=[run.pk]), **HTMX)
    assert response["HX-Redirect"] == reverse("onboarding:step-app", args=[run.pk])


def test_google_preset_sends_offline_access_parameters(acme, hdp_log):
    run = start_run(acme, "54:google_analytics")
    response = create_app(
        acme,
        run,
        client_id="google-client.apps.googleusercontent.com",
        authorize_uri="https://accounts.google.com/o/oauth2/v2/auth",
        token_uri="https://oauth2.googleapis.com/token",
        scope="https://www.googleapis.com/auth/analytics.readonly",
    )
    assert response.status_code == 303, response.content.decode()[-2000:]
    page = acme.get(reverse("onboarding:step-authorize", args=[run.pk]))
    assert "https://accounts.google.com" in page["Content-Security-Policy"]
    assert "Connect to Google" in page.content.decode()
    response = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    url = urlsplit(response["Location"])
    query = parse_qs(url.query)
    assert url.netloc == "accounts.google.com"
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["code_challenge_method"] == ["S256"]


def test_after_the_profile_exists_the_page_shows_the_result_without_a_connect_button(acme, hdp_log):
    from tests.helpers.wizard import run_at_datasource

    run = run_at_datasource(acme)
    html = acme.get(reverse("onboarding:step-authorize", args=[run.pk])).content.decode()
    assert "This step is done" in html
    assert reverse("onboarding:authorize-start", args=[run.pk]) not in html


def test_a_completed_setup_does_not_start_a_new_sign_in(acme, hdp_log):
    from portal.onboarding.models import Run

    run = _authorize_ready(acme)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.COMPLETED)
    response = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    assert response.status_code == 303
    assert response["Location"] == reverse("onboarding:step-verify", args=[run.pk])
    assert not OAuthFlow.objects.exists()


def _exchange_with(monkeypatch, used: list[str]):
    from portal.oauth import client

    def exchange(snapshot, client_secret, code, verifier):
        used.append(client_secret)
        return client.TokenResult("sentinel-access", "sentinel-refresh", None, snapshot.scope, "Bearer")

    monkeypatch.setattr(client, "exchange_code", exchange)


def _consent_back(acme, run):
    start = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    return acme.get(reverse("oauth:callback", args=["Acme_GA_app"]), {"state": state, "code": "a-code"})


def test_the_exchange_uses_the_held_secret_without_reading_hdp_and_then_drops_it(acme, hdp_log, monkeypatch):
    """SECURITY.md item 14: the secret typed at step b is held encrypted until this exchange, so
    the callback makes no HDP call; once tokens exist, the portal's copy is gone."""
    run = _authorize_ready(acme)
    used: list[str] = []
    _exchange_with(monkeypatch, used)
    hdp_log.clear()
    back = _consent_back(acme, run)
    assert back.status_code == 303 and back["Location"] == reverse("onboarding:step-profile", args=[run.pk])
    assert used == [OAuthApp.objects.get(name="Acme_GA_app").client_secret]
    assert hdp_log == []
    run.refresh_from_db()
    assert run.app_secret_enc == "" and run.tokens_enc != ""


def test_without_a_held_secret_the_exchange_reads_it_back_from_hdp(acme, hdp_log, monkeypatch):
    """After the hourly purge dropped the held copy (or for a reused app), HDP's copy is used."""
    run = _authorize_ready(acme)
    Run.objects.filter(pk=run.pk).update(app_secret_enc="")
    used: list[str] = []
    _exchange_with(monkeypatch, used)
    hdp_log.clear()
    assert _consent_back(acme, run).status_code == 303
    app = OAuthApp.objects.get(name="Acme_GA_app")
    assert used == [app.client_secret]
    assert [(r.method, r.url.path) for r in hdp_log] == [("GET", f"/api/mgmt/oauthapps/{app.pk}")]
