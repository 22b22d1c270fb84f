"""SECURITY.md item 11 through the wizard (issue 4, part 2): every hostile provider URI of the
validator table (tests/helpers/hostile_uris.py, HOSTILE, 54 payloads) typed into the real "register an
application" form is refused with an error on that field, the rest of the input is kept, the secret
is not echoed, and HDP never receives it: zero HDP writes, and no HDP request carries the URI. The
inline check (htmx, on blur) refuses the same payloads with zero HDP calls at all.

The one HDP request the form page makes is its list of existing applications (a GET, to offer
"reuse"); it is made before the form is validated and carries nothing the admin typed.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse
from django.utils.html import escape
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from portal.oauth import presets, uris
from portal.onboarding.forms import AppCreateForm
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.db import kept_for_the_class
from tests.helpers.hostile_uris import HOSTILE
from tests.helpers.wizard import EMULATOR_SETTINGS, create_app, sign_in, start_run

GOOD_AUTHORIZE = "https://accounts.google.com/o/oauth2/v2/auth"
GOOD_TOKEN = "https://oauth2.googleapis.com/token"
SECRET = "sentinel-hostile-uri-secret-61f0"
IDS = [f"{i}-{code}" for i, (_, code) in enumerate(HOSTILE)]


@pytest.fixture(scope="class")
def _admin_at_a_google_run(django_db_setup, django_db_blocker):
    """A signed-in admin at step b of a Google Analytics run, under production's URI rules; built once for
    the class of tests that use it (tests/helpers/db.py): each of them is refused, nothing is kept."""
    production_uri_rules = {"OAUTH_ALLOW_LOOPBACK": False, "OAUTH_ALLOWED_CUSTOM_HOSTS": []}
    with (
        kept_for_the_class(django_db_blocker),
        override_settings(**EMULATOR_SETTINGS, **production_uri_rules),
    ):
        with django_db_blocker.unblock():
            seed_demo()
            admin = Client()
            assert sign_in(admin).status_code == 302
            run = start_run(admin, "54:google_analytics")
        yield admin, run


@pytest.fixture
def google_run(_admin_at_a_google_run, hdp_log):
    hdp_log.clear()
    return _admin_at_a_google_run


def _carries(requests, uri: str) -> bool:
    needles = {uri, quote(uri, safe=""), uri.strip()} - {""}
    for request in requests:
        text = str(request.url) + request.content.decode(errors="replace")
        if any(n in text for n in needles):
            return True
    return False


def _message(uri: str, field: str, code: str, *, form: bool) -> str:
    """The refusal the wizard must show: the shared URI check's, for this very reason (``code``).
    On the saved form, Django's own required / max_length check of the field speaks first."""
    kind = "authorize" if field == "authorize_uri" else "token"
    with pytest.raises(ValidationError) as excinfo:
        uris.check_provider_uri(uri, preset=presets.PRESETS["google_analytics"], kind=kind)
    assert excinfo.value.code == code, (uri, excinfo.value.code)
    if form and code in ("required", "too_long"):
        with pytest.raises(ValidationError) as excinfo:
            AppCreateForm.base_fields[field].clean(uri)
    return escape(excinfo.value.messages[0])


def _refused(admin, run, hdp_log, field: str, uri: str, code: str) -> None:
    message = _message(uri, field, code, form=True)
    data = {"authorize_uri": GOOD_AUTHORIZE, "token_uri": GOOD_TOKEN, field: uri}
    response = create_app(admin, run, client_id="kept-client-id", client_secret=SECRET, **data)
    html = response.content.decode()
    assert response.status_code == 200, response.status_code
    assert f'id="id_{field}-error"' in html, (field, uri)
    assert message in html, (field, uri, message)
    assert 'value="kept-client-id"' in html  # the rest of the input is kept...
    assert SECRET not in html  # ...but never the secret
    assert [r.method for r in hdp_log if r.method != "GET"] == []
    assert [r.url.path for r in hdp_log] in ([], ["/api/mgmt/oauthapps"])
    assert not _carries(hdp_log, uri)


TOKEN_HOSTILE = [(u, c) for u, c in HOSTILE if c != "reserved_param"] + [
    ("https://oauth2.googleapis.com/token?redirect_uri=https://evil.example/", "reserved_param"),
    ("https://oauth2.googleapis.com/token?code=fixed", "reserved_param"),
    ("https://oauth2.googleapis.com/token?client_secret=x", "reserved_param"),
]


class TestRefusedOnOneRun:
    """Every test here is refused and keeps nothing: one run for all (tests/helpers/db.py)."""

    @pytest.mark.parametrize(("uri", "code"), HOSTILE, ids=IDS)
    def test_hostile_authorize_uri_is_a_field_error_and_never_reaches_hdp(
        self, google_run, hdp_log, uri, code
    ):
        _refused(*google_run, hdp_log, "authorize_uri", uri, code)

    @pytest.mark.parametrize(
        ("uri", "code"), TOKEN_HOSTILE, ids=[f"{i}-{c}" for i, (_, c) in enumerate(TOKEN_HOSTILE)]
    )
    def test_hostile_token_uri_is_a_field_error_and_never_reaches_hdp(self, google_run, hdp_log, uri, code):
        _refused(*google_run, hdp_log, "token_uri", uri, code)

    @pytest.mark.parametrize(("uri", "code"), HOSTILE, ids=IDS)
    def test_inline_check_refuses_with_zero_hdp_calls(self, google_run, hdp_log, uri, code):
        admin, run = google_run
        for field in ("authorize_uri", "token_uri"):
            url = reverse("onboarding:validate", kwargs={"run_id": run.pk, "field": field})
            response = admin.post(url, {field: uri}, HTTP_HX_REQUEST="true")
            if code == "reserved_param" and field == "token_uri" and "redirect_uri" not in uri:
                continue  # authorize-only parameters (state, nonce...) mean nothing on a token URI
            assert response.status_code == 200
            html = response.content.decode()
            assert f'id="id_{field}-error"' in html, (field, uri)
            assert _message(uri, field, code, form=False) in html, (field, uri)
        assert hdp_log == []


def test_counts():
    """The numbers SECURITY.md quotes."""
    assert len(HOSTILE) >= 20
    assert len(HOSTILE) == 54 and len(TOKEN_HOSTILE) == 50


HOSTS = st.sampled_from(
    ["accounts.google.com", "oauth2.googleapis.com", "127.0.0.1", "[::1]", "169.254.169.254", "evil.example",
     "accounts.google.com.evil.example", "xn--ccounts-4fg.google.com", "localhost", "0x7f000001", ""]
)  # fmt: skip
URIS = st.one_of(
    st.text(max_size=80),
    st.builds(
        "{}://{}{}{}{}".format,
        st.sampled_from(["https", "http", "HTTPS", "javascript", "", "ftp"]),
        st.one_of(HOSTS, st.builds("{}@{}".format, st.text(max_size=5), HOSTS)),
        st.sampled_from(["", ":443", ":8443", ":0", ":99999"]),
        st.text(max_size=20),
        st.sampled_from(["", "?state=x", "?redirect_uri=https://evil.example", "#f", "?hd=example.com"]),
    ),
)


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(authorize=URIS, token=URIS)
def test_fuzz_the_form_accepts_only_pinned_https_hosts(settings, authorize, token):
    """Whatever is typed, the form either refuses it on the field or keeps an https URI on one of
    the preset's pinned hosts; it never raises (hypothesis, on top of tests/oauth's parser fuzz)."""
    settings.OAUTH_ALLOW_LOOPBACK = False
    preset = presets.PRESETS["google_analytics"]
    form = AppCreateForm(
        {"name": "Fuzz_app", "client_id": "c", "client_secret": "s", "scope": "x",
         "authorize_uri": authorize, "token_uri": token},
        preset=preset,
    )  # fmt: skip
    valid = form.is_valid()
    for field in ("authorize_uri", "token_uri"):
        if field in form.errors:
            assert not valid
            continue
        assert field in form.cleaned_data
        parts = urlsplit(form.cleaned_data[field])
        assert parts.scheme == "https" and parts.hostname in preset.allowed_hosts
        assert not parts.username and not parts.fragment and parts.port in (None, 443)
