"""The API tests' fixtures: the in-process HDP emulator, seeded, and people signed in through it."""

from __future__ import annotations

import pytest

from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.api import sign_in


@pytest.fixture
def api_hdp(settings, db):
    settings.HDP_BASE_URL = "http://hdp"
    settings.HDP_TRANSPORT_FACTORY = "portal.sandbox.hdp.emulator.mock_transport"
    settings.HEALTH_WEBHOOK_URL = ""
    seed_demo()


@pytest.fixture
def acme(api_hdp):
    return sign_in("acme_admin")


@pytest.fixture
def globex(api_hdp):
    return sign_in("globex_admin")


@pytest.fixture
def api_live(live_server, settings):
    """The live server's URL; the portal reaches HDP (the emulator mounted on the same server) over real
    HTTP, as tests/e2e's ``e2e_portal`` does."""
    settings.HDP_BASE_URL = live_server.url + "/sandbox/hdp"
    settings.HDP_TRANSPORT_FACTORY = None
    settings.PORTAL_BASE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    settings.HEALTH_WEBHOOK_URL = ""
    seed_demo()
    return str(live_server.url)
