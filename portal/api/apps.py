from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "portal.api"
    label = "api"
    verbose_name = "Automation API"

    def ready(self) -> None:
        # Build the API's pydantic models at start-up, not at the first URL lookup: a lookup made
        # under freezegun (tests) or mid-request would otherwise build them against a patched datetime.
        from portal.api import api  # noqa: F401
