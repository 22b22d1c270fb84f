"""Fixtures for the security proof (SECURITY.md): the in-process HDP emulator with a request log,
a public DNS answer for provider hosts, and a test client that keeps every response it got."""

from __future__ import annotations

import socket

import pytest
from django.test import Client

from portal.oauth import safe_http
from tests.helpers.wizard import acme, globex, hdp_log  # noqa: F401

PUBLIC_IP = "93.184.215.14"


@pytest.fixture
def public_dns(monkeypatch):
    """Every host resolves to one public address (no real DNS in tests)."""

    def fake(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port))]

    monkeypatch.setattr(safe_http.socket, "getaddrinfo", fake)


class RecordingClient(Client):
    """A browser that keeps every response (status, headers, cookies, body) for later inspection."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.responses = []

    def request(self, **request):
        response = super().request(**request)
        self.responses.append(response)
        return response
