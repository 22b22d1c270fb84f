"""Sharing a data source with users and tenants: ``/api/mgmt/datasources/{id}/sharedUsers`` and
``.../sharedTenants`` (docs/hdp-api.md §12).

Documented rules enforced here: only administrators share with a tenant; a data source is never shared
with a tenant and with users of that tenant at once (sharing with the tenant removes those user shares,
and a user of a shared tenant cannot be added); a share carries exactly the listed data-source permissions
and SQLEditor (10) cannot be set on a share. Choices where HDP is silent are marked [U] and listed in
docs/decisions.md ("Sharing").
"""

from __future__ import annotations

from typing import Any

import httpx
from django.db import transaction

from portal.sandbox.hdp import errors
from portal.sandbox.hdp.api.common import (
    DELETE_DS,
    MGMT_API,
    MODIFY_DS,
    VIEW_DS,
    Ctx,
    administered_ids,
    coerce_int,
    deleted,
    is_admin,
)
from portal.sandbox.hdp.api.datasources import get_own_ds
from portal.sandbox.hdp.errors import bad_request, forbidden, json_response, not_found
from portal.sandbox.hdp.models import DataSource, HdpUser, Tenant, TenantShare, UserShare

# §12 "Data source permissions": 2-7 may be set on a share; SQLEditor (10) "cannot be set on a shared
# data source".
SHAREABLE = (2, 3, 4, 5, 6, 7)
SQL_EDITOR = 10


def _split(raw: str) -> tuple[str, str]:
    """The router passes ``<datasourceId>`` or ``<datasourceId>/sharedUsers/<userId>`` (or tenants)."""
    parts = raw.split("/")
    return parts[0], parts[-1] if len(parts) > 1 else ""


def _owned(ctx: Ctx, raw_ds: str, *perms: int) -> DataSource:
    """[U] only the owner (or someone acting for the owner with ``?user=``, §1) manages the shares;
    [U] reading them needs MgmtAPI (11) + ViewDataSource (2), changing them ModifyDataSource (3),
    removing them DeleteDataSource (4) (the 4.6 "Delete shared users from the data source" page)."""
    ctx.require(MGMT_API, *perms)
    return get_own_ds(ctx.user, raw_ds)


def _permissions(raw: Any, where: str) -> list[int]:
    if not isinstance(raw, list) or not raw:
        raise bad_request(f"'permissions' of {where} must be a non-empty list of permission ids")
    ids = sorted({coerce_int(p, "permissions") for p in raw})
    if SQL_EDITOR in ids:
        raise bad_request(f"SQLEditor ({SQL_EDITOR}) cannot be set on a shared data source ({where})")
    unknown = [p for p in ids if p not in SHAREABLE]
    if unknown:
        listed = ", ".join(str(p) for p in unknown)
        raise bad_request(f"Invalid data source permission(s) for {where}: {listed}")
    return ids


def _entries(body: dict[str, Any], key: str, id_field: str) -> list[tuple[int, list[int]]]:
    items = body.get(key)
    if not isinstance(items, list) or not items:
        raise bad_request(f"Missing '{key}' in payload")
    seen: set[int] = set()
    entries: list[tuple[int, list[int]]] = []
    for item in items:
        if not isinstance(item, dict) or item.get(id_field) in (None, ""):
            raise bad_request(f"Every entry of '{key}' needs '{id_field}' and 'permissions'")
        member = coerce_int(item[id_field], id_field)
        if member in seen:
            raise bad_request(f"{id_field} {member} appears more than once in '{key}'")  # [U]
        seen.add(member)
        entries.append((member, _permissions(item.get("permissions"), f"{id_field} {member}")))
    return entries


def _may_share_with_user(owner: HdpUser, target: HdpUser) -> bool:
    """[U] HDP documents only that a shared user moved to a tenant the owner does not administer loses
    access: the emulator lets an owner share within their own tenant and the tenants they administer
    (Administrator 12: any tenant)."""
    return (
        is_admin(owner) or target.tenant_id == owner.tenant_id or target.tenant_id in administered_ids(owner)
    )


def _may_share_with_tenant(owner: HdpUser, tenant: Tenant) -> bool:
    """§12 "only administrators can share data sources with tenants"; [U] an administrator of a tenant
    is a holder of Administrator (12) or an account with administrative access to it."""
    return is_admin(owner) or tenant.pk in administered_ids(owner)


# --- sharedUsers ----------------------------------------------------------------------------------------


def _user_json(share: UserShare) -> dict[str, Any]:
    return {"userId": share.user_id, "permissions": list(share.permissions)}


def list_shared_users(ctx: Ctx, raw: str) -> httpx.Response:
    """GET "Get shared data source users" → 200 ``{"sharedUsers": [{"userId", "permissions"}]}``."""
    ds = _owned(ctx, _split(raw)[0], VIEW_DS)
    shares = ds.user_shares.order_by("user_id")
    return json_response(200, {"sharedUsers": [_user_json(s) for s in shares]})


def create_shared_users(ctx: Ctx, raw: str) -> httpx.Response:
    """POST "Create a list of users with whom to share a data source". All or nothing: every entry is
    checked before any is stored. [U] adds to the existing list (a user already shared is refused; PUT
    changes a share); [U] answers 201 with the data source's whole list, as a GET would."""
    ds = _owned(ctx, _split(raw)[0], MODIFY_DS)
    entries = _entries(ctx.json(), "sharedUsers", "userId")
    owner = ds.owner
    shared_tenants = set(ds.tenant_shares.values_list("tenant_id", flat=True))
    already = set(ds.user_shares.values_list("user_id", flat=True))
    users = HdpUser.objects.in_bulk([member for member, _ in entries])
    for member, _perms in entries:
        target = users.get(member)
        if target is None or not _may_share_with_user(owner, target):
            # [U] one answer for "no such user" and "a user you may not share with": no enumeration.
            raise bad_request(f"There is no user with id {member} that this data source can be shared with")
        if target.pk == owner.pk:
            raise bad_request("A data source cannot be shared with its owner")
        if target.tenant_id in shared_tenants:
            raise bad_request(
                f"The data source is shared with tenant {target.tenant_id}: it cannot also be shared "
                f"with user {member} of that tenant"
            )
        if member in already:
            raise bad_request(f"The data source is already shared with user {member}; use PUT to change it")
    with transaction.atomic():
        for member, perms in entries:
            UserShare.objects.create(data_source=ds, user_id=member, permissions=perms)
    shares = ds.user_shares.order_by("user_id")
    return json_response(201, {"sharedUsers": [_user_json(s) for s in shares]})


def delete_shared_users(ctx: Ctx, raw: str) -> httpx.Response:
    """DELETE "Delete shared users from the data source": stops sharing with every user. 204."""
    ds = _owned(ctx, _split(raw)[0], DELETE_DS)
    ds.user_shares.all().delete()
    return deleted()


def _user_share(ds: DataSource, raw_member: str) -> UserShare:
    share = ds.user_shares.filter(user_id=int(raw_member)).first() if raw_member.isdigit() else None
    if share is None:
        # [U] code: the emulator's generic not-found code.
        raise not_found(errors.NOT_FOUND, f"The data source is not shared with user {raw_member}")
    return share


def get_shared_user(ctx: Ctx, raw: str) -> httpx.Response:
    """GET "Get the data source permissions for a shared user" → 200 ``{"permissions": [...]}``."""
    raw_ds, member = _split(raw)
    share = _user_share(_owned(ctx, raw_ds, VIEW_DS), member)
    return json_response(200, {"permissions": list(share.permissions)})


def update_shared_user(ctx: Ctx, raw: str) -> httpx.Response:
    """PUT "Update data source permissions for shared user" (200); [U] answers ``{"permissions"}``."""
    raw_ds, member = _split(raw)
    share = _user_share(_owned(ctx, raw_ds, MODIFY_DS), member)
    share.permissions = _permissions(ctx.json().get("permissions"), f"user {member}")
    share.save(update_fields=["permissions"])
    return json_response(200, {"permissions": list(share.permissions)})


def delete_shared_user(ctx: Ctx, raw: str) -> httpx.Response:
    """DELETE "Delete shared user from a data source" → 204 ``{"success": true}``."""
    raw_ds, member = _split(raw)
    _user_share(_owned(ctx, raw_ds, DELETE_DS), member).delete()
    return deleted()


# --- sharedTenants --------------------------------------------------------------------------------------


def _tenant_json(share: TenantShare) -> dict[str, Any]:
    return {"tenantId": share.tenant_id, "permissions": list(share.permissions)}


def list_shared_tenants(ctx: Ctx, raw: str) -> httpx.Response:
    """GET "Get shared data source tenants" → 200 ``{"sharedTenants": [{"tenantId", "permissions"}]}``."""
    ds = _owned(ctx, _split(raw)[0], VIEW_DS)
    shares = ds.tenant_shares.order_by("tenant_id")
    return json_response(200, {"sharedTenants": [_tenant_json(s) for s in shares]})


def create_shared_tenants(ctx: Ctx, raw: str) -> httpx.Response:
    """POST "Create a list of tenants with which to share a data source". Only administrators (403
    otherwise); the user shares inside each tenant are removed (§12). [U] 201 + the whole list."""
    ds = _owned(ctx, _split(raw)[0], MODIFY_DS)
    entries = _entries(ctx.json(), "sharedTenants", "tenantId")
    tenants = Tenant.objects.in_bulk([member for member, _ in entries])
    already = set(ds.tenant_shares.values_list("tenant_id", flat=True))
    for member, _perms in entries:
        tenant = tenants.get(member)
        if tenant is None:
            raise not_found(errors.TENANT_NOT_FOUND, f"There is no Tenant with that id: {member}")
        if not _may_share_with_tenant(ds.owner, tenant):
            raise forbidden(
                f"Only administrators can share data sources with tenants; user {ds.owner.user_name} "
                f"does not administer tenant {member}"
            )
        if member in already:
            raise bad_request(f"The data source is already shared with tenant {member}; use PUT to change it")
    with transaction.atomic():
        for member, perms in entries:
            ds.user_shares.filter(user__tenant_id=member).delete()
            TenantShare.objects.create(data_source=ds, tenant_id=member, permissions=perms)
    shares = ds.tenant_shares.order_by("tenant_id")
    return json_response(201, {"sharedTenants": [_tenant_json(s) for s in shares]})


def delete_shared_tenants(ctx: Ctx, raw: str) -> httpx.Response:
    """DELETE "Delete shared tenants from a data source": stops sharing with every tenant. 204."""
    ds = _owned(ctx, _split(raw)[0], DELETE_DS)
    ds.tenant_shares.all().delete()
    return deleted()


def _tenant_share(ds: DataSource, raw_member: str) -> TenantShare:
    share = ds.tenant_shares.filter(tenant_id=int(raw_member)).first() if raw_member.isdigit() else None
    if share is None:
        raise not_found(errors.NOT_FOUND, f"The data source is not shared with tenant {raw_member}")
    return share


def get_shared_tenant(ctx: Ctx, raw: str) -> httpx.Response:
    """GET "Get the data source permissions for a shared tenant" → 200 ``{"permissions": [...]}``."""
    raw_ds, member = _split(raw)
    share = _tenant_share(_owned(ctx, raw_ds, VIEW_DS), member)
    return json_response(200, {"permissions": list(share.permissions)})


def update_shared_tenant(ctx: Ctx, raw: str) -> httpx.Response:
    """PUT "Update data source permissions for shared tenant"; [U] 200 ``{"permissions"}``.
    [U] the administrator rule applies to changes as to creation."""
    raw_ds, member = _split(raw)
    ds = _owned(ctx, raw_ds, MODIFY_DS)
    share = _tenant_share(ds, member)
    if not _may_share_with_tenant(ds.owner, share.tenant):
        raise forbidden("Only administrators can share data sources with tenants")
    share.permissions = _permissions(ctx.json().get("permissions"), f"tenant {member}")
    share.save(update_fields=["permissions"])
    return json_response(200, {"permissions": list(share.permissions)})


def delete_shared_tenant(ctx: Ctx, raw: str) -> httpx.Response:
    """DELETE "Delete shared tenant from a data source" → 204 ``{"success": true}``."""
    raw_ds, member = _split(raw)
    _tenant_share(_owned(ctx, raw_ds, DELETE_DS), member).delete()
    return deleted()
