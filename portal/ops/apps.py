from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "portal.ops"
    label = "ops"

    def ready(self) -> None:
        # Before the first request builds the middleware chain (Django's instrumentation adds its own),
        # in every gunicorn worker and every `manage.py db_worker`.
        from portal.ops import tracing

        if tracing.configured():
            tracing.setup()
