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
