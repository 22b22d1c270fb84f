"""HDP's data-store catalogue as one person sees it, read once for step a's pages.

Step a lists the stores (``GET /api/mgmt/datastores``), then takes one or two more posts: the store,
then where there is a choice the provider. Each post needs the chosen store with its option
definitions. Reading them again for every post made step a cost three HDP calls; now the answers
are kept for ``HDP_STORE_CACHE_SECONDS`` (default 300) in Django's cache, which is the database
(``CACHES`` in portal/settings.py), so every instance shares them and no process keeps state.

* Keyed by the person (the portal's user id): HDP's ``authorized`` differs from person to person.
* Only what HDP gave is kept (``exclude_unset``), so "HDP left the option definitions out of its
  list" stays told apart from "the store has none": then the chosen store is read on its own
  (``GET /api/mgmt/datastores/{id}``), once, and kept the same way (docs/hdp-api.md §5: whether the
  list carries them is not confirmed; the HDP emulator's list does).
* Nothing secret is kept: store names, flags and option definitions.
* Staleness is bounded by the setting; the data source's create is checked by HDP anyway, so a store
  withdrawn in between is refused there in plain words.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache

from portal.hdp import client as hdp
from portal.hdp.schemas import DataStoreDetail

_VERSION = 1


def _key(person: int, suffix: str) -> str:
    return f"hdp-datastores:v{_VERSION}:{person}:{suffix}"


def _dump(store: DataStoreDetail) -> dict[str, Any]:
    return store.model_dump(mode="json", exclude_unset=True)


def listed(client: hdp.HdpClient, person: int) -> list[DataStoreDetail]:
    """Every store HDP lists for this person (one HDP call per ``HDP_STORE_CACHE_SECONDS``)."""
    key = _key(person, "list")
    kept = cache.get(key)
    if kept is not None:
        return [DataStoreDetail.model_validate(item) for item in kept]
    stores = client.list_datastores()
    cache.set(key, [_dump(s) for s in stores], settings.HDP_STORE_CACHE_SECONDS)
    return stores


def has_definitions(store: DataStoreDetail) -> bool:
    """Whether HDP's answer carried the store's option definitions."""
    return "options" in store.model_fields_set


def detail(client: hdp.HdpClient, person: int, store: DataStoreDetail) -> DataStoreDetail:
    """``store`` with its option definitions: as listed when the list carried them, else read."""
    if has_definitions(store):
        return store
    key = _key(person, str(store.id))
    kept = cache.get(key)
    if kept is not None:
        return DataStoreDetail.model_validate(kept)
    read = client.get_datastore(int(store.id))
    cache.set(key, _dump(read), settings.HDP_STORE_CACHE_SECONDS)
    return read
