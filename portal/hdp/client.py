"""Typed client for the HDP Management and Administrator APIs (docs/hdp-api.md, docs/architecture.md).

``HdpClient`` has one method per endpoint the portal calls; the transport, retries, logging and the
mapping of failures to ``portal.hdp.errors`` live in ``portal.hdp.http.HdpHttp`` (read its docstring).
POST/PUT/DELETE are never retried: after an unknown outcome the caller reconciles first, by listing
and picking with :func:`find_by_name`. Each method's docstring names the HDP doc page and who calls it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar

from django.conf import settings
from pydantic import TypeAdapter, ValidationError

from portal.hdp import messages
from portal.hdp.errors import HdpRejected
from portal.hdp.http import HdpHttp, object_id
from portal.hdp.schemas import (
    DataSource,
    DataSourceCreate,
    DataStoreDetail,
    HdpUserAccount,
    Health,
    OAuthApp,
    OAuthAppCreate,
    OAuthAppSummary,
    OAuthProfile,
    OAuthProfileCreate,
    OAuthProfileSummary,
    ProfileStats,
    SharedTenant,
    SharedUser,
    SharePermissions,
    Tenant,
    TestResult,
    UserInfo,
    Version,
)
from portal.lib.logging import register_secret


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class _HasUsername(Protocol):
    @property
    def username(self) -> str: ...


N = TypeVar("N", bound=_Named)


def find_by_name(items: Iterable[N], name: str) -> list[N]:
    """Every item whose ``name`` equals ``name`` exactly (case-sensitive). For reconciliation
    after an unknown outcome: 0 → not created, 1 → adopt it, >1 → the caller escalates."""
    return [item for item in items if item.name == name]


class HdpClient(HdpHttp):
    """One HDP account (the portal's service account, possibly acting for a person via
    ``?user=``, or a person's own credentials for the sign-in check)."""

    # --- construction -----------------------------------------------------------------------------

    @classmethod
    def service(cls, on_behalf_of: str | None = None) -> HdpClient:
        """The portal's service account from settings, optionally acting ``?user=on_behalf_of``."""
        return cls(
            settings.HDP_BASE_URL,
            settings.HDP_SERVICE_USER,
            settings.HDP_SERVICE_PASSWORD,
            on_behalf_of=on_behalf_of,
        )

    @classmethod
    def for_user(cls, user: _HasUsername) -> HdpClient:
        """The service account acting for a signed-in person (``?user=<user.username>``)."""
        if not user.username:
            raise ValueError("for_user needs a user with a user name")
        return cls.service(on_behalf_of=user.username)

    @classmethod
    def as_person(cls, username: str, password: str) -> HdpClient:
        """A person's own HDP credentials, for the sign-in check only (no ``?user=``)."""
        client = cls(settings.HDP_BASE_URL, username, password)
        client._as_person = True
        return client

    # --- who am I, version, health (docs/hdp-api.md §0, §6) --------------------------------------------

    def get_me(self) -> UserInfo:
        """``GET /api/mgmt/user`` — "Get details on the user account" (Management User API).
        Used by the sign-in backend (portal.accounts.backends)."""
        return self._get(UserInfo, "/api/mgmt/user")

    def get_version(self) -> Version:
        """``GET /api/mgmt/version`` — Version Information API.
        Kept for a health check (not called by the portal yet): the HDP version behind the portal."""
        return self._get(Version, "/api/mgmt/version")

    def healthcheck(self) -> Health:
        """``GET /api/healthcheck`` — "Get/Head health check" (no auth needed).
        Kept for a health check (not called by the portal yet): is HDP up, without credentials."""
        return self._get(Health, "/api/healthcheck")

    # --- OAuth applications (docs/hdp-api.md §2) -------------------------------------------------------

    def list_oauth_apps(self, tenant_id: int | None = None) -> list[OAuthAppSummary]:
        """``GET /api/mgmt/oauthapps[?tenantId=]`` — "Get OAuth applications".
        Used by the step engine, the wizard views and the support console."""
        params = None if tenant_id is None else {"tenantId": str(object_id(tenant_id))}
        return self._list(OAuthAppSummary, "applications", "/api/mgmt/oauthapps", params)

    def get_oauth_app(self, app_id: int) -> OAuthApp:
        """``GET /api/mgmt/oauthapps/{id}`` — "Get an OAuth application object" (includes the secret).
        Used by the step engine, the wizard views and portal.oauth.flows."""
        return self._get(OAuthApp, f"/api/mgmt/oauthapps/{object_id(app_id)}")

    def create_oauth_app(self, app: OAuthAppCreate) -> OAuthApp:
        """``POST /api/mgmt/oauthapps`` — "Create an OAuth application object". Never retried.
        Used by the step engine (ensure_app)."""
        if app.client_secret is not None:
            register_secret(app.client_secret.get_secret_value())
        return self._create(OAuthApp, "/api/mgmt/oauthapps", app.to_hdp())

    def update_oauth_app(self, app_id: int, app: OAuthAppCreate) -> OAuthApp:
        """``PUT /api/mgmt/oauthapps/{id}`` — "Update an OAuth application object" (full body).
        Used by the step engine (update_app)."""
        if app.client_secret is not None:
            register_secret(app.client_secret.get_secret_value())
        return self._update(OAuthApp, f"/api/mgmt/oauthapps/{object_id(app_id)}", app.to_hdp())

    def delete_oauth_app(self, app_id: int) -> None:
        """``DELETE /api/mgmt/oauthapps/{id}`` — "Delete an OAuth application object".
        HDP also deletes every profile linked to the app.
        Used by the step engine (cancel)."""
        self._delete(f"/api/mgmt/oauthapps/{object_id(app_id)}")

    # --- OAuth profiles (docs/hdp-api.md §3) -----------------------------------------------------------

    def list_oauth_profiles(self) -> list[OAuthProfileSummary]:
        """``GET /api/mgmt/oauthprofiles`` — "Get OAuth profiles" (those available to the user).
        Used by the step engine (reconcile) and the support console."""
        return self._list(OAuthProfileSummary, "profiles", "/api/mgmt/oauthprofiles")

    def get_oauth_profile(self, profile_id: int) -> OAuthProfile:
        """``GET /api/mgmt/oauthprofiles/{id}`` — "Get an OAuth profile" (includes the tokens).
        Used by the support console (profile facts)."""
        return self._get(OAuthProfile, f"/api/mgmt/oauthprofiles/{object_id(profile_id)}")

    def create_oauth_profile(self, profile: OAuthProfileCreate) -> OAuthProfile:
        """``POST /api/mgmt/oauthprofiles`` — "Create an OAuth profile" (201). Never retried.
        Used by the step engine (ensure_profile)."""
        self._register_profile_secrets(profile)
        return self._create(OAuthProfile, "/api/mgmt/oauthprofiles", profile.to_hdp())

    def update_oauth_profile(self, profile_id: int, profile: OAuthProfileCreate) -> OAuthProfile:
        """``PUT /api/mgmt/oauthprofiles/{id}`` — "Update an OAuth profile" (own profiles only).
        Only with tokens from a fresh exchange (SECURITY.md item 33).
        Kept for the reconnect feature: new tokens go into the same profile id, with the same name
        and ``oauthAppId`` (HDP has no refresh/reauthorize endpoint; PUT takes the full body)."""
        self._register_profile_secrets(profile)
        return self._update(
            OAuthProfile, f"/api/mgmt/oauthprofiles/{object_id(profile_id)}", profile.to_hdp()
        )

    def delete_oauth_profile(self, profile_id: int) -> None:
        """``DELETE /api/mgmt/oauthprofiles/{id}`` — "Delete the specified OAuthProfile".
        Used by the step engine (cancel)."""
        self._delete(f"/api/mgmt/oauthprofiles/{object_id(profile_id)}")

    def get_oauth_profile_stats(self, profile_id: int) -> ProfileStats:
        """``GET /api/mgmt/oauthprofiles/{id}/stats`` — "Get statistics for an OAuth profile".
        Kept for the support console: which data sources a profile serves (not wired yet).
        Ids may come as strings in HDP's sample; ``ProfileStats`` coerces them."""
        return self._get(ProfileStats, f"/api/mgmt/oauthprofiles/{object_id(profile_id)}/stats")

    @staticmethod
    def _register_profile_secrets(profile: OAuthProfileCreate) -> None:
        register_secret(profile.refresh_token.get_secret_value())
        if profile.access_token is not None:
            register_secret(profile.access_token.get_secret_value())

    # --- data sources (docs/hdp-api.md §4) -------------------------------------------------------------

    def list_datasources(self, *, include_shared: bool = False) -> list[DataSource]:
        """``GET /api/mgmt/datasources?details=true`` — "Get data sources".

        By default the acting user's own only: an item another user shared with them
        (``sharedByAnotherUser``, docs/hdp-api.md §12) is left out, so that reconciling by name and
        looking for candidates never pick someone else's data source. ``include_shared`` keeps them.
        Used by the step engine (reconcile), the connection repair and the HDP check."""
        params = {"details": "true"}
        items = self._list(DataSource, "dataSources", "/api/mgmt/datasources", params)
        return items if include_shared else [item for item in items if not item.shared_by_another_user]

    def get_datasource(self, datasource_id: int, *, details: bool = False) -> DataSource:
        """``GET /api/mgmt/datasources/{id}[?details=true]`` — "Get data source details".
        Used by the support console (a data source's options)."""
        params = {"details": "true"} if details else None
        return self._get(DataSource, f"/api/mgmt/datasources/{object_id(datasource_id)}", params)

    def create_datasource(self, datasource: DataSourceCreate) -> DataSource:
        """``POST /api/mgmt/datasources`` — "Create a data source" (owner = acting user). Never retried.
        Used by the step engine (ensure_datasource)."""
        return self._create(DataSource, "/api/mgmt/datasources", datasource.to_hdp())

    def update_datasource(self, datasource_id: int, datasource: DataSourceCreate) -> DataSource:
        """``PUT /api/mgmt/datasources/{id}`` — "Update a data source" (treat as a full replace).
        Kept for re-pointing a data source at a new profile (the reconnect feature)."""
        return self._update(
            DataSource, f"/api/mgmt/datasources/{object_id(datasource_id)}", datasource.to_hdp()
        )

    def delete_datasource(self, datasource_id: int) -> None:
        """``DELETE /api/mgmt/datasources/{id}`` — "Delete a data source".
        Used by the step engine (cancel)."""
        self._delete(f"/api/mgmt/datasources/{object_id(datasource_id)}")

    def test_datasource(
        self, datasource_id: int, *, user: str | None = None, password: str | None = None
    ) -> TestResult:
        """``POST /api/mgmt/datasources/{id}/test`` — "Test a connection to a data source".

        Body ``{}`` when credentials are stored (OAuth), else the back-end ``user``/``password``.
        A failed test (400 + 222207003) is a result, ``TestResult(success=False)``, not an error.
        Used by the step engine (verify) and the support console's test action.
        """
        path = f"/api/mgmt/datasources/{object_id(datasource_id)}/test"
        body: dict[str, Any] = {}
        if user is not None:
            body["user"] = user
        if password is not None:
            register_secret(password)
            body["password"] = password
        try:
            response = self._request("POST", path, body=body)
        except HdpRejected as exc:
            if exc.code != messages.TEST_FAILED_CODE:
                raise
            return TestResult(success=False, message=messages.explain_test_failed(), detail=exc.hdp_message)
        result = self._one(TestResult, response, "POST", path)
        if not result.success and not result.message:
            return TestResult(success=False, message=messages.explain_test_failed(), detail=result.detail)
        return result

    # --- sharing a data source (docs/hdp-api.md §12) ---------------------------------------------------
    # Call these as the owner: ``HdpClient.for_user(owner)`` (``?user=``, which HDP 5.0 documents on every
    # sharing page). Writes are never retried and their answer body is not relied on ([U] status and body):
    # callers read the shares back with the list calls.

    def list_shared_users(self, datasource_id: int) -> list[SharedUser]:
        """``GET /api/mgmt/datasources/{id}/sharedUsers`` — "Get shared data source users"."""
        return self._list(SharedUser, "sharedUsers", f"{self._ds_path(datasource_id)}/sharedUsers")

    def share_with_users(self, datasource_id: int, shares: Sequence[SharedUser]) -> None:
        """``POST .../sharedUsers`` — "Create a list of users with whom to share a data source".
        Each user gets exactly ``permissions`` (nothing is inherited). Never retried."""
        entries = [
            {"userId": object_id(s.user_id), "permissions": _permission_ids(s.permissions)} for s in shares
        ]
        if not entries:
            raise ValueError("share_with_users needs at least one user")
        self._request("POST", f"{self._ds_path(datasource_id)}/sharedUsers", body={"sharedUsers": entries})

    def get_shared_user(self, datasource_id: int, user_id: int) -> list[int]:
        """``GET .../sharedUsers/{userId}`` — "Get the data source permissions for a shared user"."""
        path = f"{self._ds_path(datasource_id)}/sharedUsers/{object_id(user_id)}"
        return list(self._get(SharePermissions, path).permissions)

    def update_shared_user(self, datasource_id: int, user_id: int, permissions: Iterable[int]) -> None:
        """``PUT .../sharedUsers/{userId}`` — "Update data source permissions for shared user" (the
        exact new set). Never retried."""
        path = f"{self._ds_path(datasource_id)}/sharedUsers/{object_id(user_id)}"
        self._request("PUT", path, body={"permissions": _permission_ids(permissions)})

    def unshare_user(self, datasource_id: int, user_id: int) -> None:
        """``DELETE .../sharedUsers/{userId}`` — "Delete shared user from a data source"."""
        self._delete(f"{self._ds_path(datasource_id)}/sharedUsers/{object_id(user_id)}")

    def unshare_all_users(self, datasource_id: int) -> None:
        """``DELETE .../sharedUsers`` — "Delete shared users from the data source" (every user)."""
        self._delete(f"{self._ds_path(datasource_id)}/sharedUsers")

    def list_shared_tenants(self, datasource_id: int) -> list[SharedTenant]:
        """``GET /api/mgmt/datasources/{id}/sharedTenants`` — "Get shared data source tenants"."""
        return self._list(SharedTenant, "sharedTenants", f"{self._ds_path(datasource_id)}/sharedTenants")

    def share_with_tenants(self, datasource_id: int, shares: Sequence[SharedTenant]) -> None:
        """``POST .../sharedTenants`` — "Create a list of tenants with which to share a data source".
        Administrators only; HDP removes the user shares inside each tenant (§12). Never retried."""
        entries = [
            {"tenantId": object_id(s.tenant_id), "permissions": _permission_ids(s.permissions)}
            for s in shares
        ]
        if not entries:
            raise ValueError("share_with_tenants needs at least one tenant")
        self._request(
            "POST", f"{self._ds_path(datasource_id)}/sharedTenants", body={"sharedTenants": entries}
        )

    def get_shared_tenant(self, datasource_id: int, tenant_id: int) -> list[int]:
        """``GET .../sharedTenants/{tenantId}`` — "Get the data source permissions for a shared tenant"."""
        path = f"{self._ds_path(datasource_id)}/sharedTenants/{object_id(tenant_id)}"
        return list(self._get(SharePermissions, path).permissions)

    def update_shared_tenant(self, datasource_id: int, tenant_id: int, permissions: Iterable[int]) -> None:
        """``PUT .../sharedTenants/{tenantId}`` — "Update data source permissions for shared tenant".
        Never retried."""
        path = f"{self._ds_path(datasource_id)}/sharedTenants/{object_id(tenant_id)}"
        self._request("PUT", path, body={"permissions": _permission_ids(permissions)})

    def unshare_tenant(self, datasource_id: int, tenant_id: int) -> None:
        """``DELETE .../sharedTenants/{tenantId}`` — "Delete shared tenant from a data source"."""
        self._delete(f"{self._ds_path(datasource_id)}/sharedTenants/{object_id(tenant_id)}")

    def unshare_all_tenants(self, datasource_id: int) -> None:
        """``DELETE .../sharedTenants`` — "Delete shared tenants from a data source" (every tenant)."""
        self._delete(f"{self._ds_path(datasource_id)}/sharedTenants")

    @staticmethod
    def _ds_path(datasource_id: int) -> str:
        return f"/api/mgmt/datasources/{object_id(datasource_id)}"

    # --- data stores (docs/hdp-api.md §5) --------------------------------------------------------------

    def list_datastores(self) -> list[DataStoreDetail]:
        """``GET /api/mgmt/datastores`` — "Get data stores".
        Used by the wizard's data-store step. Each item is parsed as the detail is: where HDP's list
        carries the option definitions they are kept (``options`` in ``model_fields_set``)."""
        return self._list(DataStoreDetail, "dataStores", "/api/mgmt/datastores")

    def get_datastore(self, datastore_id: int) -> DataStoreDetail:
        """``GET /api/mgmt/datastores/{id}`` — "Get options for a data store".
        Used by the wizard's data-store step (option definitions)."""
        return self._get(DataStoreDetail, f"/api/mgmt/datastores/{object_id(datastore_id)}")

    # --- tenants and users (docs/hdp-api.md §6, Administrator API) -------------------------------------

    def list_tenants(self) -> list[Tenant]:
        """``GET /api/admin/tenants`` — "Get tenants" (Administrator 12 or TenantAPI 25).
        Used by the sign-in backend and the support console."""
        return self._list(Tenant, "tenants", "/api/admin/tenants")

    def get_tenant(self, tenant_id: int, *, details: bool = False) -> Tenant:
        """``GET /api/admin/tenants/{id}[?details=true]`` — "Get information on a tenant".
        Used by the sign-in backend (tenant names)."""
        params = {"details": "true"} if details else None
        return self._get(Tenant, f"/api/admin/tenants/{object_id(tenant_id)}", params)

    def list_users(self) -> list[HdpUserAccount]:
        """``GET /api/admin/users`` — "Get user accounts".
        Used by the support console."""
        return self._list(HdpUserAccount, "users", "/api/admin/users")

    def get_user_account(self, user_id: int, *, details: bool = False) -> HdpUserAccount:
        """``GET /api/admin/users/{id}[?details=true]`` — "Get a user account".
        Used by the sign-in backend and the session re-check (portal/accounts/recheck.py)."""
        params = {"details": "true"} if details else None
        return self._get(HdpUserAccount, f"/api/admin/users/{object_id(user_id)}", params)

    def get_tenants_administered(self, user_id: int) -> list[int]:
        """``GET /api/admin/users/{id}/tenantsadministered`` — "Get tenants administered".
        Used by the sign-in backend."""
        path = f"/api/admin/users/{object_id(user_id)}/tenantsadministered"
        response = self._request("GET", path)
        data = self._json(response, "GET", path)
        items = data.get("tenantsAdministered") if isinstance(data, dict) else None
        try:
            return TypeAdapter(list[int]).validate_python(items)
        except ValidationError as exc:
            raise self._schema_error(exc, response, "GET", path) from None

    def list_user_datasources(self, user_id: int) -> list[DataSource]:
        """``GET /api/admin/users/{id}/datasources`` — a user's data sources (Users API).
        Used by the support console."""
        return self._list(DataSource, "dataSources", f"/api/admin/users/{object_id(user_id)}/datasources")


def _permission_ids(permissions: Iterable[int]) -> list[int]:
    """A share's exact permission set: integers only, sorted, at least one (docs/hdp-api.md §12)."""
    ids = sorted({object_id(p) for p in permissions})
    if not ids:
        raise ValueError("a share needs at least one permission")
    return ids


__all__: Sequence[str] = ["HdpClient", "find_by_name"]
