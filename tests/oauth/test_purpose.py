"""Which flow a run may start (SECURITY.md item 36) and which account a token response names."""

from __future__ import annotations

import base64
import json

import pytest
from django.core.exceptions import PermissionDenied

from portal.oauth import flows
from portal.oauth.identity import Identity, from_token_response
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import RemoteObject, Run
from tests.helpers.oauth import CONFIG_X, request_for, start_flow


def _jwt(claims: dict[str, str]) -> str:
    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


def test_an_id_token_names_subject_issuer_and_a_display_name():
    raw = {
        "id_token": _jwt(
            {"sub": "248289761001", "iss": "https://accounts.google.com", "email": "a@b.example"}
        )
    }
    assert from_token_response(raw) == Identity("248289761001", "https://accounts.google.com", "a@b.example")


def test_salesforce_identity_url_names_org_and_user():
    raw = {"id": "https://login.salesforce.com/id/00Dxx0000001gPL/005xx000001Sv6e"}
    found = from_token_response(raw)
    assert found == Identity("00Dxx0000001gPL/005xx000001Sv6e", "https://login.salesforce.com")
    assert found.label() == "00Dxx0000001gPL/005xx000001Sv6e"


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"id_token": "not-a-jwt"},
        {"id_token": _jwt({"sub": "x"})},  # no issuer: nothing to compare
        {"id_token": "a.!!!.c"},
        {"id": "http://login.salesforce.com/id/a/b"},  # not over TLS
        {"id": "https://login.salesforce.com/services/a"},
    ],
)
def test_a_response_that_does_not_identify_the_account_gives_none(raw):
    assert from_token_response(raw) is None


def test_same_account_compares_subject_and_issuer_not_the_name():
    one = Identity("1", "https://idp.example", "Ann")
    assert one.same_account(Identity("1", "https://idp.example", "Ann B."))
    assert not one.same_account(Identity("1", "https://other.example", "Ann"))
    assert not one.same_account(Identity("2", "https://idp.example", "Ann"))


def _profile(run: Run, outcome: str) -> None:
    RemoteObject.objects.create(run=run, kind="profile", name="p", remote_id=5, outcome=outcome)


@pytest.mark.parametrize(
    ("status", "profile", "purpose"),
    [
        (Run.Status.ACTIVE, None, "consent"),
        (Run.Status.ACTIVE, "failed", "consent"),  # HDP refused the create: consent again is fine
        (Run.Status.ACTIVE, "created", None),
        (Run.Status.ACTIVE, "unknown", None),  # the create may have reached HDP
        (Run.Status.COMPLETED, "created", "reconnect"),
        (Run.Status.COMPLETED, None, None),
        (Run.Status.CANCELLED, "deleted", None),
    ],
)
def test_the_run_state_decides_the_purpose(run, status, profile, purpose):
    run.status = status
    run.save()
    if profile:
        _profile(run, profile)
    assert run.consent_purpose() == purpose
    assert flows.fits(run, "consent") == (purpose == "consent")
    assert flows.fits(run, "reconnect") == flows.fits(run, "replace") == (purpose == "reconnect")
    assert not flows.fits(run, "anything-else")


def test_start_refuses_a_purpose_the_run_does_not_fit(signed_in, user, run):
    _profile(run, "created")
    with pytest.raises(PermissionDenied):
        flows.start(request_for(signed_in, user), run, **CONFIG_X)
    run.status = Run.Status.COMPLETED
    run.save()
    with pytest.raises(PermissionDenied):
        flows.start(request_for(signed_in, user), run, **CONFIG_X)  # a consent on a completed setup
    assert OAuthFlow.objects.count() == 0
    start_flow(signed_in, user, run, {**CONFIG_X, "purpose": "reconnect"})
    assert OAuthFlow.objects.get().frozen().purpose == "reconnect"
