"""HdpClient behaviour at the httpx boundary (respx): ?user=, retries, deletes, bodies, logs."""

from __future__ import annotations

import base64
import json
import logging
from types import SimpleNamespace

import httpx
import pytest
import respx
from pydantic import SecretStr

from portal.hdp import errors
from portal.hdp.client import HdpClient, find_by_name
from portal.hdp.schemas import (
    DataSourceCreate,
    OAuthAppCreate,
    OAuthAppSummary,
    OAuthProfileCreate,
)
from tests.helpers.hdp import BASE, SVC_PASSWORD, SVC_USER, hdp_error

APP = {"id": 17, "name": "acme_sf", "dataStore": 1, "tenantId": 71}
DS = {
    "id": 9,
    "name": "sales",
    "dataStore": 54,
    "connectionType": "Cloud",
    "options": {"OAuthProfileId": "3"},
}


def _calls_to(route) -> list[httpx.Request]:
    return [call.request for call in route.calls]


# --- configuration --------------------------------------------------------------------------------


def test_one_configured_httpx_client(hdp_client, settings):
    http = hdp_client._http
    assert http.follow_redirects is False
    assert http.timeout.connect == settings.HDP_CONNECT_TIMEOUT
    assert http.timeout.read == settings.HDP_READ_TIMEOUT
    assert http.timeout.pool is not None and http.timeout.write is not None
    assert str(http.base_url) == BASE + "/"


def test_basic_auth_and_base_path_prefix(router, hdp_client):
    route = router.get("/api/mgmt/user").respond(200, json={"userId": 4, "permissions": [11, "12"]})
    me = hdp_client.get_me()
    request = route.calls.last.request
    assert request.url.path == "/hdp/api/mgmt/user"
    expected = base64.b64encode(f"{SVC_USER}:{SVC_PASSWORD}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert (me.user_id, me.permissions) == (4, [11, 12])


def test_service_reads_settings_and_default_transport_is_used(settings):
    settings.HDP_BASE_URL = "https://hdp.internal:8443"
    settings.HDP_SERVICE_USER = "svc_from_settings"
    settings.HDP_SERVICE_PASSWORD = "svc-pw-from-settings"
    with respx.mock(base_url="https://hdp.internal:8443") as mock:  # patches httpx.HTTPTransport
        route = mock.get("/api/mgmt/version").respond(
            200, json={"HDPVersion": "4.6.1", "InstallType": "Licenced"}
        )
        with HdpClient.service() as svc:
            version = svc.get_version()
    assert version.hdp_version == "4.6.1" and version.install_type == "Licenced"
    auth = route.calls.last.request.headers["Authorization"]
    assert base64.b64decode(auth.split()[1]).decode() == "svc_from_settings:svc-pw-from-settings"
    assert "user" not in route.calls.last.request.url.params


FACTORY_CALLS: list[int] = []


def transport_factory() -> httpx.BaseTransport:
    FACTORY_CALLS.append(1)
    return httpx.MockTransport(lambda request: httpx.Response(200, json={"status": "active"}))


def test_transport_factory_setting_is_used_when_no_transport_given(settings):
    settings.HDP_TRANSPORT_FACTORY = "tests.hdp.test_client.transport_factory"
    FACTORY_CALLS.clear()
    with HdpClient("https://nowhere.invalid", "u", "p") as hdp:
        assert hdp.healthcheck().status == "active"
    assert FACTORY_CALLS == [1]


def test_ca_bundle_builds_a_verifying_ssl_context(settings, tmp_path):
    import ssl

    import certifi

    from portal.hdp import http as hdp_http

    ctx = hdp_http._verify(certifi.where())
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert hdp_http._verify("") is True


def test_context_manager_closes(make_client):
    with make_client() as hdp:
        assert not hdp._http.is_closed
    assert hdp._http.is_closed


def test_repr_has_no_password(hdp_client):
    assert SVC_PASSWORD not in repr(hdp_client)
    assert SVC_USER in repr(hdp_client)


# --- ?user= -----------------------------------------------------------------------------------------


def _exercise_every_kind(hdp: HdpClient) -> None:
    hdp.get_me()
    hdp.list_oauth_apps(tenant_id=71)
    hdp.create_oauth_app(OAuthAppCreate(name="a", data_store=1, client_secret=SecretStr("cs-123456")))
    hdp.update_datasource(9, DataSourceCreate(name="sales", data_store=54))
    hdp.delete_oauth_profile(3)
    hdp.get_tenant(71, details=True)
    hdp.test_datasource(9)


@pytest.fixture
def every_kind_routes(router):
    router.get("/api/mgmt/user").respond(200, json={"userId": 1})
    router.get("/api/mgmt/oauthapps").respond(200, json={"applications": [APP]})
    router.post("/api/mgmt/oauthapps").respond(201, json=APP)
    router.put("/api/mgmt/datasources/9").respond(200, json=DS)
    router.delete("/api/mgmt/oauthprofiles/3").respond(204)
    router.get("/api/admin/tenants/71").respond(200, json={"id": 71, "name": "Acme"})
    router.post("/api/mgmt/datasources/9/test").respond(200, json={"success": True})
    return router


def test_on_behalf_of_sets_user_on_every_request(every_kind_routes, make_client):
    _exercise_every_kind(make_client(on_behalf_of="acme_admin"))
    requests = [call.request for call in every_kind_routes.calls]
    assert len(requests) == 7
    for request in requests:
        assert request.url.params.get_list("user") == ["acme_admin"], request.url
    tenant_filter = requests[1].url.params
    assert tenant_filter["tenantId"] == "71"
    assert requests[5].url.params["details"] == "true"


def test_without_on_behalf_of_no_user_param(every_kind_routes, hdp_client):
    _exercise_every_kind(hdp_client)
    assert every_kind_routes.calls.call_count == 7
    for call in every_kind_routes.calls:
        assert "user" not in call.request.url.params


def test_for_user_acts_for_that_username(settings, router):
    settings.HDP_BASE_URL = BASE
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/api/mgmt/datasources").respond(200, json={"dataSources": []})
        with HdpClient.for_user(SimpleNamespace(username="acme_user")) as hdp:
            assert hdp.list_datasources() == []
    assert route.calls.last.request.url.params.get_list("user") == ["acme_user"]


def test_for_user_refuses_an_empty_username():
    with pytest.raises(ValueError):
        HdpClient.for_user(SimpleNamespace(username=""))


def test_as_person_never_acts_on_behalf(settings):
    settings.HDP_BASE_URL = BASE
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/api/mgmt/user").respond(200, json={"userId": 7})
        with HdpClient.as_person("alice", "alice-pw") as person:
            assert person.on_behalf_of is None
            assert person.get_me().user_id == 7
    request = route.calls.last.request
    assert "user" not in request.url.params
    assert base64.b64decode(request.headers["Authorization"].split()[1]) == b"alice:alice-pw"


def test_callers_cannot_override_user(router, make_client):
    route = router.route().respond(200, json={})
    hdp = make_client(on_behalf_of="acme_user")
    with pytest.raises(ValueError):
        hdp._request("GET", "/api/mgmt/datasources", params={"user": "d2cadmin"})
    with pytest.raises(ValueError):
        hdp._request("GET", "/api/mgmt/datasources?user=d2cadmin")
    with pytest.raises(TypeError):
        hdp.get_datasource("1?user=d2cadmin")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hdp.list_oauth_apps(tenant_id="71&user=d2cadmin")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hdp.delete_datasource(True)
    assert route.call_count == 0


# --- retries ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
def test_get_is_retried_once_on_gateway_errors(router, hdp_client, status):
    route = router.get("/api/mgmt/datasources/9").mock(
        side_effect=[httpx.Response(status), httpx.Response(200, json=DS)]
    )
    assert hdp_client.get_datasource(9).name == "sales"
    assert route.call_count == 2


def test_get_retry_gives_up_after_one_extra_try(router, hdp_client):
    route = router.get("/api/mgmt/datasources").respond(503)
    with pytest.raises(errors.HdpUnavailable) as info:
        hdp_client.list_datasources()
    assert route.call_count == 2
    assert info.value.status == 503


def test_get_is_not_retried_on_read_timeout(router, hdp_client):
    """A hung HDP is answered within the configured read timeout, not twice it (issue 10)."""
    route = router.get("/api/mgmt/oauthprofiles").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json={"profiles": []})]
    )
    with pytest.raises(errors.HdpUnavailable):
        hdp_client.list_oauth_profiles()
    assert route.call_count == 1


def test_clients_share_one_transport_per_process(settings):
    """One TLS context and one connection pool per process, and closing a client keeps it open."""
    from portal.hdp import http

    settings.HDP_TRANSPORT_FACTORY = None
    first = HdpClient("https://hdp.example.com", "svc", "pw")
    second = HdpClient("https://hdp.example.com", "svc", "pw", on_behalf_of="acme_admin")
    assert first._http._transport is second._http._transport is http.shared_transport("")
    closed = []
    shared = http.shared_transport("")
    real_close, shared.inner.close = shared.inner.close, lambda: closed.append(True)
    try:
        first.close()
        second.close()
    finally:
        shared.inner.close = real_close
    assert closed == []  # closing a client leaves the process-wide pool open
    third = HdpClient("https://hdp.example.com", "svc", "pw")
    assert third._http._transport is shared


def test_get_is_not_retried_on_500(router, hdp_client):
    route = router.get("/api/mgmt/datastores").respond(500)
    with pytest.raises(errors.HdpUnavailable):
        hdp_client.list_datastores()
    assert route.call_count == 1


@pytest.mark.parametrize("failure", [httpx.Response(503), httpx.Response(502), httpx.ReadTimeout("slow")])
def test_post_is_never_retried(router, hdp_client, failure):
    route = router.post("/api/mgmt/oauthapps").mock(side_effect=[failure, httpx.Response(201, json=APP)])
    with pytest.raises(errors.HdpUnavailable) as info:
        hdp_client.create_oauth_app(OAuthAppCreate(name="acme_sf", data_store=1))
    assert route.call_count == 1
    assert info.value.delivery == "unknown"


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_put_and_delete_are_not_retried(router, hdp_client, method):
    route = router.request(method, "/api/mgmt/datasources/9").respond(503)
    with pytest.raises(errors.HdpUnavailable):
        if method == "PUT":
            hdp_client.update_datasource(9, DataSourceCreate(name="sales", data_store=54))
        else:
            hdp_client.delete_datasource(9)
    assert route.call_count == 1


def test_transport_retries_connection_failures_only():
    # The default transport repeats failed connection attempts (nothing sent): safe for any method.
    from portal.hdp.http import shared_transport

    transport = shared_transport("").inner
    assert isinstance(transport, httpx.HTTPTransport)
    assert transport._pool._retries == 1


# --- deletes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(204),
        httpx.Response(204, json={"success": True}),
        httpx.Response(200),
        httpx.Response(200, json={"success": True}),
    ],
    ids=["204-empty", "204-body", "200-empty", "200-body"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete_oauth_app", "/api/mgmt/oauthapps/5"),
        ("delete_oauth_profile", "/api/mgmt/oauthprofiles/5"),
        ("delete_datasource", "/api/mgmt/datasources/5"),
    ],
)
def test_deletes_accept_200_or_204_with_or_without_body(router, hdp_client, response, method, path):
    route = router.delete(path).mock(return_value=response)
    assert getattr(hdp_client, method)(5) is None
    assert route.call_count == 1


def test_delete_of_missing_object_is_not_found(router, hdp_client):
    router.delete("/api/mgmt/oauthapps/5").respond(
        400, json=hdp_error("222207711", "Invalid OAuthApplicationId: 5")
    )
    with pytest.raises(errors.HdpNotFound):
        hdp_client.delete_oauth_app(5)


# --- bodies and quirks ------------------------------------------------------------------------------


def test_create_oauth_app_sends_hdp_names_and_the_secret(router, hdp_client):
    route = router.post("/api/mgmt/oauthapps").respond(201, json={**APP, "clientSecret": "CS-1"})
    body = OAuthAppCreate(
        name="acme_sf",
        data_store=1,
        tenant_id=71,
        client_id="cid",
        client_secret=SecretStr("CS-1"),
        authorize_uri="https://login.example/authorize",
        token_uri="https://login.example/token",
        scope="full offline_access",
    )
    app = hdp_client.create_oauth_app(body)
    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "name": "acme_sf",
        "dataStore": 1,
        "tenantId": 71,
        "clientId": "cid",
        "clientSecret": "CS-1",
        "authorizeURI": "https://login.example/authorize",
        "tokenURI": "https://login.example/token",
        "scope": "full offline_access",
    }
    assert app.id == 17 and app.client_secret is not None
    assert app.client_secret.get_secret_value() == "CS-1"


def test_create_datasource_sends_option_values_as_strings(router, hdp_client):
    route = router.post("/api/mgmt/datasources").respond(200, json={**DS, "id": "9", "dataStore": "54"})
    body = DataSourceCreate(
        name="sales", data_store=54, options={"OAuthProfileId": 3, "UseX": True, "ODataVersion": "4"}
    )
    ds = hdp_client.create_datasource(body)
    sent = json.loads(route.calls.last.request.content)
    assert sent["options"] == {"OAuthProfileId": "3", "UseX": "true", "ODataVersion": "4"}
    assert sent["connectionType"] == "Cloud" and sent["dataStore"] == 54
    assert (ds.id, ds.data_store) == (9, 54)


def test_create_profile_sends_tokens(router, hdp_client):
    route = router.post("/api/mgmt/oauthprofiles").respond(
        201, json={"id": "33", "name": "p1", "oauthAppId": "17", "refreshToken": "RT"}
    )
    profile = hdp_client.create_oauth_profile(
        OAuthProfileCreate(
            name="p1", oauth_app_id=17, access_token=SecretStr("AT"), refresh_token=SecretStr("RT")
        )
    )
    sent = json.loads(route.calls.last.request.content)
    assert sent == {"name": "p1", "oauthAppId": 17, "accessToken": "AT", "refreshToken": "RT"}
    assert (profile.id, profile.oauth_app_id) == (33, 17)


def test_lists_coerce_string_ids_and_datastore(router, hdp_client):
    router.get("/api/mgmt/oauthapps").respond(
        200, json={"applications": [{"id": "17", "name": "a", "dataStore": "76", "tenantId": "1", "new": 1}]}
    )
    router.get("/api/mgmt/oauthprofiles").respond(200, json={"profiles": [{"id": "33", "name": "p"}]})
    router.get("/api/admin/users/4/tenantsadministered").respond(
        200, json={"tenantsAdministered": ["71", 72]}
    )
    [app] = hdp_client.list_oauth_apps()
    assert (app.id, app.data_store, app.tenant_id) == (17, 76, 1)
    assert hdp_client.list_oauth_profiles()[0].id == 33
    assert hdp_client.get_tenants_administered(4) == [71, 72]


def test_update_without_body_reads_the_object_back(router, hdp_client):
    put = router.put("/api/mgmt/oauthapps/17").respond(204)
    get = router.get("/api/mgmt/oauthapps/17").respond(200, json=APP)
    app = hdp_client.update_oauth_app(17, OAuthAppCreate(name="acme_sf", data_store=1))
    assert app.name == "acme_sf"
    assert put.call_count == 1 and get.call_count == 1


def test_update_with_body_does_not_read_back(router, hdp_client):
    router.put("/api/mgmt/oauthprofiles/33").respond(200, json={"id": 33, "name": "p", "oauthAppId": 17})
    get = router.get("/api/mgmt/oauthprofiles/33").respond(200, json={})
    profile = hdp_client.update_oauth_profile(
        33, OAuthProfileCreate(name="p", oauth_app_id=17, refresh_token="RT")
    )
    assert profile.id == 33 and get.call_count == 0


# --- test connection --------------------------------------------------------------------------------


def test_test_datasource_success(router, hdp_client):
    route = router.post("/api/mgmt/datasources/9/test").respond(200, json={"success": True})
    result = hdp_client.test_datasource(9)
    assert result.success is True
    assert json.loads(route.calls.last.request.content) == {}


def test_test_datasource_failure_is_a_result(router, hdp_client):
    router.post("/api/mgmt/datasources/9/test").respond(
        400, json=hdp_error(222207003, "problem connecting to the DataSource sales: invalid_grant")
    )
    result = hdp_client.test_datasource(9, user="scott", password="tiger-pw")
    assert result.success is False
    assert "could not connect" in result.message
    assert "invalid_grant" not in result.message
    assert result.detail == "problem connecting to the DataSource sales: invalid_grant"
    assert "invalid_grant" not in repr(result)


def test_test_datasource_sends_backend_credentials(router, hdp_client):
    route = router.post("/api/mgmt/datasources/9/test").respond(200, json={"success": True})
    hdp_client.test_datasource(9, user="scott", password="tiger-pw")
    assert json.loads(route.calls.last.request.content) == {"user": "scott", "password": "tiger-pw"}


def test_test_datasource_other_rejection_still_raises(router, hdp_client):
    router.post("/api/mgmt/datasources/9/test").respond(400, json=hdp_error(222207028, "Missing 'userId'"))
    with pytest.raises(errors.HdpRejected) as info:
        hdp_client.test_datasource(9)
    assert info.value.code == "222207028"


def test_test_datasource_success_false_gets_plain_message(router, hdp_client):
    router.post("/api/mgmt/datasources/9/test").respond(200, json={"success": False})
    result = hdp_client.test_datasource(9)
    assert result.success is False and result.message


# --- reconciliation -------------------------------------------------------------------------------


def test_find_by_name_is_exact_and_returns_all_matches():
    items = [
        OAuthAppSummary(id=1, name="acme_sf", data_store=1),
        OAuthAppSummary(id=2, name="Acme_SF", data_store=1),
        OAuthAppSummary(id=3, name="acme_sf", data_store=1),
    ]
    assert [i.id for i in find_by_name(items, "acme_sf")] == [1, 3]
    assert find_by_name(items, "acme") == []


def test_find_by_name_over_the_client_lists(router, hdp_client):
    """How callers reconcile: list through the client, then pick with find_by_name."""
    apps = router.get("/api/mgmt/oauthapps").respond(
        200, json={"applications": [APP, {**APP, "id": 18, "name": "other"}]}
    )
    router.get("/api/mgmt/oauthprofiles").respond(
        200, json={"profiles": [{"id": 1, "name": "p"}, {"id": 2, "name": "p"}]}
    )
    router.get("/api/mgmt/datasources").respond(200, json={"dataSources": [DS]})
    assert [a.id for a in find_by_name(hdp_client.list_oauth_apps(71), "acme_sf")] == [17]
    assert apps.calls.last.request.url.params["tenantId"] == "71"
    assert [p.id for p in find_by_name(hdp_client.list_oauth_profiles(), "p")] == [1, 2]
    assert find_by_name(hdp_client.list_datasources(), "Sales") == []
    assert [d.id for d in find_by_name(hdp_client.list_datasources(), "sales")] == [9]


# --- logging ----------------------------------------------------------------------------------------


def test_each_call_is_logged_with_method_path_status_and_duration(router, make_client, caplog):
    router.get("/api/mgmt/datasources").respond(200, json={"dataSources": []})
    caplog.set_level(logging.INFO, logger="portal.hdp")
    make_client(on_behalf_of="acme_user").list_datasources()
    [record] = [r for r in caplog.records if r.name == "portal.hdp"]
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert message.startswith("HDP GET /api/mgmt/datasources -> 200 in ")
    assert message.endswith(" ms")
    assert "acme_user" not in message and "?" not in message


class _RawCapture(logging.Handler):
    """Sees each record before the project's redaction filter (on the root handlers) rewrites it,
    so this checks the client's own hygiene, not the safety net."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))


@pytest.fixture
def raw_logs():
    capture = _RawCapture()
    loggers = [logging.getLogger(name) for name in ("portal.hdp", "httpx", "httpcore")]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(capture)
        lg.setLevel(logging.DEBUG)
    yield capture
    for lg, level in saved:
        lg.removeHandler(capture)
        lg.setLevel(level)


def test_logs_never_carry_secrets(router, make_client, raw_logs):
    password = "SVC-PW-SENTINEL-41"
    secret, access, refresh = "CS-SENTINEL-42", "AT-SENTINEL-43", "RT-SENTINEL-44"
    router.post("/api/mgmt/oauthapps").respond(201, json={**APP, "clientSecret": secret})
    router.get("/api/mgmt/oauthapps/17").respond(200, json={**APP, "clientSecret": secret})
    router.post("/api/mgmt/oauthprofiles").respond(
        400, json=hdp_error(1, f"bad refreshToken {refresh} for accessToken {access}")
    )
    router.post("/api/mgmt/datasources").mock(side_effect=httpx.ReadTimeout("timed out"))
    log = logging.getLogger("portal.hdp")
    hdp = make_client(on_behalf_of="acme_admin", password=password)
    app = hdp.create_oauth_app(OAuthAppCreate(name="a", data_store=1, client_secret=SecretStr(secret)))
    log.debug("app %r", app)
    log.debug("app %r", hdp.get_oauth_app(17))
    with pytest.raises(errors.HdpRejected) as rejected:
        hdp.create_oauth_profile(
            OAuthProfileCreate(
                name="p", oauth_app_id=17, access_token=SecretStr(access), refresh_token=SecretStr(refresh)
            )
        )
    try:
        raise rejected.value
    except errors.HdpRejected:
        log.exception("failed: %s", rejected.value)
    with pytest.raises(errors.HdpUnavailable) as timed_out:
        hdp.create_datasource(
            DataSourceCreate(name="d", data_store=54, options={"Password": "DS-PW-SENTINEL-45"})
        )
    log.error("failed: %r", timed_out.value)
    text = "\n".join(raw_logs.lines)
    assert text.count("HDP POST /api/mgmt/") == 3 and "HDP GET /api/mgmt/oauthapps/17 -> 200" in text
    for sentinel in (password, secret, access, refresh, "DS-PW-SENTINEL-45"):
        assert sentinel not in text
    assert "Authorization" not in text and "Basic " not in text


@pytest.mark.parametrize("linked_id", ["503", 503], ids=["string-id", "int-id"])
def test_profile_stats_accepts_string_or_int_ids(router, hdp_client, linked_id):
    """HDP "Get statistics for an OAuth profile": the sample's data source id is a string ("503")."""
    router.get("/api/mgmt/oauthprofiles/7/stats").respond(
        200,
        json={
            "dataSourcesLinked": 1,
            "dataStoreId": "54",
            "dataSources": [{"id": linked_id, "name": "ga_sales", "description": ""}],
        },
    )
    stats = hdp_client.get_oauth_profile_stats(7)
    assert (stats.data_sources_linked, stats.data_store_id) == (1, 54)
    assert [d.id for d in stats.data_sources] == [503]
