"""Minimal custody and no leaks (SECURITY.md items 14 and 17) through the whole step engine."""

from __future__ import annotations

import json
import logging

from django.core import serializers

from portal.audit.models import AuditEntry
from portal.oauth.models import OAuthFlow
from portal.onboarding import engine
from portal.onboarding.models import RemoteObject, Run
from portal.sandbox.hdp import faults, refresh
from tests.helpers.engine import ACCESS, REFRESH, SECRET, give_tokens

SENTINELS = (SECRET, ACCESS, REFRESH)


def portal_dump() -> str:
    """Every portal-side row the engine touches (the emulator's tables are HDP's, not the portal's)."""
    rows = [
        *Run.objects.all(),
        *RemoteObject.objects.all(),
        *AuditEntry.objects.all(),
        *OAuthFlow.objects.all(),
    ]
    return serializers.serialize("json", rows)


def test_a_finished_run_holds_no_secret_and_none_was_logged(hdp_client, make_run, caplog, monkeypatch):
    monkeypatch.setattr(refresh, "refresh_with_provider", lambda *args: {"access_token": "fresh"})
    caplog.set_level(logging.DEBUG)
    run = make_run()
    # Unknown outcomes on the way, so the reconcile paths are exercised too.
    faults.arm("POST", r"^/api/mgmt/oauthapps$", "commit_then_drop")
    engine.ensure_app(run, hdp_client, client_secret=SECRET)
    give_tokens(run)
    # Held (encrypted) for the token exchange, which is where a real consent drops it.
    assert Run.objects.get(pk=run.pk).held_client_secret() == SECRET
    faults.arm("POST", r"^/api/mgmt/oauthprofiles$", "commit_then_drop")
    engine.ensure_profile(run, hdp_client)
    engine.ensure_datasource(run, hdp_client)
    assert engine.verify(run, hdp_client).success

    # No plaintext copy anywhere (audit details, object details, messages), nor in any log record.
    dump = portal_dump()
    assert len(json.loads(dump)) > 5
    for sentinel in SENTINELS:
        assert sentinel not in dump
        assert sentinel not in caplog.text
    run.refresh_from_db()
    assert (run.app_secret_enc, run.tokens_enc, run.status) == ("", "", Run.Status.COMPLETED)
