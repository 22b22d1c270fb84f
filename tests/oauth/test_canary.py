"""SECURITY.md items 7 and 17: no secret in logs, admin mails or pages when the callback crashes,
and production settings never switch on oauthlib's insecure transport."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from unittest.mock import patch

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.helpers.oauth import SECRET, start_flow

CODE = "sentinel-crash-code-4411"
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_crash_in_the_callback_leaks_no_secret(user, run, settings, caplog):
    settings.ADMINS = [("Ops", "ops@example.com")]
    caplog.set_level(logging.DEBUG)
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    _, state, _ = start_flow(browser, user, run)

    def boom(snapshot, client_secret, code, code_verifier):
        raise RuntimeError("unexpected bug")

    with (
        patch("portal.oauth.callback.client_secret_for", return_value=SECRET),
        patch("portal.oauth.client.exchange_code", side_effect=boom),
    ):
        response = browser.get(reverse("oauth:callback", args=["acme_app_x"]), {"code": CODE, "state": state})
    assert response.status_code == 500
    assert len(mail.outbox) == 1  # the admin mail was really produced
    outputs = [caplog.text, response.content.decode()]
    outputs += [m.body + m.subject + "".join(str(a) for a in m.alternatives) for m in mail.outbox]
    for text in outputs:
        for sentinel in (CODE, SECRET, state):
            assert sentinel not in text


def test_production_settings_never_enable_insecure_transport():
    env = {k: v for k, v in os.environ.items() if k != "OAUTHLIB_INSECURE_TRANSPORT"}
    env.update(
        PORTAL_ENV="prod",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="portal.example.com",
        PORTAL_BASE_URL="https://portal.example.com",
        DATABASE_URL="postgres://u:p@127.0.0.1:1/db",
        HDP_BASE_URL="https://hdp.example.com",
        HDP_SERVICE_USER="svc",
        HDP_SERVICE_PASSWORD="pw",
        PORTAL_ENCRYPTION_KEYS="k1:" + "A" * 43,
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    code = (
        "import os, django; django.setup(); from django.conf import settings; "
        "print(os.environ.get('OAUTHLIB_INSECURE_TRANSPORT'), settings.OAUTH_ALLOW_LOOPBACK)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.split() == ["None", "False"]
    env["OAUTH_ALLOW_LOOPBACK"] = "1"
    refused = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0 and "OAUTH_ALLOW_LOOPBACK" in refused.stderr
