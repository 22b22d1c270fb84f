from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from portal.oauth import flows

    if request is not None and hasattr(request, "session"):
        flows.drop_flows_on_login(request)


def _on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from portal.oauth import flows

    session = getattr(request, "session", None)
    flows.drop_pending_flows(getattr(session, "session_key", None))


class OAuthConfig(AppConfig):
    name = "portal.oauth"
    label = "portal_oauth"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # SECURITY.md item 23: a new login or a logout ends pending flows (friendly restart).
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        user_logged_in.connect(_on_login, dispatch_uid="portal_oauth_drop_flows_on_login")
        user_logged_out.connect(_on_logout, dispatch_uid="portal_oauth_drop_flows_on_logout")
