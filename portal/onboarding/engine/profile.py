"""Step d: the OAuth profile that holds the run's tokens in HDP.

**Minimal custody.** The tokens stay encrypted on the run until the profile exists; then HDP is
the token store and the run drops them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from pydantic import SecretStr

from portal.hdp.client import HdpClient
from portal.hdp.schemas import OAuthProfileCreate
from portal.lib.logging import register_secret
from portal.onboarding.engine import records
from portal.onboarding.engine.errors import MissingTokens, StepNotReady
from portal.onboarding.engine.lease import lease
from portal.onboarding.engine.reconcile import ensure, finder, resume_in_flight, verifiable
from portal.onboarding.engine.records import Kind
from portal.onboarding.models import Run


@dataclass(frozen=True)
class ProfileSettings:
    name: str
    description: str = ""


def profile_body(run: Run, app_id: int, tokens: dict[str, Any], *, name: str = "") -> OAuthProfileCreate:
    """The profile HDP should hold for ``run``: its name (or ``name``, e.g. the recorded one on a
    reconnect's PUT), the app, the description and the tokens."""
    access = tokens.get("access_token")
    return OAuthProfileCreate(
        name=name or run.profile_name,
        oauth_app_id=app_id,
        description=run.profile_description or None,
        access_token=SecretStr(str(access)) if access else None,
        refresh_token=SecretStr(str(tokens["refresh_token"])),
    )


def ensure_profile(run: Run, client: HdpClient, profile: ProfileSettings | None = None) -> int:
    """Make sure the OAuth profile holding this run's tokens exists exactly once; return its id.

    The tokens stay encrypted on the run until the profile exists (then they are dropped: HDP is
    the token store). A refused create keeps them, so the admin can fix and resume within the TTL
    without a new consent. Tokens are only ever sent from a fresh exchange (item 33). ``profile``
    (name, description) is recorded on the run under the lease; ``None`` keeps what it holds.
    """
    with lease(run):
        records.require_active(run)
        if profile is not None:
            run.profile_name, run.profile_description = profile.name, profile.description
            records.save(run, "profile_name", "profile_description")
        find_by = finder(run, client, Kind.PROFILE)
        done = records.done_id(run, Kind.PROFILE) or resume_in_flight(run, Kind.PROFILE, find_by)
        if done is not None:
            records.drop_sealed(run, "tokens")
            return done
        app_id = records.done_id(run, Kind.APP)
        if app_id is None:
            raise StepNotReady(_("The OAuth application must exist before the profile."))
        raw = run.unseal("tokens")
        tokens: dict[str, Any] = json.loads(raw) if raw else {}
        for value in tokens.values():
            if isinstance(value, str):
                register_secret(value)
        if not tokens.get("refresh_token"):
            raise MissingTokens(
                _(
                    "The provider did not return a refresh token, which HDP needs to keep the connection working. "
                    "Authorize again and allow offline access."
                )
            )
        profile_id = ensure(
            run,
            Kind.PROFILE,
            run.profile_name,
            create=lambda: client.create_oauth_profile(profile_body(run, app_id, tokens)),
            find_by=find_by,
            taken=finder(run, client, Kind.PROFILE, exact=False),
            step="profile",
            check_first=not verifiable(run, Kind.PROFILE),
        )
        records.drop_sealed(run, "tokens")
        return profile_id
