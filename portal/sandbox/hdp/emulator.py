"""Stateful emulator of the HDP Management and Administrator APIs (docs/hdp-api.md).

``handle(request) -> response`` is the whole server: routing, HTTP Basic auth, ``?user=`` act-on-behalf,
permissions, validation and persistence in the ``hdp_emulator`` models. It speaks httpx so the same core
serves three ways: in-process through ``mock_transport()`` (fast tests), behind the Django view at
``/sandbox/hdp/`` (views.py), and as a standalone server (``manage.py hdp_emulator``). Paths are relative
to the emulator base: the core sees ``/api/mgmt/oauthapps``.

Choices where HDP is silent are marked [U] here and listed in docs/decisions.md under "Emulator".
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from portal.lib.logging import register_secret
from portal.sandbox.hdp import datastores, errors, faults, passwords
from portal.sandbox.hdp.datastores import OAUTH_PROFILE_OPTION, DataStore
from portal.sandbox.hdp.errors import HdpApiError, bad_request, forbidden, json_response, not_found
from portal.sandbox.hdp.models import (
    SYSTEM_TENANT_ID,
    DataSource,
    Fault,
    HdpUser,
    OAuthApp,
    OAuthProfile,
    Tenant,
)

logger = logging.getLogger(__name__)

# Permission ids (docs/hdp-api.md §6).
CREATE_DS, VIEW_DS, MODIFY_DS, DELETE_DS = 1, 2, 3, 4
MGMT_API, ADMINISTRATOR, VIEW_USERS, ON_BEHALF_OF, TENANT_API, OAUTH = 11, 12, 14, 21, 25, 28
DS_PERMISSIONS = (2, 3, 4, 5, 6, 7, 10)  # settable on a data source (§4)

PERMISSION_CATALOGUE: dict[int, tuple[str, str]] = {
    1: ("CreateDataSource", "Create data sources"),
    2: ("ViewDataSource", "View data sources"),
    3: ("ModifyDataSource", "Modify data sources"),
    4: ("DeleteDataSource", "Delete data sources"),
    5: ("UseDataSourceWithJDBC", "Query data sources through JDBC"),
    6: ("UseDataSourceWithODBC", "Query data sources through ODBC"),
    7: ("UseDataSourceWithOData", "Query data sources through OData"),
    8: ("WebUI", "Use the Web UI"),
    9: ("ChangePassword", "Change own password"),
    10: ("SQLEditorWebUI", "Use the SQL editor"),
    11: ("MgmtAPI", "Use the Management API"),
    12: ("Administrator", "Full administrative access"),
    13: ("CreateUsers", "Create users"),
    14: ("ViewUsers", "View users"),
    15: ("ModifyUsers", "Modify users"),
    16: ("DeleteUsers", "Delete users"),
    17: ("CreateRole", "Create roles"),
    18: ("ViewRole", "View roles"),
    19: ("ModifyRole", "Modify roles"),
    20: ("DeleteRole", "Delete roles"),
    21: ("OnBehalfOf", "Act on behalf of other users"),
    25: ("TenantAPI", "Use the Tenant API"),
    26: ("RegisterExternalAuthService", "Register external authentication services"),
    27: ("Limits", "Manage limits"),
    28: ("OAuth", "Manage OAuth applications"),
}

APP_PROFILE_NAME = re.compile(r"^[A-Za-z0-9_]+$")  # §2, §3
DS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")  # §4
DS_NAME_MAX = 128  # [U] §4: max length undocumented
CONNECTION_TYPES = ("Cloud", "Hybrid", "Group")
VERSION = {
    "InstallType": "Licenced",
    "HDPVersion": "4.6.2.0 (sandbox emulator)",
    "WAPVersion": "4.6.2.0",
    "DASVersion": "4.6.2.0",
}


# --- Identity and permissions -------------------------------------------------------------------------


def has_perm(user: HdpUser, perm: int) -> bool:
    """[U] Administrator (12) implies every permission: portal_svc holds only 12 yet may do everything."""
    return ADMINISTRATOR in user.permissions or perm in user.permissions


def is_admin(user: HdpUser) -> bool:
    return ADMINISTRATOR in user.permissions


def administered_ids(user: HdpUser) -> set[int]:
    return set(user.tenants_administered.values_list("id", flat=True))


def visible_tenant_ids(user: HdpUser) -> set[int] | None:
    """Tenants whose OAuth apps the user can see; ``None`` means all (Administrator). §2 tenant rules."""
    if is_admin(user):
        return None
    return {SYSTEM_TENANT_ID, user.tenant_id} | administered_ids(user)


def usable_tenant_ids(user: HdpUser) -> set[int]:
    """Tenants whose apps the user's own profiles may use: the system tenant and their own (§2)."""
    return {SYSTEM_TENANT_ID, user.tenant_id}


@dataclass
class Ctx:
    """One authenticated request: ``caller`` sent the credentials, ``user`` is the effective user (§1)."""

    request: httpx.Request
    caller: HdpUser
    user: HdpUser

    @property
    def on_behalf(self) -> bool:
        return self.caller.pk != self.user.pk

    @property
    def query(self) -> httpx.QueryParams:
        return self.request.url.params

    def flag(self, name: str) -> bool:
        return str(self.query.get(name, "")).lower() == "true"

    def require(self, *perms: int) -> None:
        """403 unless the effective user holds every permission in ``perms``.

        Acting on behalf (§1): a non-Administrator caller must also hold the operation's permission.
        """
        holders = [self.user] + ([self.caller] if self.on_behalf and not is_admin(self.caller) else [])
        for holder in holders:
            missing = [p for p in perms if not has_perm(holder, p)]
            if missing:
                names = ", ".join(f"{PERMISSION_CATALOGUE[p][0]} ({p})" for p in missing)
                raise forbidden(f"User {holder.user_name} lacks the permission(s) {names}")

    def require_any(self, *perms: int) -> None:
        holders = [self.user] + ([self.caller] if self.on_behalf and not is_admin(self.caller) else [])
        for holder in holders:
            if not any(has_perm(holder, p) for p in perms):
                names = " or ".join(f"{PERMISSION_CATALOGUE[p][0]} ({p})" for p in perms)
                raise forbidden(f"User {holder.user_name} needs {names}")

    def json(self, *, allow_empty: bool = False) -> dict[str, Any]:
        raw = self.request.content
        if allow_empty and not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request(f"Invalid JSON Input: {exc}", errors.INVALID_JSON) from exc
        if not isinstance(body, dict):
            raise bad_request("Invalid JSON Input: expected a JSON object", errors.INVALID_JSON)
        return body


def authenticate(request: httpx.Request) -> HdpUser:
    """HTTP Basic against the emulator's users; user names case-insensitive (§1)."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            user_name, sep, password = (
                base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            sep = ""
        if sep:
            register_secret(password)
            user = HdpUser.objects.select_related("tenant").filter(user_name__iexact=user_name).first()
            if user is not None and passwords.check(password, user.password):
                return user
    raise HdpApiError(401, errors.UNAUTHORIZED, "Not Authorized")


def resolve_effective_user(caller: HdpUser, target_name: str | None) -> HdpUser:
    """Apply ``?user=`` (§1): Administrator may act for anyone; otherwise OnBehalfOf (21) plus
    administrative access on the target's tenant, and a child-tenant admin only inside their own tenant."""
    if not target_name or target_name.lower() == caller.user_name.lower():
        return caller
    target = HdpUser.objects.select_related("tenant").filter(user_name__iexact=target_name).first()
    if is_admin(caller):
        if target is None:
            # [U] unknown ?user= target: 404 with the emulator's generic not-found code.
            raise not_found(errors.NOT_FOUND, f"There is no user named {target_name}")
        return target
    if ON_BEHALF_OF not in caller.permissions:
        raise forbidden(f"User {caller.user_name} lacks the permission(s) OnBehalfOf ({ON_BEHALF_OF})")
    allowed = (
        target is not None
        and target.tenant_id in administered_ids(caller)
        and (caller.tenant_id == SYSTEM_TENANT_ID or caller.tenant_id == target.tenant_id)
    )
    if not allowed or target is None:
        raise forbidden(f"User {caller.user_name} may not act on behalf of {target_name}")
    return target


# --- Input helpers ------------------------------------------------------------------------------------


def parse_path_id(raw: str, code: int, label: str) -> int:
    if not raw.isdigit():
        raise not_found(code, f"Invalid {label}: {raw}")
    return int(raw)


def coerce_int(value: Any, field: str) -> int:
    """Ids may arrive as int or numeric string (§0: ``dataStore`` is a string in two 5.0 examples)."""
    if isinstance(value, bool):
        raise bad_request(f"'{field}' must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise bad_request(f"'{field}' must be an integer")


def opt_str(body: dict[str, Any], field: str, *, required: bool = False) -> str:
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise bad_request(f"Missing '{field}' in payload")
        return ""
    if not isinstance(value, str):
        raise bad_request(f"'{field}' must be a string")
    return value


def check_name(name: str, pattern: re.Pattern[str], what: str) -> None:
    if not pattern.match(name):
        allowed = (
            "letters, digits and '_'"
            if pattern is APP_PROFILE_NAME
            else "a letter, then letters, digits, '_' or '-'"
        )
        raise bad_request(f"Invalid {what} name '{name}': use {allowed}")


def tenant_from_query(ctx: Ctx) -> Tenant | None:
    tenant_id, tenant_name = ctx.query.get("tenantId"), ctx.query.get("tenantName")
    if tenant_id:
        tenant = Tenant.objects.filter(pk=int(tenant_id)).first() if tenant_id.isdigit() else None
        if tenant is None:
            raise not_found(errors.TENANT_NOT_FOUND, f"There is no Tenant with that id: {tenant_id}")
        return tenant
    if tenant_name:
        tenant = Tenant.objects.filter(name__iexact=tenant_name).first()
        if tenant is None:
            raise not_found(errors.TENANT_NOT_FOUND, f"There is no Tenant with that name: {tenant_name}")
        return tenant
    return None


def created(collection: str, body: dict[str, Any]) -> httpx.Response:
    """201 + the object + ``Location`` (§7 lists "201 (created; Location header)")."""
    response = json_response(201, body)
    response.headers["Location"] = f"{collection}/{body['id']}"
    return response


# --- OAuth applications (§2) ----------------------------------------------------------------------------


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
    return json_response(204)


# --- OAuth profiles (§3) ---------------------------------------------------------------------------------


def profile_json(profile: OAuthProfile) -> dict[str, Any]:
    """GET returns the tokens (§3: documented get-by-id format)."""
    return {
        "id": profile.pk,
        "name": profile.name,
        "oauthAppId": profile.app_id,
        "description": profile.description,
        "accessToken": profile.access_token,
        "refreshToken": profile.refresh_token,
    }


def profile_list_json(profile: OAuthProfile) -> dict[str, Any]:
    """§3 list item; ``oauthAppId`` is an emulator extension (documented in docs/decisions.md)."""
    return {
        "id": profile.pk,
        "name": profile.name,
        "description": profile.description,
        "authorizeURI": profile.app.authorize_uri,
        "tokenURI": profile.app.token_uri,
        "scope": profile.app.scope,
        "oauthAppId": profile.app_id,
    }


def visible_profiles(user: HdpUser) -> QuerySet[OAuthProfile]:
    """[U] "profiles available to the user": the effective user's own; an Administrator sees all."""
    profiles = OAuthProfile.objects.select_related("app")
    return profiles if is_admin(user) else profiles.filter(owner=user)


def get_visible_profile(user: HdpUser, raw_id: str | int) -> OAuthProfile:
    profile_id = parse_path_id(str(raw_id), errors.INVALID_PROFILE_ID, "OAuthProfileId")
    profile = visible_profiles(user).filter(pk=profile_id).first()
    if profile is None:
        raise not_found(errors.INVALID_PROFILE_ID, f"Invalid OAuthProfileId: {raw_id}")
    return profile


def apply_profile_body(ctx: Ctx, profile: OAuthProfile, body: dict[str, Any]) -> None:
    """Validate a profile body (§3). [U] names unique per owner, case-insensitively (400)."""
    name = opt_str(body, "name", required=True)
    check_name(name, APP_PROFILE_NAME, "OAuth profile")
    if body.get("oauthAppId") in (None, ""):
        raise bad_request("Missing 'oauthAppId' in payload")
    app_id = coerce_int(body["oauthAppId"], "oauthAppId")
    app = get_visible_app(ctx.user, app_id)
    if app.tenant_id not in usable_tenant_ids(ctx.user):
        raise forbidden(
            f"OAuth application {app.pk} belongs to tenant {app.tenant_id}; "
            f"users of tenant {ctx.user.tenant_id} cannot use it"
        )
    refresh_token = opt_str(body, "refreshToken", required=True)
    owner_id = profile.owner_id if profile.pk else ctx.user.pk
    duplicate = OAuthProfile.objects.filter(owner_id=owner_id, name__iexact=name).exclude(pk=profile.pk)
    if duplicate.exists():
        raise bad_request(f"An OAuth profile named '{name}' already exists for this user")
    profile.name = name
    profile.app = app
    profile.description = opt_str(body, "description")
    profile.access_token = opt_str(body, "accessToken")
    profile.refresh_token = refresh_token


def list_profiles(ctx: Ctx, _: str) -> httpx.Response:
    ctx.require(MGMT_API, VIEW_DS)
    profiles = visible_profiles(ctx.user).order_by("id")
    return json_response(200, {"profiles": [profile_list_json(p) for p in profiles]})


def create_profile(ctx: Ctx, _: str) -> httpx.Response:
    """§3: 201 + the created profile; the effective (``?user=``) user becomes its owner."""
    ctx.require(MGMT_API, CREATE_DS)
    body = ctx.json()
    profile = OAuthProfile(owner=ctx.user)
    apply_profile_body(ctx, profile, body)
    profile.save()
    return created("/api/mgmt/oauthprofiles", profile_json(profile))


def get_profile(ctx: Ctx, raw_id: str) -> httpx.Response:
    ctx.require(MGMT_API, VIEW_DS)
    return json_response(200, profile_json(get_visible_profile(ctx.user, raw_id)))


def require_owner(ctx: Ctx, profile: OAuthProfile) -> None:
    if profile.owner_id != ctx.user.pk and not is_admin(ctx.user):
        raise forbidden(f"Only the owner may change OAuth profile {profile.pk}")


def update_profile(ctx: Ctx, raw_id: str) -> httpx.Response:
    """§3: only profiles the caller owns; [U] 200 + the object."""
    ctx.require(MGMT_API, MODIFY_DS)
    profile = get_visible_profile(ctx.user, raw_id)
    require_owner(ctx, profile)
    apply_profile_body(ctx, profile, ctx.json())
    profile.save()
    return json_response(200, profile_json(profile))


def delete_profile(ctx: Ctx, raw_id: str) -> httpx.Response:
    """§3: removes the profile's references from data sources."""
    ctx.require(MGMT_API, DELETE_DS)
    profile = get_visible_profile(ctx.user, raw_id)
    require_owner(ctx, profile)
    with transaction.atomic():
        strip_profile_refs([profile.pk])
        profile.delete()
    return json_response(204)


def profile_stats(ctx: Ctx, raw_id: str) -> httpx.Response:
    ctx.require(MGMT_API, VIEW_DS)
    profile = get_visible_profile(ctx.user, raw_id)
    linked = [
        ds
        for ds in DataSource.objects.order_by("id")
        if ds.options.get(OAUTH_PROFILE_OPTION) == str(profile.pk)
    ]
    return json_response(
        200,
        {
            "dataSourcesLinked": len(linked),
            "dataStoreId": profile.app.data_store,
            "dataSources": [{"id": ds.pk, "name": ds.name, "description": ds.description} for ds in linked],
        },
    )


def strip_profile_refs(profile_ids: list[int]) -> None:
    """Drop ``OAuthProfileId`` from every data source pointing at one of ``profile_ids``."""
    wanted = {str(pid) for pid in profile_ids}
    if not wanted:
        return
    for ds in DataSource.objects.select_for_update():
        if ds.options.get(OAUTH_PROFILE_OPTION) in wanted:
            ds.options = {k: v for k, v in ds.options.items() if k != OAUTH_PROFILE_OPTION}
            ds.save(update_fields=["options"])


# --- Data sources (§4) -----------------------------------------------------------------------------------


def ds_permissions(owner: HdpUser) -> list[int]:
    return [p for p in DS_PERMISSIONS if has_perm(owner, p)]


def ds_json(ds: DataSource) -> dict[str, Any]:
    """Options are echoed as stored, including passwords (§4: the documented create response does)."""
    return {
        "id": ds.pk,
        "name": ds.name,
        "dataStore": ds.data_store,
        "connectionType": ds.connection_type,
        "description": ds.description,
        "isGroup": ds.data_store == 56,
        "options": dict(ds.options),
        "permissions": ds_permissions(ds.owner),
    }


def get_own_ds(user: HdpUser, raw_id: str) -> DataSource:
    """[U] data sources are visible to their owner only; admins use ``?user=`` (§1) or the admin API."""
    if not raw_id.isdigit():
        raise not_found(errors.DS_INVALID_ID, f"Invalid DataSource ID: {raw_id}")
    ds = DataSource.objects.select_related("owner").filter(pk=int(raw_id), owner=user).first()
    if ds is None:
        raise not_found(errors.DS_NOT_FOUND, f"There is no DataSource with that id: {raw_id}")
    return ds


def clean_options(owner: HdpUser, store: DataStore, raw: Any) -> dict[str, str]:
    """Option ids must come from the store's definition (§4, 222207002); values are kept as strings (§0)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise bad_request("'options' must be a JSON object")
    options: dict[str, str] = {}
    for key, value in raw.items():
        definition = store.option(key)
        if definition is None or isinstance(value, dict | list) or value is None:
            raise bad_request(f"Invalid DataSource Option: {key}", errors.DS_INVALID_OPTION)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if definition.choices and text not in {c[0] for c in definition.choices}:
            raise bad_request(f"Invalid DataSource Option: {key}={text}", errors.DS_INVALID_OPTION)
        if definition.type == "integer" and not text.lstrip("-").isdigit():
            raise bad_request(
                f"Invalid DataSource Option: {key} must be an integer", errors.DS_INVALID_OPTION
            )
        if key == OAUTH_PROFILE_OPTION and text == "":
            continue
        options[key] = text
    profile_ref = options.get(OAUTH_PROFILE_OPTION)
    if profile_ref is not None:
        profile = (
            visible_profiles(owner).filter(pk=int(profile_ref)).first() if profile_ref.isdigit() else None
        )
        if profile is None:
            raise not_found(errors.INVALID_PROFILE_ID, f"Invalid OAuthProfileId: {profile_ref}")
        if profile.app.data_store != store.id:
            raise bad_request(
                f"Invalid DataSource Option: OAuthProfileId {profile_ref} belongs to data store "
                f"{profile.app.data_store}, not {store.id}",
                errors.DS_INVALID_OPTION,
            )
    return options


def apply_ds_body(ds: DataSource, body: dict[str, Any]) -> None:
    """Validate a create body, or an update body as a full replace ([U] §4: omitted options are cleared)."""
    creating = ds.pk is None
    name = opt_str(body, "name", required=True)
    check_name(name, DS_NAME, "DataSource")
    if len(name) > DS_NAME_MAX:
        raise bad_request(f"DataSource name is longer than {DS_NAME_MAX} characters")
    if creating:
        if body.get("dataStore") in (None, ""):
            raise bad_request("Missing 'dataStore' in payload")
        store_id = coerce_int(body["dataStore"], "dataStore")
    else:
        store_id = ds.data_store
        if body.get("dataStore") not in (None, "") and coerce_int(body["dataStore"], "dataStore") != store_id:
            raise bad_request("'dataStore' cannot be changed")
        if body.get("id") not in (None, "") and coerce_int(body["id"], "id") != ds.pk:
            raise bad_request("'id' cannot be changed")
    store = datastores.get(store_id)
    if store is None:
        raise bad_request(f"Invalid dataStore: {store_id}")
    connection_type = body.get("connectionType")
    if creating:
        if connection_type in (None, ""):
            raise bad_request("Missing 'connectionType' in payload", errors.DS_MISSING_CONNECTION_TYPE)
        if connection_type not in store.connection_types:
            allowed = "' or '".join(store.connection_types)
            raise bad_request(f"connectionType must be '{allowed}'", errors.DS_BAD_CONNECTION_TYPE)
        ds.connection_type = str(connection_type)
    elif connection_type not in (None, "", ds.connection_type):
        raise bad_request("connectionType cannot be changed", errors.DS_CONNECTION_TYPE_IMMUTABLE)
    duplicate = DataSource.objects.filter(owner=ds.owner, name__iexact=name).exclude(pk=ds.pk)
    if duplicate.exists():
        raise bad_request(f"A DataSource named '{name}' already exists for this user")
    ds.name = name
    ds.data_store = store_id
    ds.description = opt_str(body, "description")
    ds.options = clean_options(ds.owner, store, body.get("options"))


def list_ds(ctx: Ctx, _: str) -> httpx.Response:
    ctx.require(MGMT_API, VIEW_DS)
    sources = DataSource.objects.select_related("owner").filter(owner=ctx.user).order_by("id")
    kind = ctx.query.get("type", "all")
    if kind == "group":
        sources = sources.filter(data_store=56)
    elif kind == "simple":
        sources = sources.exclude(data_store=56)
    return json_response(200, {"dataSources": [ds_json(ds) for ds in sources]})


def create_ds(ctx: Ctx, _: str) -> httpx.Response:
    """[U] 201 + the created object; the effective (``?user=``) user becomes the owner (§1)."""
    ctx.require(MGMT_API, CREATE_DS)
    body = ctx.json()
    ds = DataSource(owner=ctx.user)
    apply_ds_body(ds, body)
    ds.save()
    return created("/api/mgmt/datasources", ds_json(ds))


def get_ds(ctx: Ctx, raw_id: str) -> httpx.Response:
    ctx.require(MGMT_API, VIEW_DS)
    return json_response(200, ds_json(get_own_ds(ctx.user, raw_id)))


def update_ds(ctx: Ctx, raw_id: str) -> httpx.Response:
    ctx.require(MGMT_API, MODIFY_DS)
    ds = get_own_ds(ctx.user, raw_id)
    apply_ds_body(ds, ctx.json())
    ds.save()
    return json_response(200, ds_json(ds))


def delete_ds(ctx: Ctx, raw_id: str) -> httpx.Response:
    ctx.require(MGMT_API, DELETE_DS)
    get_own_ds(ctx.user, raw_id).delete()
    return json_response(204)


class RefreshError(Exception):
    """The provider refused or could not be reached; the message is safe to show (no token in it)."""


def refresh_with_provider(
    token_uri: str, client_id: str, client_secret: str, refresh_token: str
) -> dict[str, Any]:
    """Refresh an access token the way HDP does for a profile (docs/hdp-api.md §9 [I]).

    RFC 6749 §6: ``grant_type=refresh_token`` as a form body, client authentication by HTTP Basic.
    Redirects are not followed (a token endpoint has no business redirecting; following could leak
    the refresh token). Module-level so tests patch it. Raises ``RefreshError``.
    """
    for secret in (client_secret, refresh_token):
        register_secret(secret)
    try:
        with httpx.Client(timeout=httpx.Timeout(10.0, connect=3.0), follow_redirects=False) as client:
            response = client.post(
                token_uri,
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                auth=(client_id, client_secret),
                headers={"Accept": "application/json"},
            )
    except httpx.TimeoutException as exc:
        raise RefreshError("the provider's token endpoint timed out") from exc
    except httpx.HTTPError as exc:
        raise RefreshError("the provider's token endpoint is unreachable") from exc
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code != 200 or not isinstance(payload, dict):
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, str) and re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", error):
            raise RefreshError(f"the provider said {error}")
        raise RefreshError(f"the provider answered HTTP {response.status_code}")
    if not isinstance(payload.get("access_token"), str) or not payload["access_token"]:
        raise RefreshError("the provider's answer has no access_token")
    register_secret(payload["access_token"])
    if isinstance(payload.get("refresh_token"), str):
        register_secret(payload["refresh_token"])
    return payload


def check_oauth_chain(ds: DataSource) -> str | None:
    """Walk data source -> profile -> app -> provider refresh; the broken link's description, or None.

    On success the new access token (and the rotated refresh token, if any) is stored on the profile.
    No transaction is held during the provider call: in the sandbox the provider shares the database.
    """
    ref = ds.options.get(OAUTH_PROFILE_OPTION)
    if not ref:
        return "it has no OAuthProfileId option"
    profile = OAuthProfile.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
    if profile is None:
        return f"its OAuth profile {ref} does not exist"
    app = OAuthApp.objects.filter(pk=profile.app_id).first()
    if app is None:
        return f"the OAuth application of profile {profile.name} does not exist"
    if not profile.refresh_token:
        return f"OAuth profile {profile.name} has no refresh token"
    try:
        tokens = refresh_with_provider(app.token_uri, app.client_id, app.client_secret, profile.refresh_token)
    except RefreshError as exc:
        return f"refreshing OAuth profile {profile.name} with application {app.name} failed: {exc}"
    update = {"access_token": str(tokens["access_token"])}
    if isinstance(tokens.get("refresh_token"), str) and tokens["refresh_token"]:
        update["refresh_token"] = tokens["refresh_token"]  # providers rotate refresh tokens
    OAuthProfile.objects.filter(pk=profile.pk).update(**update)
    return None


def ds_test(ctx: Ctx, raw_id: str) -> httpx.Response:
    """§4 test connection: 200 ``{"success": true}`` or 400 222207003 naming the broken link."""
    ctx.require(MGMT_API, VIEW_DS)
    ds = get_own_ds(ctx.user, raw_id)
    ctx.json(allow_empty=True)
    store = datastores.get(ds.data_store)
    if store is None or store.is_group:
        raise bad_request(f"DataSource {ds.name} is a group; test a member instead")
    if store.uses_oauth(ds.options):
        problem = check_oauth_chain(ds)
    else:
        missing = [o.id for o in store.options if o.required and not ds.options.get(o.id)]
        problem = f"required option(s) missing: {', '.join(missing)}" if missing else None
    if problem:
        raise bad_request(
            f"There was a problem connecting to the DataSource {ds.name}: {problem}", errors.DS_CONNECT_FAILED
        )
    return json_response(200, {"success": True})


# --- Data stores (§5) ------------------------------------------------------------------------------------


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


# --- Administrator API (§6) --------------------------------------------------------------------------------


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
        {k: v for k, v in ds_json(ds).items() if k not in ("options", "connectionType")}
        for ds in found.data_sources.select_related("owner").order_by("id")
    ]
    return json_response(200, {"dataSources": items})


def admin_permissions(ctx: Ctx, _: str) -> httpx.Response:
    ctx.require_any(ADMINISTRATOR, MGMT_API)
    catalogue = [
        {"id": pid, "name": name, "description": desc} for pid, (name, desc) in PERMISSION_CATALOGUE.items()
    ]
    return json_response(200, {"permissions": catalogue})


# --- Routing -------------------------------------------------------------------------------------------------

Handler = Callable[[Ctx, str], httpx.Response]
_ID = r"(?P<id>[^/]+)"
_ROUTE_TABLE: list[tuple[str, dict[str, Handler]]] = [
    (r"/api/mgmt/oauthapps", {"GET": list_apps, "POST": create_app}),
    (rf"/api/mgmt/oauthapps/{_ID}", {"GET": get_app, "PUT": update_app, "DELETE": delete_app}),
    (r"/api/mgmt/oauthprofiles", {"GET": list_profiles, "POST": create_profile}),
    (
        rf"/api/mgmt/oauthprofiles/{_ID}",
        {"GET": get_profile, "PUT": update_profile, "DELETE": delete_profile},
    ),
    (rf"/api/mgmt/oauthprofiles/{_ID}/stats", {"GET": profile_stats}),
    (r"/api/mgmt/datasources", {"GET": list_ds, "POST": create_ds}),
    (rf"/api/mgmt/datasources/{_ID}", {"GET": get_ds, "PUT": update_ds, "DELETE": delete_ds}),
    (rf"/api/mgmt/datasources/{_ID}/test", {"POST": ds_test}),
    (r"/api/mgmt/datastores", {"GET": list_stores}),
    (rf"/api/mgmt/datastores/{_ID}", {"GET": get_store}),
    (r"/api/mgmt/user", {"GET": own_user}),
    (r"/api/mgmt/permissions", {"GET": own_permissions}),
    (r"/api/mgmt/version", {"GET": version}),
    (r"/api/admin/tenants", {"GET": list_tenants}),
    (rf"/api/admin/tenants/{_ID}", {"GET": get_tenant}),
    (r"/api/admin/users", {"GET": list_users}),
    (rf"/api/admin/users/{_ID}", {"GET": get_user}),
    (rf"/api/admin/users/{_ID}/tenantsadministered", {"GET": user_tenants_administered}),
    (rf"/api/admin/users/{_ID}/datasources", {"GET": user_datasources}),
    (r"/api/admin/permissions", {"GET": admin_permissions}),
]
ROUTES = [(re.compile(pattern), handlers) for pattern, handlers in _ROUTE_TABLE]
FAULTS_PATH = "/_faults"


def dispatch(request: httpx.Request, path: str) -> httpx.Response:
    method = request.method.upper()
    if path == "/api/healthcheck":
        if method == "HEAD":
            return httpx.Response(200)
        if method == "GET":
            return json_response(200, {"status": "active"})
    for pattern, handlers in ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        handler = handlers.get(method)
        if handler is None:
            raise HdpApiError(405, errors.METHOD_NOT_ALLOWED, f"{method} is not supported on {path}")
        caller = authenticate(request)
        ctx = Ctx(request, caller, resolve_effective_user(caller, request.url.params.get("user")))
        return handler(ctx, match.groupdict().get("id", ""))
    raise not_found(errors.NOT_FOUND, f"No such resource: {path}")


def faults_control(request: httpx.Request) -> httpx.Response:
    """``POST /_faults`` arms a fault (JSON: method, path_regex, kind, status, delay, times);
    ``DELETE`` clears them; ``GET`` lists them. Administrator (12) only; 404 unless faults are enabled."""
    if not settings.SANDBOX_FAULTS_ENABLED:
        raise not_found(errors.NOT_FOUND, f"No such resource: {FAULTS_PATH}")
    caller = authenticate(request)
    if not is_admin(caller):
        raise forbidden(f"User {caller.user_name} lacks the permission(s) Administrator ({ADMINISTRATOR})")
    method = request.method.upper()
    if method == "DELETE":
        return json_response(200, {"cleared": faults.clear()})
    if method == "GET":
        armed = Fault.objects.order_by("id")
        return json_response(
            200,
            {
                "faults": [
                    {"id": f.pk, "method": f.method, "path_regex": f.path_regex, "kind": f.kind,
                     "status": f.status, "delay": f.delay, "remaining": f.remaining}
                    for f in armed
                ]
            },
        )  # fmt: skip
    if method != "POST":
        raise HdpApiError(405, errors.METHOD_NOT_ALLOWED, f"{method} is not supported on {FAULTS_PATH}")
    body = Ctx(request, caller, caller).json()
    try:
        fault = faults.arm(
            str(body.get("method", "*")),
            str(body.get("path_regex", "")),
            str(body.get("kind", "")),
            status=coerce_int(body["status"], "status") if body.get("status") is not None else None,
            delay=float(body["delay"]) if isinstance(body.get("delay"), int | float) else None,
            times=coerce_int(body.get("times", 1), "times"),
        )
    except ValueError as exc:
        raise bad_request(str(exc)) from exc
    return json_response(201, {"id": fault.pk, "kind": fault.kind, "remaining": fault.remaining})


def apply_fault(fault: Fault, request: httpx.Request, path: str) -> httpx.Response:
    if fault.kind == "status":
        status = fault.status or 500
        return errors.hdp_error(status, errors.EMULATOR_CODE_BASE + status, f"Injected fault: HTTP {status}")
    if fault.kind == "unauthorized":
        return errors.hdp_error(401, errors.UNAUTHORIZED, "Not Authorized")
    if fault.kind == "delay":
        time.sleep(fault.delay or 0)
        return run(request, path)
    # commit_then_drop: the handler's writes are committed; the answer is "lost" behind a 502.
    run(request, path)
    return errors.hdp_error(
        502, errors.EMULATOR_CODE_BASE + 502, "Injected fault: response lost after commit"
    )


def run(request: httpx.Request, path: str) -> httpx.Response:
    try:
        return dispatch(request, path)
    except HdpApiError as exc:
        return exc.response()


def handle(request: httpx.Request) -> httpx.Response:
    """Answer one HDP API request. Logs method, path and status only (never bodies or credentials)."""
    path = request.url.path.rstrip("/") or "/"
    try:
        if path == FAULTS_PATH:
            response = faults_control(request)
        else:
            fault = faults.take(request.method, path)
            response = apply_fault(fault, request, path) if fault else run(request, path)
    except HdpApiError as exc:
        response = exc.response()
    logger.info("hdp-emulator %s %s %s", request.method, path, response.status_code)
    return response


def mock_transport() -> httpx.MockTransport:
    """In-process transport for tests: ``httpx.Client(transport=mock_transport(), base_url="http://hdp")``."""
    return httpx.MockTransport(handle)
