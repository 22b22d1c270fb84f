"""Status after HDP refreshes at a provider that rotates refresh tokens (docs/decisions.md).

The provider below behaves like the sandbox provider (django-oauth-toolkit, ROTATE_REFRESH_TOKEN):
every refresh returns a new refresh token and the one used stops working. Whether the emulator's
HDP stores the new one is ``SANDBOX_HDP_WRITES_BACK_ROTATED_REFRESH_TOKEN``.
"""

from __future__ import annotations

import pytest

from portal.connections import checks
from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause, State
from portal.sandbox.hdp import refresh
from portal.sandbox.hdp.models import OAuthProfile

Trigger = ConnectionCheck.Trigger


class RotatingProvider:
    """Accepts only the latest refresh token it issued; each refresh issues a new one."""

    def __init__(self) -> None:
        self.valid = "rt-1"
        self.issued = 1
        self.used: list[str] = []

    def refresh(self, token_uri, client_id, client_secret, refresh_token, **how):
        self.used.append(refresh_token)
        if refresh_token != self.valid:
            raise refresh.RefreshError("the provider said invalid_grant")
        self.issued += 1
        self.valid = f"rt-{self.issued}"
        return {"access_token": f"at-{self.issued}", "refresh_token": self.valid, "token_type": "Bearer"}


@pytest.fixture
def provider(monkeypatch):
    fake = RotatingProvider()
    monkeypatch.setattr(refresh, "refresh_with_provider", fake.refresh)
    return fake


def _check(run, hdp_client):
    return checks.run_check(run, hdp_client, trigger=Trigger.SCHEDULED)


def test_with_write_back_every_check_keeps_working(setup, hdp_client, provider, settings):
    settings.SANDBOX_HDP_WRITES_BACK_ROTATED_REFRESH_TOKEN = True
    run, profile_id = setup, setup.ids["profile"]
    for _ in range(3):
        check = _check(run, hdp_client)
        assert (check.state, check.cause) == (State.WORKING, Cause.TEST_PASSED)
    assert provider.used == ["rt-1", "rt-2", "rt-3"]  # HDP used the newest token each time
    assert OAuthProfile.objects.get(pk=profile_id).refresh_token == "rt-4"
    assert checks.status_for(run).state == State.WORKING


def test_without_write_back_the_second_check_needs_reconnect(setup, hdp_client, provider, settings):
    settings.SANDBOX_HDP_WRITES_BACK_ROTATED_REFRESH_TOKEN = False
    run, profile_id = setup, setup.ids["profile"]
    first = _check(run, hdp_client)
    assert (first.state, first.cause) == (State.WORKING, Cause.TEST_PASSED)
    assert OAuthProfile.objects.get(pk=profile_id).refresh_token == "rt-1"  # the rotated one was dropped

    second = _check(run, hdp_client)
    assert (second.state, second.cause, second.provider_error) == (
        State.NEEDS_RECONNECT,
        Cause.REFRESH_REFUSED,
        "invalid_grant",
    )
    assert provider.used == ["rt-1", "rt-1"]  # HDP re-sent the token the provider had retired
    assert checks.status_for(run).state == State.NEEDS_RECONNECT
