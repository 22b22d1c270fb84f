"""Own user, version and Administrator API (docs/hdp-api.md §0, §6)."""

from __future__ import annotations

import pytest

from portal.sandbox.hdp import errors
from portal.sandbox.hdp.models import HdpUser
from tests.helpers.emulator import error_code


def uid(name: str) -> int:
    return HdpUser.objects.get(user_name=name).pk


def test_own_user(emulator_as):
    body = emulator_as("acme_user").get("/api/mgmt/user").json()
    assert body == {
        "userId": uid("acme_user"),
        "passwordExpiration": "2099-12-31 00:00:00.0",
        "permissions": list(range(1, 12)),
    }


def test_own_user_on_behalf(emulator_as):
    body = emulator_as("portal_svc").get("/api/mgmt/user?user=acme_admin").json()
    assert body["userId"] == uid("acme_admin")
    assert 28 in body["permissions"]


def test_permissions_and_version(emulator_as):
    assert emulator_as("portal_svc").get("/api/mgmt/permissions").json() == {
        "userId": uid("portal_svc"),
        "permissions": [12],
    }
    version = emulator_as("d2cuser").get("/api/mgmt/version").json()
    assert "HDPVersion" in version
    assert version["InstallType"] == "Licenced"


def test_tenants(emulator_as):
    assert emulator_as("portal_svc").get("/api/admin/tenants").json() == {
        "tenants": [{"id": 1, "name": "System"}, {"id": 71, "name": "Acme"}, {"id": 72, "name": "Globex"}]
    }
    detail = emulator_as("d2cadmin").get("/api/admin/tenants/71?details=true").json()
    assert detail["parentTenant"] == 1
    assert detail["admins"] == [uid("d2cadmin"), uid("acme_admin")]
    assert "admins" not in emulator_as("d2cadmin").get("/api/admin/tenants/71").json()
    missing = emulator_as("d2cadmin").get("/api/admin/tenants/5")
    assert missing.status_code == 404
    assert error_code(missing) == errors.TENANT_NOT_FOUND


def test_tenants_need_administrator_or_tenant_api(emulator_as):
    assert emulator_as("acme_user").get("/api/admin/tenants").status_code == 403
    assert emulator_as("support").get("/api/admin/tenants").json() == {
        "tenants": []
    }  # TenantAPI, administers none


def test_users_list_and_detail(emulator_as):
    svc = emulator_as("portal_svc")
    names = [u["userName"] for u in svc.get("/api/admin/users").json()["users"]]
    assert set(names) == {
        "d2cadmin",
        "portal_svc",
        "support",
        "acme_admin",
        "globex_admin",
        "acme_user",
        "d2cuser",
    }
    detail = svc.get(f"/api/admin/users/{uid('acme_admin')}?details=true").json()
    assert detail["userName"] == "acme_admin"
    assert (detail["tenantId"], detail["tenantName"], detail["tenantsAdministered"]) == (71, "Acme", [71])
    plain = svc.get(f"/api/admin/users/{uid('acme_user')}").json()
    assert plain["tenantName"] == "Acme"
    assert "tenantsAdministered" not in plain


def test_view_users_is_limited_to_own_and_administered_tenants(emulator_as):
    names = {u["userName"] for u in emulator_as("acme_admin").get("/api/admin/users").json()["users"]}
    assert names == {"acme_admin", "acme_user"}
    assert emulator_as("acme_admin").get(f"/api/admin/users/{uid('globex_admin')}").status_code == 404
    assert emulator_as("d2cuser").get("/api/admin/users").status_code == 403


def test_tenants_administered_and_user_datasources(emulator_as, emulator_admin):
    assert emulator_admin.get(f"/api/admin/users/{uid('globex_admin')}/tenantsadministered").json() == {
        "tenantsAdministered": [72]
    }
    created = emulator_as("d2cuser").post(
        "/api/mgmt/datasources", json={"name": "pg", "dataStore": 1004, "connectionType": "Cloud"}
    )
    listed = emulator_admin.get(f"/api/admin/users/{uid('d2cuser')}/datasources").json()["dataSources"]
    assert [(d["id"], d["name"], d["isGroup"]) for d in listed] == [(created.json()["id"], "pg", False)]


@pytest.mark.parametrize(("user", "status"), [("d2cuser", 200), ("portal_svc", 200)])
def test_permission_catalogue(emulator_as, user, status):
    response = emulator_as(user).get("/api/admin/permissions")
    assert response.status_code == status
    catalogue = {p["id"]: p["name"] for p in response.json()["permissions"]}
    assert catalogue[21] == "OnBehalfOf"
    assert catalogue[28] == "OAuth"
