"""OAuth profiles API (docs/hdp-api.md §3)."""

from __future__ import annotations

import pytest

from portal.sandbox.hdp import errors
from portal.sandbox.hdp.models import DataSource
from tests.helpers.emulator import error_code, make_app, make_ds, make_profile


@pytest.fixture
def app(emulator_admin):
    return make_app(emulator_admin)


def test_create_201_and_get_returns_tokens(emulator_admin, app):
    created = make_profile(emulator_admin, app["id"], oauthAppId=str(app["id"]))
    assert created["oauthAppId"] == app["id"]
    fetched = emulator_admin.get(f"/api/mgmt/oauthprofiles/{created['id']}").json()
    assert fetched["accessToken"] == "at-1"
    assert fetched["refreshToken"] == "rt-1"


def test_list_shape(emulator_admin, app):
    profile = make_profile(emulator_admin, app["id"])
    items = emulator_admin.get("/api/mgmt/oauthprofiles").json()["profiles"]
    assert items == [
        {
            "id": profile["id"],
            "name": "GA_profile",
            "description": "",
            "authorizeURI": app["authorizeURI"],
            "tokenURI": app["tokenURI"],
            "scope": app["scope"],
            "oauthAppId": app["id"],
        }
    ]


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"refreshToken": ""}, 400, errors.BAD_REQUEST),
        ({"refreshToken": None}, 400, errors.BAD_REQUEST),
        ({"name": "bad name"}, 400, errors.BAD_REQUEST),
        ({"oauthAppId": 999}, 404, errors.INVALID_APP_ID),
    ],
)
def test_create_validation(emulator_admin, app, overrides, status, code):
    body = {"name": "p", "oauthAppId": app["id"], "refreshToken": "r", **overrides}
    response = emulator_admin.post("/api/mgmt/oauthprofiles", json=body)
    assert response.status_code == status
    assert error_code(response) == code


def test_names_unique_per_owner(emulator_as, emulator_admin, app):
    make_profile(emulator_admin, app["id"])
    duplicate = emulator_admin.post(
        "/api/mgmt/oauthprofiles", json={"name": "GA_profile", "oauthAppId": app["id"], "refreshToken": "r"}
    )
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.json()["error"]["message"]["value"]
    assert make_profile(emulator_as("d2cuser"), app["id"])["name"] == "GA_profile"  # another owner: fine


def test_system_admin_cannot_use_child_tenant_app_for_own_profile(emulator_as, emulator_admin):
    acme_app = make_app(emulator_as("acme_admin"), name="Acme_GA")
    response = emulator_admin.post(
        "/api/mgmt/oauthprofiles", json={"name": "p", "oauthAppId": acme_app["id"], "refreshToken": "r"}
    )
    assert response.status_code == 403


def test_create_needs_create_datasource_permission(emulator_as, app):
    response = emulator_as("support").post(
        "/api/mgmt/oauthprofiles", json={"name": "p", "oauthAppId": app["id"], "refreshToken": "r"}
    )
    assert response.status_code == 403
    assert "CreateDataSource (1)" in response.json()["error"]["message"]["value"]


def test_only_the_owner_sees_and_changes_a_profile(emulator_as, app):
    profile = make_profile(emulator_as("d2cuser"), app["id"])
    other = emulator_as("acme_user").get(f"/api/mgmt/oauthprofiles/{profile['id']}")
    assert other.status_code == 404
    assert error_code(other) == errors.INVALID_PROFILE_ID
    assert "Invalid OAuthProfileId" in other.json()["error"]["message"]["value"]


def test_update_full_replace(emulator_as, app):
    owner = emulator_as("d2cuser")
    profile = make_profile(owner, app["id"])
    body = {"name": "Renamed", "oauthAppId": app["id"], "refreshToken": "rt-2"}
    response = owner.put(f"/api/mgmt/oauthprofiles/{profile['id']}", json=body)
    assert response.status_code == 200
    assert response.json()["accessToken"] == ""
    assert response.json()["refreshToken"] == "rt-2"


def test_stats_and_delete_strips_references(emulator_admin, app):
    profile = make_profile(emulator_admin, app["id"])
    ds = make_ds(emulator_admin, profile["id"])
    stats = emulator_admin.get(f"/api/mgmt/oauthprofiles/{profile['id']}/stats").json()
    assert stats == {
        "dataSourcesLinked": 1,
        "dataStoreId": 54,
        # HDP "Get statistics for an OAuth profile": the sample shows the ids as strings.
        "dataSources": [{"id": str(ds["id"]), "name": "ga_sales", "description": ""}],
    }
    response = emulator_admin.delete(f"/api/mgmt/oauthprofiles/{profile['id']}")
    assert response.status_code == 204
    assert response.json() == {"success": True}
    assert "OAuthProfileId" not in DataSource.objects.get(pk=ds["id"]).options
    assert emulator_admin.get(f"/api/mgmt/oauthprofiles/{profile['id']}").status_code == 404


def test_delete_needs_delete_datasource_permission(emulator_as, emulator_admin, app):
    profile = make_profile(emulator_admin, app["id"])
    response = emulator_as("support").delete(f"/api/mgmt/oauthprofiles/{profile['id']}?user=d2cadmin")
    assert response.status_code == 403  # support has no OnBehalfOf and no DeleteDataSource
