"""``manage.py schedule_health_checks``: one scheduler round (cron, systemd timer, Kubernetes CronJob).

Safe to run from several machines at once: each due setup is claimed by exactly one round
(docs/deploy.md "Health checks").
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal.connections import health


class Command(BaseCommand):
    help = "Enqueue a health check for every completed setup that is due (docs/deploy.md)."

    def handle(self, *args: Any, **options: Any) -> None:
        enqueued = health.schedule_round()
        if options["verbosity"] > 0:
            self.stdout.write(f"Enqueued {enqueued} health check(s).")
