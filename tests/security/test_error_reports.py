"""SECURITY.md item 17: error reports (AdminEmailHandler mails, Django's 500 report) never carry a
query string, a cookie, a POST value or a local variable, whichever view crashed.

The OAuth callback removes its own query early; this proves the portal-wide layer in
``portal.lib.logging`` (the exception reporter and its filter) for every other URL, for values
nobody registered as secret.
"""

from __future__ import annotations

import logging
from unittest.mock import patch

import pytest
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.debug import ExceptionReporter

from portal.lib.logging import PortalExceptionReporter, PortalExceptionReporterFilter

QUERY_SECRET = "sentinel-query-value-5f1c"
POST_SECRET = "sentinel-post-value-e2a9"
COOKIE_SECRET = "sentinel-cookie-value-77d0"
LOCAL_SECRET = "sentinel-local-variable-1b3e"


@pytest.mark.django_db
def test_admin_mail_of_a_crash_carries_no_query_post_cookie_or_local(settings, caplog):
    settings.ADMINS = [("Ops", "ops@example.com")]
    caplog.set_level(logging.DEBUG)
    browser = Client(raise_request_exception=False)
    browser.cookies["tracking"] = COOKIE_SECRET

    def boom(*args, **kwargs):
        secret_in_a_local = LOCAL_SECRET  # noqa: F841  (shown by Django's report unless cleansed)
        raise RuntimeError("login page broke")

    with patch("portal.accounts.views.render", side_effect=boom):
        url = reverse("accounts:login") + f"?code={QUERY_SECRET}&next=/"
        response = browser.post(url, {"username": "someone", "password": "", "note": POST_SECRET})
    assert response.status_code == 500
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    text = message.subject + message.body + "".join(str(a[0]) for a in message.alternatives)
    assert "Internal Server Error: /accounts/login/" in text  # it is a real report
    for sentinel in (QUERY_SECRET, POST_SECRET, COOKIE_SECRET, LOCAL_SECRET):
        assert sentinel not in text
        assert sentinel not in response.content.decode()
        assert sentinel not in caplog.text


def test_reporter_hides_query_in_url_meta_and_get_items(settings):
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.lib.logging.PortalExceptionReporterFilter"
    request = RequestFactory().get(
        "/oauth/callback/x/",
        {"code": QUERY_SECRET, "state": "s"},
        HTTP_REFERER=f"https://provider.example.com/?code={QUERY_SECRET}",
    )
    request.META["RAW_URI"] = request.META["REQUEST_URI"] = f"/oauth/callback/x/?code={QUERY_SECRET}"
    try:
        raise ValueError("boom")
    except ValueError as exc:
        reporter = PortalExceptionReporter(request, type(exc), exc, exc.__traceback__, is_email=True)
        text = reporter.get_traceback_text()
        html = reporter.get_traceback_html()
    assert "/oauth/callback/x/" in text  # the path stays: it says where it happened
    assert QUERY_SECRET not in text
    assert QUERY_SECRET not in html
    assert issubclass(PortalExceptionReporter, ExceptionReporter)
    meta = PortalExceptionReporterFilter().get_safe_request_meta(request)
    for key in ("QUERY_STRING", "RAW_URI", "REQUEST_URI", "HTTP_REFERER"):
        assert QUERY_SECRET not in str(meta[key])


def test_settings_use_the_portal_reporter_and_filter():
    from django.conf import settings

    assert settings.DEFAULT_EXCEPTION_REPORTER == "portal.lib.logging.PortalExceptionReporter"
    assert settings.DEFAULT_EXCEPTION_REPORTER_FILTER == "portal.lib.logging.PortalExceptionReporterFilter"


@pytest.mark.parametrize(
    "line",
    [
        "Request headers were {'Authorization': 'Basic Y2FuYXJ5OnNlY3JldA==', 'Host': 'x'}",
        '{"Authorization": "Bearer eyJhbGciOi.payload.sig"}',
        "Authorization: Basic Y2FuYXJ5OnNlY3JldA==",
        "authorization=bearer abc.def",
    ],
)
def test_authorization_headers_are_masked_in_any_shape(line):
    """requests-oauthlib logs its request headers as a dict repr at DEBUG (found by the canary)."""
    from portal.lib.logging import redact

    cleaned = redact(line)
    assert "Y2FuYXJ5OnNlY3JldA" not in cleaned and "eyJhbGciOi" not in cleaned and "abc.def" not in cleaned
    assert "[redacted]" in cleaned


def test_registered_non_secrets_do_not_hide_an_authorization_header():
    """The step engine registers every string of a token response, token_type "Bearer" included."""
    from portal.lib.logging import clear_secrets, redact, register_secret

    register_secret("Bearer")
    try:
        assert "eyJhbGciOi" not in redact("{'Authorization': 'Bearer eyJhbGciOi.payload.sig'}")
    finally:
        clear_secrets()


@pytest.mark.django_db
def test_each_request_starts_with_no_registered_secret(client):
    from portal.lib import logging as portal_logging

    portal_logging.register_secret("left-over-from-an-earlier-request")
    client.get(reverse("accounts:login"))
    assert portal_logging._SECRETS.get() == ()
