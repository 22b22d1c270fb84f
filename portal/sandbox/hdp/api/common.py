"""What every emulator handler shares (docs/hdp-api.md §1, §6): permission ids, the request context
``Ctx`` (HTTP Basic caller + ``?user=`` effective user), and input helpers.

Choices where HDP is silent are marked [U] here and listed in docs/decisions.md under "Emulator".
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from portal.lib.logging import register_secret
from portal.sandbox.hdp import errors, passwords
from portal.sandbox.hdp.datastores import OAUTH_PROFILE_OPTION
from portal.sandbox.hdp.errors import HdpApiError, bad_request, forbidden, json_response, not_found
from portal.sandbox.hdp.models import SYSTEM_TENANT_ID, DataSource, HdpUser, Tenant

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


def deleted() -> httpx.Response:
    """204 with ``{"success": true}``, as the samples of HDP's "Delete an OAuth application", "Delete an
    OAuth profile" and "Delete a data source" pages show. A body on a 204 cannot cross HTTP/1.1, so the
    Django view and the standalone server drop it on the wire; in-process clients see it."""
    return json_response(204, {"success": True})


def created(collection: str, body: dict[str, Any]) -> httpx.Response:
    """201 + the object + ``Location`` (§7 lists "201 (created; Location header)")."""
    response = json_response(201, body)
    response.headers["Location"] = f"{collection}/{body['id']}"
    return response


def strip_profile_refs(profile_ids: list[int]) -> None:
    """Drop ``OAuthProfileId`` from every data source pointing at one of ``profile_ids``."""
    wanted = {str(pid) for pid in profile_ids}
    if not wanted:
        return
    for ds in DataSource.objects.select_for_update():
        if ds.options.get(OAUTH_PROFILE_OPTION) in wanted:
            ds.options = {k: v for k, v in ds.options.items() if k != OAUTH_PROFILE_OPTION}
            ds.save(update_fields=["options"])
