from __future__ import annotations

from django.apps import AppConfig


class SandboxProviderConfig(AppConfig):
    name = "portal.sandbox.provider"
    label = "sandbox_provider"
    verbose_name = "Sandbox OAuth provider"
    default_auto_field = "django.db.models.BigAutoField"
