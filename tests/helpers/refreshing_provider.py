"""A fake of the provider HDP refreshes with during its data-source test (the emulator calls
``portal.sandbox.hdp.refresh.refresh_with_provider``; docs/architecture.md, "Emulator core").

``provider.refuse = "invalid_grant"`` makes it refuse the way a provider would; ``provider.used``
lists the refresh tokens it was sent, ``provider.calls`` how many there were."""

from __future__ import annotations

import base64
import json

import pytest

from portal.sandbox.hdp import refresh

#: The sandbox provider's issuer, as an OIDC ``id_token`` names it.
ISSUER = "http://127.0.0.1:8000/sandbox"


class RefreshingProvider:
    def __init__(self) -> None:
        self.refuse = ""
        self.used: list[str] = []

    @property
    def calls(self) -> int:
        return len(self.used)

    def refresh(self, token_uri, client_id, client_secret, refresh_token, **how):
        self.used.append(refresh_token)
        if self.refuse:
            raise refresh.RefreshError(f"the provider said {self.refuse}")
        return {"access_token": "fresh-access", "token_type": "Bearer"}


def patch_provider(monkeypatch: pytest.MonkeyPatch) -> RefreshingProvider:
    """Route the emulator's refreshes to a new fake for this test."""
    fake = RefreshingProvider()
    monkeypatch.setattr(refresh, "refresh_with_provider", fake.refresh)
    return fake


def id_token(sub: str, name: str, iss: str = ISSUER) -> str:
    """An ``id_token`` naming a provider account (header, claims, a dummy signature)."""

    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'sub': sub, 'iss': iss, 'name': name})}.c2lnbmF0dXJl"
