"""Data-store policy: which HDP data stores the portal offers, and the options it sets itself.

No HDP call here: the views pass in what HDP listed (docs/hdp-api.md §5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.utils.translation import gettext_lazy as _

from portal.hdp.schemas import DataStore
from portal.oauth import presets

StoreT = TypeVar("StoreT", bound=DataStore)

# Data stores the portal offers: OAuth-capable per HDP's docs (docs/hdp-api.md §5). The store list
# may carry no options (docs/hdp-api.md §5), so it is filtered by name here (and group stores are hidden); the
# chosen store's own definitions are then checked for an ``OAuthProfileId`` option at step a, so
# a store HDP cannot link to a profile is refused with a clear message.
KNOWN_OAUTH_STORES = frozenset(
    name.casefold()
    for name in (
        "Salesforce",
        "Google Analytics",
        "Google BigQuery",
        "Microsoft Dynamics 365",
        "Snowflake",
        "Autonomous REST Connector",
    )
)
# One line under each store at step a, in plain words (casefolded name -> sentence).
STORE_SUMMARIES = {
    "salesforce": _("Accounts, contacts, opportunities and other CRM records."),
    "google analytics": _("Website traffic and audience reports."),
    "google bigquery": _("Tables and query results in Google's data warehouse."),
    "microsoft dynamics 365": _("Customer and sales records in Dynamics 365."),
    "snowflake": _("Tables in your Snowflake data warehouse."),
    "autonomous rest connector": _("Any REST web service that signs in with OAuth."),
}
AUTH_METHOD_OPTION = "AuthenticationMethod"
# Autonomous REST Connector: how the driver sends the client id and secret to the token endpoint
# (Default = HTTP Basic, Basic, Url, Post; docs/hdp-api.md). Other stores have no such option, and
# HDP then refreshes with HTTP Basic (docs/decisions.md).
CLIENT_CREDENTIALS_OPTION = "ClientCredentialsMode"
_CLIENT_CREDENTIALS_VALUE = {"basic": "Basic", "post": "Post"}


def client_auth_settable(definitions: list[dict[str, Any]]) -> bool:
    """Whether HDP's data source can be told how to authenticate the client at the token endpoint."""
    return any(str(d.get("id")) == CLIENT_CREDENTIALS_OPTION for d in definitions)


def fixed_options(definitions: list[dict[str, Any]], token_auth: str = "") -> dict[str, str]:
    """Options the portal sets itself.

    ``AuthenticationMethod`` = the store's OAuth choice: stores that support several methods
    (Salesforce, Snowflake, REST...) must be told to use the OAuth profile; the choice whose id
    names the authorization-code grant wins, else the first OAuth one. Google Analytics (OAuth
    only) has no such option.

    ``ClientCredentialsMode`` (where the store has it) = the application's client authentication
    (``token_auth``), so HDP refreshes the way the portal exchanged the code.
    """
    fixed: dict[str, str] = {}
    for definition in definitions:
        option = str(definition.get("id"))
        if option == CLIENT_CREDENTIALS_OPTION:
            fixed[option] = _CLIENT_CREDENTIALS_VALUE.get(token_auth, "Basic")
        if option != AUTH_METHOD_OPTION:
            continue
        ids = [str(c.get("id")) for c in definition.get("choices") or []]
        for wanted in ("authorizationcode", "oauth"):
            match = next((i for i in ids if wanted in i.lower()), None)
            if match:
                fixed[AUTH_METHOD_OPTION] = match
                break
    return fixed


def offered_stores(stores: Sequence[StoreT]) -> list[StoreT]:
    """The stores step a offers, by name: OAuth-capable, authorized, not a group."""
    return [
        store
        for store in sorted(stores, key=lambda s: s.name.casefold())
        if not store.is_group and store.authorized and store.name.casefold() in KNOWN_OAUTH_STORES
    ]


def store_summary(store: DataStore) -> str:
    """The store's one line at step a ("" for a store the portal has no words for)."""
    return str(STORE_SUMMARIES.get(store.name.casefold(), ""))


def providers_for(store: DataStore) -> list[presets.Preset]:
    """Who can sign in to ``store``: its own presets, "your own provider", and the sandbox."""
    return presets.presets_for_datastore(store.name)
