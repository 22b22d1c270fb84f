from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from portal.accounts import recheck

        user_logged_in.connect(recheck.remember_sign_in, dispatch_uid="portal_accounts_remember_sign_in")
