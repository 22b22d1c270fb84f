"""Data sources: ``/api/mgmt/datasources`` and the connection test (docs/hdp-api.md §4), and what a user
sees of a data source shared with them (§12; the share endpoints are in ``sharing.py``)."""

from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from portal.sandbox.hdp import datastores, errors, refresh
from portal.sandbox.hdp.api.common import (
    CREATE_DS,
    DELETE_DS,
    DS_NAME,
    DS_NAME_MAX,
    DS_PERMISSIONS,
    MGMT_API,
    MODIFY_DS,
    VIEW_DS,
    Ctx,
    check_name,
    coerce_int,
    created,
    deleted,
    has_perm,
    opt_str,
)
from portal.sandbox.hdp.api.oauthprofiles import visible_profiles
from portal.sandbox.hdp.datastores import OAUTH_PROFILE_OPTION, DataStore
from portal.sandbox.hdp.errors import HdpApiError, bad_request, json_response, not_found
from portal.sandbox.hdp.models import DataSource, HdpUser, OAuthApp, OAuthProfile, TenantShare, UserShare


def with_share_flags(sources: QuerySet[DataSource]) -> QuerySet[DataSource]:
    """``sources`` each carrying ``shared_out`` (shared with a user or a tenant), read in the same query:
    a list's ``sharedWithAnotherUser`` flags cost two queries per data source without it."""
    return sources.annotate(
        shared_out=Exists(UserShare.objects.filter(data_source=OuterRef("pk")))
        | Exists(TenantShare.objects.filter(data_source=OuterRef("pk")))
    )


def _shared_out(ds: DataSource) -> bool:
    flag = getattr(ds, "shared_out", None)  # with_share_flags()
    if flag is None:
        return ds.user_shares.exists() or ds.tenant_shares.exists()
    return bool(flag)


def ds_permissions(owner: HdpUser) -> list[int]:
    return [p for p in DS_PERMISSIONS if has_perm(owner, p)]


def ds_json(ds: DataSource, viewer: HdpUser | None = None, *, details: bool = False) -> dict[str, Any]:
    """Options are echoed as stored, including passwords (§4: the documented create response does).

    Seen by someone it is shared with (§12): ``permissions`` are the share's, exactly; [U] the options
    (connection information) only when the share grants ViewDataSource (2). With ``details`` the
    ``sharedByAnotherUser`` / ``sharedWithAnotherUser`` flags are added, each only when true (§4).
    """
    received = None if viewer is None or viewer.pk == ds.owner_id else received_permissions(viewer, ds)
    body: dict[str, Any] = {
        "id": ds.pk,
        "name": ds.name,
        "dataStore": ds.data_store,
        "connectionType": ds.connection_type,
        "description": ds.description,
        "isGroup": ds.data_store == 56,
        "options": dict(ds.options),
        "permissions": ds_permissions(ds.owner) if received is None else received,
    }
    if received is not None and VIEW_DS not in received:
        del body["options"]
    if details and received is not None:
        body["sharedByAnotherUser"] = True
    if details and received is None and _shared_out(ds):
        body["sharedWithAnotherUser"] = True
    return body


def received_permissions(user: HdpUser, ds: DataSource) -> list[int] | None:
    """The permissions ``user`` holds on ``ds`` through a share (to them or to their tenant), or None."""
    user_share = ds.user_shares.filter(user=user).first()
    if user_share is not None:
        return list(user_share.permissions)
    tenant_share = ds.tenant_shares.filter(tenant_id=user.tenant_id).first()
    return None if tenant_share is None else list(tenant_share.permissions)


def shared_with(user: HdpUser) -> list[DataSource]:
    """Data sources others shared with ``user``, directly or with ``user``'s tenant (§12)."""
    received = Q(user_shares__user=user) | Q(tenant_shares__tenant_id=user.tenant_id)
    query = DataSource.objects.select_related("owner").exclude(owner=user).filter(received)
    return list(query.distinct().order_by("id"))


def accessible_ds(ctx: Ctx, raw_id: str, perm: int) -> DataSource:
    """The data source ``raw_id`` for an operation needing ``perm``: the owner's own (their role's
    permission, as before), or one shared with the effective user whose share grants ``perm`` (§12:
    "only able to execute operations ... that correspond to the permissions granted"; 403 otherwise)."""
    ctx.require(MGMT_API)
    ds = (
        DataSource.objects.select_related("owner").filter(pk=int(raw_id)).first()
        if raw_id.isdigit()
        else None
    )
    if ds is not None and ds.owner_id != ctx.user.pk:
        received = received_permissions(ctx.user, ds)
        if received is not None:
            if perm not in received:
                raise HdpApiError(
                    403, errors.FORBIDDEN, f"The share of DataSource {ds.pk} does not grant permission {perm}"
                )
            return ds
    ctx.require(perm)
    return get_own_ds(ctx.user, raw_id)


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
    """The effective user's own data sources, then those shared with them (§12)."""
    ctx.require(MGMT_API, VIEW_DS)
    own = with_share_flags(DataSource.objects.select_related("owner").filter(owner=ctx.user).order_by("id"))
    sources = [*own, *shared_with(ctx.user)]
    kind = ctx.query.get("type", "all")
    if kind == "group":
        sources = [ds for ds in sources if ds.data_store == 56]
    elif kind == "simple":
        sources = [ds for ds in sources if ds.data_store != 56]
    details = ctx.flag("details")
    return json_response(200, {"dataSources": [ds_json(ds, ctx.user, details=details) for ds in sources]})


def create_ds(ctx: Ctx, _: str) -> httpx.Response:
    """[U] 201 + the created object; the effective (``?user=``) user becomes the owner (§1)."""
    ctx.require(MGMT_API, CREATE_DS)
    body = ctx.json()
    ds = DataSource(owner=ctx.user)
    apply_ds_body(ds, body)
    ds.save()
    return created("/api/mgmt/datasources", ds_json(ds))


def get_ds(ctx: Ctx, raw_id: str) -> httpx.Response:
    ds = accessible_ds(ctx, raw_id, VIEW_DS)
    return json_response(200, ds_json(ds, ctx.user, details=ctx.flag("details")))


def update_ds(ctx: Ctx, raw_id: str) -> httpx.Response:
    ds = accessible_ds(ctx, raw_id, MODIFY_DS)
    apply_ds_body(ds, ctx.json())
    ds.save()
    return json_response(200, ds_json(ds, ctx.user))


def delete_ds(ctx: Ctx, raw_id: str) -> httpx.Response:
    accessible_ds(ctx, raw_id, DELETE_DS).delete()
    return deleted()


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
    # Autonomous REST can be told how to send the client credentials; every other store (and
    # "Default") uses HTTP Basic. Passed only when set, so a replaced refresher keeps its signature.
    mode = ds.options.get(datastores.CLIENT_CREDENTIALS_OPTION, "Default")
    how = {"mode": mode} if mode in ("Post", "Url") else {}
    try:
        tokens = refresh.refresh_with_provider(
            app.token_uri, app.client_id, app.client_secret, profile.refresh_token, **how
        )
    except refresh.RefreshError as exc:
        return f"refreshing OAuth profile {profile.name} with application {app.name} failed: {exc}"
    update = {"access_token": str(tokens["access_token"])}
    rotated = tokens.get("refresh_token")
    # [U] HDP's docs do not say whether a rotated refresh token is stored (docs/decisions.md).
    if isinstance(rotated, str) and rotated and settings.SANDBOX_HDP_WRITES_BACK_ROTATED_REFRESH_TOKEN:
        update["refresh_token"] = rotated
    OAuthProfile.objects.filter(pk=profile.pk).update(**update)
    return None


def ds_test(ctx: Ctx, raw_id: str) -> httpx.Response:
    """§4 test connection: 200 ``{"success": true}`` or 400 222207003 naming the broken link."""
    ds = accessible_ds(ctx, raw_id, VIEW_DS)
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
