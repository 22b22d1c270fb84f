"""OAuth applications: ``/api/mgmt/oauthapps`` (docs/hdp-api.md §2)."""

from __future__ import annotations

from typing import Any

import httpx
from django.db import transaction
from django.db.models import QuerySet

from portal.sandbox.hdp import datastores, errors
from portal.sandbox.hdp.api.common import (
    APP_PROFILE_NAME,
    MGMT_API,
    OAUTH,
    Ctx,
    administered_ids,
    check_name,
    coerce_int,
    created,
    deleted,
    is_admin,
    opt_str,
    parse_path_id,
    strip_profile_refs,
    tenant_from_query,
    visible_tenant_ids,
)
from portal.sandbox.hdp.errors import bad_request, forbidden, json_response, not_found
from portal.sandbox.hdp.models import SYSTEM_TENANT_ID, HdpUser, OAuthApp, Tenant


def app_json(app: OAuthApp, *, secrets: bool) -> dict[str, Any]:
    """GET returns the client secret (§2: documented as returned); the 5.0 list shape omits client creds."""
    body: dict[str, Any] = {
        "id": app.pk,
        "name": app.name,
        "dataStore": app.data_store,
        "tenantId": app.tenant_id,
        "description": app.description,
        "authorizeURI": app.authorize_uri,
        "tokenURI": app.token_uri,
        "scope": app.scope,
    }
    if secrets:
        body["clientId"] = app.client_id
        body["clientSecret"] = app.client_secret
    return body


def visible_apps(user: HdpUser) -> QuerySet[OAuthApp]:
    tenant_ids = visible_tenant_ids(user)
    apps = OAuthApp.objects.all()
    return apps if tenant_ids is None else apps.filter(tenant_id__in=tenant_ids)


def get_visible_app(user: HdpUser, raw_id: str | int) -> OAuthApp:
    app_id = parse_path_id(str(raw_id), errors.INVALID_APP_ID, "OAuthApplicationId")
    app = visible_apps(user).filter(pk=app_id).first()
    if app is None:
        raise not_found(errors.INVALID_APP_ID, f"Invalid OAuthApplicationId: {raw_id}")
    return app


def can_manage_apps_in(user: HdpUser, tenant_id: int) -> bool:
    """§2: Administrator anywhere; MgmtAPI+OAuth in the own tenant; a system-tenant user also in the
    tenants they administer."""
    if is_admin(user):
        return True
    if not (MGMT_API in user.permissions and OAUTH in user.permissions):
        return False
    if tenant_id == user.tenant_id:
        return True
    return user.tenant_id == SYSTEM_TENANT_ID and tenant_id in administered_ids(user)


def require_manage_apps(ctx: Ctx, tenant_id: int) -> None:
    ctx.require(MGMT_API, OAUTH)
    if not can_manage_apps_in(ctx.user, tenant_id):
        raise forbidden(f"User {ctx.user.user_name} may not manage OAuth applications in tenant {tenant_id}")


def apply_app_body(ctx: Ctx, app: OAuthApp, body: dict[str, Any]) -> None:
    """Validate a create/update body into ``app`` (full replace on update, §2: same body as create).

    [U] clientId, clientSecret, authorizeURI and tokenURI are required: HDP cannot refresh without them.
    [U] names are unique per tenant, case-insensitively (400).
    """
    name = opt_str(body, "name", required=True)
    check_name(name, APP_PROFILE_NAME, "OAuth application")
    store_id = coerce_int(body.get("dataStore"), "dataStore") if body.get("dataStore") is not None else None
    if store_id is None:
        raise bad_request("Missing 'dataStore' in payload")
    store = datastores.get(store_id)
    if store is None or not store.oauth:
        raise bad_request(f"Data store {store_id} does not support OAuth applications")
    tenant_id = app.tenant_id if app.pk else ctx.user.tenant_id
    if body.get("tenantId") not in (None, ""):
        requested = coerce_int(body["tenantId"], "tenantId")
        if app.pk and requested != app.tenant_id:
            # [U] moving an app between tenants is not documented; refuse it.
            raise bad_request("'tenantId' of an OAuth application cannot be changed")
        if not Tenant.objects.filter(pk=requested).exists():
            raise not_found(errors.TENANT_NOT_FOUND, f"There is no Tenant with that id: {requested}")
        tenant_id = requested
    require_manage_apps(ctx, tenant_id)
    duplicate = OAuthApp.objects.filter(tenant_id=tenant_id, name__iexact=name).exclude(pk=app.pk)
    if duplicate.exists():
        raise bad_request(f"An OAuth application named '{name}' already exists in tenant {tenant_id}")
    app.name = name
    app.data_store = store_id
    app.tenant_id = tenant_id
    app.description = opt_str(body, "description")
    app.client_id = opt_str(body, "clientId", required=True)
    app.client_secret = opt_str(body, "clientSecret", required=True)
    app.authorize_uri = opt_str(body, "authorizeURI", required=True)
    app.token_uri = opt_str(body, "tokenURI", required=True)
    app.scope = opt_str(body, "scope")


def list_apps(ctx: Ctx, _: str) -> httpx.Response:
    ctx.require(MGMT_API)
    apps = visible_apps(ctx.user)
    tenant = tenant_from_query(ctx)
    if tenant is not None:
        apps = apps.filter(tenant=tenant)
    return json_response(200, {"applications": [app_json(a, secrets=False) for a in apps.order_by("id")]})


def create_app(ctx: Ctx, _: str) -> httpx.Response:
    """[U] 201 + the created object (the profile create is documented as 201)."""
    ctx.require(MGMT_API)
    body = ctx.json()
    app = OAuthApp(created_by=ctx.user)
    apply_app_body(ctx, app, body)
    app.save()
    return created("/api/mgmt/oauthapps", app_json(app, secrets=True))


def get_app(ctx: Ctx, raw_id: str) -> httpx.Response:
    ctx.require(MGMT_API)
    return json_response(200, app_json(get_visible_app(ctx.user, raw_id), secrets=True))


def update_app(ctx: Ctx, raw_id: str) -> httpx.Response:
    """[U] 200 + the updated object."""
    ctx.require(MGMT_API)
    app = get_visible_app(ctx.user, raw_id)
    body = ctx.json()
    apply_app_body(ctx, app, body)
    app.save()
    return json_response(200, app_json(app, secrets=True))


def delete_app(ctx: Ctx, raw_id: str) -> httpx.Response:
    """§2: deleting an app deletes its profiles; their data sources lose ``OAuthProfileId``."""
    ctx.require(MGMT_API)
    app = get_visible_app(ctx.user, raw_id)
    require_manage_apps(ctx, app.tenant_id)
    with transaction.atomic():
        strip_profile_refs(list(app.profiles.values_list("id", flat=True)))
        app.delete()
    return deleted()
