"""Builders for the API tests: people signed in through the real backend, completed setups, tokens."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import authenticate
from django.utils import timezone

from portal.accounts.models import User
from portal.api import tokens
from portal.connections import checks
from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause, State, Verdict
from portal.onboarding.models import RemoteObject, Run
from tests.helpers.sandbox import PASSWORDS

VERDICTS = {
    State.WORKING: Verdict(State.WORKING, Cause.TEST_PASSED),
    State.NEEDS_RECONNECT: Verdict(
        State.NEEDS_RECONNECT, Cause.REFRESH_REFUSED, provider_error="invalid_grant"
    ),
    State.BROKEN: Verdict(State.BROKEN, Cause.PROFILE_MISSING),
}


def sign_in(username: str) -> User:
    """The person as the portal knows them after a real sign-in (HdpBackend against the emulator)."""
    user = authenticate(None, username=username, password=PASSWORDS[username])
    assert isinstance(user, User), f"{username} could not sign in"
    return user


def make_setup(
    owner: User,
    *,
    name: str = "acme_ga",
    state: str | None = State.WORKING,
    tenant_id: int | None = None,
    store: str = "Google Analytics",
    ids: tuple[int, int, int] = (101, 201, 301),
) -> Run:
    tenant = tenant_id if tenant_id is not None else int(owner.hdp_tenant_id or 0)
    run = Run.objects.create(
        owner=owner,
        status=Run.Status.COMPLETED,
        tenant_id=tenant,
        tenant_name=owner.hdp_tenant_name,
        datastore_id=7,
        datastore_name=store,
        app_name=f"{name}_app",
        profile_name=f"{name}_profile",
        ds_name=name,
        granted_scope="openid offline_access read",
        provider_display_name="Ada Lovelace",
        completed_at=timezone.now(),
    )
    for kind, remote_id in zip(
        (RemoteObject.Kind.APP, RemoteObject.Kind.PROFILE, RemoteObject.Kind.DATASOURCE), ids, strict=True
    ):
        RemoteObject.objects.create(
            run=run,
            kind=kind,
            name=f"{name}_{kind}",
            remote_id=remote_id,
            outcome=RemoteObject.Outcome.CREATED,
        )
    if state is not None:
        checks.record(run, VERDICTS[State(state)], trigger=ConnectionCheck.Trigger.SCHEDULED)
    return run


def make_token(owner: User, *scopes: str, days: int = 30, support: bool = False) -> str:
    _row, token = tokens.create(
        owner, name="test", scopes=list(scopes or ("setups:read",)), days=days, is_support=support
    )
    return token


def expire(token: str) -> None:
    from portal.api.models import ApiToken

    ApiToken.objects.filter(token_hash=tokens.digest(token)).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
