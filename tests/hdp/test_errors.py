"""Error classification: every status class, every transport failure, and HDP's code quirks."""

from __future__ import annotations

import httpx
import pytest
import respx

from portal.hdp import errors, messages
from portal.hdp.client import HdpClient
from tests.helpers.hdp import BASE, HOST, SVC_PASSWORD, hdp_error

NO_SUCH_ID_CODES = ["222207004", "222207011", "222207710", "222207711", "222208573"]


@pytest.mark.parametrize(
    ("exc", "delivery", "needle"),
    [
        (httpx.ConnectError("refused"), "not_sent", "could not be reached"),
        (httpx.ConnectTimeout("slow"), "not_sent", "did not accept the connection"),
        (httpx.PoolTimeout("pool"), "not_sent", "no free connection"),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]"), "not_sent", "HDP_CA_BUNDLE"),
        (httpx.ReadTimeout("slow"), "unknown", "may or may not"),
        (httpx.WriteTimeout("slow"), "unknown", "may or may not"),
        (httpx.RemoteProtocolError("dropped"), "unknown", "broke before"),
        (httpx.ReadError("reset"), "unknown", "broke before"),
    ],
)
def test_transport_failures_are_unavailable_with_delivery(router, hdp_client, exc, delivery, needle):
    router.post("/api/mgmt/datasources").mock(side_effect=exc)
    with pytest.raises(errors.HdpUnavailable) as info:
        hdp_client._request("POST", "/api/mgmt/datasources", body={})
    err = info.value
    assert err.delivery == delivery
    assert needle in err.explanation
    assert err.status is None and err.code is None
    assert (err.method, err.path) == ("POST", "/api/mgmt/datasources")


def test_connect_error_names_the_host(router, hdp_client):
    router.get("/api/mgmt/user").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(errors.HdpUnavailable) as info:
        hdp_client.get_me()
    assert f"HDP at {HOST} could not be reached" in info.value.explanation


@pytest.mark.parametrize("status", [500, 501, 502, 503, 504])
def test_5xx_is_unavailable_and_outcome_unknown(router, hdp_client, status):
    router.post("/api/mgmt/oauthapps").respond(status, json=hdp_error(222207000))
    with pytest.raises(errors.HdpUnavailable) as info:
        hdp_client._request("POST", "/api/mgmt/oauthapps", body={})
    assert info.value.status == status
    assert info.value.delivery == "unknown"
    assert info.value.code == "222207000"
    assert "Try again in a few minutes" in info.value.explanation


def test_5xx_without_body_explains_server_problem(router, hdp_client):
    router.delete("/api/mgmt/datasources/3").respond(500, text="<html>boom</html>")
    with pytest.raises(errors.HdpUnavailable) as info:
        hdp_client.delete_datasource(3)
    assert info.value.code is None
    assert "internal problem" in info.value.explanation and "HTTP 500" not in info.value.explanation


def test_401_service_account(router, hdp_client):
    router.get("/api/mgmt/user").respond(401, text="Not Authorized")
    with pytest.raises(errors.HdpUnauthorized) as info:
        hdp_client.get_me()
    err = info.value
    assert isinstance(err, errors.HdpAuthError)
    assert err.delivery == "definite" and err.status == 401
    assert "HDP_SERVICE_USER" in err.explanation


def test_401_for_a_person_says_their_password_was_refused(settings):
    settings.HDP_BASE_URL = BASE
    with respx.mock(base_url=BASE) as mock:  # patches the real HTTPTransport
        mock.get("/api/mgmt/user").respond(401)
        with (
            pytest.raises(errors.HdpUnauthorized) as info,
            HdpClient.as_person("alice", "alice-pw") as person,
        ):
            person.get_me()
    assert "user name and password" in info.value.explanation
    assert "HDP_SERVICE_USER" not in info.value.explanation


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("POST", "/api/mgmt/oauthapps", "OAuth (28)"),
        ("POST", "/api/mgmt/datasources", "CreateDataSource (1)"),
        ("DELETE", "/api/mgmt/oauthprofiles/4", "DeleteDataSource (4)"),
        ("PUT", "/api/mgmt/datasources/4", "ModifyDataSource (3)"),
        ("GET", "/api/mgmt/datasources", "ViewDataSource (2)"),
        ("POST", "/api/mgmt/datasources/4/test", "ViewDataSource (2)"),
        ("GET", "/api/admin/tenants", "TenantAPI (25)"),
        ("GET", "/api/admin/users/5", "ViewUsers (14)"),
    ],
)
def test_403_names_the_probable_permission(router, hdp_client, method, path, permission):
    router.request(method, path).respond(403)
    with pytest.raises(errors.HdpForbidden) as info:
        hdp_client._request(method, path)
    assert permission in info.value.explanation
    assert info.value.delivery == "definite"
    assert "OnBehalfOf" not in info.value.explanation


def test_403_on_behalf_mentions_onbehalfof(router, make_client):
    router.get("/api/mgmt/datasources").respond(403)
    with pytest.raises(errors.HdpForbidden) as info:
        make_client(on_behalf_of="acme_user").list_datasources()
    assert "OnBehalfOf (21)" in info.value.explanation


def test_404_is_not_found(router, hdp_client):
    router.get("/api/mgmt/oauthapps/9").respond(404)
    with pytest.raises(errors.HdpNotFound) as info:
        hdp_client.get_oauth_app(9)
    assert info.value.status == 404 and info.value.delivery == "definite"


@pytest.mark.parametrize("status", [400, 404])
@pytest.mark.parametrize("code", NO_SUCH_ID_CODES)
@pytest.mark.parametrize("as_int", [True, False])
def test_no_such_id_codes_are_not_found(router, hdp_client, status, code, as_int):
    router.get("/api/mgmt/oauthprofiles/30").respond(status, json=hdp_error(int(code) if as_int else code))
    with pytest.raises(errors.HdpNotFound) as info:
        hdp_client.get_oauth_profile(30)
    assert info.value.code == code
    assert info.value.explanation == str(messages.CODE_EXPLANATIONS[code])


@pytest.mark.parametrize("code", [222207002, "222207002", " 222207002 "])
def test_400_code_as_int_or_string_is_normalised(router, hdp_client, code):
    router.post("/api/mgmt/datasources").respond(400, json=hdp_error(code, "Invalid DataSource Option: Foo"))
    with pytest.raises(errors.HdpRejected) as info:
        hdp_client._request("POST", "/api/mgmt/datasources", body={})
    err = info.value
    assert err.code == "222207002"
    assert err.delivery == "definite" and err.status == 400
    assert err.hdp_message == "Invalid DataSource Option: Foo"
    assert set(err.field_errors) == {"options"}


def test_400_name_charset_error_maps_to_name_field(router, hdp_client):
    router.post("/api/mgmt/oauthapps").respond(
        400, json=hdp_error(222299999, "Invalid name: only letters, digits and _ allowed")
    )
    with pytest.raises(errors.HdpRejected) as info:
        hdp_client._request("POST", "/api/mgmt/oauthapps", body={})
    assert list(info.value.field_errors) == ["name"]
    assert "letters, digits and _" in info.value.field_errors["name"]


def test_400_connection_type_code_maps_to_field(router, hdp_client):
    router.post("/api/mgmt/datasources").respond(400, json=hdp_error("222207010", "Missing 'connectionType'"))
    with pytest.raises(errors.HdpRejected) as info:
        hdp_client._request("POST", "/api/mgmt/datasources", body={})
    assert list(info.value.field_errors) == ["connectionType"]


@pytest.mark.parametrize("body", ["<html>Bad Request</html>", "", "{not json", '{"error": "flat string"}'])
def test_400_with_unreadable_body_is_rejected_without_code(router, hdp_client, body):
    router.post("/api/mgmt/datasources").respond(400, text=body)
    with pytest.raises(errors.HdpRejected) as info:
        hdp_client._request("POST", "/api/mgmt/datasources", body={})
    assert info.value.code is None and info.value.hdp_message is None
    assert info.value.field_errors == {}
    assert "HDP refused the request" in info.value.explanation and "HTTP 400" not in info.value.explanation


def test_409_is_rejected(router, hdp_client):
    router.post("/api/mgmt/oauthprofiles").respond(409, json=hdp_error(1, "name already exists"))
    with pytest.raises(errors.HdpRejected) as info:
        hdp_client._request("POST", "/api/mgmt/oauthprofiles", body={})
    assert info.value.status == 409
    assert "name" in info.value.field_errors


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_is_not_followed(router, hdp_client, status):
    target = router.get("/login").respond(200, json={"userId": 1})
    router.get("/api/mgmt/user").respond(status, headers={"Location": f"{BASE}/login"})
    with pytest.raises(errors.HdpProtocolError) as info:
        hdp_client.get_me()
    assert info.value.status == status
    assert info.value.delivery == "unknown"
    assert "HDP_BASE_URL" in info.value.explanation
    assert target.call_count == 0


def test_created_object_unreadable_is_protocol_error_with_unknown_delivery(router, hdp_client):
    from pydantic import SecretStr

    from portal.hdp.schemas import OAuthProfileCreate

    router.post("/api/mgmt/oauthprofiles").respond(201, text="<html>created</html>")
    body = OAuthProfileCreate(name="p", oauth_app_id=1, refresh_token=SecretStr("RT-SENTINEL-1"))
    with pytest.raises(errors.HdpProtocolError) as info:
        hdp_client.create_oauth_profile(body)
    assert info.value.delivery == "unknown"
    assert info.value.status == 201
    assert "not JSON" in info.value.explanation


def test_schema_mismatch_names_fields_but_never_values(router, hdp_client):
    router.get("/api/mgmt/oauthapps/5").respond(
        200, json={"id": "five", "name": "a", "dataStore": 54, "clientSecret": "CS-SENTINEL-2"}
    )
    with pytest.raises(errors.HdpProtocolError) as info:
        hdp_client.get_oauth_app(5)
    err = info.value
    assert "id" in err.explanation
    assert "CS-SENTINEL-2" not in str(err) and "CS-SENTINEL-2" not in repr(err)
    assert err.__cause__ is None and err.__suppress_context__


def test_list_without_envelope_is_protocol_error(router, hdp_client):
    router.get("/api/mgmt/datasources").respond(200, json=[{"id": 1, "name": "x", "dataStore": 1}])
    with pytest.raises(errors.HdpProtocolError) as info:
        hdp_client.list_datasources()
    assert "dataSources" in info.value.explanation


def test_str_never_contains_hdp_text_bodies_or_passwords(router, hdp_client):
    echoed = "Invalid DataSource Option: Password=DS-PW-SENTINEL"
    router.post("/api/mgmt/datasources").respond(400, json=hdp_error(222207002, echoed))
    with pytest.raises(errors.HdpRejected) as info:
        hdp_client._request("POST", "/api/mgmt/datasources", body={"options": {"Password": "DS-PW-SENTINEL"}})
    err = info.value
    assert err.hdp_message == echoed  # kept for escaped display, on purpose
    for text in (str(err), repr(err), *map(str, err.args)):
        assert "DS-PW-SENTINEL" not in text
        assert SVC_PASSWORD not in text
    assert str(err).startswith(
        "POST /api/mgmt/datasources, HTTP 400, HDP code 222207002, delivery=definite: "
    )


def test_error_tree_shape():
    assert issubclass(errors.HdpUnauthorized, errors.HdpAuthError)
    assert issubclass(errors.HdpForbidden, errors.HdpAuthError)
    for cls in (
        errors.HdpUnavailable,
        errors.HdpAuthError,
        errors.HdpNotFound,
        errors.HdpRejected,
        errors.HdpProtocolError,
    ):
        assert issubclass(cls, errors.HdpError)
    assert not issubclass(errors.HdpNotFound, errors.HdpRejected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (222207004, "222207004"),
        ("222207004", "222207004"),
        (" 7 ", "7"),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_normalise_code(raw, expected):
    assert errors.normalise_code(raw) == expected


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("An OAuth application named 'x' already exists in tenant 71", "name"),
        ("Missing 'dataStore' in payload", "dataStore"),
        ("'tenantId' of an OAuth application cannot be changed", "tenantId"),
        ("Missing 'refreshToken' in payload", "refreshToken"),
        ("Something else entirely", None),
    ],
)
def test_field_errors_are_read_from_hdp_text(router, hdp_client, text, field):
    router.post("/api/mgmt/oauthapps").respond(400, json=hdp_error(222200400, text))
    with pytest.raises(errors.HdpRejected) as info:
        hdp_client._request("POST", "/api/mgmt/oauthapps", body={})
    assert list(info.value.field_errors) == ([field] if field else [])
    for message in info.value.field_errors.values():
        assert "'x'" not in message  # plain words, never HDP's echo
