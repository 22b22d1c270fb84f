"""Pydantic models of HDP Management/Administrator API objects (docs/hdp-api.md §2-§7).

Tolerant of HDP's documented quirks: ids as int or numeric string (coerced to int), ``dataStore``
as int or string, option values as strings, unknown fields ignored. Python attributes are
snake_case; HDP's camelCase names are the aliases (``authorize_uri`` <-> ``authorizeURI``).
Secrets (``clientSecret``, ``accessToken``, ``refreshToken``) are ``SecretStr`` so ``repr``
never shows them; option maps are left out of ``repr`` because they can hold a ``Password``.
Request bodies serialise with :meth:`HdpBody.to_hdp`, which is the only place secrets are revealed.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator
from pydantic.alias_generators import to_camel


def _to_hdp_name(field: str) -> str:
    return to_camel(field).replace("Uri", "URI")


def _coerce_id(value: Any) -> Any:
    """HDP sends ids as ints, and as numeric strings in some samples ("33")."""
    if isinstance(value, bool):
        raise ValueError("an id cannot be a boolean")
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        raise ValueError("an id must be an integer or a numeric string")
    return value


def _coerce_id_list(value: Any) -> Any:
    if isinstance(value, list):
        return [_coerce_id(v) for v in value]
    return value


def _option_text(value: Any) -> str:
    """Option values are strings on the wire, even numbers and booleans (docs/hdp-api.md §0)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _coerce_options(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): _option_text(v) for k, v in value.items()}
    return value


def _coerce_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


HdpId = Annotated[int, BeforeValidator(_coerce_id)]
HdpIdList = Annotated[list[int], BeforeValidator(_coerce_id_list)]
Options = Annotated[dict[str, str], BeforeValidator(_coerce_options)]
Text = Annotated[str, BeforeValidator(_coerce_text)]


class HdpModel(BaseModel):
    """Responses: HDP names in, snake_case attributes out, unknown fields ignored."""

    model_config = ConfigDict(
        alias_generator=_to_hdp_name,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )


def _reveal(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_reveal(v) for v in value]
    return value


class HdpBody(HdpModel):
    """Request bodies: serialise with HDP's names; unknown attributes are an error."""

    model_config = ConfigDict(extra="forbid")

    def to_hdp(self) -> dict[str, Any]:
        """The JSON body for HDP: camelCase names, ``None`` left out, secrets revealed."""
        data = self.model_dump(by_alias=True, exclude_none=True)
        revealed: dict[str, Any] = _reveal(data)
        return revealed


# --- Who am I, version ------------------------------------------------------------------------------


class UserInfo(HdpModel):
    """``GET /api/mgmt/user`` ("Get details on the user account"): no user name or tenant."""

    user_id: HdpId
    password_expiration: str | None = None
    permissions: HdpIdList = Field(default_factory=list)


class Version(HdpModel):
    """``GET /api/mgmt/version`` (Version Information API)."""

    install_type: str | None = Field(default=None, alias="InstallType")
    hdp_version: str = Field(alias="HDPVersion")
    wap_version: str | None = Field(default=None, alias="WAPVersion")
    das_version: str | None = Field(default=None, alias="DASVersion")
    eval_days_remaining: Text | None = Field(default=None, alias="EvalDaysRemaining")
    eval_expiry_date: str | None = Field(default=None, alias="EvalExpiryDate")


class Health(HdpModel):
    """``GET /api/healthcheck``: ``{"status": "active"}``."""

    status: str


# --- OAuth applications ---------------------------------------------------------------------------


class OAuthAppSummary(HdpModel):
    """An item of ``GET /api/mgmt/oauthapps`` (no client id/secret in lists)."""

    id: HdpId
    name: str
    data_store: HdpId
    tenant_id: HdpId | None = None
    description: str | None = None
    authorize_uri: str | None = None
    token_uri: str | None = None
    scope: str | None = None


class OAuthApp(OAuthAppSummary):
    """``GET /api/mgmt/oauthapps/{id}``: the documented answer includes ``clientSecret``."""

    client_id: str | None = None
    client_secret: SecretStr | None = None


class OAuthAppCreate(HdpBody):
    """Body of ``POST``/``PUT /api/mgmt/oauthapps``. ``name``: letters, digits and ``_`` only."""

    name: str
    data_store: int
    tenant_id: int | None = None
    description: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    authorize_uri: str | None = None
    token_uri: str | None = None
    scope: str | None = None


# --- OAuth profiles -------------------------------------------------------------------------------


class OAuthProfileSummary(HdpModel):
    """An item of ``GET /api/mgmt/oauthprofiles`` (ids are strings in the samples).

    ``oauthAppId`` is not in the documented list item, but the sandbox emulator sends it: kept when
    present, None otherwise.
    """

    id: HdpId
    name: str
    oauth_app_id: HdpId | None = None
    description: str | None = None
    authorize_uri: str | None = None
    token_uri: str | None = None
    scope: str | None = None


class OAuthProfile(HdpModel):
    """``GET /api/mgmt/oauthprofiles/{id}``: the documented answer includes the tokens."""

    id: HdpId | None = None
    name: str
    oauth_app_id: HdpId
    description: str | None = None
    access_token: SecretStr | None = None
    refresh_token: SecretStr | None = None


class OAuthProfileCreate(HdpBody):
    """Body of ``POST``/``PUT /api/mgmt/oauthprofiles``; ``refreshToken`` is required by HDP."""

    name: str
    oauth_app_id: int
    description: str | None = None
    access_token: SecretStr | None = None
    refresh_token: SecretStr


class LinkedDataSource(HdpModel):
    id: HdpId
    name: str
    description: str | None = None


class ProfileStats(HdpModel):
    """``GET /api/mgmt/oauthprofiles/{id}/stats`` ("Get statistics for an OAuth profile")."""

    data_sources_linked: int = 0
    data_store_id: HdpId | None = None
    data_sources: list[LinkedDataSource] = Field(default_factory=list)


# --- Data sources ---------------------------------------------------------------------------------


class DataSource(HdpModel):
    """A data source (``GET /api/mgmt/datasources[/{id}]``, admin per-user list)."""

    id: HdpId
    name: str
    data_store: HdpId
    connection_type: str | None = None
    description: str | None = None
    options: Options = Field(default_factory=dict, repr=False)
    is_group: bool | None = None
    permissions: HdpIdList = Field(default_factory=list)
    # Only with ``?details=true`` and only when true (docs/hdp-api.md §4, §12); absent means false.
    shared_by_another_user: bool = False
    shared_with_another_user: bool = False


class DataSourceCreate(HdpBody):
    """Body of ``POST``/``PUT /api/mgmt/datasources``. Option values are sent as strings."""

    name: str
    data_store: int
    connection_type: str = "Cloud"
    description: str | None = None
    options: Options = Field(default_factory=dict, repr=False)


# --- Sharing a data source (docs/hdp-api.md §12) ------------------------------------------------------


class SharedUser(HdpModel):
    """One entry of ``GET .../sharedUsers`` ("Get shared data source users"), and of a POST's list."""

    user_id: HdpId
    permissions: HdpIdList = Field(default_factory=list)


class SharedTenant(HdpModel):
    """One entry of ``GET .../sharedTenants`` ("Get shared data source tenants"), and of a POST's list."""

    tenant_id: HdpId
    permissions: HdpIdList = Field(default_factory=list)


class SharePermissions(HdpModel):
    """``GET .../sharedUsers/{userId}`` or ``.../sharedTenants/{tenantId}``: ``{"permissions": [...]}``."""

    permissions: HdpIdList = Field(default_factory=list)


class TestResult(HdpModel):
    """Outcome of ``POST /api/mgmt/datasources/{id}/test``.

    ``message`` is the portal's plain-words text. ``detail`` is HDP's own text when the test
    failed: it may echo input, so escape it and never log it.
    """

    __test__ = False  # not a pytest test class

    success: bool
    message: str = ""
    detail: str | None = Field(default=None, repr=False)


# --- Data stores ----------------------------------------------------------------------------------


class DataStore(HdpModel):
    """An item of ``GET /api/mgmt/datastores``."""

    id: HdpId
    name: str
    is_group: bool = False
    is_beta: bool = False
    authorized: bool = True


class Choice(HdpModel):
    id: Text
    name: Text


class OptionDefinition(HdpModel):
    """One option of a data store (option-definition object), with the category it came from."""

    id: str
    display_name: str | None = None
    documentation: str | None = None
    required: bool = False
    type: str = "string"
    default: Text | None = None
    choices: list[Choice] = Field(default_factory=list)
    category: str | None = None


def _flatten_categories(node: Any, connection_type: str | None, out: list[dict[str, Any]]) -> None:
    """Walk ``connectionType`` (a dict keyed by connection type, a list of categories, or a
    category) and collect option definitions, tagging each with its category name."""
    if isinstance(node, list):
        for item in node:
            _flatten_categories(item, connection_type, out)
        return
    if not isinstance(node, dict):
        return
    options = node.get("options")
    if isinstance(options, list):
        category = node.get("name")
        for option in options:
            if isinstance(option, dict):
                out.append({**option, "category": option.get("category", category)})
        return
    for key, value in node.items():
        if isinstance(value, list | dict):
            _flatten_categories(value, key if connection_type is None else connection_type, out)


class DataStoreDetail(DataStore):
    """``GET /api/mgmt/datastores/{id}`` ("Get options for a data store"), option definitions
    flattened from the ``connectionType`` categories (first definition of an id wins)."""

    options: list[OptionDefinition] = Field(default_factory=list)
    connection_types: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "connectionType" not in data:
            return data
        raw = data["connectionType"]
        found: list[dict[str, Any]] = []
        _flatten_categories(raw, None, found)
        seen: set[str] = set()
        options = []
        for option in found:
            key = str(option.get("id"))
            if key not in seen:
                seen.add(key)
                options.append(option)
        types = [k for k, v in raw.items() if isinstance(v, list | dict)] if isinstance(raw, dict) else []
        rest = {k: v for k, v in data.items() if k != "connectionType"}
        return {**rest, "options": options, "connectionTypes": types}

    def option(self, option_id: str) -> OptionDefinition | None:
        """The definition of ``option_id`` (HDP option ids compare case-insensitively [I])."""
        wanted = option_id.lower()
        return next((o for o in self.options if o.id.lower() == wanted), None)


# --- Tenants and users ----------------------------------------------------------------------------


class Tenant(HdpModel):
    """``GET /api/admin/tenants[/{id}]``."""

    id: HdpId
    name: str
    description: str | None = None
    parent_tenant: HdpId | None = None
    status: int | None = None
    admins: HdpIdList = Field(default_factory=list)


class HdpUserAccount(HdpModel):
    """``GET /api/admin/users[/{id}]`` (``tenantsAdministered`` only on the detail)."""

    id: HdpId
    user_name: str
    tenant_id: HdpId | None = None
    tenant_name: str | None = None
    tenants_administered: HdpIdList = Field(default_factory=list)
    # Only with ``?details=true``: ``{"status": 1, "accountLocked": false}``, ``{"passwordExpiration": ...}``.
    status_info: dict[str, Any] | None = None
    password_info: dict[str, Any] | None = None
