"""Issue 13.3/13.4 (SECURITY.md item 11): the inline (htmx) check and the save path of the app
form run one function, ``portal.oauth.uris.check_provider_uri``, so a refused address gets the same
words from both, with zero HDP writes; a preset's ``{placeholder}`` gets its own message."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from portal.onboarding.models import Run
from portal.sandbox.hdp.models import OAuthApp
from tests.helpers.hostile_uris import SEPARATOR_HOSTILE
from tests.helpers.wizard import create_app, start_run

GOOD = {"authorize_uri": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_uri": "https://oauth2.googleapis.com/token"}  # fmt: skip


def _error(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="id_{field}-error">(.*?)</p>', page, re.S)
    assert found, (field, page[:3000])
    return html.unescape(found.group(1)).strip()


def _inline(client, run: Run, field: str, value: str) -> str:
    url = reverse("onboarding:validate", kwargs={"run_id": run.pk, "field": field})
    response = client.post(url, {field: value}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return _error(response.content.decode(), field)


def _saved(client, run: Run, field: str, value: str, **data: str) -> str:
    response = create_app(client, run, **{**data, field: value})
    assert response.status_code == 200, response.status_code
    return _error(response.content.decode(), field)


@pytest.fixture
def google_run(acme, hdp_log, settings):
    settings.OAUTH_ALLOW_LOOPBACK = False
    settings.OAUTH_ALLOWED_CUSTOM_HOSTS = []
    return start_run(acme, "54:google_analytics")


@pytest.mark.parametrize(("uri", "code"), SEPARATOR_HOSTILE)
def test_semicolon_and_encoded_separator_uris_get_one_answer_at_save_and_inline(
    acme, hdp_log, google_run, uri, code
):
    for field in ("authorize_uri", "token_uri"):
        hdp_log.clear()
        inline = _inline(acme, google_run, field, uri)
        assert hdp_log == []  # the inline check never calls HDP
        saved = _saved(acme, google_run, field, uri, **GOOD)
        assert inline == saved, (field, uri)
        assert [r.method for r in hdp_log if r.method != "GET"] == []
        if code == "semicolon":
            assert saved == "Remove the ';' from the part after '?': providers' addresses never need it here."
        else:
            assert saved.startswith("Remove ") and "the portal sets these itself" in saved
    assert not OAuthApp.objects.exists()


def test_a_placeholder_address_gets_the_same_answer_from_both_paths(acme, hdp_log):
    run = start_run(acme, "76:snowflake")
    template = "https://{account}.snowflakecomputing.com/oauth/authorize"
    inline = _inline(acme, run, "authorize_uri", template)
    saved = _saved(
        acme, run, "authorize_uri", template, token_uri=template.replace("authorize", "token-request")
    )
    assert inline == saved
    assert inline.startswith("Fill in Snowflake account identifier") and "{placeholder}" in inline
    assert not OAuthApp.objects.exists()


def test_a_stray_brace_gets_the_same_answer_from_both_paths(acme, hdp_log, google_run):
    uri = "https://accounts.google.com/o/oauth2/v2/auth?hd={domain}"
    inline = _inline(acme, google_run, "authorize_uri", uri)
    assert inline == _saved(acme, google_run, "authorize_uri", uri, **GOOD)
    assert inline == "Remove the { } characters: only a preset's own {placeholder} may appear here."


def test_a_filled_placeholder_is_saved(acme, hdp_log):
    run = start_run(acme, "76:snowflake")
    template = "https://{account}.snowflakecomputing.com/oauth/authorize"
    response = create_app(acme, run, ph_account="acme-xy12345", authorize_uri=template,
                          token_uri=template.replace("authorize", "token-request"))  # fmt: skip
    assert response.status_code == 303, response.content[:2000]
    assert (
        OAuthApp.objects.get().authorize_uri == "https://acme-xy12345.snowflakecomputing.com/oauth/authorize"
    )
