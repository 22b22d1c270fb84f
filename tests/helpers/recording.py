"""A test client that keeps every response it got (tests/security/test_canary.py)."""

from __future__ import annotations

from django.test import Client


class RecordingClient(Client):
    """A browser that keeps every response (status, headers, cookies, body) for later inspection."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.responses = []

    def request(self, **request):
        response = super().request(**request)
        self.responses.append(response)
        return response
