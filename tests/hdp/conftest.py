"""Fixtures for HdpClient unit tests: a respx router served through httpx.MockTransport."""

from __future__ import annotations

import httpx
import pytest
import respx

from portal.hdp.client import HdpClient
from tests.helpers.hdp import BASE, SVC_PASSWORD, SVC_USER


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE, assert_all_called=False)


@pytest.fixture
def make_client(router):
    made: list[HdpClient] = []

    def make(on_behalf_of: str | None = None, password: str = SVC_PASSWORD) -> HdpClient:
        client = HdpClient(
            BASE, SVC_USER, password, on_behalf_of=on_behalf_of, transport=httpx.MockTransport(router.handler)
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def hdp_client(make_client) -> HdpClient:
    """The HdpClient under test (the service user), its requests answered by ``router``."""
    return make_client()
