"""SECURITY.md items 9, 10, 16, 24-28: Django and browser hardening, checked on real pages.

* ``check --deploy --fail-level WARNING`` passes on production settings (a fresh process, prod env).
* Production cookies: ``__Host-`` names, Secure, HttpOnly (session), SameSite=Lax, Path=/, no Domain.
* Every page: CSP with a per-response nonce on every script, ``frame-ancestors 'none'``,
  ``X-Frame-Options: DENY``, nosniff, the htmx config that forbids eval/script tags/other origins,
  the CSRF token in ``<body hx-headers>``, no third-party ``src``/``href``, ``Cache-Control: no-store``.
* ``next`` never leaves the site (portal login and sandbox provider login).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from portal.sandbox.provider.seed import seed_provider
from tests.helpers.sandbox import PASSWORDS, PROVIDER_PASSWORD
from tests.helpers.wizard import run_at_verify, sign_in

ROOT = Path(__file__).resolve().parents[2]

PROD_ENV = {
    "PORTAL_ENV": "prod",
    "SECRET_KEY": "ci-" + secrets.token_urlsafe(48),
    "ALLOWED_HOSTS": "portal.example.com",
    "PORTAL_BASE_URL": "https://portal.example.com",
    "DATABASE_URL": "postgres://u:p@127.0.0.1:1/db",
    "HDP_BASE_URL": "https://hdp.example.com:8443",
    "HDP_SERVICE_USER": "svc",
    "HDP_SERVICE_PASSWORD": "x",
    "PORTAL_ENCRYPTION_KEYS": "k1:" + "A" * 43,
    "DJANGO_SETTINGS_MODULE": "portal.settings",
}


def _prod(args: list[str], extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "OAUTHLIB_INSECURE_TRANSPORT", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(PROD_ENV, **(extra or {}))
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


# --- item 24: check --deploy on production settings ------------------------------------------------
def test_check_deploy_passes_on_production_settings():
    done = _prod(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_check_deploy_fails_when_production_is_weakened():
    """The check is not vacuous: HSTS switched off is a warning, and warnings fail it."""
    done = _prod(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], {"SECURE_HSTS_SECONDS": "0"})
    assert done.returncode != 0
    assert "security.W" in done.stdout + done.stderr


PROD_COOKIE_SETTINGS = [
    "SESSION_COOKIE_NAME",
    "CSRF_COOKIE_NAME",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SAMESITE",
    "SESSION_ENGINE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "DEBUG",
    "SESSION_COOKIE_DOMAIN",
    "CSRF_COOKIE_DOMAIN",
    "SESSION_COOKIE_PATH",
    "CSRF_COOKIE_PATH",
]


@pytest.fixture(scope="module")
def prod_settings() -> dict[str, object]:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({{k: getattr(s, k) for k in {PROD_COOKIE_SETTINGS!r}}}))"
    )
    done = _prod(["-c", code])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_production_settings_values(prod_settings):
    assert prod_settings["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert prod_settings["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    assert prod_settings["SESSION_COOKIE_SECURE"] is True and prod_settings["CSRF_COOKIE_SECURE"] is True
    assert prod_settings["SESSION_COOKIE_HTTPONLY"] is True
    # Lax, never Strict: Strict drops the session on the provider's redirect back (item 25).
    assert prod_settings["SESSION_COOKIE_SAMESITE"] == "Lax" == prod_settings["CSRF_COOKIE_SAMESITE"]
    # Sessions in the database, never in a signed cookie (item 16).
    assert prod_settings["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"
    assert (
        prod_settings["SECURE_HSTS_SECONDS"] >= 31_536_000 and prod_settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    )
    assert prod_settings["SECURE_SSL_REDIRECT"] is True and prod_settings["DEBUG"] is False
    assert prod_settings["X_FRAME_OPTIONS"] == "DENY"
    # __Host- cookies must have Path=/ and no Domain, or browsers drop them.
    assert prod_settings["SESSION_COOKIE_DOMAIN"] is None and prod_settings["CSRF_COOKIE_DOMAIN"] is None
    assert prod_settings["SESSION_COOKIE_PATH"] == "/" == prod_settings["CSRF_COOKIE_PATH"]


def test_production_cookies_on_the_wire(hdp_log, settings, prod_settings):
    for key in ("SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
                "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE"):  # fmt: skip
        setattr(settings, key, prod_settings[key])
    browser = Client()
    page = browser.get(reverse("accounts:login"), secure=True)
    csrf = page.cookies["__Host-csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax" and csrf["path"] == "/" and not csrf["domain"]
    response = browser.post(
        reverse("accounts:login"),
        {"username": "acme_admin", "password": PASSWORDS["acme_admin"]},
        secure=True,
    )
    assert response.status_code == 302
    session = response.cookies["__Host-sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    assert session["path"] == "/" and not session["domain"]
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies
    # The session cookie is a reference (a random key), nothing else.
    assert re.fullmatch(r"[a-z0-9]{32}", session.value)


# --- items 9, 26, 27, 28: every page ---------------------------------------------------------------
class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.urls: list[str] = []
        self.inline_handlers: list[str] = []
        self.meta: dict[str, str] = {}
        self.body: dict[str, str | None] = {}
        self.styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "style" or "style" in attributes:
            self.styles += 1
        if tag == "meta" and attributes.get("name"):
            self.meta[str(attributes["name"])] = str(attributes.get("content"))
        if tag == "body":
            self.body = attributes
        for name, value in attrs:
            if name in ("src", "href", "action", "formaction", "hx-get", "hx-post") and value:
                self.urls.append(value)
            if name.startswith("on"):
                self.inline_handlers.append(f"{tag}.{name}")


def _csp(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def _pages(client, run) -> list[str]:
    steps = [
        "step-store",
        "step-app",
        "step-authorize",
        "step-profile",
        "step-datasource",
        "step-verify",
        "cancel",
    ]
    return [
        reverse("onboarding:runs"),
        reverse("onboarding:new"),
        *[reverse(f"onboarding:{s}", args=[run.pk]) for s in steps],
        reverse("oauth:callback", args=["Acme_GA_app"]) + "?state=unknown&code=x",
        reverse("sandbox_provider:console"),
        reverse("sandbox_provider:login"),
    ]


def test_every_page_has_the_browser_defences(acme, hdp_log):
    seed_provider(["http://127.0.0.1:8000/oauth/callback/Acme_GA_app/"])
    run = run_at_verify(acme)
    checked = 0
    anonymous = Client()
    targets = [(acme, url) for url in _pages(acme, run)] + [(anonymous, reverse("accounts:login"))]
    for browser, url in targets:
        response = browser.get(url)
        assert response.status_code in (200, 400), (url, response.status_code)
        html = response.content.decode()
        csp = _csp(response)
        nonces = [w for w in csp["script-src"] if w.startswith("'nonce-")]
        assert csp["script-src"][0] == "'self'" and len(nonces) == 1, url
        nonce = nonces[0][len("'nonce-") : -1]
        assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"], url
        assert csp["base-uri"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"], url
        assert "'unsafe-inline'" not in response["Content-Security-Policy"], url
        assert "'unsafe-eval'" not in response["Content-Security-Policy"], url
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] in ("same-origin", "no-referrer")
        assert "no-store" in response["Cache-Control"], url
        page = _Page()
        page.feed(html)
        assert page.scripts, url
        for script in page.scripts:
            assert script.get("nonce") == nonce, (url, script)
            assert script.get("src", "").startswith("/static/"), (url, script)  # no inline script
        assert page.inline_handlers == [], url
        off_site = [u for u in page.urls if urlsplit(u).netloc or u.startswith("//")]
        assert off_site == [], (url, off_site)
        config = json.loads(page.meta["htmx-config"])
        assert config["selfRequestsOnly"] is True and config["allowEval"] is False
        assert config["allowScriptTags"] is False and config["includeIndicatorStyles"] is False
        headers = json.loads(str(page.body["hx-headers"]))
        if browser is acme:
            assert (
                headers["X-CSRFToken"] == browser.cookies["csrftoken"].value
                or len(headers["X-CSRFToken"]) == 64
            )
        checked += 1
    assert checked == 13


def _nonce(response) -> str:
    """The script nonce the CSP header allows; every <script> of the page must carry that one."""
    nonces = [w[len("'nonce-") : -1] for w in _csp(response)["script-src"] if w.startswith("'nonce-")]
    assert len(nonces) == 1, _csp(response)["script-src"]
    scripts = re.findall(r"<script\b[^>]*>", response.content.decode())
    assert scripts and all(f'nonce="{nonces[0]}"' in tag for tag in scripts), scripts
    return nonces[0]


def test_each_response_gets_a_fresh_nonce(acme, hdp_log):
    first = _nonce(acme.get(reverse("onboarding:runs")))
    second = _nonce(acme.get(reverse("onboarding:runs")))
    assert len(first) >= 16 and first != second


def test_callback_answers_carry_no_referrer_and_no_store(acme, hdp_log):
    response = acme.get(reverse("oauth:callback", args=["Acme_GA_app"]), {"state": "unknown", "code": "c"})
    assert response.status_code == 400
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]


def test_pages_say_no_store(acme, hdp_log):
    page = acme.get(reverse("onboarding:runs"))
    assert page["Cache-Control"].replace(" ", "").split(",").count("no-store") == 1


# --- item 10: open redirects ------------------------------------------------------------------------
HOSTILE_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "http:/evil.example",
    "https://testserver.evil.example/",
    "https://evil.example@testserver/",
    "javascript:alert(1)",
    " //evil.example",
    "/\t/evil.example",
    "http://testserver/",  # right host, wrong scheme on an https request
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_portal_login_next_stays_on_site(hdp_log, target):
    browser = Client()
    response = browser.post(
        reverse("accounts:login"),
        {"username": "acme_admin", "password": PASSWORDS["acme_admin"], "next": target},
        secure=True,
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("onboarding:runs"), target
    # A signed-in GET with the same next does not bounce off-site either.
    again = browser.get(reverse("accounts:login"), {"next": target}, secure=True)
    assert again.status_code == 302 and again["Location"] == reverse("onboarding:runs")


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_sandbox_provider_login_next_stays_on_site(db, target):
    seed_provider(["http://127.0.0.1:8000/oauth/callback/Acme_GA_app/"])
    browser = Client()
    response = browser.post(
        reverse("sandbox_provider:login"),
        {"username": "sandbox_person", "password": PROVIDER_PASSWORD, "next": target},
        secure=True,
    )
    assert response.status_code == 303
    assert response["Location"] == reverse("sandbox_provider:console"), target
    out = browser.post(reverse("sandbox_provider:logout"), {"next": target}, secure=True)
    assert out.status_code == 303 and not urlsplit(out["Location"]).netloc


def test_a_local_next_is_followed(hdp_log):
    response = Client().post(
        reverse("accounts:login"),
        {"username": "acme_admin", "password": PASSWORDS["acme_admin"], "next": "/setup/new/"},
    )
    assert response["Location"] == "/setup/new/"


def test_logout_needs_post_and_clears_the_session(acme, hdp_log):
    assert acme.get(reverse("accounts:logout")).status_code == 405
    assert acme.get(reverse("onboarding:runs")).status_code == 200
    assert acme.post(reverse("accounts:logout")).status_code == 302
    assert acme.get(reverse("onboarding:runs")).status_code == 302


def test_session_engine_is_never_signed_cookies():
    assert django_settings.SESSION_ENGINE != "django.contrib.sessions.backends.signed_cookies"
    assert django_settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert sign_in  # the helper the wizard tests sign in with is the real login view
