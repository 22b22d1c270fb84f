"""Authentication and act-on-behalf (docs/hdp-api.md §1)."""

from __future__ import annotations

import httpx

from portal.sandbox.hdp import errors
from portal.sandbox.hdp.emulator import mock_transport
from portal.sandbox.hdp.models import DataSource, OAuthProfile
from tests.helpers.emulator import GA, error_code, make_app
from tests.helpers.sandbox import PASSWORDS


def test_healthcheck_needs_no_auth(seeded):
    with httpx.Client(transport=mock_transport(), base_url="http://hdp") as client:
        get = client.get("/api/healthcheck")
        head = client.head("/api/healthcheck")
    assert get.status_code == 200
    assert get.json() == {"status": "active"}
    assert head.status_code == 200


def test_missing_credentials_get_401_with_hdp_body(seeded):
    with httpx.Client(transport=mock_transport(), base_url="http://hdp") as client:
        response = client.get("/api/mgmt/oauthapps")
    assert response.status_code == 401
    assert error_code(response) == errors.UNAUTHORIZED
    assert response.json()["error"]["message"]["value"] == "Not Authorized"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_wrong_password_gets_401(emulator_as):
    response = emulator_as("d2cadmin", "wrong").get("/api/mgmt/user")
    assert response.status_code == 401
    assert error_code(response) == 222200401


def test_user_names_are_case_insensitive(emulator_as, emulator_admin):
    response = emulator_as("D2CAdmin", PASSWORDS["d2cadmin"]).get("/api/mgmt/user")
    assert response.status_code == 200
    assert response.json()["userId"] == emulator_admin.get("/api/mgmt/user").json()["userId"]


def test_administrator_acts_for_anyone_and_target_owns_the_result(emulator_as):
    svc = emulator_as("portal_svc")
    app = make_app(emulator_as("acme_admin"), name="Acme_GA")
    created = svc.post(
        "/api/mgmt/oauthprofiles?user=ACME_ADMIN",
        json={"name": "p1", "oauthAppId": app["id"], "refreshToken": "r"},
    )
    assert created.status_code == 201
    assert OAuthProfile.objects.get(pk=created.json()["id"]).owner.user_name == "acme_admin"
    # Visible to the owner, not listed for the service account acting for another user.
    assert [p["id"] for p in emulator_as("acme_admin").get("/api/mgmt/oauthprofiles").json()["profiles"]] == [
        created.json()["id"]
    ]
    assert svc.get("/api/mgmt/oauthprofiles?user=acme_user").json()["profiles"] == []


def test_on_behalf_of_a_user_in_an_administered_tenant(emulator_as):
    response = emulator_as("acme_admin").post(
        "/api/mgmt/datasources?user=acme_user",
        json={"name": "ds1", "dataStore": 1004, "connectionType": "Cloud"},
    )
    assert response.status_code == 201
    assert DataSource.objects.get(pk=response.json()["id"]).owner.user_name == "acme_user"


def test_on_behalf_of_a_user_in_another_tenant_is_forbidden(emulator_as):
    response = emulator_as("acme_admin").get("/api/mgmt/datasources?user=globex_admin")
    assert response.status_code == 403
    assert error_code(response) == errors.FORBIDDEN


def test_on_behalf_needs_on_behalf_of_permission(emulator_as):
    response = emulator_as("acme_user").get("/api/mgmt/datasources?user=acme_admin")
    assert response.status_code == 403
    assert "OnBehalfOf" in response.json()["error"]["message"]["value"]


def test_on_behalf_uses_the_target_users_permissions(emulator_as):
    # acme_admin has OAuth (28); acme_user does not, so acting for acme_user cannot create apps.
    response = emulator_as("acme_admin").post(
        "/api/mgmt/oauthapps?user=acme_user", json={"name": "x", "dataStore": GA}
    )
    assert response.status_code == 403
    assert "OAuth (28)" in response.json()["error"]["message"]["value"]


def test_administrator_acting_for_unknown_user_gets_404(emulator_admin):
    response = emulator_admin.get("/api/mgmt/user?user=nobody")
    assert response.status_code == 404
    assert error_code(response) == errors.NOT_FOUND


def test_unknown_path_and_wrong_method(emulator_admin):
    assert emulator_admin.get("/api/mgmt/nothing").status_code == 404
    response = emulator_admin.delete("/api/mgmt/datastores")
    assert response.status_code == 405
    assert error_code(response) == errors.METHOD_NOT_ALLOWED
