"""The Administrator API: ``/api/admin/{tenants,users,permissions}`` (docs/hdp-api.md §6)."""

from __future__ import annotations

from typing import Any

import httpx
from django.db.models import QuerySet

from portal.sandbox.hdp import errors
from portal.sandbox.hdp.api.common import (
    ADMINISTRATOR,
    MGMT_API,
    PERMISSION_CATALOGUE,
    TENANT_API,
    VIEW_USERS,
    Ctx,
    administered_ids,
    is_admin,
)
from portal.sandbox.hdp.api.datasources import ds_json, with_share_flags
from portal.sandbox.hdp.api.mgmt import password_expiration
from portal.sandbox.hdp.errors import json_response, not_found
from portal.sandbox.hdp.models import HdpUser, Tenant


def visible_admin_tenant_ids(user: HdpUser) -> set[int] | None:
    """[I] §6 "+admin access to see a tenant": tenants the user administers; all for Administrator."""
    return None if is_admin(user) else administered_ids(user)


def visible_users(user: HdpUser) -> QuerySet[HdpUser]:
    """[U] ViewUsers (14) shows users of the own tenant and of administered tenants; all for Administrator."""
    users = HdpUser.objects.select_related("tenant").order_by("id")
    if is_admin(user):
        return users
    return users.filter(tenant_id__in={user.tenant_id} | administered_ids(user))


def get_visible_user(ctx: Ctx, raw_id: str) -> HdpUser:
    ctx.require_any(ADMINISTRATOR, VIEW_USERS)
    found = visible_users(ctx.user).filter(pk=int(raw_id)).first() if raw_id.isdigit() else None
    if found is None:
        raise not_found(errors.NOT_FOUND, f"There is no user with that id: {raw_id}")
    return found


def tenant_json(tenant: Tenant, *, details: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": tenant.pk,
        "name": tenant.name,
        "description": tenant.description,
        "parentTenant": tenant.parent_id,
        "status": tenant.status,
    }
    if details:
        body["roles"] = [1, 2, 3]  # the default roles (§6)
        body["admins"] = sorted(tenant.admins.values_list("id", flat=True))
    return body


def admin_user_json(user: HdpUser, *, details: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": user.pk, "userName": user.user_name, "tenantId": user.tenant_id}
    if details:
        body.update(
            {
                "tenantName": user.tenant.name,
                "statusInfo": {"status": 1, "accountLocked": False},
                "passwordInfo": {"passwordExpiration": password_expiration(user)},
                "permissions": {
                    "roles": [1] if is_admin(user) else [2],
                    "permissions": sorted(user.permissions),
                },
                "authenticationInfo": {"authServiceId": 1, "authUserName": user.user_name},
                "tenantsAdministered": sorted(administered_ids(user)),
            }
        )
    return body


def list_tenants(ctx: Ctx, _: str) -> httpx.Response:
    ctx.require_any(ADMINISTRATOR, TENANT_API)
    ids = visible_admin_tenant_ids(ctx.user)
    tenants = Tenant.objects.order_by("id")
    if ids is not None:
        tenants = tenants.filter(pk__in=ids)
    return json_response(200, {"tenants": [{"id": t.pk, "name": t.name} for t in tenants]})


def get_tenant(ctx: Ctx, raw_id: str) -> httpx.Response:
    ctx.require_any(ADMINISTRATOR, TENANT_API)
    ids = visible_admin_tenant_ids(ctx.user)
    tenant = Tenant.objects.filter(pk=int(raw_id)).first() if raw_id.isdigit() else None
    if tenant is None or (ids is not None and tenant.pk not in ids):
        raise not_found(errors.TENANT_NOT_FOUND, f"There is no Tenant with that id: {raw_id}")
    return json_response(200, tenant_json(tenant, details=ctx.flag("details")))


def list_users(ctx: Ctx, _: str) -> httpx.Response:
    ctx.require_any(ADMINISTRATOR, VIEW_USERS)
    details = ctx.flag("details")
    return json_response(
        200, {"users": [admin_user_json(u, details=details) for u in visible_users(ctx.user)]}
    )


def get_user(ctx: Ctx, raw_id: str) -> httpx.Response:
    """[U] tenantName is always included (the portal needs it to find a user's tenant, §6 [I])."""
    found = get_visible_user(ctx, raw_id)
    body = admin_user_json(found, details=ctx.flag("details"))
    body["tenantName"] = found.tenant.name
    return json_response(200, body)


def user_tenants_administered(ctx: Ctx, raw_id: str) -> httpx.Response:
    found = get_visible_user(ctx, raw_id)
    return json_response(200, {"tenantsAdministered": sorted(administered_ids(found))})


def user_datasources(ctx: Ctx, raw_id: str) -> httpx.Response:
    found = get_visible_user(ctx, raw_id)
    items = [
        # sharedWithAnotherUser (only when true) as "Get data sources for a user account" shows it (§12).
        {k: v for k, v in ds_json(ds, details=True).items() if k not in ("options", "connectionType")}
        for ds in with_share_flags(found.data_sources.select_related("owner").order_by("id"))
    ]
    return json_response(200, {"dataSources": items})


def admin_permissions(ctx: Ctx, _: str) -> httpx.Response:
    ctx.require_any(ADMINISTRATOR, MGMT_API)
    catalogue = [
        {"id": pid, "name": name, "description": desc} for pid, (name, desc) in PERMISSION_CATALOGUE.items()
    ]
    return json_response(200, {"permissions": catalogue})
