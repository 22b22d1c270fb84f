"""What each preset states about client authentication and refresh-token rotation (docs/decisions.md)."""

from __future__ import annotations

import pytest

from portal.oauth import presets
from portal.onboarding import stores


@pytest.mark.parametrize(
    ("key", "token_auth", "rotates"),
    [
        ("google_analytics", "post", False),
        ("google_bigquery", "post", False),
        ("salesforce", "post", False),
        ("salesforce_sandbox", "post", False),
        ("microsoft", "post", True),
        ("snowflake", "basic", False),
        ("custom", "basic", False),
    ],
)
def test_native_presets(key, token_auth, rotates):
    preset = presets.PRESETS[key]
    assert (preset.token_auth, preset.rotates_refresh_tokens) == (token_auth, rotates)


def test_the_sandbox_provider_rotates_and_uses_basic(settings):
    settings.SANDBOX_ENABLED = True
    sandbox = presets.sandbox_preset()
    assert sandbox is not None and sandbox.token_auth == "basic" and sandbox.rotates_refresh_tokens


def test_rotation_notes_say_may_and_configurable_in_plain_words():
    assert "may" in str(presets.PRESETS["microsoft"].rotation_note)
    assert "can be set" in str(presets.PRESETS["salesforce"].rotation_note)
    assert presets.PRESETS["google_analytics"].rotation_note == ""
    assert presets.PRESETS["snowflake"].rotation_note == ""


REST_DEFS = [
    {"id": "AuthenticationMethod", "choices": [{"id": "None"}, {"id": "OAuth2-AuthorizationCode"}]},
    {"id": "ClientCredentialsMode", "choices": [{"id": "Default"}, {"id": "Post"}]},
]


@pytest.mark.parametrize(("token_auth", "mode"), [("post", "Post"), ("basic", "Basic"), ("", "Basic")])
def test_fixed_options_tell_autonomous_rest_the_method(token_auth, mode):
    assert stores.fixed_options(REST_DEFS, token_auth) == {
        "AuthenticationMethod": "OAuth2-AuthorizationCode",
        "ClientCredentialsMode": mode,
    }
    assert stores.client_auth_settable(REST_DEFS)


def test_stores_without_the_option_are_not_told():
    ga = [{"id": "DefaultView"}]
    assert stores.fixed_options(ga, "post") == {} and not stores.client_auth_settable(ga)
