"""Delete OAuth flow rows (and their encrypted PKCE verifiers) a day past expiry (SECURITY.md item 14).

``purge_abandoned`` (the one scheduled job in docs/deploy.md) already does this; the command is
for running it on its own. Idempotent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.oauth import flows


class Command(BaseCommand):
    help = "Delete OAuth flow records that expired more than --hours ago (default 24)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hours", type=int, default=24)

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = flows.purge_expired_flows(timedelta(hours=options["hours"]))
        self.stdout.write(f"Deleted {deleted} expired OAuth flow record(s).")
