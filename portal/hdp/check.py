"""Does a real HDP match what the portal assumes? The checks behind ``manage.py hdp_check``.

Read-only unless ``write_tenant`` is given: then one probe OAuth application is created in that
tenant, read back and deleted. Each check yields one ``Result``; a failed one says what to do.
The assumptions come from docs/hdp-api.md and the code that relies on them: the step engine
(``OAuthProfileId`` set on the data source, ``AuthenticationMethod`` set to the store's OAuth choice)
and the wizard's list of offered stores, which the caller passes in (``stores``: the command in
portal/onboarding/management/commands/hdp_check.py gives the onboarding wizard's list).
"""

from __future__ import annotations

import secrets
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import httpx
from pydantic import SecretStr

from portal.hdp.client import HdpClient, find_by_name
from portal.hdp.errors import HdpError, HdpForbidden, HdpProtocolError, HdpUnauthorized
from portal.hdp.schemas import OAuthAppCreate, UserInfo

Status = Literal["ok", "warn", "fail"]

ADMINISTRATOR = 12
# What a non-Administrator service account needs (docs/hdp-api.md §1, §2, §6): data-source work
# 1-4, MgmtAPI 11, ViewUsers 14, OnBehalfOf 21, TenantAPI 25, OAuth 28.
SERVICE_PERMISSIONS = {1: "CreateDataSource", 2: "ViewDataSource", 3: "ModifyDataSource",
                       4: "DeleteDataSource", 11: "MgmtAPI", 14: "ViewUsers", 21: "OnBehalfOf",
                       25: "TenantAPI", 28: "OAuth"}  # fmt: skip
PROFILE_OPTION = "OAuthProfileId"
AUTH_METHOD_OPTION = "AuthenticationMethod"


@dataclass(frozen=True)
class Result:
    status: Status
    label: str
    detail: str
    fix: str = ""


def _safe(label: str, fix: str, call: Callable[[], Result]) -> Result:
    """Run one check; an HDP error becomes a failed line with the client's plain-words explanation."""
    try:
        return call()
    except HdpError as exc:
        return Result("fail", label, exc.explanation, fix)


def transport(ca_bundle: str | None) -> httpx.BaseTransport:
    """A transport that trusts ``ca_bundle`` (a PEM file) or the system store; one connect retry."""
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
    return httpx.HTTPTransport(retries=1, verify=verify)


def run_checks(
    client: HdpClient,
    *,
    stores: Iterable[str],
    acting: HdpClient | None = None,
    write_tenant: str | None = None,
) -> Iterator[Result]:
    """``stores``: the data-store names the portal offers (matched case-insensitively).

    ``acting``: the same account with ``on_behalf_of`` set, to check the ``?user=`` right for real.
    """
    offered = sorted(name.casefold() for name in stores)
    yield _safe("health", "Check --url (scheme, host, port; no /api suffix).", lambda: _health(client))
    yield _safe("version", "Check --url.", lambda: Result("ok", "version", client.get_version().hdp_version))
    try:
        me = client.get_me()
    except HdpUnauthorized as exc:
        yield Result("fail", "basic auth", exc.explanation, "Check --user and the password.")
        return
    except HdpError as exc:
        yield Result(
            "fail", "basic auth", exc.explanation, "Check --url and that the Management API is enabled."
        )
        return
    yield Result("ok", "basic auth", f"signed in as user id {me.user_id}")
    yield _permissions(me)
    if acting is not None:
        yield _safe("on behalf", "Give the service account Administrator (12), or OnBehalfOf (21) plus admin "
                    "access to that user's tenant.", lambda: _on_behalf(acting))  # fmt: skip
    yield _safe(
        "tenants", "Give the service account Administrator (12) or TenantAPI (25).", lambda: _tenants(client)
    )
    yield from _stores(client, offered)
    yield _error_shape(client)
    yield from _list_shapes(client)
    if write_tenant:
        yield _safe("write probe", "Give the service account OAuth (28) in that tenant, or Administrator (12).",
                    lambda: _write_probe(client, write_tenant, offered))  # fmt: skip


def _health(client: HdpClient) -> Result:
    status = client.healthcheck().status
    if status != "active":
        return Result("fail", "health", f"GET /api/healthcheck says {status!r}", "Ask the HDP administrator.")
    return Result("ok", "health", "active")


def _permissions(me: UserInfo) -> Result:
    held = set(me.permissions)
    if ADMINISTRATOR in held:
        return Result("ok", "permissions", "Administrator (12)")
    missing = [f"{name} ({pid})" for pid, name in SERVICE_PERMISSIONS.items() if pid not in held]
    if missing:
        return Result("fail", "permissions", "missing " + ", ".join(missing),
                      "Grant these to the service account, or the Administrator role.")  # fmt: skip
    return Result("ok", "permissions", "all the portal needs (no Administrator)")


def _on_behalf(acting: HdpClient) -> Result:
    me = acting.get_me()
    return Result("ok", "on behalf", f"?user={acting.on_behalf_of} accepted (user id {me.user_id})")


def _tenants(client: HdpClient) -> Result:
    tenants = client.list_tenants()
    return Result(
        "ok", "tenants", f"{len(tenants)} visible: " + ", ".join(f"{t.id} {t.name}" for t in tenants)
    )


def _stores(client: HdpClient, offered: list[str]) -> Iterator[Result]:
    try:
        stores = client.list_datastores()
    except HdpError as exc:
        yield Result("fail", "data stores", exc.explanation, "The service account needs MgmtAPI (11).")
        return
    by_name = {s.name.casefold(): s for s in stores}
    for wanted in offered:
        store = by_name.get(wanted)
        if store is None:
            yield Result("warn", f"store {wanted}", "not on this server: the portal will not offer it")
            continue
        label = f"store {store.name} (id {store.id})"
        try:
            detail = client.get_datastore(store.id)
        except HdpError as exc:
            yield Result("fail", label, exc.explanation, "Check the service account can read data stores.")
            continue
        if detail.option(PROFILE_OPTION) is None:
            yield Result("fail", label, f"no {PROFILE_OPTION} option",
                         "The portal links data sources to profiles through it; this store cannot be used.")  # fmt: skip
            continue
        method = detail.option(AUTH_METHOD_OPTION)
        if method is not None and method.choices:
            # The portal's pick (portal.onboarding.views._fixed_options): authorization code, else OAuth.
            ids = [c.id for c in method.choices]
            oauth = [i for i in ids if "authorizationcode" in i.lower()] or [
                i for i in ids if "oauth" in i.lower()
            ]
            if not oauth:
                yield Result("fail", label, f"{AUTH_METHOD_OPTION} has no OAuth choice",
                             "The portal sets it to the store's OAuth choice; report this server's choices.")  # fmt: skip
                continue
            yield Result("ok", label, f"{PROFILE_OPTION}, {AUTH_METHOD_OPTION}={oauth[0]}")
        else:
            yield Result("ok", label, PROFILE_OPTION)


def _error_shape(client: HdpClient) -> Result:
    """A harmless bad request: GET an OAuth application that cannot exist (id 0)."""
    label = "error body"
    fix = 'The portal reads {"error":{"code":…,"message":{"value":…}}}; report this server\'s shape.'
    try:
        client.get_oauth_app(0)
    except HdpError as exc:
        if exc.code is None or exc.hdp_message is None:
            return Result("fail", label, f"HTTP {exc.status} without the HDP error shape", fix)
        return Result("ok", label, f"HTTP {exc.status} code {exc.code}")
    return Result("fail", label, "GET /api/mgmt/oauthapps/0 succeeded", fix)


def _list_shapes(client: HdpClient) -> Iterator[Result]:
    lists: list[tuple[str, Callable[[], list[object]]]] = [
        ("applications", lambda: list(client.list_oauth_apps())),
        ("profiles", lambda: list(client.list_oauth_profiles())),
        ("dataSources", lambda: list(client.list_datasources())),
        ("users", lambda: list(client.list_users())),
    ]
    for key, call in lists:
        label = f"list {key}"
        try:
            items = call()
        except HdpProtocolError as exc:
            yield Result(
                "fail", label, exc.explanation, "The portal parses this list; report this server's shape."
            )
        except HdpForbidden as exc:
            yield Result(
                "fail", label, exc.explanation, "Give the service account the permission to read it."
            )
        except HdpError as exc:
            yield Result("fail", label, exc.explanation, "Check the server's logs.")
        else:
            yield Result("ok", label, f"{len(items)} item(s) parsed")


def _write_probe(client: HdpClient, tenant_name: str, offered: list[str]) -> Result:
    label = "write probe"
    tenant = next((t for t in client.list_tenants() if t.name.casefold() == tenant_name.casefold()), None)
    if tenant is None:
        return Result("fail", label, f"no tenant named {tenant_name!r} is visible", "Check --write.")
    stores = {s.name.casefold(): s for s in client.list_datastores()}
    store = next((stores[n] for n in offered if n in stores), None)
    if store is None:
        return Result("fail", label, "no OAuth data store to make an application for", "See the store lines.")
    name = f"hdp_check_probe_{secrets.token_hex(4)}"
    body = OAuthAppCreate(
        name=name, data_store=store.id, tenant_id=tenant.id, description="hdp_check probe; safe to delete",
        client_id="hdp-check-probe", client_secret=SecretStr(secrets.token_urlsafe(16)),
        authorize_uri="https://probe.invalid/authorize", token_uri="https://probe.invalid/token", scope="probe",
    )  # fmt: skip
    app = client.create_oauth_app(body)
    try:
        back = client.get_oauth_app(app.id)
        listed = find_by_name(client.list_oauth_apps(tenant.id), name)
    finally:
        client.delete_oauth_app(app.id)
    if back.name != name or back.data_store != store.id or len(listed) != 1:
        return Result(
            "fail", label, f"application {app.id} read back differently", "Report this server's answer."
        )
    return Result("ok", label, f"created, read back and deleted application {app.id} in tenant {tenant.name}")
