"""The sandbox provider as an OpenID provider (issue 19 item 7): an RS256 id_token naming the account
(``sub``, ``iss``, ``name``), verifiable with the keys its discovery document points to; the key is
generated into the database, sealed, never in settings. Django's test client throughout."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from jwcrypto import jwk, jwt
from oauth2_provider.settings import oauth2_settings

from portal.accounts.models import User
from portal.sandbox.provider import keys, seed
from portal.sandbox.provider.models import SigningKey
from tests.helpers.pkce import make_pkce
from tests.helpers.sandbox_provider import (
    authorize_url,
    callback_params,
    exchange_code,
    refresh,
    sign_in,
    sign_in_and_consent,
)

REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback/Sandbox_app/"
SCOPE = "openid read offline_access"


@pytest.fixture
def seeded_app(db):
    return seed.seed_provider([REDIRECT_URI])


def _tokens(account: seed.Account, scope: str = SCOPE) -> dict[str, str]:
    """Sign in as ``account`` in a fresh browser, allow, and exchange the code."""
    browser = Client()
    assert sign_in(browser, account.username, account.password).status_code == 303
    verifier, challenge = make_pkce()
    callback = sign_in_and_consent(
        browser, authorize_url(REDIRECT_URI, state="s", code_challenge=challenge, scope=scope)
    )
    response = exchange_code(Client(), callback_params(callback)["code"], REDIRECT_URI, verifier)
    assert response.status_code == 200, response.content
    tokens: dict[str, str] = response.json()
    return tokens


def _jwks_from_discovery(client: Client) -> tuple[dict[str, object], jwk.JWKSet]:
    discovery = client.get("/sandbox/.well-known/openid-configuration")
    assert discovery.status_code == 200
    metadata = discovery.json()
    jwks = client.get(urlsplit(metadata["jwks_uri"]).path)
    assert jwks.status_code == 200
    return metadata, jwk.JWKSet.from_json(jwks.content.decode())


def _verified_claims(id_token: str, key_set: jwk.JWKSet) -> dict[str, object]:
    token = jwt.JWT(jwt=id_token, key=key_set, algs=["RS256"])  # raises on a bad signature
    claims: dict[str, object] = json.loads(token.claims)
    return claims


def test_each_person_gets_an_rs256_id_token_naming_them_that_the_jwks_verifies(client, seeded_app):
    metadata, key_set = _jwks_from_discovery(client)
    assert metadata["issuer"] == oauth2_settings.OIDC_ISS_ENDPOINT == settings.PORTAL_BASE_URL + "/sandbox"
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "openid" in metadata["scopes_supported"]
    path = urlsplit(metadata["token_endpoint"]).path
    assert path == reverse("sandbox_provider:token")

    identities = []
    for account in seed.ACCOUNTS:
        tokens = _tokens(account)
        assert set(tokens["scope"].split()) == {"openid", "read", "offline_access"}
        claims = _verified_claims(tokens["id_token"], key_set)
        person = User.objects.get(username=account.username)
        assert claims["sub"] == str(person.pk)
        assert claims["iss"] == metadata["issuer"]
        assert claims["aud"] == settings.SANDBOX_PROVIDER_CLIENT_ID
        assert (claims["name"], claims["preferred_username"]) == (account.display_name, account.username)
        identities.append((claims["sub"], claims["iss"], claims["name"]))
    person, owner = identities
    assert (person[0], person[1]) != (owner[0], owner[1])  # two accounts, told apart by sub + iss
    assert person[2] != owner[2]  # and by their display names


def test_the_header_names_the_published_key(client, seeded_app):
    _, key_set = _jwks_from_discovery(client)
    tokens = _tokens(seed.ACCOUNTS[0])
    signed = jwt.JWT(jwt=tokens["id_token"], key=key_set, algs=["RS256"])
    header = json.loads(signed.header)
    assert header["alg"] == "RS256"
    assert header["kid"] == keys.private_key().thumbprint()
    assert [k["kid"] for k in json.loads(key_set.export(private_keys=False))["keys"]] == [header["kid"]]


def test_a_refresh_also_names_the_same_account(client, seeded_app):
    first = _tokens(seed.ACCOUNTS[1])
    again = refresh(Client(), first["refresh_token"])
    assert again.status_code == 200, again.content
    _, key_set = _jwks_from_discovery(client)
    before = _verified_claims(first["id_token"], key_set)
    after = _verified_claims(again.json()["id_token"], key_set)
    assert (after["sub"], after["iss"]) == (before["sub"], before["iss"])


def test_without_openid_there_is_no_id_token(seeded_app):
    tokens = _tokens(seed.ACCOUNTS[0], scope="read offline_access")
    assert "id_token" not in tokens and tokens["refresh_token"]


def test_the_key_is_generated_into_the_database_sealed_and_kept_across_seeds(client, seeded_app):
    assert "OIDC_RSA_PRIVATE_KEY" not in settings.OAUTH2_PROVIDER  # never in settings
    assert not oauth2_settings.OIDC_RSA_PRIVATE_KEY
    row = SigningKey.objects.get()
    assert "PRIVATE KEY" not in row.pem_enc  # sealed with the portal's encryption keys
    kid = keys.private_key().thumbprint()
    seed.seed_provider()
    assert SigningKey.objects.count() == 1 and keys.private_key().thumbprint() == kid

    published = client.get(reverse("sandbox_provider:jwks")).json()["keys"]
    assert [k["kid"] for k in published] == [kid]
    assert {"d", "p", "q", "dp", "dq", "qi"}.isdisjoint(published[0])  # the public half only
    assert published[0]["kty"] == "RSA" and published[0]["alg"] == "RS256"


def test_a_key_is_made_on_first_use_when_the_seed_did_not(db, client):
    assert not SigningKey.objects.exists()
    keys_published = client.get(reverse("sandbox_provider:jwks")).json()["keys"]
    assert len(keys_published) == 1 and SigningKey.objects.count() == 1


def test_the_second_person_signs_in_at_the_provider_with_their_own_password(seeded_app):
    owner = seed.ACCOUNTS[1]
    assert owner.username == "sandbox_owner" and owner.display_name != seed.ACCOUNTS[0].display_name
    browser = Client()
    assert sign_in(browser, owner.username, seed.ACCOUNT_PASSWORD).status_code == 400  # not the other's
    assert sign_in(browser, owner.username, owner.password).status_code == 303
    page = browser.get(reverse("sandbox_provider:console")).content.decode()
    assert "Signed in to the sandbox provider as <strong>sandbox_owner</strong>" in page
    for account in seed.ACCOUNTS:
        assert account.username in page and account.password in page and account.display_name in page


def test_userinfo_answers_for_the_access_token_with_the_same_subject(client, seeded_app):
    tokens = _tokens(seed.ACCOUNTS[1])
    metadata, key_set = _jwks_from_discovery(client)
    path = urlsplit(metadata["userinfo_endpoint"]).path
    assert path == reverse("sandbox_provider:userinfo")
    answer = Client().get(path, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert answer.status_code == 200, answer.content
    info = answer.json()
    assert info["sub"] == _verified_claims(tokens["id_token"], key_set)["sub"]
    assert info["preferred_username"] == "sandbox_owner"
    assert Client().get(path, HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401
