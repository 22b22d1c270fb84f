"""The portal's in-process Prometheus metrics (docs/deploy.md "Metrics"), recorded by the layers that see
the event and exported at ``/metrics`` by :mod:`portal.ops` (the layer on top).

Every part records through this module (``lib``, the bottom layer), so ``hdp``, ``oauth`` and the rest
never import ``portal.ops``. Under gunicorn the metrics are kept in prometheus-client's multiprocess
mode (``PROMETHEUS_MULTIPROC_DIR``, set by gunicorn.conf.py): each worker writes its own memory-mapped
file and a scrape sums them, so a scrape counts the requests of every worker of the instance. Without
that variable (``manage.py runserver``, tests) they live in the process' default registry.

Label values come only from fixed sets: a URL name (never a path), an HDP operation name from
:data:`HDP_OPERATIONS` (never a path with ids), a status class, an outcome word, a preset key, a
consent purpose. Nothing a person types can become a label value.
"""

from __future__ import annotations

import re

from prometheus_client import Counter, Histogram

#: Seconds: a page is fast under 0.1, slow over 1; HDP's read timeout is 15 s by default.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)

REQUEST_DURATION = Histogram(
    "hdp_portal_request_duration_seconds",
    "Time the portal took to answer a request, by the resolved URL name and the status class.",
    ["view", "status_class"],
    buckets=_BUCKETS,
)
HDP_DURATION = Histogram(
    "hdp_portal_hdp_request_duration_seconds",
    "Time one HDP API call took as the portal saw it, by HDP operation and outcome.",
    ["operation", "outcome"],
    buckets=_BUCKETS,
)
PROVIDER_TOKEN_DURATION = Histogram(
    "hdp_portal_provider_token_duration_seconds",
    "Time one call of a provider's token endpoint took, by preset, grant and outcome.",
    ["preset", "grant", "outcome"],
    buckets=_BUCKETS,
)
CONSENT_FLOWS = Counter(
    "hdp_portal_consent_flows",
    "OAuth consent flows started at the provider and how their callback ended, by purpose.",
    ["purpose", "outcome"],
)

#: Consent purposes (portal.oauth.snapshot.PURPOSES); anything else is counted as "other".
CONSENT_PURPOSES = frozenset({"consent", "reconnect", "replace", "repair"})
CONSENT_OUTCOMES = frozenset({"started", "completed", "denied", "failed"})
#: What one HDP call ended with.
HDP_OUTCOMES = frozenset({"ok", "client_error", "server_error", "timeout", "unreachable", "error"})
PROVIDER_OUTCOMES = frozenset(
    {"ok", "refused", "timeout", "unreachable", "tls_error", "blocked", "redirect", "error"}
)

_ID = re.compile(r"/\d+(?=/|$)")

#: (method, path with ``{id}`` for each numeric segment) -> operation name: the only values the
#: ``operation`` label takes (plus "other"). One per ``portal.hdp.client.HdpClient`` method.
HDP_OPERATIONS: dict[tuple[str, str], str] = {
    ("GET", "/api/mgmt/user"): "get_me",
    ("GET", "/api/mgmt/version"): "get_version",
    ("GET", "/api/healthcheck"): "healthcheck",
    ("GET", "/api/mgmt/oauthapps"): "list_oauth_apps",
    ("POST", "/api/mgmt/oauthapps"): "create_oauth_app",
    ("GET", "/api/mgmt/oauthapps/{id}"): "get_oauth_app",
    ("PUT", "/api/mgmt/oauthapps/{id}"): "update_oauth_app",
    ("DELETE", "/api/mgmt/oauthapps/{id}"): "delete_oauth_app",
    ("GET", "/api/mgmt/oauthprofiles"): "list_oauth_profiles",
    ("POST", "/api/mgmt/oauthprofiles"): "create_oauth_profile",
    ("GET", "/api/mgmt/oauthprofiles/{id}"): "get_oauth_profile",
    ("PUT", "/api/mgmt/oauthprofiles/{id}"): "update_oauth_profile",
    ("DELETE", "/api/mgmt/oauthprofiles/{id}"): "delete_oauth_profile",
    ("GET", "/api/mgmt/oauthprofiles/{id}/stats"): "get_oauth_profile_stats",
    ("GET", "/api/mgmt/datasources"): "list_datasources",
    ("POST", "/api/mgmt/datasources"): "create_datasource",
    ("GET", "/api/mgmt/datasources/{id}"): "get_datasource",
    ("PUT", "/api/mgmt/datasources/{id}"): "update_datasource",
    ("DELETE", "/api/mgmt/datasources/{id}"): "delete_datasource",
    ("POST", "/api/mgmt/datasources/{id}/test"): "test_datasource",
    ("GET", "/api/mgmt/datastores"): "list_datastores",
    ("GET", "/api/mgmt/datastores/{id}"): "get_datastore",
    ("GET", "/api/admin/tenants"): "list_tenants",
    ("GET", "/api/admin/tenants/{id}"): "get_tenant",
    ("GET", "/api/admin/users"): "list_users",
    ("GET", "/api/admin/users/{id}"): "get_user_account",
    ("GET", "/api/admin/users/{id}/tenantsadministered"): "get_tenants_administered",
    ("GET", "/api/admin/users/{id}/datasources"): "list_user_datasources",
}


def hdp_operation(method: str, path: str) -> str:
    """The fixed operation name of an HDP call (ids replaced), "other" for a path not in the table."""
    return HDP_OPERATIONS.get((method.upper(), _ID.sub("/{id}", path.split("?", 1)[0])), "other")


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


def observe_hdp(method: str, path: str, outcome: str, seconds: float) -> None:
    HDP_DURATION.labels(hdp_operation(method, path), outcome if outcome in HDP_OUTCOMES else "error").observe(
        seconds
    )


def observe_provider_token(preset: str, grant: str, outcome: str, seconds: float) -> None:
    """``preset``: a key of portal.oauth.presets (the caller checks it: "custom" for anything else)."""
    PROVIDER_TOKEN_DURATION.labels(
        preset,
        grant if grant in ("authorization_code", "refresh_token") else "other",
        outcome if outcome in PROVIDER_OUTCOMES else "error",
    ).observe(seconds)


def consent_flow(purpose: str, outcome: str) -> None:
    CONSENT_FLOWS.labels(
        purpose if purpose in CONSENT_PURPOSES else "other",
        outcome if outcome in CONSENT_OUTCOMES else "failed",
    ).inc()
