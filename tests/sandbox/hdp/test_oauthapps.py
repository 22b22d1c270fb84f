"""OAuth applications API (docs/hdp-api.md §2)."""

from __future__ import annotations

import pytest

from portal.sandbox.hdp import errors
from portal.sandbox.hdp.models import DataSource, OAuthApp, OAuthProfile
from tests.helpers.emulator import APP_BODY, error_code, make_app, make_ds, make_profile


def test_create_returns_201_with_the_object_and_get_returns_the_secret(emulator_admin):
    created = make_app(emulator_admin, dataStore="54")
    assert isinstance(created["id"], int)
    assert created["dataStore"] == 54
    assert created["tenantId"] == 1
    response = emulator_admin.post("/api/mgmt/oauthapps", json={**APP_BODY, "name": "Second"})
    assert response.headers["Location"] == f"/api/mgmt/oauthapps/{response.json()['id']}"
    fetched = emulator_admin.get(f"/api/mgmt/oauthapps/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["clientSecret"] == "secret-456"
    assert fetched.json()["clientId"] == "client-123"


def test_list_omits_client_credentials(emulator_admin):
    make_app(emulator_admin)
    apps = emulator_admin.get("/api/mgmt/oauthapps").json()["applications"]
    assert len(apps) == 1
    assert "clientSecret" not in apps[0]
    assert "clientId" not in apps[0]
    assert apps[0]["tokenURI"] == APP_BODY["tokenURI"]


def test_tenant_visibility(emulator_as, emulator_admin):
    system_app = make_app(emulator_admin, name="Sys_GA")
    acme_app = make_app(emulator_as("acme_admin"), name="Acme_GA")
    globex_app = make_app(emulator_as("globex_admin"), name="Globex_GA")
    assert acme_app["tenantId"] == 71

    def ids(user, query=""):
        return {a["id"] for a in emulator_as(user).get(f"/api/mgmt/oauthapps{query}").json()["applications"]}

    assert ids("acme_user") == {system_app["id"], acme_app["id"]}
    assert ids("globex_admin") == {system_app["id"], globex_app["id"]}
    assert ids("d2cuser") == {system_app["id"]}
    assert ids("d2cadmin") == {system_app["id"], acme_app["id"], globex_app["id"]}
    assert ids("d2cadmin", "?tenantId=72") == {globex_app["id"]}
    assert ids("d2cadmin", "?tenantName=acme") == {acme_app["id"]}
    hidden = emulator_as("acme_user").get(f"/api/mgmt/oauthapps/{globex_app['id']}")
    assert hidden.status_code == 404
    assert error_code(hidden) == errors.INVALID_APP_ID


def test_unknown_tenant_filter(emulator_admin):
    response = emulator_admin.get("/api/mgmt/oauthapps?tenantId=999")
    assert response.status_code == 404
    assert error_code(response) == errors.TENANT_NOT_FOUND


@pytest.mark.parametrize(
    ("user", "tenant_id", "status"),
    [
        ("d2cadmin", 72, 201),  # Administrator: any tenant
        ("acme_admin", 71, 201),  # MgmtAPI + OAuth in own child tenant
        ("acme_admin", 1, 403),  # ...but not the system tenant
        ("acme_admin", 72, 403),  # ...nor another child
        ("acme_user", 71, 403),  # no OAuth (28)
        ("d2cuser", 1, 403),  # no OAuth (28)
    ],
)
def test_create_permissions_by_tenant(emulator_as, user, tenant_id, status):
    response = emulator_as(user).post("/api/mgmt/oauthapps", json={**APP_BODY, "tenantId": tenant_id})
    assert response.status_code == status, response.text
    if status == 403:
        assert error_code(response) == errors.FORBIDDEN
        assert not OAuthApp.objects.exists()


def test_create_in_unknown_tenant(emulator_admin):
    response = emulator_admin.post("/api/mgmt/oauthapps", json={**APP_BODY, "tenantId": 999})
    assert response.status_code == 404
    assert error_code(response) == errors.TENANT_NOT_FOUND


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "GA app"},
        {"name": "GA-app"},
        {"name": ""},
        {"dataStore": None},
        {"dataStore": 1004},  # PostgreSQL: no OAuth
        {"dataStore": "abc"},
        {"tokenURI": ""},
        {"clientSecret": None},
    ],
)
def test_create_validation(emulator_admin, overrides):
    response = emulator_admin.post("/api/mgmt/oauthapps", json={**APP_BODY, **overrides})
    assert response.status_code == 400
    assert error_code(response) == errors.BAD_REQUEST


def test_invalid_json(emulator_admin):
    response = emulator_admin.post(
        "/api/mgmt/oauthapps", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert error_code(response) == errors.INVALID_JSON


def test_names_unique_per_tenant(emulator_as, emulator_admin):
    make_app(emulator_admin)
    duplicate = emulator_admin.post("/api/mgmt/oauthapps", json={**APP_BODY, "name": "ga_APP"})
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.json()["error"]["message"]["value"]
    assert make_app(emulator_as("acme_admin"))["tenantId"] == 71  # same name, other tenant: fine


def test_update_replaces_and_delete_cascades(emulator_admin):
    app = make_app(emulator_admin)
    updated = emulator_admin.put(
        f"/api/mgmt/oauthapps/{app['id']}", json={**APP_BODY, "scope": "a b", "description": ""}
    )
    assert updated.status_code == 200
    assert updated.json()["scope"] == "a b"
    profile = make_profile(emulator_admin, app["id"])
    ds = make_ds(emulator_admin, profile["id"])
    response = emulator_admin.delete(f"/api/mgmt/oauthapps/{app['id']}")
    assert response.status_code == 204
    assert response.json() == {"success": True}  # HDP "Delete an OAuth application" sample
    assert not OAuthProfile.objects.filter(pk=profile["id"]).exists()
    assert "OAuthProfileId" not in DataSource.objects.get(pk=ds["id"]).options
    assert DataSource.objects.get(pk=ds["id"]).options["DefaultView"] == "12345"
    gone = emulator_admin.get(f"/api/mgmt/oauthapps/{app['id']}")
    assert gone.status_code == 404
    assert error_code(gone) == errors.INVALID_APP_ID


def test_child_admin_cannot_delete_system_app(emulator_as, emulator_admin):
    app = make_app(emulator_admin)
    response = emulator_as("acme_admin").delete(f"/api/mgmt/oauthapps/{app['id']}")
    assert response.status_code == 403
    assert OAuthApp.objects.filter(pk=app["id"]).exists()


def test_unknown_app_id(emulator_admin):
    for path in ("/api/mgmt/oauthapps/223344", "/api/mgmt/oauthapps/abc"):
        response = emulator_admin.get(path)
        assert response.status_code == 404
        assert error_code(response) == errors.INVALID_APP_ID
    assert "223344" in emulator_admin.get("/api/mgmt/oauthapps/223344").json()["error"]["message"]["value"]
