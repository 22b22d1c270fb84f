"""Real concurrency on PostgreSQL (SECURITY.md item 31): threads, separate connections, real commits.

Run with DATABASE_URL pointing at PostgreSQL (scripts/test.sh starts a throwaway cluster).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.db import connection, connections

from portal.accounts.models import User
from portal.onboarding import engine
from portal.onboarding.models import Run
from portal.sandbox.hdp import faults
from portal.sandbox.hdp.emulator import mock_transport
from portal.sandbox.hdp.models import DataSource as EmuDataSource
from portal.sandbox.hdp.models import OAuthApp as EmuApp
from portal.sandbox.hdp.models import OAuthProfile as EmuProfile
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.engine import SECRET, give_tokens, make_client

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)"),
]


class CountingTransport(httpx.BaseTransport):
    def __init__(self) -> None:
        self.inner = mock_transport()
        self.posts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            with self.lock:
                self.posts[request.url.path] += 1
        return self.inner.handle_request(request)


def race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Start ``n`` threads at the same instant; each result is a value or the exception raised."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.fixture
def ready_run(transactional_db: None) -> Run:
    seed_demo()
    admin = User.objects.create(username="acme_admin", hdp_tenant_id=71)
    run = Run.objects.create(
        owner=admin, tenant_id=71, datastore_id=54, app_mode=Run.AppMode.CREATE, app_name="acme_ga_app",
        app_client_id="client-123", app_authorize_uri="https://accounts.google.com/o/oauth2/v2/auth",
        app_token_uri="https://oauth2.googleapis.com/token", profile_name="acme_ga_profile", ds_name="acme_ga",
        ds_options={"DefaultView": "1"},
    )  # fmt: skip
    run.seal("app_secret", SECRET)
    give_tokens(run)
    return run


def test_two_requests_at_once_make_one_post_per_object(ready_run):
    transport = CountingTransport()
    # Slow creates widen the window in which the second request arrives.
    for path in (r"^/api/mgmt/oauthapps$", r"^/api/mgmt/oauthprofiles$", r"^/api/mgmt/datasources$"):
        faults.arm("POST", path, "delay", delay=0.3, times=2)

    def submit(_: int) -> int:
        run = Run.objects.get(pk=ready_run.pk)
        client = make_client(transport=transport)
        with engine.lease(run):
            engine.ensure_app(run, client, client_secret=None)
            engine.ensure_profile(run, client)
            return engine.ensure_datasource(run, client)

    results = race(2, submit)

    ids = [r for r in results if isinstance(r, int)]
    busy = [r for r in results if isinstance(r, engine.StepBusy)]
    assert len(ids) + len(busy) == 2 and ids, results
    assert transport.posts == Counter(
        {"/api/mgmt/oauthapps": 1, "/api/mgmt/oauthprofiles": 1, "/api/mgmt/datasources": 1}
    )
    assert (EmuApp.objects.count(), EmuProfile.objects.count(), EmuDataSource.objects.count()) == (1, 1, 1)
    assert Run.objects.get(pk=ready_run.pk).busy_until is None


def test_many_threads_calling_ensure_datasource_directly(ready_run):
    client = make_client()
    engine.ensure_app(ready_run, client, client_secret=None)
    engine.ensure_profile(ready_run, client)
    transport = CountingTransport()
    faults.arm("POST", r"^/api/mgmt/datasources$", "delay", delay=0.3)

    results = race(
        4,
        lambda _: engine.ensure_datasource(
            Run.objects.get(pk=ready_run.pk), make_client(transport=transport)
        ),
    )

    assert all(isinstance(r, int | engine.StepBusy) for r in results), results
    assert transport.posts["/api/mgmt/datasources"] == 1
    assert EmuDataSource.objects.count() == 1


def test_two_admins_claim_the_same_name_at_once_one_wins(transactional_db):
    owners = [User.objects.create(username=f"acme_admin{i}", hdp_tenant_id=71) for i in range(2)]
    runs = [Run.objects.create(owner=o, tenant_id=71, datastore_id=54) for o in owners]

    results = race(2, lambda i: engine.claim_ds_name(Run.objects.get(pk=runs[i].pk), "sales"))

    assert sorted(type(r).__name__ for r in results) == ["NameTaken", "NoneType"], results
    loser = next(r for r in results if isinstance(r, engine.NameTaken))
    assert "already creating a data source named 'sales'" in str(loser)
    assert sorted(Run.objects.values_list("ds_name", flat=True)) == ["", "sales"]
