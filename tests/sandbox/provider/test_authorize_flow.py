"""Authorization code + PKCE through the sandbox provider, with the Django test client."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import AccessToken, RefreshToken

from portal.sandbox.provider import seed
from portal.sandbox.provider.views import SESSION_KEY
from tests.helpers.pkce import make_pkce
from tests.helpers.sandbox_provider import (
    REDIRECT_URI,
    authorize_url,
    basic_auth,
    callback_params,
    exchange_code,
    refresh,
    sign_in,
    sign_in_and_consent,
)


def _code(client: Client, scope: str, state: str = "st-1") -> tuple[str, str]:
    verifier, challenge = make_pkce()
    callback = sign_in_and_consent(
        client, authorize_url(REDIRECT_URI, state=state, code_challenge=challenge, scope=scope)
    )
    assert callback.startswith(REDIRECT_URI + "?")
    params = callback_params(callback)
    assert params["state"] == state
    return params["code"], verifier


def test_anonymous_authorize_goes_to_the_provider_login_with_next(client, provider_app):
    url = authorize_url(REDIRECT_URI, state="s", code_challenge=make_pkce()[1])
    response = client.get(url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/sandbox/provider/login/"
    assert parse_qs(location.query)["next"] == [url]


def test_consent_page_is_branded_and_names_the_provider_account(client, provider_app):
    sign_in(client)
    response = client.get(
        authorize_url(REDIRECT_URI, state="s", code_challenge=make_pkce()[1], scope="read offline_access")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sandbox OAuth provider — not a real provider" in html
    assert ">Allow</button>" in html and ">Deny</button>" in html
    assert "sandbox_person" in html
    assert "Keep access when you are not signed in (refresh token)" in html


def test_full_flow_gives_tokens_and_the_refresh_token_rotates(client, provider_app):
    code, verifier = _code(client, "read offline_access")

    response = exchange_code(Client(), code, REDIRECT_URI, verifier)
    assert response.status_code == 200, response.content
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert set(tokens["scope"].split()) == {"read", "offline_access"}
    assert tokens["access_token"] and tokens["refresh_token"]
    assert AccessToken.objects.get(token_checksum__isnull=False).user.username == seed.ACCOUNT_USERNAME

    rotated = refresh(Client(), tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.content
    new = rotated.json()
    assert new["access_token"] != tokens["access_token"]
    assert new["refresh_token"] != tokens["refresh_token"]
    assert RefreshToken.objects.get(token=tokens["refresh_token"]).revoked is not None

    reused = refresh(Client(), tokens["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


def test_no_refresh_token_without_offline_access(client, provider_app):
    code, verifier = _code(client, "read")
    tokens = exchange_code(Client(), code, REDIRECT_URI, verifier).json()
    assert tokens["access_token"]
    assert "refresh_token" not in tokens
    assert not RefreshToken.objects.exists()


def test_the_code_is_single_use(client, provider_app):
    code, verifier = _code(client, "read")
    assert exchange_code(Client(), code, REDIRECT_URI, verifier).status_code == 200
    again = exchange_code(Client(), code, REDIRECT_URI, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_wrong_code_verifier_is_refused(client, provider_app):
    code, _verifier = _code(client, "read")
    response = exchange_code(Client(), code, REDIRECT_URI, make_pkce()[0])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_refused(client, provider_app):
    code, verifier = _code(client, "read")
    response = exchange_code(Client(), code, REDIRECT_URI, verifier, secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_pkce_is_required(client, provider_app):
    sign_in(client)
    response = client.get(authorize_url(REDIRECT_URI, state="s", code_challenge=None))
    assert response.status_code == 302
    params = callback_params(response["Location"])
    assert response["Location"].startswith(REDIRECT_URI)
    assert params["error"] == "invalid_request"
    assert "code" not in params


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(client, provider_app):
    sign_in(client)
    response = client.get(authorize_url("https://evil.example/cb", state="s", code_challenge=make_pkce()[1]))
    assert response.status_code == 400
    assert "evil.example" not in response.get("Location", "")
    assert "The sandbox provider refused this request" in response.content.decode()


def test_deny_sends_access_denied_back(client, provider_app):
    url = authorize_url(REDIRECT_URI, state="st-9", code_challenge=make_pkce()[1])
    callback = sign_in_and_consent(client, url, allow=False)
    assert callback.startswith(REDIRECT_URI + "?")
    params = callback_params(callback)
    assert params["error"] == "access_denied"
    assert params["state"] == "st-9"
    assert "code" not in params
    assert not AccessToken.objects.exists()


def test_the_portal_session_user_is_untouched_by_the_provider_flow(client, provider_app, portal_user):
    client.force_login(portal_user)
    code, verifier = _code(client, "read offline_access")

    session = client.session
    assert session[AUTH_SESSION_KEY] == str(portal_user.pk)
    assert session[SESSION_KEY] == seed.seed_account().pk
    assert exchange_code(Client(), code, REDIRECT_URI, verifier).status_code == 200
    # The grant belongs to the provider account, never to the portal person.
    assert AccessToken.objects.get().user.is_sandbox_provider_account


def test_a_portal_sign_in_alone_is_not_a_provider_sign_in(client, provider_app, portal_user):
    client.force_login(portal_user)
    response = client.get(authorize_url(REDIRECT_URI, state="s", code_challenge=make_pkce()[1]))
    assert response.status_code == 302
    assert response["Location"].startswith("/sandbox/provider/login/")


def test_revoke_endpoint_revokes_the_access_token(client, provider_app):
    code, verifier = _code(client, "read")
    access = exchange_code(Client(), code, REDIRECT_URI, verifier).json()["access_token"]
    response = Client().post(
        "/sandbox/oauth/revoke/",
        {"token": access, "token_type_hint": "access_token"},
        HTTP_AUTHORIZATION=basic_auth(),
    )
    assert response.status_code == 200
    assert not AccessToken.objects.exists()


def test_token_endpoint_needs_no_csrf_token(provider_app):
    """Clients post to it server-to-server, with no CSRF cookie (DOT marks it csrf_exempt)."""
    code, verifier = _code(Client(), "read")
    response = exchange_code(Client(enforce_csrf_checks=True), code, REDIRECT_URI, verifier)
    assert response.status_code == 200, response.content
    assert response.json()["access_token"]


def test_consent_page_has_the_providers_own_header_and_shows_only_the_provider_account(
    client, provider_app, portal_user
):
    """The provider is a different site (issue 12): its own header, no portal header, no portal
    person or portal sign-out on its page; ``user`` stays the portal's person all the same."""
    client.force_login(portal_user)
    sign_in(client)
    response = client.get(authorize_url(REDIRECT_URI, state="s", code_challenge=make_pkce()[1]))
    assert response.status_code == 200
    assert response.context["user"] == portal_user
    assert response.context["provider_account"].username == seed.ACCOUNT_USERNAME
    html = response.content.decode()
    assert 'class="provider-header"' in html and "Sandbox provider — practice sign-in" in html
    assert "sandbox/provider.css" in html and "portal/portal.css" not in html
    assert "acme_admin (Acme)" not in html
    assert 'class="site-header"' not in html and reverse("accounts:logout") not in html
    assert f"<strong>{seed.ACCOUNT_USERNAME}</strong>" in html


def test_an_unregistered_redirect_address_is_explained_with_its_fix(client, provider_app):
    sign_in(client)
    unknown = "http://127.0.0.1:8000/oauth/callback/Not_registered_app/"
    url = authorize_url(unknown, state="s", code_challenge=make_pkce()[1])
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="redirect-mismatch"' in html
    assert f'<code id="redirect-uri" class="uri">{unknown}</code>' in html and "data-copy" in html
    assert 'href="/sandbox/provider/"' in html  # where to register it
    assert "I&#x27;ve registered it, try again" in html or "I've registered it, try again" in html
    seed.seed_application([unknown])  # registered at the console: the same request now goes through
    assert client.get(url).status_code == 200
