"""Sign-in checked once against HDP; the password is never stored (docs/product.md "How HDP is reached").

The person's own credentials are used for exactly one call (``GET /api/mgmt/user``). Who they are
(user name, tenant, tenants administered) is then read with the portal's service account, in one
``GET /api/admin/users/{id}?details=true`` (plus the tenant list only when the person administers a
tenant other than their own, for its name), and kept on the local ``User`` as a snapshot.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from portal.accounts.models import User
from portal.hdp import client as hdp
from portal.hdp import errors

logger = logging.getLogger(__name__)


class HdpUnreachable(Exception):
    """HDP could not be asked whether the password is right; the login view says so."""

    def __init__(self, host: str) -> None:
        self.host = host
        super().__init__(f"HDP at {host} can't be reached")


def hdp_host() -> str:
    return urlsplit(settings.HDP_BASE_URL).netloc or settings.HDP_BASE_URL


def _tenant_names(service: hdp.HdpClient, ids: list[int]) -> dict[int, str]:
    try:
        return {t.id: t.name for t in service.list_tenants()}
    except errors.HdpAuthError:
        names: dict[int, str] = {}
        for tid in ids:
            try:
                names[tid] = service.get_tenant(tid).name
            except errors.HdpNotFound:
                names[tid] = ""
        return names


class HdpBackend(BaseBackend):
    @sensitive_variables("password")
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or not password:
            return None
        username = username.strip()
        try:
            with hdp.HdpClient.as_person(username, password) as person:
                me = person.get_me()
        except errors.HdpUnauthorized:
            logger.info("sign-in refused by HDP for %s", username.lower())
            return None
        except errors.HdpUnavailable as exc:
            raise HdpUnreachable(hdp_host()) from exc
        try:
            with hdp.HdpClient.service() as service:
                # With details the account carries tenantsAdministered (docs/hdp-api.md §6): no
                # separate read of it unless this HDP leaves the field out.
                account = service.get_user_account(me.user_id, details=True)
                administered = list(account.tenants_administered)
                if "tenants_administered" not in account.model_fields_set:
                    administered = service.get_tenants_administered(me.user_id)
                tenant_id = account.tenant_id
                tenant_name = account.tenant_name or ""
                known = {tenant_id: tenant_name} if tenant_id is not None and tenant_name else {}
                wanted = [t for t in [tenant_id, *administered] if t is not None]
                # The tenant list only for names the account did not give (an admin of other tenants).
                names = known if all(t in known for t in wanted) else _tenant_names(service, wanted)
        except errors.HdpUnavailable as exc:
            raise HdpUnreachable(hdp_host()) from exc
        hdp_name = account.user_name or username
        user, _ = User.objects.get_or_create(username=hdp_name.lower())
        if user.is_sandbox_provider_account:
            return None
        user.hdp_user_id = me.user_id
        user.hdp_tenant_id = tenant_id
        user.hdp_tenant_name = tenant_name or (names.get(tenant_id, "") if tenant_id is not None else "")
        user.hdp_tenants_administered = [{"id": t, "name": names.get(t, str(t))} for t in administered]
        user.hdp_permissions = list(me.permissions)
        user.hdp_checked_at = timezone.now()
        user.hdp_password_expiration = me.password_expiration or ""
        if user.has_usable_password():
            # Once only: a new unusable password on every sign-in changed the session auth hash
            # and signed the person out of their other browsers (SECURITY.md item 35).
            user.set_unusable_password()
        user.save()
        return user

    def get_user(self, user_id: int) -> User | None:
        try:
            user = User.objects.get(pk=user_id)
        except User.DoesNotExist:
            return None
        return None if user.is_sandbox_provider_account else user
