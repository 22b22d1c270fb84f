"""SECURITY.md item 26: CSRF on every state-changing URL, htmx included.

Every URL of the portal is classified here (a new URL that is not fails
``test_every_url_is_classified``). For each URL that accepts POST: no token, or another
session's token, is 403 with zero HDP calls and no database change; the token from
``<body hx-headers>`` (what htmx sends) is accepted. POST-only URLs answer GET with 405, and a
GET on any other URL changes nothing (the OAuth callback is the one state-changing GET; item 1).
"""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp.seed import seed_demo
from portal.sandbox.provider.seed import seed_provider
from tests.helpers.db import kept_for_the_class
from tests.helpers.sandbox import PASSWORDS
from tests.helpers.wizard import EMULATOR_SETTINGS, run_at_profile, run_at_verify, sign_in

# name -> (methods it accepts, needs run_id). "POST" in methods = state-changing.
URLS: dict[str, tuple[frozenset[str], bool]] = {
    "onboarding:runs": (frozenset({"GET"}), False),
    "onboarding:new": (frozenset({"GET", "POST"}), False),
    "onboarding:resume": (frozenset({"GET"}), True),
    "onboarding:step-store": (frozenset({"GET"}), True),
    "onboarding:step-app": (frozenset({"GET", "POST"}), True),
    "onboarding:step-authorize": (frozenset({"GET"}), True),
    "onboarding:authorize-start": (frozenset({"POST"}), True),
    "onboarding:step-profile": (frozenset({"GET", "POST"}), True),
    "onboarding:step-datasource": (frozenset({"GET", "POST"}), True),
    "onboarding:step-verify": (frozenset({"GET", "POST"}), True),
    "onboarding:step-share": (frozenset({"GET", "POST"}), True),
    "onboarding:cancel": (frozenset({"GET", "POST"}), True),
    "onboarding:validate": (frozenset({"POST"}), True),
    "accounts:login": (frozenset({"GET", "POST"}), False),
    "accounts:logout": (frozenset({"POST"}), False),
    "oauth:callback": (frozenset({"GET"}), False),
    "sandbox_provider:authorize": (frozenset({"GET", "POST"}), False),
    "sandbox_provider:console": (frozenset({"GET", "POST"}), False),
    "sandbox_provider:login": (frozenset({"GET", "POST"}), False),
    "sandbox_provider:logout": (frozenset({"POST"}), False),
    "sandbox_provider:revoke-access": (frozenset({"POST"}), False),
    "sandbox_provider:new-client-secret": (frozenset({"POST"}), False),
    "sandbox_provider:refresh-lifetime": (frozenset({"POST"}), False),
    "sandbox_provider:oidc-discovery": (frozenset({"GET"}), False),
    "sandbox_provider:jwks": (frozenset({"GET"}), False),
    "support:tenants": (frozenset({"GET"}), False),
    "support:reason": (frozenset({"GET", "POST"}), False),
    "support:tenant": (frozenset({"GET"}), False),
    "support:test-datasource": (frozenset({"POST"}), False),
    "support:check-tenant": (frozenset({"POST"}), False),
    "connections:notifications": (frozenset({"GET", "POST"}), False),
    "set_language": (frozenset({"GET", "POST"}), False),
    "connections:setup": (frozenset({"GET"}), True),
    "connections:check-now": (frozenset({"POST"}), True),
    "connections:reconnect": (frozenset({"GET", "POST"}), True),
    "connections:reconnect-finish": (frozenset({"GET", "POST"}), True),
    "connections:rotate-secret": (frozenset({"POST"}), True),
    "connections:change-scope": (frozenset({"POST"}), True),
    "connections:repair": (frozenset({"GET", "POST"}), True),
    "connections:repair-finish": (frozenset({"GET", "POST"}), True),
    "connections:repair-shares": (frozenset({"GET", "POST"}), True),
    "connections:shares": (frozenset({"GET", "POST"}), True),
    # Handoff links (issue 19; SECURITY.md item 38): the admin's side.
    "onboarding:authorize-handoff": (frozenset({"POST"}), True),
    "onboarding:authorize-handoff-state": (frozenset({"GET"}), True),
    "onboarding:authorize-handoff-revoke": (frozenset({"POST"}), True),
    "connections:handoff-create": (frozenset({"POST"}), True),
    "connections:handoff-state": (frozenset({"GET"}), True),
    "connections:handoff-revoke": (frozenset({"POST"}), True),
    "support:revoke-handoff": (frozenset({"POST"}), False),
    "oauth:handoff-result": (frozenset({"GET"}), False),
    # Foresight (issue 22): the setup's lifetime rule, the support console's lapsing list.
    "connections:signin-rule": (frozenset({"POST"}), True),
    "support:lapsing": (frozenset({"GET"}), False),
    # The API tokens page (issue 21): a browser page with a session, so CSRF like every other page.
    "api-tokens": (frozenset({"GET", "POST"}), False),
    "api-token-revoke": (frozenset({"POST"}), False),
}
#: Machine-to-machine endpoints: no browser session, so no CSRF (client authentication instead).
EXEMPT = {
    "sandbox_provider:token": "RFC 6749 token endpoint; client authenticates with its secret",
    "sandbox_provider:revoke": "RFC 7009 revocation endpoint; client authentication",
    "sandbox_provider:userinfo": "OpenID Connect userinfo; the access token authenticates, no cookies",
    "hdp_emulator:api": "the HDP emulator's REST API; HTTP Basic, no cookies",
    "oauth:handoff": "the account owner's page (no portal session); its POST is checked by Fetch Metadata, the "
    "Origin and a signed form token bound to the link, since no-referrer makes browsers send Origin: null "
    "(tests/oauth/test_handoff.py::test_a_post_not_from_the_links_own_page_starts_nothing)",
    # The automation API (docs/api.md): a personal token in `Authorization: Bearer`, never a cookie or a session.
    **{
        f"api:{name}": "the automation API; a bearer token authenticates, no cookies, no session"
        for name in (
            "api-root",
            "me",
            "list_setups",
            "get_setup",
            "list_checks",
            "get_check",
            "queue_check",
            "create_handoff_link",
            "revoke_handoff_link",
            "list_tenants",
            "tenant_findings",
            "openapi-json",
            "openapi-view",
        )
    },  # fmt: skip
    "<^v1/.*$>": "the API's unknown addresses: one problem+json 404, nothing changes",
}
POST_DATA = {"action": "create", "name": "Csrf_name", "client_secret": "s", "datastore": "54", "provider": "sandbox",
             "username": "acme_admin", "password": PASSWORDS["acme_admin"], "redirect_uri": "https://x.example/cb"}  # fmt: skip


def _names(resolver: URLResolver, prefix: str = "") -> list[str]:
    names = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            names += _names(pattern, f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix)
        elif isinstance(pattern, URLPattern):
            names.append(f"{prefix}{pattern.name}" if pattern.name else f"{prefix}<{pattern.pattern}>")
    return names


def test_every_url_is_classified():
    names = set(_names(get_resolver()))
    assert names == set(URLS) | set(EXEMPT), names ^ (set(URLS) | set(EXEMPT))


def _url(name: str, run: Run) -> str:
    methods, with_run = URLS[name]
    if name == "onboarding:validate":
        return reverse(name, kwargs={"run_id": run.pk, "field": "app_name"})
    if name == "oauth:callback":
        return reverse(name, args=["Acme_GA_app"])
    if name in ("support:tenant", "support:check-tenant"):
        return reverse(name, kwargs={"tenant_id": 71})
    if name == "support:test-datasource":
        return reverse(name, kwargs={"tenant_id": 71, "datasource_id": 1})
    if name == "support:revoke-handoff":
        return reverse(name, kwargs={"tenant_id": 71, "link_id": "00000000-0000-0000-0000-000000000000"})
    if name == "api-token-revoke":
        return reverse(name, kwargs={"token_id": 1})
    if name == "connections:handoff-create":
        return reverse(name, kwargs={"run_id": run.pk, "purpose": "reconnect"})
    return reverse(name, kwargs={"run_id": run.pk}) if with_run else reverse(name)


def _state() -> list[object]:
    return [
        list(Run.objects.order_by("pk").values()),
        list(RemoteObject.objects.order_by("pk").values()),
        list(OAuthFlow.objects.order_by("pk").values()),
        AuditEntry.objects.count(),
    ]


@pytest.fixture(scope="class")
def _one_victim(django_db_setup, django_db_blocker):
    """A signed-in admin whose browser enforces CSRF like a real one; a run at the last step. Built once
    for the class of tests that use it (tests/helpers/db.py)."""
    with (
        kept_for_the_class(django_db_blocker),
        override_settings(**EMULATOR_SETTINGS),
    ):
        with django_db_blocker.unblock():
            seed_demo()
            seed_provider(["http://127.0.0.1:8000/oauth/callback/Acme_GA_app/"])
            admin = Client()
            assert sign_in(admin).status_code == 302
            run = run_at_verify(admin)
            browser = Client(enforce_csrf_checks=True)
            browser.force_login(User.objects.get(username="acme_admin"))
            page = browser.get(reverse("onboarding:runs"))
            token = re.search(r'"X-CSRFToken": "([A-Za-z0-9]{64})"', page.content.decode())
            assert token is not None
        yield browser, run, token.group(1)


@pytest.fixture
def victim(_one_victim, hdp_log):
    hdp_log.clear()
    return _one_victim


POSTABLE = sorted(name for name, (methods, _) in URLS.items() if "POST" in methods)


class TestOneVictimForTheClass:
    """Every test here only reads the victim's state or is refused: one victim for all (tests/helpers/db.py)."""

    @pytest.mark.parametrize("name", POSTABLE)
    def test_post_without_a_token_is_403_and_nothing_happens(self, victim, hdp_log, name):
        browser, run, _ = victim
        before = _state()
        response = browser.post(_url(name, run), POST_DATA)
        assert response.status_code == 403, name
        assert hdp_log == []
        assert _state() == before

    @pytest.mark.parametrize("name", POSTABLE)
    def test_post_with_another_sessions_token_is_403(self, victim, hdp_log, name):
        browser, run, _ = victim
        attacker = Client(enforce_csrf_checks=True)
        attacker.get(reverse("accounts:login"))
        their_token = attacker.cookies["csrftoken"].value
        before = _state()
        response = browser.post(_url(name, run), POST_DATA, HTTP_X_CSRFTOKEN=their_token)
        assert response.status_code == 403, name
        response = browser.post(_url(name, run), {**POST_DATA, "csrfmiddlewaretoken": their_token})
        assert response.status_code == 403, name
        assert hdp_log == []
        assert _state() == before

    def test_the_hx_headers_token_is_accepted(self, victim, hdp_log):
        """Positive control: htmx's header (from <body hx-headers>) passes the CSRF check."""
        browser, run, token = victim
        response = browser.post(
            reverse("onboarding:validate", kwargs={"run_id": run.pk, "field": "app_name"}),
            {"name": "Good_name"},
            HTTP_X_CSRFTOKEN=token,
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        response = browser.post(reverse("onboarding:step-verify", args=[run.pk]), HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 200
        assert [r.method for r in hdp_log] == ["POST"]  # the one data-source test HDP was asked for

    @pytest.mark.parametrize("name", sorted(n for n, (m, _) in URLS.items() if m == frozenset({"POST"})))
    def test_post_only_urls_answer_get_with_405(self, victim, hdp_log, name):
        browser, run, _ = victim
        before = _state()
        assert browser.get(_url(name, run)).status_code == 405
        assert hdp_log == [] and _state() == before


@pytest.mark.parametrize(
    "name",
    sorted(
        n for n, (m, _) in URLS.items() if "GET" in m and n not in ("oauth:callback", "onboarding:resume")
    ),
)
def test_get_changes_nothing(acme, hdp_log, name):
    run = run_at_profile(acme)
    hdp_log.clear()
    before = _state()
    acme.get(_url(name, run))
    assert [r.method for r in hdp_log if r.method != "GET"] == []
    assert _state()[:3] == before[:3]


def test_resume_get_only_reads_hdp(acme, hdp_log):
    """Resume is a GET that reconciles: it may record what HDP already has, never write to HDP."""
    run = run_at_profile(acme)
    hdp_log.clear()
    response = acme.get(reverse("onboarding:resume", args=[run.pk]))
    assert response.status_code == 302
    assert {r.method for r in hdp_log} <= {"GET"}
