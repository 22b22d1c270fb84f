"""The fields the wizard and a completed setup's pages share (portal/onboarding/forms/fields.py):
one scope check (RFC 6749 scope tokens, and no ``&``, ``#`` or ``?``: SECURITY.md item 37) and one
client-secret check, in step b and on the setup page alike (issue 18 item 6)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from portal.connections.forms import RepairForm, ScopeForm, SecretForm
from portal.oauth import presets
from portal.oauth.models import OAuthFlow
from portal.onboarding.forms import AppCreateForm, AppEditForm
from portal.sandbox.hdp import faults
from portal.sandbox.hdp.models import OAuthApp as EmuApp
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.completed_setup import completed_setup, sign_in, use_emulator
from tests.helpers.wizard import create_app, start_run

HOSTILE = [
    ("read offline_access&redirect_uri=https://evil.example/cb", "contains &"),
    ("read offline_access#x", "contains #"),
    ("read offline_access?x=1", "contains ?"),
    ('read "quoted"', "is not a valid scope"),
    ("read back\\slash", "is not a valid scope"),
    ("read caf\u00e9", "is not a valid scope"),
]


def _app_data(scope: str) -> dict[str, str]:
    return {
        "name": "Acme_Sc_app",
        "client_id": "client",
        "client_secret": "secret",
        "authorize_uri": "https://auth.example.com/authorize",
        "token_uri": "https://auth.example.com/token",
        "scope": scope,
    }


def _scope_errors(form) -> list[str]:  # type: ignore[no-untyped-def]
    assert not form.is_valid()
    return [str(e) for e in form.errors["scope"]]


@pytest.mark.parametrize(("scope", "words"), HOSTILE)
def test_the_wizard_and_the_setup_page_refuse_the_same_scopes_with_the_same_words(scope, words):
    wizard = AppCreateForm(_app_data(scope), preset=presets.PRESETS["custom"], initial={})
    setup_page = ScopeForm({"scope": scope})
    assert _scope_errors(wizard) == _scope_errors(setup_page)
    assert words in _scope_errors(setup_page)[0]


def test_rfc_6749_scope_tokens_pass_and_come_back_single_spaced():
    scope = "openid  https://www.googleapis.com/auth/drive.readonly\tapi:read !$%'()*+,-./:;<=>@[]^_`{|}~"
    assert ScopeForm({"scope": scope}).is_valid()
    form = AppCreateForm(_app_data(scope), preset=presets.PRESETS["custom"], initial={})
    form.is_valid()
    assert "scope" not in form.errors
    assert form.cleaned_data["scope"] == " ".join(scope.split())


def test_the_scope_refusal_is_translated():
    with translation.override("de"):
        [error] = _scope_errors(ScopeForm({"scope": "read&x"}))
    assert "enthält &" in error


@pytest.mark.parametrize(
    ("secret", "code"),
    [
        ("   ", "required"),
        ("a\x00b", "secret_control"),
        ("line\nbreak", "secret_control"),
        ("x" * 1001, "max_length"),
    ],
)
def test_every_client_secret_form_refuses_the_same_secrets(secret, code):
    custom = presets.PRESETS["custom"]
    forms = [
        AppCreateForm(_app_data("read") | {"client_secret": secret}, preset=custom, initial={}),
        SecretForm({"client_secret": secret}),
    ]
    for form in forms:
        assert not form.is_valid()
        assert [e.code for e in form.errors.as_data()["client_secret"]] == [code], form
    if code != "required":  # optional where the secret HDP holds may be kept, never a bad one
        for form in (
            AppEditForm(
                {**_app_data("read"), "client_secret": secret}, preset=custom, initial=_app_data("read")
            ),
            RepairForm({"client_secret": secret}),
        ):
            assert [e.code for e in form.errors.as_data()["client_secret"]] == [code]


# --- through the pages ----------------------------------------------------------------------------
@pytest.fixture
def hdp(settings, db):
    client = use_emulator(settings)
    seed_demo()
    faults.clear()
    yield client
    faults.clear()


@pytest.mark.parametrize(("scope", "words"), HOSTILE[:2])
def test_change_the_scopes_stores_no_hostile_scope_in_hdp(client, hdp, scope, words):
    sign_in(client)
    run = completed_setup(hdp, "Acme_Sc")
    answer = client.post(reverse("connections:change-scope", args=[run.pk]), {"scope": scope})
    assert answer.status_code == 303 and answer["Location"].endswith("#rotate")
    assert words in client.get(answer["Location"]).content.decode().replace("&amp;", "&")
    assert EmuApp.objects.get(name="Acme_Sc_app").scope == "read offline_access"
    assert not OAuthFlow.objects.exists()


@pytest.mark.parametrize(("scope", "words"), HOSTILE[:2])
def test_the_wizard_registers_no_application_with_a_hostile_scope(client, hdp, scope, words):
    sign_in(client)
    run = start_run(client)  # the sandbox preset: its addresses pass, only the scope can fail
    answer = create_app(client, run, scope=scope)
    html = answer.content.decode().replace("&amp;", "&")
    assert answer.status_code == 200 and words in html
    assert not EmuApp.objects.filter(name="Acme_GA_app").exists()
    assert create_app(client, run).status_code == 303  # the same form with valid scopes registers it
