"""Provider presets: order, placeholders, and that each preset's URIs pass its own pins."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.oauth import presets
from portal.oauth.uris import validate_provider_pair

SAMPLE = {"tenant": "contoso.onmicrosoft.com", "org": "contoso", "account": "xy12345.eu-west-1"}


def test_native_presets_first_then_custom_then_sandbox(settings):
    settings.SANDBOX_ENABLED = True
    keys = [p.key for p in presets.presets_for_datastore("Google Analytics")]
    assert keys == ["google_analytics", "custom", "sandbox"]
    keys = [p.key for p in presets.presets_for_datastore("salesforce")]
    assert keys == ["salesforce", "salesforce_sandbox", "custom", "sandbox"]
    assert [p.key for p in presets.presets_for_datastore("Autonomous REST Connector")] == [
        "custom",
        "sandbox",
    ]
    settings.SANDBOX_ENABLED = False
    assert [p.key for p in presets.presets_for_datastore("Snowflake")] == ["snowflake", "custom"]
    assert presets.get_preset("sandbox") is None


def test_sandbox_preset_follows_settings(settings):
    settings.SANDBOX_ENABLED = True
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"
    settings.SANDBOX_PROVIDER_CLIENT_ID = "sandbox-client"
    preset = presets.get_preset("sandbox")
    assert preset is not None
    assert preset.authorize_uri == "http://127.0.0.1:8000/sandbox/oauth/authorize/"
    assert preset.token_uri == "http://127.0.0.1:8000/sandbox/oauth/token/"
    assert preset.client_id == "sandbox-client"
    assert preset.token_auth == "basic"
    assert "offline_access" in preset.scope.split()


@pytest.mark.parametrize("key", sorted(set(presets.PRESETS) - {"custom"}))
def test_every_preset_passes_its_own_pins(key, settings):
    settings.OAUTH_ALLOW_LOOPBACK = False
    preset = presets.PRESETS[key].fill(**{n: SAMPLE[n] for n in presets.PRESETS[key].placeholders})
    validate_provider_pair(preset.authorize_uri, preset.token_uri, allowed_hosts=preset.allowed_hosts)
    assert "{" not in preset.scope
    assert preset.refresh_token_hint and preset.docs_url


def test_google_asks_for_offline_access_and_consent():
    google = presets.PRESETS["google_analytics"]
    assert google.extra_params == {"access_type": "offline", "prompt": "consent"}
    assert (
        "access_type=offline" in google.refresh_token_hint and "prompt=consent" in google.refresh_token_hint
    )
    assert presets.PRESETS["salesforce"].scope == "api refresh_token"
    assert "offline_access" in presets.PRESETS["microsoft"].scope.split()
    assert presets.PRESETS["custom"].extra_params == {"prompt": "consent"}


@pytest.mark.parametrize(
    "value", ["evil.example/", "a@b", "x:1", "x?y", "x#y", "..", "a..b", "", "-a", "a b"]
)
def test_placeholders_cannot_change_the_uri_structure(value):
    with pytest.raises(ValidationError):
        presets.PRESETS["snowflake"].fill(account=value)


def test_filled_microsoft_preset():
    filled = presets.PRESETS["microsoft"].fill(tenant="Contoso.onmicrosoft.com", org="Contoso")
    assert (
        filled.authorize_uri
        == "https://login.microsoftonline.com/Contoso.onmicrosoft.com/oauth2/v2.0/authorize"
    )
    assert filled.scope == "https://contoso.crm.dynamics.com/user_impersonation offline_access"
    assert filled.placeholders == ()
