"""The route table: path pattern + method -> handler, and ``dispatch`` (auth, ``?user=``, then the handler).

Paths are relative to the emulator base (the core sees ``/api/mgmt/oauthapps``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from portal.sandbox.hdp import errors
from portal.sandbox.hdp.api import admin, datasources, mgmt, oauthapps, oauthprofiles, sharing
from portal.sandbox.hdp.api.common import Ctx, authenticate, resolve_effective_user
from portal.sandbox.hdp.errors import HdpApiError, json_response, not_found

Handler = Callable[[Ctx, str], httpx.Response]
_ID = r"(?P<id>[^/]+)"
_ROUTE_TABLE: list[tuple[str, dict[str, Handler]]] = [
    (r"/api/mgmt/oauthapps", {"GET": oauthapps.list_apps, "POST": oauthapps.create_app}),
    (
        rf"/api/mgmt/oauthapps/{_ID}",
        {"GET": oauthapps.get_app, "PUT": oauthapps.update_app, "DELETE": oauthapps.delete_app},
    ),
    (r"/api/mgmt/oauthprofiles", {"GET": oauthprofiles.list_profiles, "POST": oauthprofiles.create_profile}),
    (
        rf"/api/mgmt/oauthprofiles/{_ID}",
        {
            "GET": oauthprofiles.get_profile,
            "PUT": oauthprofiles.update_profile,
            "DELETE": oauthprofiles.delete_profile,
        },
    ),
    (rf"/api/mgmt/oauthprofiles/{_ID}/stats", {"GET": oauthprofiles.profile_stats}),
    (r"/api/mgmt/datasources", {"GET": datasources.list_ds, "POST": datasources.create_ds}),
    (
        rf"/api/mgmt/datasources/{_ID}",
        {"GET": datasources.get_ds, "PUT": datasources.update_ds, "DELETE": datasources.delete_ds},
    ),
    (rf"/api/mgmt/datasources/{_ID}/test", {"POST": datasources.ds_test}),
    (
        rf"/api/mgmt/datasources/{_ID}/sharedUsers",
        {
            "GET": sharing.list_shared_users,
            "POST": sharing.create_shared_users,
            "DELETE": sharing.delete_shared_users,
        },
    ),
    (
        r"/api/mgmt/datasources/(?P<id>[^/]+/sharedUsers/[^/]+)",
        {
            "GET": sharing.get_shared_user,
            "PUT": sharing.update_shared_user,
            "DELETE": sharing.delete_shared_user,
        },
    ),
    (
        rf"/api/mgmt/datasources/{_ID}/sharedTenants",
        {
            "GET": sharing.list_shared_tenants,
            "POST": sharing.create_shared_tenants,
            "DELETE": sharing.delete_shared_tenants,
        },
    ),
    (
        r"/api/mgmt/datasources/(?P<id>[^/]+/sharedTenants/[^/]+)",
        {
            "GET": sharing.get_shared_tenant,
            "PUT": sharing.update_shared_tenant,
            "DELETE": sharing.delete_shared_tenant,
        },
    ),
    (r"/api/mgmt/datastores", {"GET": mgmt.list_stores}),
    (rf"/api/mgmt/datastores/{_ID}", {"GET": mgmt.get_store}),
    (r"/api/mgmt/user", {"GET": mgmt.own_user}),
    (r"/api/mgmt/permissions", {"GET": mgmt.own_permissions}),
    (r"/api/mgmt/version", {"GET": mgmt.version}),
    (r"/api/admin/tenants", {"GET": admin.list_tenants}),
    (rf"/api/admin/tenants/{_ID}", {"GET": admin.get_tenant}),
    (r"/api/admin/users", {"GET": admin.list_users}),
    (rf"/api/admin/users/{_ID}", {"GET": admin.get_user}),
    (rf"/api/admin/users/{_ID}/tenantsadministered", {"GET": admin.user_tenants_administered}),
    (rf"/api/admin/users/{_ID}/datasources", {"GET": admin.user_datasources}),
    (r"/api/admin/permissions", {"GET": admin.admin_permissions}),
]
ROUTES = [(re.compile(pattern), handlers) for pattern, handlers in _ROUTE_TABLE]


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
