"""Step f: when HDP's refresh is refused with invalid_client, the message names the client
authentication method as a possible cause, not only the secret (docs/decisions.md)."""

from __future__ import annotations

import pytest

from portal.onboarding import engine
from portal.sandbox.hdp import refresh
from tests.helpers.engine import SECRET, give_tokens


@pytest.fixture
def run_at_verify(hdp_client, make_run):
    run = make_run()
    engine.ensure_app(run, hdp_client, client_secret=SECRET)
    give_tokens(run)
    engine.ensure_profile(run, hdp_client)
    engine.ensure_datasource(run, hdp_client)
    return run


def _refused(code):
    def refuse(*args, **kwargs):
        raise refresh.RefreshError(f"the provider said {code}")

    return refuse


def test_invalid_client_names_the_method_and_the_secret(hdp_client, run_at_verify, monkeypatch):
    monkeypatch.setattr(refresh, "refresh_with_provider", _refused("invalid_client"))
    assert engine.verify(run_at_verify, hdp_client).success is False
    run_at_verify.refresh_from_db()
    message = run_at_verify.verify_message
    assert "client secret is wrong" in message and "HTTP Basic" in message
    assert "client_secret_basic or client_secret_post" in message
    assert SECRET not in message


def test_other_refusals_get_no_client_authentication_hint(hdp_client, run_at_verify, monkeypatch):
    monkeypatch.setattr(refresh, "refresh_with_provider", _refused("invalid_grant"))
    assert engine.verify(run_at_verify, hdp_client).success is False
    run_at_verify.refresh_from_db()
    assert "client_secret_post" not in run_at_verify.verify_message
