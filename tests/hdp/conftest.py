"""Fixtures for HdpClient unit tests: a respx router served through httpx.MockTransport."""

from __future__ import annotations

import httpx
import pytest
import respx

from portal.hdp.client import HdpClient

BASE = "https://hdp.example.com:8443/hdp"
HOST = "hdp.example.com"
SVC_USER = "portal_svc"
SVC_PASSWORD = "PW-SENTINEL-7c41e9"


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
def client(make_client) -> HdpClient:
    return make_client()


def hdp_error(code: int | str, text: str = "oops") -> dict:
    return {"error": {"code": code, "message": {"lang": "en-US", "value": text}}}
