from __future__ import annotations

from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "portal.connections"
    label = "connections"
    default_auto_field = "django.db.models.BigAutoField"
