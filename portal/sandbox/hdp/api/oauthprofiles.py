"""OAuth profiles: ``/api/mgmt/oauthprofiles`` (docs/hdp-api.md §3)."""

from __future__ import annotations

from typing import Any

import httpx
from django.db import transaction
from django.db.models import QuerySet

from portal.sandbox.hdp import errors
from portal.sandbox.hdp.api.common import (
    APP_PROFILE_NAME,
    CREATE_DS,
    DELETE_DS,
    MGMT_API,
    MODIFY_DS,
    VIEW_DS,
    Ctx,
    check_name,
    coerce_int,
    created,
    deleted,
    is_admin,
    opt_str,
    parse_path_id,
    strip_profile_refs,
    usable_tenant_ids,
)
from portal.sandbox.hdp.api.oauthapps import get_visible_app
from portal.sandbox.hdp.datastores import OAUTH_PROFILE_OPTION
from portal.sandbox.hdp.errors import bad_request, forbidden, json_response, not_found
from portal.sandbox.hdp.models import DataSource, HdpUser, OAuthProfile


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
    return deleted()


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
            # Ids as strings: the sample on HDP's "Get statistics for an OAuth profile" page has "id": "503".
            "dataSources": [
                {"id": str(ds.pk), "name": ds.name, "description": ds.description} for ds in linked
            ],
        },
    )
