"""The emulator's data-store catalogue (``GET /api/mgmt/datastores``, docs/hdp-api.md §5).

Ids 1, 54, 56, 62, 63 and 76 are documented by Progress (62 Google BigQuery and 63 Autonomous REST
Connector per the 4.6 pages "Get statistics for an OAuth profile" and "Update an OAuth application
object"; one older page says 62 for REST, see docs/decisions.md). Ids 1002 and 1004 are **sandbox ids**:
HDP documents no id for Dynamics 365 or PostgreSQL, so the emulator uses ids no real server uses, which
keeps the portal resolving stores by name.

Option ids follow the DataDirect driver property names (§4). Every OAuth store carries an
``OAuthProfileId`` option (type string) that links a data source to an OAuth profile (§3, §4).

[U] Shape of ``connectionType``: the docs say it "holds categories"; the emulator renders it as an object
keyed by connection type name ("Cloud", "Hybrid" or "Group"), each value a list of categories
``{"name": ..., "options": [option-definition, ...]}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OAUTH_PROFILE_OPTION = "OAuthProfileId"
AUTH_METHOD_OPTION = "AuthenticationMethod"
# Autonomous REST only: Default (= HTTP Basic), Basic, Url (query string), Post (form body); docs/hdp-api.md.
CLIENT_CREDENTIALS_OPTION = "ClientCredentialsMode"


@dataclass(frozen=True)
class Option:
    """One option-definition object (docs/hdp-api.md §5)."""

    id: str
    display_name: str
    documentation: str
    category: str = "General"
    required: bool = False
    type: str = "string"  # boolean | string | integer | password
    default: str | None = None
    choices: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "displayName": self.display_name,
            "documentation": self.documentation,
            "required": self.required,
            "type": self.type,
        }
        if self.default is not None:
            body["default"] = self.default
        if self.choices:
            body["choices"] = [{"id": value, "name": label} for value, label in self.choices]
        return body


@dataclass(frozen=True)
class DataStore:
    id: int
    name: str
    driver: str
    options: tuple[Option, ...] = ()
    is_group: bool = False
    oauth: bool = False
    # Values of AuthenticationMethod that mean "use the OAuth profile"; empty with oauth=True
    # means the store is OAuth-only (Google Analytics).
    oauth_methods: tuple[str, ...] = ()
    connection_types: tuple[str, ...] = ("Cloud", "Hybrid")
    sandbox_id: bool = False
    option_ids: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "option_ids", frozenset(o.id for o in self.options))

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def uses_oauth(self, options: dict[str, str]) -> bool:
        """Whether a data source with these options authenticates through its OAuth profile."""
        if not self.oauth:
            return False
        if options.get(OAUTH_PROFILE_OPTION) or not self.oauth_methods:
            return True
        method_def = self.option(AUTH_METHOD_OPTION)
        method = options.get(AUTH_METHOD_OPTION) or (method_def.default if method_def else None)
        return method in self.oauth_methods

    def as_json(self) -> dict[str, Any]:
        categories: dict[str, list[Option]] = {}
        for opt in self.options:
            categories.setdefault(opt.category, []).append(opt)
        rendered = [
            {"name": name, "options": [o.as_json() for o in opts]} for name, opts in categories.items()
        ]
        return {
            "id": self.id,
            "name": self.name,
            "isBeta": False,
            "isGroup": self.is_group,
            "authorized": True,
            "driver": {
                "name": self.driver,
                "version": "6.0.1",
                "helpURL": "https://docs.progress.com/category/datadirect-hybrid-data-pipeline",
            },
            "connectionType": dict.fromkeys(self.connection_types, rendered),
        }


def _oauth_profile(category: str = "Security") -> Option:
    return Option(
        OAUTH_PROFILE_OPTION,
        "OAuth Profile",
        "Id of the OAuth profile whose tokens this data source uses.",
        category=category,
    )


_ODATA_VERSION = Option(
    "ODataVersion", "OData Version", "OData protocol version served for this data source.", category="OData",
    default="4", choices=(("2", "OData 2"), ("4", "OData 4")),
)  # fmt: skip
_USER = Option("User", "User Name", "User name for the back end.")
_PASSWORD = Option("Password", "Password", "Password for the back end.", type="password")

DATA_STORES: tuple[DataStore, ...] = (
    DataStore(
        1, "Salesforce", "sforce.jar", oauth=True, oauth_methods=("oauth2.0",),
        options=(
            _USER,
            _PASSWORD,
            Option("SecurityToken", "Security Token", "Salesforce security token.", type="password"),
            Option(
                AUTH_METHOD_OPTION, "Authentication Method", "How the driver authenticates to Salesforce.",
                category="Security", default="userIDPassword",
                choices=(("userIDPassword", "User ID and password"), ("oauth2.0", "OAuth 2.0")),
            ),
            _oauth_profile(),
            _ODATA_VERSION,
        ),
    ),
    DataStore(
        54, "Google Analytics", "googleanalytics.jar", oauth=True,
        options=(
            _oauth_profile("General"),
            Option("DefaultView", "Default View", "Id of the Analytics view queried when none is named."),
            Option("Segment", "Segment", "Default segment applied to queries."),
            Option("StartDate", "Start Date", "First day of data returned (YYYY-MM-DD).", default="30daysAgo"),
            Option("EndDate", "End Date", "Last day of data returned (YYYY-MM-DD).", default="today"),
            _ODATA_VERSION,
        ),
    ),
    DataStore(56, "DataSource Group", "group", is_group=True, connection_types=("Group",)),
    DataStore(
        76, "Snowflake", "snowflake.jar", oauth=True, oauth_methods=("OAuth2",),
        options=(
            # HDP "Snowflake parameters" and "Configuring Snowflake key-pair authentication using the API".
            Option("AccountName", "Account Name", "Snowflake account identifier.", required=True),
            Option("DatabaseName", "Database Name", "Database to connect to."),
            Option("Schema", "Schema", "Default schema."),
            Option("Warehouse", "Warehouse", "Virtual warehouse that runs the queries.", required=True),
            _USER,
            _PASSWORD,
            Option(
                AUTH_METHOD_OPTION, "Authentication Method", "How the driver authenticates to Snowflake.",
                category="Security", default="UserIDPassword",
                choices=(("UserIDPassword", "User ID and password"), ("OAuth2", "OAuth 2.0"), ("KeyPair", "Key pair")),
            ),
            Option("PrivateKeyContent", "Private Key Content", "PEM private key (key-pair authentication).",
                   category="Security", type="password"),
            Option("PrivateKeyPassphrase", "Private Key Passphrase", "Passphrase of the private key.",
                   category="Security", type="password"),
            _oauth_profile(),
            _ODATA_VERSION,
        ),
    ),
    DataStore(
        62, "Google BigQuery", "googlebigquery.jar", oauth=True, oauth_methods=("oauth2",),
        options=(
            Option("Project", "Project", "Google Cloud project billed for queries.", required=True),
            Option("Dataset", "Dataset", "Default dataset."),
            Option(
                AUTH_METHOD_OPTION, "Authentication Method", "How the driver authenticates to Google.",
                category="Security", default="oauth2",
                choices=(("oauth2", "OAuth 2.0"), ("serviceaccount", "Service account")),
            ),
            _oauth_profile(),
        ),
    ),
    DataStore(
        1002, "Microsoft Dynamics 365", "dynamics365.jar", oauth=True, oauth_methods=("OAuth2",), sandbox_id=True,
        options=(
            Option(
                "ServiceURL", "Service URL",
                "Web API base of the organisation, e.g. https://<org>.api.crm.dynamics.com/api/data/v9.1/",
                required=True,
            ),
            Option(
                AUTH_METHOD_OPTION, "Authentication Method", "How the driver authenticates to Dynamics 365.",
                category="Security", default="OAuth2", choices=(("OAuth2", "OAuth 2.0"), ("NTLM", "NTLM")),
            ),
            _oauth_profile(),
            _ODATA_VERSION,
        ),
    ),
    DataStore(
        63, "Autonomous REST Connector", "autorest.jar", oauth=True,
        oauth_methods=("OAuth2-AuthorizationCode", "OAuth2-RefreshToken"), connection_types=("Cloud",),
        options=(
            Option("Config", "REST Config", "Path or JSON text of the REST model file."),
            Option("ServiceURL", "Service URL", "Endpoint sampled when no model is given."),
            Option(
                AUTH_METHOD_OPTION, "Authentication Method", "How the connector authenticates to the service.",
                category="Security", default="None",
                choices=(
                    ("None", "None"), ("Basic", "Basic"), ("BearerToken", "Bearer token"),
                    ("OAuth2-AuthorizationCode", "OAuth 2.0 authorization code"),
                    ("OAuth2-RefreshToken", "OAuth 2.0 refresh token"),
                ),
            ),
            Option(
                CLIENT_CREDENTIALS_OPTION, "Client Credentials Mode",
                "How the client ID and secret are sent to the token endpoint.",
                category="Security", default="Default",
                choices=(("Default", "Default (HTTP Basic)"), ("Basic", "Basic"), ("Url", "Url"), ("Post", "Post")),
            ),
            _USER,
            _PASSWORD,
            _oauth_profile(),
        ),
    ),
    DataStore(
        1004, "PostgreSQL", "postgresql.jar", sandbox_id=True,
        options=(
            Option("ServerName", "Server Name", "Host name or IP address of the server.", required=True),
            Option("PortNumber", "Port Number", "TCP port of the server.", type="integer", default="5432"),
            Option("Database", "Database", "Database to connect to.", required=True),
            _USER,
            _PASSWORD,
        ),
    ),
)  # fmt: skip

_BY_ID = {store.id: store for store in DATA_STORES}


def get(store_id: int) -> DataStore | None:
    return _BY_ID.get(store_id)
