"""HdpClient against the HDP emulator over real HTTP (pytest-django ``live_server``).

No mocks: the client's default ``httpx.HTTPTransport`` talks to ``/sandbox/hdp`` served by the live
server thread, whose database ``seed_demo()`` filled (docs/architecture.md, "Sandbox facts"). Covers
every client method, every error class the emulator can produce, and the act-on-behalf rules.
"""

from __future__ import annotations

import socket
import time
from types import SimpleNamespace

import pytest
from pydantic import SecretStr

from portal.hdp import errors
from portal.hdp.client import HdpClient, find_by_name
from portal.hdp.schemas import DataSourceCreate, OAuthAppCreate, OAuthProfileCreate
from portal.sandbox.hdp import faults
from portal.sandbox.hdp.seed import USERS, seed_demo

PASSWORDS = {user: password for user, password, *_ in USERS}
ACCESS, REFRESH, SECRET = "live-access-token", "live-refresh-token", "live-client-secret"


@pytest.fixture
def base(live_server, transactional_db, settings):
    seed_demo()
    url = live_server.url + "/sandbox/hdp"
    settings.HDP_BASE_URL = url
    settings.HDP_SERVICE_USER = "portal_svc"
    settings.HDP_SERVICE_PASSWORD = PASSWORDS["portal_svc"]
    settings.HDP_TRANSPORT_FACTORY = None
    settings.SANDBOX_FAULTS_ENABLED = True
    return url


@pytest.fixture
def connect(base):
    made: list[HdpClient] = []

    def make(
        user: str = "portal_svc", on_behalf_of: str | None = None, password: str | None = None
    ) -> HdpClient:
        client = HdpClient(base, user, password or PASSWORDS[user], on_behalf_of=on_behalf_of)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def svc(connect):
    return connect()


@pytest.fixture
def user_ids(svc):
    return {u.user_name: u.id for u in svc.list_users()}


def _app(name: str, tenant_id: int | None = None, data_store: int = 54) -> OAuthAppCreate:
    return OAuthAppCreate(
        name=name,
        data_store=data_store,
        tenant_id=tenant_id,
        client_id="live-client",
        client_secret=SecretStr(SECRET),
        authorize_uri="https://provider.example/authorize",
        # Nothing listens on port 9: HDP's refresh during a connection test fails, on purpose.
        token_uri="http://127.0.0.1:9/token",
        scope="read offline_access",
    )


def _profile(name: str, app_id: int) -> OAuthProfileCreate:
    return OAuthProfileCreate(
        name=name, oauth_app_id=app_id, access_token=SecretStr(ACCESS), refresh_token=SecretStr(REFRESH)
    )


# --- every endpoint -------------------------------------------------------------------------------


def test_health_version_and_identity(connect, svc, user_ids):
    assert svc.healthcheck().status == "active"
    assert svc.get_version().hdp_version.startswith("4.6")
    me = svc.get_me()
    assert me.user_id == user_ids["portal_svc"] and me.permissions == [12]
    assert svc._request("GET", "/api/mgmt/permissions").json()["permissions"] == [12]  # no client method
    acting = connect(on_behalf_of="acme_user").get_me()
    assert acting.user_id == user_ids["acme_user"]
    assert acting.permissions == list(range(1, 12))


def test_sign_in_check_with_own_credentials(base, user_ids):
    with HdpClient.as_person("ACME_ADMIN", PASSWORDS["acme_admin"]) as person:  # names are case-insensitive
        assert person.get_me().user_id == user_ids["acme_admin"]
    with pytest.raises(errors.HdpUnauthorized) as info, HdpClient.as_person("acme_admin", "wrong") as person:
        person.get_me()
    assert "user name and password" in info.value.explanation


def test_datastores(svc):
    stores = {s.id: s for s in svc.list_datastores()}
    assert {1, 54, 56, 62, 63, 76, 1002, 1004} <= set(stores)
    assert stores[56].is_group and not stores[54].is_group
    ga = svc.get_datastore(54)
    assert ga.name == "Google Analytics"
    assert ga.connection_types == ["Cloud", "Hybrid"]
    profile_option = ga.option("OAuthProfileId")
    assert profile_option is not None and profile_option.category == "General"
    odata = ga.option("ODataVersion")
    assert odata is not None and [c.id for c in odata.choices] == ["2", "4"] and odata.default == "4"
    with pytest.raises(errors.HdpNotFound):
        svc.get_datastore(999)


def test_tenants_and_users(svc, user_ids):
    assert [(t.id, t.name) for t in svc.list_tenants()] == [(1, "System"), (71, "Acme"), (72, "Globex")]
    acme = svc.get_tenant(71, details=True)
    assert acme.parent_tenant == 1 and user_ids["acme_admin"] in acme.admins
    assert svc.get_tenant(71).admins == []  # admins only with details
    assert {"d2cadmin", "portal_svc", "acme_admin", "acme_user", "globex_admin"} <= set(user_ids)
    account = svc.get_user_account(user_ids["acme_admin"])
    assert (account.user_name, account.tenant_id, account.tenant_name) == ("acme_admin", 71, "Acme")
    assert svc.get_tenants_administered(user_ids["acme_admin"]) == [71]
    assert svc.get_tenants_administered(user_ids["acme_user"]) == []


def test_full_lifecycle_on_behalf_of_a_tenant_admin(connect, svc, user_ids):
    hdp = connect(on_behalf_of="acme_admin")
    app = hdp.create_oauth_app(_app("Acme_GA", tenant_id=71))
    assert (app.name, app.tenant_id, app.data_store) == ("Acme_GA", 71, 54)
    assert app.client_secret is not None and app.client_secret.get_secret_value() == SECRET
    assert [a.id for a in hdp.list_oauth_apps(tenant_id=71)] == [app.id]
    assert [a.id for a in find_by_name(hdp.list_oauth_apps(71), "Acme_GA")] == [app.id]
    assert find_by_name(hdp.list_oauth_apps(71), "acme_ga") == []
    fetched = hdp.get_oauth_app(app.id)
    assert fetched.client_id == "live-client" and fetched.token_uri == "http://127.0.0.1:9/token"
    updated = hdp.update_oauth_app(app.id, _app("Acme_GA", tenant_id=71).model_copy(update={"scope": "read"}))
    assert updated.scope == "read"

    profile = hdp.create_oauth_profile(_profile("Acme_GA_p1", app.id))
    assert profile.id is not None and profile.oauth_app_id == app.id
    got = hdp.get_oauth_profile(profile.id)
    assert got.refresh_token is not None and got.refresh_token.get_secret_value() == REFRESH
    assert [p.id for p in hdp.list_oauth_profiles()] == [profile.id]
    assert [p.id for p in find_by_name(hdp.list_oauth_profiles(), "Acme_GA_p1")] == [profile.id]
    renamed = hdp.update_oauth_profile(profile.id, _profile("Acme_GA_p2", app.id))
    assert renamed.name == "Acme_GA_p2"

    ds = hdp.create_datasource(
        DataSourceCreate(
            name="acme-ga", data_store=54, options={"OAuthProfileId": profile.id, "ODataVersion": 4}
        )
    )
    assert ds.options == {"OAuthProfileId": str(profile.id), "ODataVersion": "4"}
    assert hdp.get_datasource(ds.id).connection_type == "Cloud"
    assert [d.id for d in hdp.list_datasources()] == [ds.id]
    assert [d.id for d in find_by_name(hdp.list_datasources(), "acme-ga")] == [ds.id]
    assert [d.id for d in svc.list_user_datasources(user_ids["acme_admin"])] == [ds.id]
    stats = hdp.get_oauth_profile_stats(profile.id)
    assert (stats.data_sources_linked, stats.data_store_id) == (1, 54)
    assert [d.id for d in stats.data_sources] == [ds.id]
    changed = hdp.update_datasource(
        ds.id,
        DataSourceCreate(
            name="acme-ga", data_store=54, description="GA", options={"OAuthProfileId": str(profile.id)}
        ),
    )
    assert changed.description == "GA"

    # The refresh against the unreachable token URI fails: a result, not an exception.
    result = hdp.test_datasource(ds.id)
    assert result.success is False
    assert "could not connect" in result.message
    assert result.detail is not None and "Acme_GA_p2" in result.detail

    hdp.delete_datasource(ds.id)
    hdp.delete_oauth_profile(profile.id)
    hdp.delete_oauth_app(app.id)
    with pytest.raises(errors.HdpNotFound):
        hdp.get_datasource(ds.id)
    with pytest.raises(errors.HdpNotFound):
        hdp.get_oauth_profile(profile.id)
    with pytest.raises(errors.HdpNotFound):
        hdp.get_oauth_app(app.id)


def test_connection_test_success(connect):
    hdp = connect(on_behalf_of="acme_user")
    ds = hdp.create_datasource(
        DataSourceCreate(
            name="pg",
            data_store=1004,
            connection_type="Hybrid",
            options={"ServerName": "db.internal", "Database": "sales", "PortNumber": 5432},
        )
    )
    result = hdp.test_datasource(ds.id, user="scott", password="tiger-pw")
    assert result.success is True
    assert ds.options["PortNumber"] == "5432"


def test_deleting_an_app_deletes_its_profiles(connect):
    hdp = connect(on_behalf_of="acme_admin")
    app = hdp.create_oauth_app(_app("Cascade", tenant_id=71))
    profile = hdp.create_oauth_profile(_profile("Cascade_p", app.id))
    hdp.delete_oauth_app(app.id)
    with pytest.raises(errors.HdpNotFound) as info:
        hdp.get_oauth_profile(profile.id or 0)
    assert info.value.code == "222207710"


# --- every error class the emulator produces --------------------------------------------------------


def test_wrong_service_password_is_unauthorized(connect):
    with pytest.raises(errors.HdpUnauthorized) as info:
        connect(password="not-the-password").get_me()
    assert info.value.status == 401 and "HDP_SERVICE_USER" in info.value.explanation


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda h: h.get_oauth_app(999_999), "222207711"),
        (lambda h: h.delete_oauth_app(999_999), "222207711"),
        (lambda h: h.get_oauth_profile(999_999), "222207710"),
        (lambda h: h.get_oauth_profile_stats(999_999), "222207710"),
        (lambda h: h.get_datasource(999_999), "222207004"),
        (lambda h: h.delete_datasource(999_999), "222207004"),
        (lambda h: h.test_datasource(999_999), "222207004"),
        (lambda h: h.get_tenant(999), "222208573"),
        (lambda h: h.list_oauth_apps(tenant_id=999), "222208573"),
    ],
)
def test_missing_objects_are_not_found_with_hdp_codes(svc, call, code):
    with pytest.raises(errors.HdpNotFound) as info:
        call(svc)
    assert info.value.code == code and info.value.status == 404
    assert info.value.delivery == "definite"


def test_unknown_profile_in_datasource_options_is_not_found(connect):
    with pytest.raises(errors.HdpNotFound) as info:
        connect(on_behalf_of="acme_admin").create_datasource(
            DataSourceCreate(name="ga", data_store=54, options={"OAuthProfileId": "424242"})
        )
    assert info.value.code == "222207710"


def test_rejections_map_to_fields(connect):
    hdp = connect(on_behalf_of="acme_admin")
    with pytest.raises(errors.HdpRejected) as bad_name:
        hdp.create_oauth_app(_app("Acme GA", tenant_id=71))
    assert list(bad_name.value.field_errors) == ["name"]
    assert "Acme GA" not in str(bad_name.value)

    hdp.create_oauth_app(_app("Acme_dup", tenant_id=71))
    with pytest.raises(errors.HdpRejected) as duplicate:
        hdp.create_oauth_app(_app("Acme_dup", tenant_id=71))
    assert "name" in duplicate.value.field_errors

    with pytest.raises(errors.HdpRejected) as bad_option:
        hdp.create_datasource(DataSourceCreate(name="pg", data_store=1004, options={"NoSuchOption": "1"}))
    assert bad_option.value.code == "222207002"
    assert list(bad_option.value.field_errors) == ["options"]

    with pytest.raises(errors.HdpRejected) as bad_type:
        hdp.create_datasource(DataSourceCreate(name="pg", data_store=1004, connection_type="Satellite"))
    assert bad_type.value.code == "222207005"
    assert list(bad_type.value.field_errors) == ["connectionType"]

    with pytest.raises(errors.HdpRejected) as bad_ds_name:
        hdp.create_datasource(DataSourceCreate(name="1pg", data_store=1004))
    assert "name" in bad_ds_name.value.field_errors
    assert all(e.delivery == "definite" and e.status == 400 for e in (bad_name.value, bad_option.value))


def test_injected_5xx_on_get_is_retried_once(svc):
    faults.arm("GET", r"^/api/mgmt/datastores$", "status", status=503, times=1)
    assert svc.list_datastores()  # the single retry absorbed the 503
    faults.arm("GET", r"^/api/mgmt/datastores$", "status", status=503, times=2)
    with pytest.raises(errors.HdpUnavailable) as info:
        svc.list_datastores()
    assert info.value.status == 503 and info.value.delivery == "unknown"


def test_injected_500_on_post_is_unavailable_and_not_retried(connect):
    hdp = connect(on_behalf_of="acme_admin")
    faults.arm("POST", r"^/api/mgmt/oauthapps$", "status", status=500, times=1)
    with pytest.raises(errors.HdpUnavailable) as info:
        hdp.create_oauth_app(_app("Never_made", tenant_id=71))
    assert info.value.status == 500 and info.value.delivery == "unknown"
    assert find_by_name(hdp.list_oauth_apps(71), "Never_made") == []  # no second POST happened


def test_commit_then_drop_is_unknown_and_reconcilable(connect):
    hdp = connect(on_behalf_of="acme_admin")
    faults.arm("POST", r"^/api/mgmt/oauthapps$", "commit_then_drop")
    with pytest.raises(errors.HdpUnavailable) as info:
        hdp.create_oauth_app(_app("Dropped", tenant_id=71))
    assert info.value.delivery == "unknown" and info.value.status == 502
    assert len(find_by_name(hdp.list_oauth_apps(71), "Dropped")) == 1  # exactly one: never re-POSTed


def test_read_timeout_on_post_is_unknown(connect, settings):
    settings.HDP_READ_TIMEOUT = 0.3
    hdp = connect(on_behalf_of="acme_admin")
    faults.arm("POST", r"^/api/mgmt/oauthapps$", "delay", delay=1.0)
    with pytest.raises(errors.HdpUnavailable) as info:
        hdp.create_oauth_app(_app("Slow", tenant_id=71))
    assert info.value.delivery == "unknown" and info.value.status is None


def test_read_timeout_on_get_answers_within_the_timeout(connect, settings):
    """No silent retry of a read timeout: the person waits the configured timeout once."""
    settings.HDP_READ_TIMEOUT = 0.3
    hdp = connect()
    faults.arm("GET", r"^/api/mgmt/version$", "delay", delay=1.0, times=1)
    started = time.monotonic()
    with pytest.raises(errors.HdpUnavailable) as info:
        hdp.get_version()
    assert time.monotonic() - started < 0.9  # one 0.3 s wait, not two, and not the 1 s delay
    assert info.value.delivery == "unknown"


def test_injected_unauthorized(svc):
    faults.arm("GET", r"^/api/mgmt/user$", "unauthorized")
    with pytest.raises(errors.HdpUnauthorized):
        svc.get_me()


def test_unreachable_host_is_not_sent(base):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        HdpClient(f"http://127.0.0.1:{port}/sandbox/hdp", "portal_svc", "x") as hdp,
        pytest.raises(errors.HdpUnavailable) as info,
    ):
        hdp.create_oauth_app(_app("Nope"))
    assert info.value.delivery == "not_sent"
    assert "HDP at 127.0.0.1 could not be reached" in info.value.explanation


# --- permission rules (docs/hdp-api.md §1, §2) -----------------------------------------------------------


def test_administrator_acts_for_anyone_and_the_target_owns_it(base, svc, user_ids):
    with HdpClient.for_user(SimpleNamespace(username="acme_user")) as hdp:
        ds = hdp.create_datasource(DataSourceCreate(name="owned", data_store=1004, connection_type="Hybrid"))
        assert [d.id for d in hdp.list_datasources()] == [ds.id]
    assert [d.id for d in svc.list_user_datasources(user_ids["acme_user"])] == [ds.id]
    assert svc.list_datasources() == []  # the service account's own list: not its data source


def test_onbehalfof_plus_tenant_admin_is_allowed(connect, svc, user_ids):
    hdp = connect("acme_admin", on_behalf_of="acme_user")
    ds = hdp.create_datasource(DataSourceCreate(name="for-user", data_store=1004, connection_type="Hybrid"))
    assert [d.id for d in svc.list_user_datasources(user_ids["acme_user"])] == [ds.id]


@pytest.mark.parametrize("target", ["globex_admin", "d2cuser", "nobody_here"])
def test_tenant_admin_cannot_act_outside_their_tenant(connect, target):
    with pytest.raises(errors.HdpForbidden) as info:
        connect("acme_admin", on_behalf_of=target).list_datasources()
    assert "OnBehalfOf (21)" in info.value.explanation


def test_plain_user_is_forbidden(connect):
    with pytest.raises(errors.HdpForbidden) as on_behalf:
        connect("acme_user", on_behalf_of="d2cuser").list_datasources()
    assert on_behalf.value.status == 403
    with pytest.raises(errors.HdpForbidden) as no_oauth:
        connect("acme_user").create_oauth_app(_app("Mine", tenant_id=71))
    assert "OAuth (28)" in no_oauth.value.explanation
    with pytest.raises(errors.HdpForbidden):
        connect("acme_user").list_tenants()
    with pytest.raises(errors.HdpForbidden):
        connect("acme_user").list_users()


def test_child_tenant_isolation(connect, svc):
    acme = connect("acme_admin")
    globex = connect("globex_admin")
    acme_app = acme.create_oauth_app(_app("Acme_only"))
    assert acme_app.tenant_id == 71
    system_app = svc.create_oauth_app(_app("System_wide", tenant_id=1))

    assert {a.id for a in globex.list_oauth_apps()} == {system_app.id}
    assert {a.id for a in acme.list_oauth_apps()} == {acme_app.id, system_app.id}
    with pytest.raises(errors.HdpNotFound):
        globex.get_oauth_app(acme_app.id)
    with pytest.raises(errors.HdpForbidden):
        globex.create_oauth_app(_app("Into_acme", tenant_id=71))
    with pytest.raises(errors.HdpNotFound):
        globex.create_oauth_profile(_profile("Steal", acme_app.id))
    with pytest.raises(errors.HdpForbidden):
        acme.delete_oauth_app(system_app.id)  # system-tenant apps are read-only to tenant admins
    globex_profile = globex.create_oauth_profile(_profile("Globex_p", system_app.id))
    assert globex_profile.oauth_app_id == system_app.id
    assert acme.list_oauth_profiles() == []  # profiles belong to their owner
    with pytest.raises(errors.HdpNotFound):
        acme.get_oauth_profile(globex_profile.id or 0)
