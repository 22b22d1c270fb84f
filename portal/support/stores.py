"""Data-store names for the support console's pages (support reads ids from HDP; people read names).

No HDP call: the names HDP documents for its store ids (docs/hdp-api.md §5 and §11) and, for any
other id, the name a portal setup recorded when the tenant admin chose the store. An id neither
knows is shown as "data store <id>".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils.translation import gettext as _

from portal.support.chain import Chain

#: Store ids HDP documents (docs/hdp-api.md §5, §11; the same in docs/architecture.md "Sandbox facts").
DOCUMENTED: Mapping[int, str] = {
    1: "Salesforce",
    54: "Google Analytics",
    56: "DataSource Group",
    62: "Google BigQuery",
    63: "Autonomous REST Connector",
    76: "Snowflake",
}


def names(recorded: Iterable[tuple[int | None, str]]) -> dict[int, str]:
    """Store id -> name: the documented names, then what setups recorded (``(datastore_id, name)``)."""
    found = dict(DOCUMENTED)
    for store_id, name in recorded:
        if store_id is not None and name and store_id not in found:
            found[store_id] = name
    return found


def label(store_id: int | None, known: Mapping[int, str]) -> str:
    if store_id is None:
        return ""
    return known.get(store_id) or _("data store %(id)s") % {"id": store_id}


def name_stores(chain: Chain, known: Mapping[int, str]) -> None:
    """Give every application and data-source node of ``chain`` its store's name."""
    for app in chain.apps:
        app.store_name = label(app.data_store, known)
    for node in chain.datasource_nodes():
        node.store_name = label(node.fact.data_store, known)
