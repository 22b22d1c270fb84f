"""The step engine's fixtures and helpers: the HDP emulator in-process, an Acme admin, a filled-in run.

Fixtures (loaded by tests/conftest.py): ``hdp_client`` (an HdpClient acting as acme_admin on the seeded
emulator), ``admin_user`` (the Acme admin, a ``User``), ``make_run`` (a factory of that admin's runs).

Tests assert on the emulator's state (its models), which is what HDP would hold, never on call lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from portal.accounts.models import User
from portal.hdp.client import HdpClient
from portal.hdp.schemas import DataSourceCreate, OAuthAppCreate
from portal.onboarding.models import Run
from portal.sandbox.hdp.emulator import mock_transport
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.sandbox import SVC_PASSWORD, SVC_USER

BASE = "http://hdp"
SECRET = "sentinel-client-secret-7f3a"
ACCESS = "sentinel-access-token-51c2"
REFRESH = "sentinel-refresh-token-9d0e"


def make_client(
    *,
    on_behalf_of: str = "acme_admin",
    transport: httpx.BaseTransport | None = None,
    password: str = SVC_PASSWORD,
) -> HdpClient:
    return HdpClient(
        BASE, SVC_USER, password, on_behalf_of=on_behalf_of, transport=transport or mock_transport()
    )


class Scripted(httpx.BaseTransport):
    """Wraps the emulator transport and breaks requests on purpose: each rule once, in order.

    ``before``: raise without reaching the emulator (nothing happens in HDP).
    ``after``: let the emulator handle (and commit) the request, then raise (the answer is lost).
    """

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner or mock_transport()
        self.rules: list[tuple[str, str, str, type[Exception]]] = []

    def before(self, method: str, path_regex: str, exc: type[Exception]) -> Scripted:
        self.rules.append((method, path_regex, "before", exc))
        return self

    def after(self, method: str, path_regex: str, exc: type[Exception]) -> Scripted:
        self.rules.append((method, path_regex, "after", exc))
        return self

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Rules fire in order: only the first pending rule is considered for each request.
        if self.rules:
            method, regex, when, exc = self.rules[0]
            if request.method == method and re.search(regex, request.url.path):
                self.rules.pop(0)
                if when == "after":
                    self.inner.handle_request(request).read()
                raise exc("injected", request=request)  # type: ignore[call-arg]
        return self.inner.handle_request(request)


class Recording(httpx.BaseTransport):
    """Wraps a transport (the emulator's by default) and keeps every request that reaches it."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner or mock_transport()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.inner.handle_request(request)


@pytest.fixture
def hdp_client(db: None) -> HdpClient:
    seed_demo()
    return make_client()


@pytest.fixture
def admin_user(db: None) -> User:
    return User.objects.create(username="acme_admin", hdp_tenant_id=71, hdp_tenant_name="Acme")


@pytest.fixture
def make_run(admin_user: User) -> Callable[..., Run]:
    def _make(**fields: Any) -> Run:
        values: dict[str, Any] = {
            "owner": admin_user,
            "tenant_id": 71,
            "tenant_name": "Acme",
            "datastore_id": 54,
            "datastore_name": "Google Analytics",
            "app_mode": Run.AppMode.CREATE,
            "app_name": "acme_ga_app",
            "app_client_id": "client-123",
            "app_authorize_uri": "https://accounts.google.com/o/oauth2/v2/auth",
            "app_token_uri": "https://oauth2.googleapis.com/token",
            "app_scope": "https://www.googleapis.com/auth/analytics.readonly",
            "profile_name": "acme_ga_profile",
            "ds_name": "acme_ga",
            "ds_options": {"DefaultView": "12345"},
        }
        values.update(fields)
        run = Run.objects.create(**values)
        return run

    return _make


def give_tokens(run: Run, **extra: Any) -> None:
    tokens = {"access_token": ACCESS, "refresh_token": REFRESH, "token_type": "Bearer", **extra}
    run.seal("tokens", json.dumps({k: v for k, v in tokens.items() if v is not None}))
    run.save()


def app_body(name: str, secret: str = "their-secret", *, tenant_id: int = 71) -> OAuthAppCreate:
    """An app created outside any run (by someone in HDP's own UI, say)."""
    return OAuthAppCreate(
        name=name,
        data_store=54,
        tenant_id=tenant_id,
        client_id="their-client",
        client_secret=SecretStr(secret),
        authorize_uri="https://accounts.google.com/o/oauth2/v2/auth",
        token_uri="https://oauth2.googleapis.com/token",
    )


def ds_body(name: str, **options: str) -> DataSourceCreate:
    return DataSourceCreate(name=name, data_store=54, connection_type="Cloud", options=options)
