"""The rest of the Management API: data stores (§5), own user and permissions (§6), version (§0)."""

from __future__ import annotations

import httpx

from portal.sandbox.hdp import datastores, errors
from portal.sandbox.hdp.api.common import MGMT_API, VERSION, Ctx
from portal.sandbox.hdp.errors import json_response, not_found
from portal.sandbox.hdp.models import HdpUser


def list_stores(ctx: Ctx, _: str) -> httpx.Response:
    ctx.require(MGMT_API)
    return json_response(200, {"dataStores": [s.as_json() for s in datastores.DATA_STORES]})


def get_store(ctx: Ctx, raw_id: str) -> httpx.Response:
    ctx.require(MGMT_API)
    store = datastores.get(int(raw_id)) if raw_id.isdigit() else None
    if store is None:
        raise not_found(errors.NOT_FOUND, f"There is no data store with that id: {raw_id}")
    return json_response(200, store.as_json())


# --- Own user, version (§6, §0) ----------------------------------------------------------------------------


def password_expiration(user: HdpUser) -> str | None:
    if user.password_expiration is None:
        return None
    return user.password_expiration.strftime("%Y-%m-%d %H:%M:%S.0")


def own_user(ctx: Ctx, _: str) -> httpx.Response:
    return json_response(
        200,
        {
            "userId": ctx.user.pk,
            "passwordExpiration": password_expiration(ctx.user),
            "permissions": sorted(ctx.user.permissions),
        },
    )


def own_permissions(ctx: Ctx, _: str) -> httpx.Response:
    return json_response(200, {"userId": ctx.user.pk, "permissions": sorted(ctx.user.permissions)})


def version(ctx: Ctx, _: str) -> httpx.Response:
    return json_response(200, VERSION)
