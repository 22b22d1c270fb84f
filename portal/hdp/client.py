"""Typed client for the HDP Management and Administrator APIs (docs/hdp-api.md, docs/architecture.md).

One configured ``httpx.Client`` per ``HdpClient`` (SECURITY.md item 29): ``base_url`` from
settings, TLS verification on (or the ``HDP_CA_BUNDLE`` CA), explicit timeouts, no redirects,
HTTP Basic auth (the only scheme HDP documents for these APIs). Every failure becomes an
``portal.hdp.errors`` exception carrying ``delivery`` (did HDP possibly act?).

Retries: the transport retries connection failures once (nothing was sent, safe for any method);
GETs get one more try on 502/503/504 or a read timeout. POST/PUT/DELETE are never retried here:
after an unknown outcome the caller reconciles (list + :func:`find_by_name`) first.

Logging (logger ``portal.hdp``, INFO): method, path (no query string), status, duration. Never
bodies, credentials, query values or HDP's error text.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import time
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Protocol, Self, TypeVar

import httpx
from django.conf import settings
from django.utils.module_loading import import_string
from pydantic import BaseModel, TypeAdapter, ValidationError

from portal.hdp import messages
from portal.hdp.errors import (
    Delivery,
    HdpError,
    HdpForbidden,
    HdpNotFound,
    HdpProtocolError,
    HdpRejected,
    HdpUnauthorized,
    HdpUnavailable,
    normalise_code,
)
from portal.hdp.schemas import (
    DataSource,
    DataSourceCreate,
    DataStore,
    DataStoreDetail,
    EffectivePermissions,
    HdpUserAccount,
    Health,
    OAuthApp,
    OAuthAppCreate,
    OAuthAppSummary,
    OAuthProfile,
    OAuthProfileCreate,
    OAuthProfileSummary,
    ProfileStats,
    Tenant,
    TestResult,
    UserInfo,
    Version,
)
from portal.lib.logging import register_secret

logger = logging.getLogger("portal.hdp")

M = TypeVar("M", bound=BaseModel)

_RETRY_GET_STATUSES = frozenset({502, 503, 504})
_FIELD_WORDS = re.compile(
    r"\b(names?|named|dataStore|connectionType|options?|tenantId|oauthAppId|clientId|clientSecret|"
    r"authorizeURI|tokenURI|scope|refreshToken|accessToken|description)\b",
    re.IGNORECASE,
)
_CANONICAL_FIELDS = {
    f.lower(): f
    for f in (
        "name",
        "dataStore",
        "connectionType",
        "options",
        "tenantId",
        "oauthAppId",
        "clientId",
        "clientSecret",
        "authorizeURI",
        "tokenURI",
        "scope",
        "refreshToken",
        "accessToken",
        "description",
    )
}
_CANONICAL_FIELDS.update(option="options", names="name", named="name")


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


def _object_id(value: int) -> int:
    """Ids go into paths: only real integers, so a caller can never smuggle ``?user=`` in."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("HDP ids must be integers")
    return value


def _verify() -> ssl.SSLContext | bool:
    bundle = getattr(settings, "HDP_CA_BUNDLE", "")
    return ssl.create_default_context(cafile=bundle) if bundle else True


def _default_transport(verify: ssl.SSLContext | bool) -> httpx.BaseTransport:
    factory_path = getattr(settings, "HDP_TRANSPORT_FACTORY", None)
    if factory_path:
        factory = import_string(factory_path)
        transport: httpx.BaseTransport = factory()
        return transport
    # retries= only repeats failed connection attempts: nothing reached HDP, so safe for any method.
    return httpx.HTTPTransport(retries=1, verify=verify)


def _parse_error_body(response: httpx.Response) -> tuple[str | None, str | None]:
    """``{"error":{"code":<int|str>,"message":{"lang":…,"value":…}}}`` → (code, text); tolerant."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None, None
    code = normalise_code(error.get("code"))
    message = error.get("message")
    if isinstance(message, dict):
        message = message.get("value")
    return code, message if isinstance(message, str) else None


def _field_errors(code: str | None, hdp_message: str | None) -> dict[str, str]:
    """Best-effort mapping of a rejection to HDP field names (for ``form.add_error``)."""
    field = messages.CODE_FIELDS.get(code or "")
    if field is None and hdp_message:
        match = _FIELD_WORDS.search(hdp_message)
        if match:
            field = _CANONICAL_FIELDS.get(match.group(1).lower())
    if field is None:
        return {}
    hint = messages.FIELD_HINTS.get(field)
    explanation = messages.explain_code(code)
    return {field: explanation or (str(hint) if hint is not None else messages.explain_rejected(400))}


class HdpClient:
    """One HDP account (the portal's service account, possibly acting for a person via
    ``?user=``, or a person's own credentials for the sign-in check)."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        on_behalf_of: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        register_secret(password)
        verify = _verify()
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.on_behalf_of = on_behalf_of or None
        self._as_person = False
        self._host = httpx.URL(self.base_url).host or self.base_url
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=(username, password),
            timeout=httpx.Timeout(settings.HDP_READ_TIMEOUT, connect=settings.HDP_CONNECT_TIMEOUT),
            follow_redirects=False,
            verify=verify,
            transport=transport if transport is not None else _default_transport(verify),
            headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"HdpClient(base_url={self.base_url!r}, username={self.username!r}, on_behalf_of={self.on_behalf_of!r})"

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

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------------

    def _request(
        self,
        method: Literal["GET", "POST", "PUT", "DELETE"],
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one call; returns a 2xx response or raises an ``Hdp*`` error."""
        if "?" in path or "#" in path:
            raise ValueError("query parameters go in params=, not in the path")
        query = dict(params or {})
        if "user" in query:
            raise ValueError("?user= is set by the client from on_behalf_of, never by a caller")
        if self.on_behalf_of:
            query["user"] = self.on_behalf_of
        attempts = 2 if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            started = time.monotonic()
            try:
                response = self._http.request(method, path, params=query or None, json=body)
            except httpx.TransportError as exc:
                self._log(method, path, type(exc).__name__, started)
                if not last and isinstance(exc, httpx.ReadTimeout):
                    continue
                raise self._transport_error(exc, method, path) from exc
            self._log(method, path, str(response.status_code), started)
            if not last and response.status_code in _RETRY_GET_STATUSES:
                continue
            if response.is_success:
                return response
            raise self._status_error(response, method, path)
        raise AssertionError("unreachable")  # pragma: no cover

    def _log(self, method: str, path: str, outcome: str, started: float) -> None:
        elapsed_ms = round((time.monotonic() - started) * 1000)
        logger.info("HDP %s %s -> %s in %d ms", method, path, outcome, elapsed_ms)

    def _transport_error(self, exc: httpx.TransportError, method: str, path: str) -> HdpError:
        host = self._host
        explanation: str
        delivery: Delivery
        if isinstance(exc, httpx.ConnectTimeout):
            explanation, delivery = messages.explain_connect_timeout(host), "not_sent"
        elif isinstance(exc, httpx.PoolTimeout):
            explanation, delivery = messages.explain_pool_timeout(host), "not_sent"
        elif isinstance(exc, httpx.ConnectError):
            text = str(exc).upper()
            tls = "SSL" in text or "CERTIFICATE" in text
            explanation = messages.explain_tls(host) if tls else messages.explain_connect(host)
            delivery = "not_sent"
        elif isinstance(exc, httpx.UnsupportedProtocol):
            explanation, delivery = messages.explain_connect(host), "not_sent"
        elif isinstance(exc, httpx.TimeoutException):  # ReadTimeout, WriteTimeout
            explanation, delivery = messages.explain_timeout(host), "unknown"
        else:
            # RemoteProtocolError, ReadError, WriteError, CloseError, ProxyError…: may have been acted on.
            explanation, delivery = messages.explain_dropped(host), "unknown"
        return HdpUnavailable(explanation, delivery=delivery, method=method, path=path)

    def _status_error(self, response: httpx.Response, method: str, path: str) -> HdpError:
        status = response.status_code
        if status >= 500:
            code, text = _parse_error_body(response)
            return HdpUnavailable(
                messages.explain_code(code) or messages.explain_server_error(status),
                code=code,
                hdp_message=text,
                status=status,
                delivery="unknown",
                method=method,
                path=path,
            )
        if status < 400:
            # 3xx (redirects are never followed) or an informational status: not a result.
            return HdpProtocolError(
                messages.explain_redirect(status), status=status, delivery="unknown", method=method, path=path
            )
        code, text = _parse_error_body(response)
        common: dict[str, Any] = {
            "code": code,
            "hdp_message": text,
            "status": status,
            "delivery": "definite",
            "method": method,
            "path": path,
        }
        if status == 401:
            return HdpUnauthorized(messages.explain_unauthorized(as_person=self._as_person), **common)
        if status == 403:
            return HdpForbidden(
                messages.explain_forbidden(method, path, on_behalf_of=self.on_behalf_of), **common
            )
        if status == 404 or code in messages.NOT_FOUND_CODES:
            return HdpNotFound(messages.explain_code(code) or messages.explain_not_found(), **common)
        return HdpRejected(
            messages.explain_code(code) or messages.explain_rejected(status),
            field_errors=_field_errors(code, text),
            **common,
        )

    def _json(self, response: httpx.Response, method: str, path: str) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            # A 2xx HDP acted on but whose answer is unreadable: reconcile before retrying.
            raise HdpProtocolError(
                messages.explain_unreadable("not JSON"),
                status=response.status_code,
                delivery="unknown",
                method=method,
                path=path,
            ) from None

    def _schema_error(
        self, exc: ValidationError, response: httpx.Response, method: str, path: str
    ) -> HdpError:
        # Locations only: pydantic's own text includes the input values (maybe secrets).
        where = ", ".join(".".join(str(p) for p in err["loc"]) or "body" for err in exc.errors()[:3])
        return HdpProtocolError(
            messages.explain_unreadable(f"unexpected fields: {where}"),
            status=response.status_code,
            delivery="unknown",
            method=method,
            path=path,
        )

    def _one(self, model: type[M], response: httpx.Response, method: str, path: str) -> M:
        data = self._json(response, method, path)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise self._schema_error(exc, response, method, path) from None

    def _many(self, model: type[M], key: str, response: httpx.Response, method: str, path: str) -> list[M]:
        data = self._json(response, method, path)
        items = data.get(key) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise HdpProtocolError(
                messages.explain_unreadable(f"no '{key}' list"),
                status=response.status_code,
                delivery="unknown",
                method=method,
                path=path,
            )
        try:
            return TypeAdapter(list[model]).validate_python(items)  # type: ignore[valid-type]
        except ValidationError as exc:
            raise self._schema_error(exc, response, method, path) from None

    def _get(self, model: type[M], path: str, params: dict[str, str] | None = None) -> M:
        return self._one(model, self._request("GET", path, params=params), "GET", path)

    def _list(self, model: type[M], key: str, path: str, params: dict[str, str] | None = None) -> list[M]:
        return self._many(model, key, self._request("GET", path, params=params), "GET", path)

    def _create(self, model: type[M], path: str, body: dict[str, Any]) -> M:
        return self._one(model, self._request("POST", path, body=body), "POST", path)

    def _update(self, model: type[M], path: str, body: dict[str, Any]) -> M:
        """PUT; HDP's answer status/body is [U]: with no body, read the object back."""
        response = self._request("PUT", path, body=body)
        if not response.content.strip():
            return self._get(model, path)
        return self._one(model, response, "PUT", path)

    def _delete(self, path: str) -> None:
        """DELETE: 200 or 204, with or without a ``{"success":true}`` body (docs/hdp-api.md §7)."""
        self._request("DELETE", path)

    # --- who am I, version, health (docs/hdp-api.md §0, §6) --------------------------------------------

    def get_me(self) -> UserInfo:
        """``GET /api/mgmt/user`` — "Get details on the user account" (Management User API)."""
        return self._get(UserInfo, "/api/mgmt/user")

    def get_permissions(self) -> EffectivePermissions:
        """``GET /api/mgmt/permissions`` — Management Permissions API (effective permissions)."""
        return self._get(EffectivePermissions, "/api/mgmt/permissions")

    def get_version(self) -> Version:
        """``GET /api/mgmt/version`` — Version Information API."""
        return self._get(Version, "/api/mgmt/version")

    def healthcheck(self) -> Health:
        """``GET /api/healthcheck`` — "Get/Head health check" (no auth needed)."""
        return self._get(Health, "/api/healthcheck")

    # --- OAuth applications (docs/hdp-api.md §2) -------------------------------------------------------

    def list_oauth_apps(self, tenant_id: int | None = None) -> list[OAuthAppSummary]:
        """``GET /api/mgmt/oauthapps[?tenantId=]`` — "Get OAuth applications"."""
        params = None if tenant_id is None else {"tenantId": str(_object_id(tenant_id))}
        return self._list(OAuthAppSummary, "applications", "/api/mgmt/oauthapps", params)

    def get_oauth_app(self, app_id: int) -> OAuthApp:
        """``GET /api/mgmt/oauthapps/{id}`` — "Get an OAuth application object" (includes the secret)."""
        return self._get(OAuthApp, f"/api/mgmt/oauthapps/{_object_id(app_id)}")

    def create_oauth_app(self, app: OAuthAppCreate) -> OAuthApp:
        """``POST /api/mgmt/oauthapps`` — "Create an OAuth application object". Never retried."""
        if app.client_secret is not None:
            register_secret(app.client_secret.get_secret_value())
        return self._create(OAuthApp, "/api/mgmt/oauthapps", app.to_hdp())

    def update_oauth_app(self, app_id: int, app: OAuthAppCreate) -> OAuthApp:
        """``PUT /api/mgmt/oauthapps/{id}`` — "Update an OAuth application object" (full body)."""
        if app.client_secret is not None:
            register_secret(app.client_secret.get_secret_value())
        return self._update(OAuthApp, f"/api/mgmt/oauthapps/{_object_id(app_id)}", app.to_hdp())

    def delete_oauth_app(self, app_id: int) -> None:
        """``DELETE /api/mgmt/oauthapps/{id}`` — "Delete an OAuth application object".
        HDP also deletes every profile linked to the app."""
        self._delete(f"/api/mgmt/oauthapps/{_object_id(app_id)}")

    def find_oauth_app_by_name(self, tenant_id: int | None, name: str) -> list[OAuthAppSummary]:
        """Apps of ``tenant_id`` named exactly ``name`` (reconciliation)."""
        return find_by_name(self.list_oauth_apps(tenant_id), name)

    # --- OAuth profiles (docs/hdp-api.md §3) -----------------------------------------------------------

    def list_oauth_profiles(self) -> list[OAuthProfileSummary]:
        """``GET /api/mgmt/oauthprofiles`` — "Get OAuth profiles" (those available to the user)."""
        return self._list(OAuthProfileSummary, "profiles", "/api/mgmt/oauthprofiles")

    def get_oauth_profile(self, profile_id: int) -> OAuthProfile:
        """``GET /api/mgmt/oauthprofiles/{id}`` — "Get an OAuth profile" (includes the tokens)."""
        return self._get(OAuthProfile, f"/api/mgmt/oauthprofiles/{_object_id(profile_id)}")

    def create_oauth_profile(self, profile: OAuthProfileCreate) -> OAuthProfile:
        """``POST /api/mgmt/oauthprofiles`` — "Create an OAuth profile" (201). Never retried."""
        self._register_profile_secrets(profile)
        return self._create(OAuthProfile, "/api/mgmt/oauthprofiles", profile.to_hdp())

    def update_oauth_profile(self, profile_id: int, profile: OAuthProfileCreate) -> OAuthProfile:
        """``PUT /api/mgmt/oauthprofiles/{id}`` — "Update an OAuth profile" (own profiles only).
        Only with tokens from a fresh exchange (SECURITY.md item 33)."""
        self._register_profile_secrets(profile)
        return self._update(
            OAuthProfile, f"/api/mgmt/oauthprofiles/{_object_id(profile_id)}", profile.to_hdp()
        )

    def delete_oauth_profile(self, profile_id: int) -> None:
        """``DELETE /api/mgmt/oauthprofiles/{id}`` — "Delete the specified OAuthProfile"."""
        self._delete(f"/api/mgmt/oauthprofiles/{_object_id(profile_id)}")

    def get_oauth_profile_stats(self, profile_id: int) -> ProfileStats:
        """``GET /api/mgmt/oauthprofiles/{id}/stats`` — "Get statistics for an OAuth profile"."""
        return self._get(ProfileStats, f"/api/mgmt/oauthprofiles/{_object_id(profile_id)}/stats")

    def find_profile_by_name(self, name: str) -> list[OAuthProfileSummary]:
        """Profiles available to the acting user named exactly ``name`` (reconciliation)."""
        return find_by_name(self.list_oauth_profiles(), name)

    @staticmethod
    def _register_profile_secrets(profile: OAuthProfileCreate) -> None:
        register_secret(profile.refresh_token.get_secret_value())
        if profile.access_token is not None:
            register_secret(profile.access_token.get_secret_value())

    # --- data sources (docs/hdp-api.md §4) -------------------------------------------------------------

    def list_datasources(self) -> list[DataSource]:
        """``GET /api/mgmt/datasources`` — "Get data sources" (the acting user's)."""
        return self._list(DataSource, "dataSources", "/api/mgmt/datasources")

    def get_datasource(self, datasource_id: int) -> DataSource:
        """``GET /api/mgmt/datasources/{id}`` — "Get data source details"."""
        return self._get(DataSource, f"/api/mgmt/datasources/{_object_id(datasource_id)}")

    def create_datasource(self, datasource: DataSourceCreate) -> DataSource:
        """``POST /api/mgmt/datasources`` — "Create a data source" (owner = acting user). Never retried."""
        return self._create(DataSource, "/api/mgmt/datasources", datasource.to_hdp())

    def update_datasource(self, datasource_id: int, datasource: DataSourceCreate) -> DataSource:
        """``PUT /api/mgmt/datasources/{id}`` — "Update a data source" (treat as a full replace)."""
        return self._update(
            DataSource, f"/api/mgmt/datasources/{_object_id(datasource_id)}", datasource.to_hdp()
        )

    def delete_datasource(self, datasource_id: int) -> None:
        """``DELETE /api/mgmt/datasources/{id}`` — "Delete a data source"."""
        self._delete(f"/api/mgmt/datasources/{_object_id(datasource_id)}")

    def test_datasource(
        self, datasource_id: int, *, user: str | None = None, password: str | None = None
    ) -> TestResult:
        """``POST /api/mgmt/datasources/{id}/test`` — "Test a connection to a data source".

        Body ``{}`` when credentials are stored (OAuth), else the back-end ``user``/``password``.
        A failed test (400 + 222207003) is a result, ``TestResult(success=False)``, not an error.
        """
        path = f"/api/mgmt/datasources/{_object_id(datasource_id)}/test"
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

    def find_datasource_by_name(self, name: str) -> list[DataSource]:
        """The acting user's data sources named exactly ``name`` (names are unique per owner)."""
        return find_by_name(self.list_datasources(), name)

    # --- data stores (docs/hdp-api.md §5) --------------------------------------------------------------

    def list_datastores(self) -> list[DataStore]:
        """``GET /api/mgmt/datastores`` — "Get data stores"."""
        return self._list(DataStore, "dataStores", "/api/mgmt/datastores")

    def get_datastore(self, datastore_id: int) -> DataStoreDetail:
        """``GET /api/mgmt/datastores/{id}`` — "Get options for a data store"."""
        return self._get(DataStoreDetail, f"/api/mgmt/datastores/{_object_id(datastore_id)}")

    # --- tenants and users (docs/hdp-api.md §6, Administrator API) -------------------------------------

    def list_tenants(self) -> list[Tenant]:
        """``GET /api/admin/tenants`` — "Get tenants" (Administrator 12 or TenantAPI 25)."""
        return self._list(Tenant, "tenants", "/api/admin/tenants")

    def get_tenant(self, tenant_id: int, *, details: bool = False) -> Tenant:
        """``GET /api/admin/tenants/{id}[?details=true]`` — "Get information on a tenant"."""
        params = {"details": "true"} if details else None
        return self._get(Tenant, f"/api/admin/tenants/{_object_id(tenant_id)}", params)

    def list_users(self) -> list[HdpUserAccount]:
        """``GET /api/admin/users`` — "Get user accounts"."""
        return self._list(HdpUserAccount, "users", "/api/admin/users")

    def get_user_account(self, user_id: int, *, details: bool = False) -> HdpUserAccount:
        """``GET /api/admin/users/{id}[?details=true]`` — "Get a user account"."""
        params = {"details": "true"} if details else None
        return self._get(HdpUserAccount, f"/api/admin/users/{_object_id(user_id)}", params)

    def get_tenants_administered(self, user_id: int) -> list[int]:
        """``GET /api/admin/users/{id}/tenantsadministered`` — "Get tenants administered"."""
        path = f"/api/admin/users/{_object_id(user_id)}/tenantsadministered"
        response = self._request("GET", path)
        data = self._json(response, "GET", path)
        items = data.get("tenantsAdministered") if isinstance(data, dict) else None
        try:
            return TypeAdapter(list[int]).validate_python(items)
        except ValidationError as exc:
            raise self._schema_error(exc, response, "GET", path) from None

    def list_user_datasources(self, user_id: int) -> list[DataSource]:
        """``GET /api/admin/users/{id}/datasources`` — a user's data sources (Users API)."""
        return self._list(DataSource, "dataSources", f"/api/admin/users/{_object_id(user_id)}/datasources")


__all__: Sequence[str] = ["HdpClient", "find_by_name"]
