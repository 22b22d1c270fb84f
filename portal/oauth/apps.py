from __future__ import annotations

from django.apps import AppConfig


class OAuthConfig(AppConfig):
    name = "portal.oauth"
    label = "portal_oauth"
    default_auto_field = "django.db.models.BigAutoField"
