"""Drop the secrets of onboarding runs that were left unfinished (SECURITY.md item 14).

The portal keeps a client secret only until the consent after the OAuth application's creation has
exchanged its code, and tokens only until the profile exists; a run abandoned half-way would
otherwise keep them forever. This job bounds that.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from portal.audit.models import AuditEntry
from portal.oauth import flows as oauth_flows
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import RemoteObject, Run


def purge_abandoned(now: datetime | None = None) -> dict[str, int]:
    """Purge runs idle for more than ``PORTAL_ABANDONED_AFTER_HOURS`` and not completed; and the
    client secret of any run whose application exists and that has been idle for longer than
    ``OAUTH_FLOW_TTL_SECONDS`` (it was kept only for the token exchange).

    Each such run loses ``app_secret_enc`` and ``tokens_enc`` and its pending OAuth flows (their
    PKCE verifiers); expired pending flows of any run go too. The run rows stay: they are the
    audit trail and can be resumed (the admin re-enters the secret or reconnects). Plain UPDATEs,
    so running it on several instances at once is harmless.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.PORTAL_ABANDONED_AFTER_HOURS)
    abandoned = Run.objects.filter(updated_at__lt=cutoff).exclude(status=Run.Status.COMPLETED)
    holding = abandoned.filter(~Q(app_secret_enc="") | ~Q(tokens_enc=""))
    run_ids = list(holding.values_list("pk", flat=True))
    # .update() leaves updated_at alone: purging is not activity on the run.
    runs = Run.objects.filter(pk__in=run_ids).update(app_secret_enc="", tokens_enc="")
    for run_id in run_ids:
        AuditEntry.objects.create(
            actor="system", action="run.secrets_purged", run_id=run_id, detail={"reason": "abandoned"}
        )
    # A secret held for the token exchange after the application exists: once the run has been idle
    # for longer than a consent may take, the exchange reads it back from HDP instead.
    held_since = now - timedelta(seconds=settings.OAUTH_FLOW_TTL_SECONDS)
    waiting = (
        Run.objects.filter(updated_at__lt=held_since)
        .exclude(app_secret_enc="")
        .filter(objects_made__kind=RemoteObject.Kind.APP, objects_made__outcome=RemoteObject.Outcome.CREATED)
        .exclude(pk__in=run_ids)
    )
    waiting_ids = list(waiting.values_list("pk", flat=True))
    runs += Run.objects.filter(pk__in=waiting_ids).update(app_secret_enc="")
    for run_id in waiting_ids:
        AuditEntry.objects.create(
            actor="system",
            action="run.secrets_purged",
            run_id=run_id,
            detail={"reason": "consent_not_finished"},
        )
    pending = OAuthFlow.objects.filter(outcome=OAuthFlow.Outcome.PENDING)
    flows, _ = pending.filter(Q(run__in=abandoned) | Q(expires_at__lt=now)).delete()
    # Finished flow rows too, a day past expiry: one scheduled job keeps the whole table small
    # (the same as `manage.py purge_oauth_flows`).
    flows += oauth_flows.purge_expired_flows()
    return {"runs": runs, "flows": flows}


class Command(BaseCommand):
    help = (
        "Remove the encrypted client secrets and OAuth tokens of onboarding runs left unfinished for more "
        "than PORTAL_ABANDONED_AFTER_HOURS, and delete their pending (and any expired) OAuth flows. "
        "Schedule it hourly: cron '17 * * * * cd /srv/portal && .venv/bin/python manage.py purge_abandoned' "
        "or a systemd timer with OnCalendar=hourly. Safe to run on several instances at once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = purge_abandoned()
        self.stdout.write(
            f"Purged secrets from {counts['runs']} abandoned run(s); deleted {counts['flows']} pending OAuth flow(s)."
        )
