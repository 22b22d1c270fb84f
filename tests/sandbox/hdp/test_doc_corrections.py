"""Emulator corrections from a second reading of HDP's documentation (issue 11 item 1).

Each test names the HDP documentation page the behaviour comes from; docs/decisions.md ("Emulator")
records the choices.
"""

from __future__ import annotations

import threading

import httpx

from portal.sandbox.hdp import errors
from portal.sandbox.hdp.models import OAuthApp, OAuthProfile
from portal.sandbox.hdp.seed import seed_demo
from portal.sandbox.hdp.wsgi import build_server
from tests.helpers.emulator import APP_BODY, error_code, make_app, make_ds, make_profile, option_defs
from tests.helpers.sandbox import PASSWORDS

SNOWFLAKE = 76


def test_snowflake_options_are_hdps_names(emulator_admin):
    """HDP "Snowflake parameters" and "Configuring Snowflake key-pair authentication using the API":
    AccountName, DatabaseName, Schema, Warehouse, User, AuthenticationMethod (no "Database")."""
    defs = option_defs(emulator_admin.get(f"/api/mgmt/datastores/{SNOWFLAKE}").json())
    assert {"AccountName", "DatabaseName", "Schema", "Warehouse", "User", "AuthenticationMethod"} <= set(defs)
    assert {"PrivateKeyContent", "PrivateKeyPassphrase", "ODataVersion", "OAuthProfileId"} <= set(defs)
    assert "Database" not in defs
    assert defs["PrivateKeyContent"]["type"] == "password"


def test_snowflake_key_pair_example_body_is_accepted(emulator_admin):
    """HDP "Configuring Snowflake key-pair authentication using the API": the example sends
    ``dataStore`` as the string "76" and these option names."""
    body = {
        "name": "SnowflakeKeyPair",
        "dataStore": "76",
        "connectionType": "Cloud",
        "options": {
            "User": "svc_reader",
            "AccountName": "ab12345.eu-central-1",
            "DatabaseName": "SALES",
            "Schema": "PUBLIC",
            "Warehouse": "COMPUTE_WH",
            "AuthenticationMethod": "KeyPair",
            "PrivateKeyContent": "-----BEGIN PRIVATE KEY-----\r\nMIIB\r\n-----END PRIVATE KEY-----",
            "PrivateKeyPassphrase": "pass",
            "ODataVersion": "4",
        },
    }
    response = emulator_admin.post("/api/mgmt/datasources", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["options"]["DatabaseName"] == "SALES"
    old_name = {**body, "name": "SnowflakeOld", "options": {**body["options"], "Database": "SALES"}}
    rejected = emulator_admin.post("/api/mgmt/datasources", json=old_name)
    assert rejected.status_code == 400
    assert error_code(rejected) == errors.DS_INVALID_OPTION


def test_dynamics_service_url_is_the_web_api_base(emulator_admin):
    """DataDirect Dynamics 365 driver "ServiceURL" (HDP names its parameter after it): the Web API
    base, https://<org>.api.crm.dynamics.com/api/data/v9.1/, not the organisation URL."""
    defs = option_defs(emulator_admin.get("/api/mgmt/datastores/1002").json())
    text = defs["ServiceURL"]["documentation"]
    assert "https://<org>.api.crm.dynamics.com/api/data/v9.1/" in text
    assert "https://org.crm.dynamics.com" not in text
    assert defs["AuthenticationMethod"]["default"] == "OAuth2"


def test_bigquery_is_62_and_rest_is_63(emulator_admin):
    """HDP 4.6 "Get statistics for an OAuth profile" and "Update an OAuth application object" list
    Google BigQuery = 62 and Autonomous REST Connector = 63 ("Creating REST data sources with the
    API" says 62 for REST; docs/decisions.md says why 62/63 won). The old sandbox ids are gone."""
    assert emulator_admin.get("/api/mgmt/datastores/62").json()["name"] == "Google BigQuery"
    assert emulator_admin.get("/api/mgmt/datastores/63").json()["name"] == "Autonomous REST Connector"
    for old in (1001, 1003):
        assert emulator_admin.get(f"/api/mgmt/datastores/{old}").status_code == 404
    app = make_app(emulator_admin, name="BigQuery_app", dataStore=62)
    assert app["dataStore"] == 62


def test_app_delete_answers_204_with_success(emulator_admin):
    """HDP "Delete an OAuth application": 204, sample body {"success": true}."""
    app = make_app(emulator_admin)
    response = emulator_admin.delete(f"/api/mgmt/oauthapps/{app['id']}")
    assert (response.status_code, response.json()) == (204, {"success": True})
    assert not OAuthApp.objects.exists()


def test_profile_delete_answers_204_with_success(emulator_admin):
    """HDP "Delete an OAuth profile" ("Delete the specified OAuthProfile"): 204, {"success": true}."""
    profile = make_profile(emulator_admin, make_app(emulator_admin)["id"])
    response = emulator_admin.delete(f"/api/mgmt/oauthprofiles/{profile['id']}")
    assert (response.status_code, response.json()) == (204, {"success": True})
    assert not OAuthProfile.objects.exists()


def test_profile_stats_ids_are_strings(emulator_admin):
    """HDP "Get statistics for an OAuth profile": the sample renders the data source id as "503"."""
    profile = make_profile(emulator_admin, make_app(emulator_admin)["id"])
    ds = make_ds(emulator_admin, profile["id"])
    stats = emulator_admin.get(f"/api/mgmt/oauthprofiles/{profile['id']}/stats").json()
    assert stats["dataSources"][0]["id"] == str(ds["id"])
    assert isinstance(stats["dataSourcesLinked"], int)


def test_a_204_crosses_the_wire_without_a_body_and_the_connection_survives(transactional_db):
    """HTTP/1.1 forbids a body on 204 (RFC 9110 §15.3.5): the standalone server drops HDP's sample
    body, and the next request on the same keep-alive connection is read correctly."""
    seed_demo()
    server = build_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with httpx.Client(base_url=url, auth=("d2cadmin", PASSWORDS["d2cadmin"]), timeout=10) as client:
            app = client.post("/api/mgmt/oauthapps", json=APP_BODY).json()
            deleted = client.delete(f"/api/mgmt/oauthapps/{app['id']}")
            assert (deleted.status_code, deleted.content) == (204, b"")
            assert client.get("/api/mgmt/oauthapps").json() == {"applications": []}
    finally:
        server.shutdown()
        server.server_close()
