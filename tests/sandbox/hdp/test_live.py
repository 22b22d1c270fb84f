"""The emulator over real HTTP: the Django adapter under /sandbox/hdp/ and the standalone WSGI server."""

from __future__ import annotations

import threading

import httpx
import pytest

from portal.sandbox.hdp import faults
from portal.sandbox.hdp.models import OAuthApp
from portal.sandbox.hdp.seed import seed_demo
from portal.sandbox.hdp.wsgi import build_server
from tests.helpers.emulator import APP_BODY, error_code
from tests.helpers.sandbox import PASSWORDS

ADMIN = ("d2cadmin", PASSWORDS["d2cadmin"])


@pytest.fixture
def base(live_server, transactional_db):
    seed_demo()
    return live_server.url + "/sandbox/hdp"


def test_django_adapter_round_trip(base):
    with httpx.Client(base_url=base, auth=ADMIN, timeout=10) as client:
        created = client.post("/api/mgmt/oauthapps", json=APP_BODY)
        assert created.status_code == 201  # no CSRF failure, no login redirect
        fetched = client.get(f"/api/mgmt/oauthapps/{created.json()['id']}?user=acme_admin")
        assert fetched.json()["clientSecret"] == "secret-456"
        deleted = client.delete(f"/api/mgmt/oauthapps/{created.json()['id']}")
        assert deleted.status_code == 204
    assert not OAuthApp.objects.exists()


def test_django_adapter_401_and_healthcheck(base):
    unauthenticated = httpx.get(base + "/api/mgmt/oauthapps", follow_redirects=False, timeout=10)
    assert unauthenticated.status_code == 401
    assert error_code(unauthenticated) == 222200401
    assert httpx.get(base + "/api/healthcheck", timeout=10).json() == {"status": "active"}


def test_fault_armed_in_the_test_process_fires_in_the_server(base, settings):
    settings.SANDBOX_FAULTS_ENABLED = True
    faults.arm("POST", r"^/api/mgmt/oauthapps$", "commit_then_drop")
    response = httpx.post(base + "/api/mgmt/oauthapps", json=APP_BODY, auth=ADMIN, timeout=10)
    assert response.status_code == 502
    assert OAuthApp.objects.count() == 1


def test_standalone_wsgi_server_serves_at_the_root(transactional_db):
    seed_demo()
    server = build_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        response = httpx.get(url + "/api/mgmt/oauthapps", auth=ADMIN, timeout=10)
        assert response.status_code == 200
        assert response.json() == {"applications": []}
        created = httpx.post(url + "/api/mgmt/oauthapps", json=APP_BODY, auth=ADMIN, timeout=10)
        assert created.status_code == 201
        assert httpx.get(url + "/api/mgmt/user", auth=("d2cadmin", "x"), timeout=10).status_code == 401
    finally:
        server.shutdown()
        server.server_close()
