from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxProviderConfig(AppConfig):
    name = "portal.sandbox.provider"
    label = "sandbox_provider"
    verbose_name = _("Sandbox OAuth provider")
    default_auto_field = "django.db.models.BigAutoField"
