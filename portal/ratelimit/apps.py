from __future__ import annotations

from django.apps import AppConfig


class RateLimitConfig(AppConfig):
    name = "portal.ratelimit"
    label = "ratelimit"
    default_auto_field = "django.db.models.BigAutoField"
