from __future__ import annotations

from django.apps import AppConfig


class HdpEmulatorConfig(AppConfig):
    name = "portal.sandbox.hdp"
    label = "hdp_emulator"
    verbose_name = "Sandbox HDP emulator"
    default_auto_field = "django.db.models.BigAutoField"
