"""manage.py purge_abandoned: abandoned runs lose their secrets and pending flows (SECURITY.md item 14)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from portal.audit.models import AuditEntry
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import RemoteObject, Run
from tests.helpers.engine import SECRET, give_tokens


def flow(run, *, outcome=OAuthFlow.Outcome.PENDING, expires_in=timedelta(minutes=5)):
    return OAuthFlow.objects.create(
        state_hash=uuid.uuid4().hex,
        session_key_hash="s" * 64,
        user=run.owner,
        run=run,
        tenant_id=run.tenant_id,
        snapshot={},
        code_verifier_enc="v1.dev1.sealed",
        expires_at=timezone.now() + expires_in,
        outcome=outcome,
    )


def holding_secrets(make_run, *, age_hours, **fields):
    run = make_run(**fields)
    run.seal("app_secret", SECRET)
    give_tokens(run)
    past = timezone.now() - timedelta(hours=age_hours)
    Run.objects.filter(pk=run.pk).update(created_at=past, updated_at=past)
    run.refresh_from_db()
    return run


def test_purges_abandoned_runs_only(make_run, settings):
    settings.PORTAL_ABANDONED_AFTER_HOURS = 72
    old = holding_secrets(make_run, age_hours=73, ds_name="old_one")
    fresh = holding_secrets(make_run, age_hours=1, ds_name="fresh_one")
    done = holding_secrets(make_run, age_hours=100, ds_name="done_one", status=Run.Status.COMPLETED)
    old_pending, old_done = flow(old), flow(old, outcome=OAuthFlow.Outcome.SUCCEEDED)
    fresh_pending, fresh_expired = flow(fresh), flow(fresh, expires_in=timedelta(minutes=-1))
    old_updated_at = old.updated_at

    out = StringIO()
    call_command("purge_abandoned", stdout=out)

    assert (
        out.getvalue().strip() == "Purged secrets from 1 abandoned run(s); deleted 2 pending OAuth flow(s)."
    )
    old.refresh_from_db()
    assert (old.app_secret_enc, old.tokens_enc) == ("", "")
    assert old.updated_at == old_updated_at  # purging is not activity
    for kept in (fresh, done):
        kept.refresh_from_db()
        assert kept.unseal("app_secret") == SECRET and kept.tokens_enc
    remaining = set(OAuthFlow.objects.values_list("pk", flat=True))
    assert remaining == {old_done.pk, fresh_pending.pk}
    assert fresh_expired.pk not in remaining and old_pending.pk not in remaining
    assert AuditEntry.objects.filter(action="run.secrets_purged", run=old).count() == 1

    # Again: nothing left to do.
    out = StringIO()
    call_command("purge_abandoned", stdout=out)
    assert "from 0 abandoned run(s); deleted 0 pending" in out.getvalue()


def test_help_says_how_to_schedule_it():
    from portal.onboarding.management.commands.purge_abandoned import Command

    assert "hourly" in Command.help and "cron" in Command.help and "systemd" in Command.help


def test_finished_flows_a_day_past_expiry_go_too(make_run):
    run = make_run(ds_name="flows_only")
    stale = flow(run, outcome=OAuthFlow.Outcome.SUCCEEDED, expires_in=timedelta(hours=-25))
    recent = flow(run, outcome=OAuthFlow.Outcome.FAILED, expires_in=timedelta(hours=-1))

    call_command("purge_abandoned", stdout=StringIO())

    remaining = set(OAuthFlow.objects.values_list("pk", flat=True))
    assert stale.pk not in remaining and recent.pk in remaining


def test_a_secret_held_for_the_exchange_goes_once_the_run_idles_past_a_consent(make_run, settings):
    """Once the application exists the secret is held only for the consent's token exchange; a run
    idle for longer than a flow lives (any status: a repair's consent too) loses it, nothing else."""
    settings.OAUTH_FLOW_TTL_SECONDS = 600

    def waiting(minutes, **fields):
        run = make_run(**fields)
        run.seal("app_secret", SECRET)
        run.save()
        RemoteObject.objects.create(run=run, kind="app", name=f"app_{run.pk}", remote_id=5, outcome="created")
        past = timezone.now() - timedelta(minutes=minutes)
        Run.objects.filter(pk=run.pk).update(updated_at=past)
        return run

    idle, busy = waiting(11, ds_name="idle_one"), waiting(5, ds_name="busy_one")
    repairing = waiting(30, ds_name="repair_one", status=Run.Status.COMPLETED)
    no_app = holding_secrets(make_run, age_hours=1, ds_name="no_app_yet")  # its create may be retried

    call_command("purge_abandoned", stdout=StringIO())

    for run in (idle, repairing):
        run.refresh_from_db()
        assert run.app_secret_enc == ""
        assert AuditEntry.objects.get(run=run, action="run.secrets_purged").detail == {
            "reason": "consent_not_finished"
        }
    for run in (busy, no_app):
        run.refresh_from_db()
        assert run.held_client_secret() == SECRET
