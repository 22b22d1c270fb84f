"""SECURITY.md item 11 (and 5d): admin-supplied provider URIs."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from portal.oauth.uris import (
    RESERVED_TOKEN_PARAMS,
    check_provider_uri,
    hosts_share_registrable_domain,
    query_param_names,
    validate_extra_params,
    validate_provider_pair,
    validate_provider_uri,
)
from tests.helpers.hostile_uris import HOSTILE, SEPARATOR_HOSTILE

GOOGLE = ("accounts.google.com", "oauth2.googleapis.com")
SALESFORCE = ("login.salesforce.com", "test.salesforce.com", "*.my.salesforce.com")


@pytest.fixture(autouse=True)
def _no_loopback(settings):
    settings.OAUTH_ALLOW_LOOPBACK = False
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["idp.example.com", "*.example.org"]


@pytest.mark.parametrize(("uri", "code"), HOSTILE, ids=[f"{i}-{c}" for i, (_, c) in enumerate(HOSTILE)])
def test_hostile_uris_are_refused_with_a_specific_message(uri, code):
    with pytest.raises(ValidationError) as excinfo:
        validate_provider_uri(uri, allowed_hosts=SALESFORCE + GOOGLE, kind="authorize")
    assert excinfo.value.code == code
    assert excinfo.value.messages[0]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("https://accounts.google.com/o/oauth2/v2/auth", "https://accounts.google.com/o/oauth2/v2/auth"),
        ("https://ACCOUNTS.Google.COM/o/oauth2/v2/auth", "https://accounts.google.com/o/oauth2/v2/auth"),
        ("https://accounts.google.com:443/o/oauth2/v2/auth", "https://accounts.google.com/o/oauth2/v2/auth"),
        ("  https://oauth2.googleapis.com/token  ", "https://oauth2.googleapis.com/token"),
        ("https://acme.my.salesforce.com/services/oauth2/authorize", None),
        ("https://accounts.google.com/auth?hd=example.com", None),
        ("HTTPS://accounts.google.com", "https://accounts.google.com/"),
    ],
)
def test_good_uris_are_normalised(uri, expected):
    got = validate_provider_uri(uri, allowed_hosts=SALESFORCE + GOOGLE)
    assert got == (expected or uri.strip())


def test_custom_hosts_need_the_setting_and_the_message_says_so(settings):
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = []
    with pytest.raises(ValidationError) as excinfo:
        validate_provider_uri("https://idp.example.com/authorize", allowed_hosts=None)
    assert "OAUTH_ALLOWED_CUSTOM_HOSTS" in excinfo.value.messages[0]
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["idp.example.com"]
    assert validate_provider_uri("https://idp.example.com/authorize", allowed_hosts=None)


def test_preset_hosts_are_pinned_even_when_custom_list_allows_the_host(settings):
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["idp.example.com"]
    with pytest.raises(ValidationError) as excinfo:
        validate_provider_uri("https://idp.example.com/token", allowed_hosts=GOOGLE, kind="token")
    assert excinfo.value.code == "host_not_allowed"


def test_token_uri_refuses_token_request_parameters_in_its_query():
    with pytest.raises(ValidationError) as excinfo:
        validate_provider_uri(
            "https://oauth2.googleapis.com/token?client_secret=x", allowed_hosts=GOOGLE, kind="token"
        )
    assert excinfo.value.code == "reserved_param"


def test_loopback_only_with_the_setting(settings):
    for uri in (
        "http://127.0.0.1:8000/sandbox/oauth/token/",
        "http://localhost:9090/auth",
        "http://[::1]:9090/a",
    ):
        with pytest.raises(ValidationError):
            validate_provider_uri(uri, allowed_hosts=None)
    settings.OAUTH_ALLOW_LOOPBACK = True
    assert validate_provider_uri(
        "http://127.0.0.1:8000/sandbox/oauth/token/", allowed_hosts=None, kind="token"
    ) == ("http://127.0.0.1:8000/sandbox/oauth/token/")
    assert validate_provider_uri("http://[::1]:9090/a", allowed_hosts=None) == "http://[::1]:9090/a"
    # Only the three exact spellings, never an alternative IP spelling or a private address.
    for uri in ("http://2130706433:8000/", "http://127.0.0.2/", "http://10.0.0.5/", "http://evil.example/"):
        with pytest.raises(ValidationError):
            validate_provider_uri(uri, allowed_hosts=None)


def test_extra_params_parse_both_forms_and_refuse_reserved_keys():
    assert validate_extra_params("access_type=offline&prompt=consent") == {
        "access_type": "offline",
        "prompt": "consent",
    }
    assert validate_extra_params("access_type=offline\nprompt = consent\n") == {
        "access_type": "offline",
        "prompt": "consent",
    }
    assert validate_extra_params("  ") == {}
    for text in (
        "redirect_uri=https://evil",
        "prompt=consent\nstate=x",
        "Client_ID=x",
        "scope=all",
        "nonce=1",
    ):
        with pytest.raises(ValidationError) as excinfo:
            validate_extra_params(text)
        assert excinfo.value.code == "reserved_param"
    for text in ("novalue", "a=1&a=2", "bad key=1"):
        with pytest.raises(ValidationError):
            validate_extra_params(text)


def test_registrable_domain_uses_the_bundled_public_suffix_list():
    assert hosts_share_registrable_domain("login.example.co.uk", "api.example.co.uk")
    assert hosts_share_registrable_domain("accounts.example.com", "example.com")
    assert not hosts_share_registrable_domain("a.example.co.uk", "b.other.co.uk")
    assert not hosts_share_registrable_domain("co.uk", "co.uk")  # a public suffix has no owner
    # Private suffixes count: two apps on one hosting platform are different owners.
    assert not hosts_share_registrable_domain("honest.herokuapp.com", "attacker.herokuapp.com")


def test_custom_pair_must_share_a_domain_or_be_listed_exactly(settings):
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["*.example.org", "*.example.net"]
    assert validate_provider_pair(
        "https://login.example.org/authorize", "https://api.example.org/token", allowed_hosts=None
    )
    with pytest.raises(ValidationError) as excinfo:
        validate_provider_pair(
            "https://login.example.org/authorize", "https://api.example.net/token", allowed_hosts=None
        )
    assert excinfo.value.code == "host_pair"
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = ["login.example.org", "api.example.net"]
    assert validate_provider_pair(
        "https://login.example.org/authorize", "https://api.example.net/token", allowed_hosts=None
    )


# --- fuzzing ------------------------------------------------------------------------------------
ALLOW = ("accounts.google.com", "*.my.salesforce.com")
hosts = st.sampled_from(
    [
        "accounts.google.com",
        "acme.my.salesforce.com",
        "my.salesforce.com",
        "evil.example",
        "127.0.0.1",
        "2130706433",
        "0x7f.1",
        "[::1]",
        "[::ffff:10.0.0.1]",
        "аccounts.google.com",
        "accounts.google.com.",
        "localhost",
        "",
    ]
) | st.text(min_size=0, max_size=30)
parts = st.text(min_size=0, max_size=20)


@st.composite
def url_like(draw):
    scheme = draw(st.sampled_from(["https", "http", "HTTPS", "javascript", "ftp", ""]))
    userinfo = draw(
        st.sampled_from(["", "u@", "u:p@", "accounts.google.com@"]) | parts.map(lambda p: p + "@")
    )
    host = draw(hosts)
    port = draw(st.sampled_from(["", ":443", ":8443", ":0", ":x", ":99999"]))
    path = draw(parts)
    query = draw(
        st.sampled_from(["", "?a=b", "?redirect_uri=x", "?state=1&state=2"]) | parts.map(lambda p: "?" + p)
    )
    frag = draw(st.sampled_from(["", "#", "#x"]))
    return f"{scheme}://{userinfo}{host}{port}/{path}{query}{frag}"


def _check_invariants(uri: str) -> None:
    from urllib.parse import urlsplit

    from portal.oauth.uris import host_matches

    try:
        got = validate_provider_uri(uri, allowed_hosts=ALLOW)
    except ValidationError:
        return
    parts_ = urlsplit(got)
    assert parts_.scheme == "https"
    assert "@" not in parts_.netloc
    assert "#" not in got and not parts_.fragment
    assert parts_.port in (None, 443)
    assert host_matches(parts_.hostname or "", ALLOW)
    # Normalisation is idempotent.
    assert validate_provider_uri(got, allowed_hosts=ALLOW) == got


@hsettings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url_like())
def test_fuzz_structured_urls_only_raise_validation_error(uri):
    _check_invariants(uri)


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_fuzz_arbitrary_text_only_raises_validation_error(text):
    _check_invariants(text)
    _check_invariants("https://" + text)


# --- issue 13.3/13.4: ";" and encoded separators, and the shared check of the app form ---------------


@pytest.mark.parametrize(("uri", "code"), SEPARATOR_HOSTILE)
def test_reserved_parameters_and_semicolons_are_refused_however_the_query_is_written(uri, code):
    for kind in ("authorize", "token"):
        with pytest.raises(ValidationError) as excinfo:
            validate_provider_uri(uri, allowed_hosts=GOOGLE, kind=kind)
        assert excinfo.value.code == code, (uri, kind)


def test_the_semicolon_message_says_what_to_remove():
    with pytest.raises(ValidationError) as excinfo:
        validate_provider_uri(SEPARATOR_HOSTILE[0][0], allowed_hosts=GOOGLE)
    assert excinfo.value.messages == [
        "Remove the ';' from the part after '?': providers' addresses never need it here."
    ]


def test_a_semicolon_in_the_path_and_ordinary_queries_are_still_accepted():
    assert validate_provider_uri("https://accounts.google.com/a;b/auth", allowed_hosts=GOOGLE)
    ok = "https://accounts.google.com/auth?resource=https%3A%2F%2Fapi.example%2Fx%3Fa%3D1%26b%3D2&hd=example.com"
    assert validate_provider_uri(ok, allowed_hosts=GOOGLE) == ok


def test_no_preset_needs_a_semicolon_or_a_reserved_parameter_in_its_addresses():
    from portal.oauth import presets

    for preset in [*presets.PRESETS.values(), presets.sandbox_preset()]:
        values = dict.fromkeys(preset.placeholders, "contoso")
        filled = preset.fill(**values) if values else preset
        for uri in (filled.authorize_uri, filled.token_uri):
            assert ";" not in urlsplit(uri).query and "%3b" not in urlsplit(uri).query.lower(), preset.key
            assert not (query_param_names(urlsplit(uri).query) & RESERVED_TOKEN_PARAMS), preset.key


def _preset(key: str):
    from portal.oauth import presets

    return presets.get_preset(key)


def test_check_provider_uri_names_the_placeholder_fields_of_the_preset():
    snowflake = _preset("snowflake")
    with pytest.raises(ValidationError) as excinfo:
        check_provider_uri(snowflake.authorize_uri, preset=snowflake, kind="authorize")
    assert excinfo.value.code == "placeholder"
    assert "Snowflake account identifier" in excinfo.value.messages[0]


@pytest.mark.parametrize(
    "uri",
    [
        "https://{evil}.snowflakecomputing.com/oauth/authorize",  # not this preset's placeholder
        "https://{account.snowflakecomputing.com/oauth/authorize",  # a stray brace
        "https://x.snowflakecomputing.com/oauth/authorize?a={account}}",
    ],
)
def test_check_provider_uri_refuses_any_other_brace(uri):
    with pytest.raises(ValidationError) as excinfo:
        check_provider_uri(uri, preset=_preset("snowflake"), kind="authorize")
    assert excinfo.value.code == "braces"


def test_check_provider_uri_is_validate_provider_uri_otherwise():
    google = _preset("google_analytics")
    uri = "https://accounts.google.com/o/oauth2/v2/auth"
    assert check_provider_uri(f" {uri} ", preset=google, kind="authorize") == uri
    with pytest.raises(ValidationError) as excinfo:
        check_provider_uri(SEPARATOR_HOSTILE[0][0], preset=google, kind="authorize")
    assert excinfo.value.code == "semicolon"
