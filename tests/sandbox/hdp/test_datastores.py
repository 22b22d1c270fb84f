"""Data stores API (docs/hdp-api.md §5)."""

from __future__ import annotations

from portal.sandbox.hdp import errors
from tests.helpers.emulator import error_code, option_defs

OAUTH_STORES = {1, 54, 62, 63, 76, 1002}


def test_list_has_documented_and_sandbox_ids(emulator_admin):
    stores = {s["id"]: s for s in emulator_admin.get("/api/mgmt/datastores").json()["dataStores"]}
    assert {sid: s["name"] for sid, s in stores.items()} == {
        1: "Salesforce",
        54: "Google Analytics",
        56: "DataSource Group",
        76: "Snowflake",
        62: "Google BigQuery",
        63: "Autonomous REST Connector",
        1002: "Microsoft Dynamics 365",
        1004: "PostgreSQL",
    }
    assert stores[56]["isGroup"] is True
    assert stores[1]["isGroup"] is False


def test_every_oauth_store_has_a_profile_option_and_realistic_extras(emulator_admin):
    for store_id in OAUTH_STORES:
        store = emulator_admin.get(f"/api/mgmt/datastores/{store_id}").json()
        defs = option_defs(store)
        assert defs["OAuthProfileId"]["type"] == "string"
        # Snowflake has 7: HDP's key-pair example adds DatabaseName, Schema, PrivateKeyContent/Passphrase.
        assert 2 <= len(set(defs) - {"OAuthProfileId", "User", "Password", "ODataVersion"}) <= 7, store[
            "name"
        ]
    assert "OAuthProfileId" not in option_defs(emulator_admin.get("/api/mgmt/datastores/1004").json())


def test_option_definitions_shape(emulator_admin):
    defs = option_defs(emulator_admin.get("/api/mgmt/datastores/1").json())
    method = defs["AuthenticationMethod"]
    assert {c["id"] for c in method["choices"]} == {"userIDPassword", "oauth2.0"}
    assert set(method) >= {"id", "displayName", "documentation", "required", "type"}
    assert defs["Password"]["type"] == "password"
    assert option_defs(emulator_admin.get("/api/mgmt/datastores/76").json())["Warehouse"]["required"] is True
    assert (
        option_defs(emulator_admin.get("/api/mgmt/datastores/1002").json())["ServiceURL"]["required"] is True
    )
    assert option_defs(emulator_admin.get("/api/mgmt/datastores/62").json())["Project"]["required"] is True
    assert (
        option_defs(emulator_admin.get("/api/mgmt/datastores/1004").json())["PortNumber"]["type"] == "integer"
    )


def test_unknown_store(emulator_admin):
    response = emulator_admin.get("/api/mgmt/datastores/64")
    assert response.status_code == 404
    assert error_code(response) == errors.NOT_FOUND
