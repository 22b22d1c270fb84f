"""The portal's local record of a person who signed in with their HDP account.

The password is never stored (an unusable password, set once: changing it would change the
session auth hash and sign the person out of their other browsers); who the person is and what they may do
is read from HDP at sign-in through the service account and kept here as a snapshot.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

# HDP permission ids (docs/hdp-api.md §6).
PERM_CREATE_DATASOURCE = 1
PERM_VIEW_DATASOURCE = 2
PERM_MODIFY_DATASOURCE = 3
PERM_DELETE_DATASOURCE = 4
PERM_MGMT_API = 11
PERM_ADMINISTRATOR = 12
PERM_VIEW_USERS = 14
PERM_ON_BEHALF_OF = 21
PERM_TENANT_API = 25
PERM_OAUTH = 28

PERMISSION_NAMES = {
    1: "CreateDataSource",
    2: "ViewDataSource",
    3: "ModifyDataSource",
    4: "DeleteDataSource",
    11: "MgmtAPI",
    12: "Administrator",
    14: "ViewUsers",
    21: "OnBehalfOf",
    25: "TenantAPI",
    28: "OAuth",
}
# What onboarding needs: register apps (OAuth), create/see/delete data sources and profiles.
ONBOARDING_PERMISSIONS = (
    PERM_MGMT_API,
    PERM_OAUTH,
    PERM_CREATE_DATASOURCE,
    PERM_VIEW_DATASOURCE,
    PERM_DELETE_DATASOURCE,
)


class User(AbstractUser):
    """``username`` is the HDP user name, stored lower-case (HDP names are case-insensitive)."""

    hdp_user_id = models.IntegerField(null=True, blank=True)
    hdp_tenant_id = models.IntegerField(null=True, blank=True)
    hdp_tenant_name = models.CharField(max_length=200, blank=True)
    # Tenants this person administers in HDP: [{"id": 71, "name": "OrgA"}, ...]
    hdp_tenants_administered = models.JSONField(default=list, blank=True)
    hdp_permissions = models.JSONField(default=list, blank=True)
    hdp_checked_at = models.DateTimeField(null=True, blank=True)
    # HDP's passwordExpiration at the last sign-in: a password change in HDP moves it, and each
    # session compares its own copy with HDP's at the periodic re-check (SECURITY.md item 35).
    hdp_password_expiration = models.CharField(max_length=64, blank=True)
    # Sandbox OAuth provider accounts are rows of this table too (django-oauth-toolkit needs
    # AUTH_USER_MODEL); they can never sign in to the portal.
    is_sandbox_provider_account = models.BooleanField(default=False)

    def has_hdp_permission(self, perm: int) -> bool:
        perms = set(self.hdp_permissions or [])
        return PERM_ADMINISTRATOR in perms or perm in perms

    def missing_onboarding_permissions(self) -> list[str]:
        return [PERMISSION_NAMES[p] for p in ONBOARDING_PERMISSIONS if not self.has_hdp_permission(p)]

    def onboarding_tenants(self) -> list[dict[str, object]]:
        """Tenants this person may onboard for: those they administer, else their own."""
        tenants = list(self.hdp_tenants_administered or [])
        if not tenants and self.hdp_tenant_id is not None:
            tenants = [{"id": self.hdp_tenant_id, "name": self.hdp_tenant_name}]
        return tenants

    def may_use_tenant(self, tenant_id: int) -> bool:
        return any(int(str(t["id"])) == tenant_id for t in self.onboarding_tenants())
