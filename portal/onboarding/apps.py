from __future__ import annotations

from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "portal.onboarding"
    label = "onboarding"
    default_auto_field = "django.db.models.BigAutoField"
