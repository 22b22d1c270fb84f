"""Fixtures for the emulator tests: a seeded database and in-process clients per sandbox user."""

from __future__ import annotations

import httpx
import pytest

from portal.sandbox.hdp.emulator import mock_transport
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.sandbox import PASSWORDS


@pytest.fixture
def seeded(db):
    seed_demo()


@pytest.fixture
def emulator_as(seeded):
    """``emulator_as("acme_admin")`` -> an httpx client authenticated as that sandbox user."""
    clients: list[httpx.Client] = []

    def make(user: str = "d2cadmin", password: str | None = None) -> httpx.Client:
        client = httpx.Client(
            transport=mock_transport(), base_url="http://hdp", auth=(user, password or PASSWORDS[user])
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def emulator_admin(emulator_as):
    return emulator_as("d2cadmin")
