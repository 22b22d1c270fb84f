"""The public pieces of portal.oauth.flows and portal.oauth.callback the callback view and the sandbox
provider use: the typed snapshot, check_callback's single Refusal type, and rebind_session."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest
from django.http import QueryDict

from portal.oauth import callback, flows
from portal.oauth.models import OAuthFlow
from portal.oauth.snapshot import FlowSnapshot
from tests.helpers.oauth import CONFIG_X, request_for, start_flow

pytestmark = pytest.mark.django_db


def test_snapshot_round_trips_every_key_through_json(signed_in, user, run):
    start_flow(signed_in, user, run)
    flow = OAuthFlow.objects.get()
    frozen = flow.frozen()
    assert frozen.to_json() == flow.snapshot
    assert sorted(flow.snapshot) == sorted(FlowSnapshot.__dataclass_fields__)
    assert len(flow.snapshot) == 12  # 11 + purpose (SECURITY.md item 36)
    assert frozen.app_name == CONFIG_X["app_name"] and frozen.token_auth == "basic"
    assert frozen.preset == "custom"
    with pytest.raises(FrozenInstanceError):
        frozen.token_uri = "https://evil.example.com/token"  # type: ignore[misc]


def test_check_callback_raises_one_refusal_type_carrying_event_and_message(signed_in, user, run):
    _url, state, _query = start_flow(signed_in, user, run)
    request = request_for(signed_in, user)
    with pytest.raises(callback.Refusal) as caught:
        callback.check_callback(request, "another_app", QueryDict(f"state={state}&code=c"))
    assert caught.value.event == "oauth_path_mismatch"
    assert "wrong address" in caught.value.message
    assert caught.value.retry_url == ""  # a 400 page, not a redirect
    assert OAuthFlow.objects.get().error_code == "path_mismatch"


def test_check_callback_sends_a_provider_cancel_back_to_the_setup(signed_in, user, run):
    _url, state, _query = start_flow(signed_in, user, run)
    request = request_for(signed_in, user)
    with pytest.raises(callback.Refusal) as caught:
        callback.check_callback(
            request, CONFIG_X["app_name"], QueryDict(f"state={state}&error=access_denied")
        )
    assert caught.value.event is None
    assert caught.value.retry_url == run.consent_retry_url()
    assert OAuthFlow.objects.get().outcome == OAuthFlow.Outcome.DENIED


def test_check_callback_returns_the_flow_and_code_when_every_check_passes(signed_in, user, run):
    _url, state, _query = start_flow(signed_in, user, run)
    request = request_for(signed_in, user)
    flow, code = callback.check_callback(request, CONFIG_X["app_name"], QueryDict(f"state={state}&code=c0de"))
    assert code == "c0de" and flow.consumed_at is not None
    assert flows.target_of(flow).pk == run.pk


def test_rebind_session_moves_only_the_pending_flows_of_the_old_key(signed_in, user, run):
    start_flow(signed_in, user, run)
    old_key = signed_in.session.session_key
    assert flows.rebind_session(old_key, "new-session-key") == 1
    assert OAuthFlow.objects.get().session_key_hash == flows.sha256("new-session-key")
    assert flows.rebind_session(old_key, "another-key") == 0
    assert flows.rebind_session("", "another-key") == 0
