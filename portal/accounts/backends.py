from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from portal.accounts.models import User


class HdpBackend(BaseBackend):
    """Sign-in checked against HDP (implemented in the wizard issue)."""

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> User | None:
        return None

    def get_user(self, user_id: int) -> User | None:
        try:
            user = User.objects.get(pk=user_id)
        except User.DoesNotExist:
            return None
        return None if user.is_sandbox_provider_account else user
