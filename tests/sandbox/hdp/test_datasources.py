"""Data sources API and test connection (docs/hdp-api.md §4, §9)."""

from __future__ import annotations

from unittest import mock

import pytest

from portal.sandbox.hdp import errors, refresh
from portal.sandbox.hdp.models import DataSource, OAuthProfile
from tests.helpers.emulator import error_code, make_app, make_ds, make_profile


@pytest.fixture
def profile(emulator_admin):
    return make_profile(emulator_admin, make_app(emulator_admin)["id"])


def test_create_get_list(emulator_admin, profile):
    created = make_ds(emulator_admin, profile["id"], dataStore="54")
    assert created["dataStore"] == 54
    assert created["options"] == {"DefaultView": "12345", "OAuthProfileId": str(profile["id"])}
    assert emulator_admin.get(f"/api/mgmt/datasources/{created['id']}").json()["name"] == "ga_sales"
    listed = emulator_admin.get("/api/mgmt/datasources").json()
    assert [d["id"] for d in listed["dataSources"]] == [created["id"]]
    assert emulator_admin.get("/api/mgmt/datasources?type=group").json()["dataSources"] == []


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"connectionType": None}, errors.DS_MISSING_CONNECTION_TYPE),
        ({"connectionType": "Satellite"}, errors.DS_BAD_CONNECTION_TYPE),
        ({"connectionType": "Group"}, errors.DS_BAD_CONNECTION_TYPE),
        ({"options": {"NoSuchOption": "1"}}, errors.DS_INVALID_OPTION),
        ({"options": {"ODataVersion": "3"}}, errors.DS_INVALID_OPTION),
        ({"name": "1starts_with_digit"}, errors.BAD_REQUEST),
        ({"name": "has space"}, errors.BAD_REQUEST),
        ({"name": "a" * 129}, errors.BAD_REQUEST),
        ({"dataStore": 4242}, errors.BAD_REQUEST),
    ],
)
def test_create_validation(emulator_admin, overrides, code):
    body = {"name": "ds", "dataStore": 54, "connectionType": "Cloud", **overrides}
    body = {k: v for k, v in body.items() if v is not None}
    response = emulator_admin.post("/api/mgmt/datasources", json=body)
    assert response.status_code == 400, response.text
    assert error_code(response) == code
    assert not DataSource.objects.exists()


def test_name_with_dash_and_128_chars_is_accepted(emulator_admin):
    response = emulator_admin.post(
        "/api/mgmt/datasources",
        json={"name": "a-" + "b" * 126, "dataStore": 1004, "connectionType": "Hybrid"},
    )
    assert response.status_code == 201


def test_unknown_profile_reference(emulator_admin):
    response = emulator_admin.post(
        "/api/mgmt/datasources",
        json={"name": "ds", "dataStore": 54, "connectionType": "Cloud", "options": {"OAuthProfileId": "77"}},
    )
    assert response.status_code == 404
    assert error_code(response) == errors.INVALID_PROFILE_ID


def test_names_unique_per_owner(emulator_as, emulator_admin):
    body = {"name": "test", "dataStore": 1004, "connectionType": "Cloud"}
    assert emulator_admin.post("/api/mgmt/datasources", json=body).status_code == 201
    duplicate = emulator_admin.post("/api/mgmt/datasources", json=body)
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.json()["error"]["message"]["value"]
    assert emulator_as("d2cuser").post("/api/mgmt/datasources", json=body).status_code == 201


def test_unknown_ids(emulator_admin):
    missing = emulator_admin.get("/api/mgmt/datasources/9999")
    assert missing.status_code == 404
    assert error_code(missing) == errors.DS_NOT_FOUND
    invalid = emulator_admin.get("/api/mgmt/datasources/abc")
    assert invalid.status_code == 404
    assert error_code(invalid) == errors.DS_INVALID_ID


def test_other_users_data_source_is_not_found(emulator_as, emulator_admin, profile):
    ds = make_ds(emulator_admin, profile["id"])
    assert emulator_as("d2cuser").get(f"/api/mgmt/datasources/{ds['id']}").status_code == 404


def test_put_is_a_full_replace_and_connection_type_is_immutable(emulator_admin, profile):
    ds = make_ds(emulator_admin, profile["id"])
    replaced = emulator_admin.put(
        f"/api/mgmt/datasources/{ds['id']}",
        json={
            "id": ds["id"],
            "name": "ga_sales",
            "dataStore": 54,
            "connectionType": "Cloud",
            "options": {"StartDate": "2024-01-01"},
        },
    )
    assert replaced.status_code == 200
    assert replaced.json()["options"] == {"StartDate": "2024-01-01"}
    changed = emulator_admin.put(
        f"/api/mgmt/datasources/{ds['id']}", json={"name": "ga_sales", "connectionType": "Hybrid"}
    )
    assert changed.status_code == 400
    assert error_code(changed) == errors.DS_CONNECTION_TYPE_IMMUTABLE
    store = emulator_admin.put(f"/api/mgmt/datasources/{ds['id']}", json={"name": "ga_sales", "dataStore": 1})
    assert store.status_code == 400


def test_modify_and_delete_permissions(emulator_as):
    support = emulator_as("support")  # 2, 11, 14, 25: view only
    assert support.get("/api/mgmt/datasources").status_code == 200
    response = support.post(
        "/api/mgmt/datasources", json={"name": "x", "dataStore": 1004, "connectionType": "Cloud"}
    )
    assert response.status_code == 403
    assert error_code(response) == errors.FORBIDDEN


def test_delete_returns_204_with_success_body(emulator_admin):
    """HDP "Delete a data source": 204 and the sample body {"success": true}."""
    ds = emulator_admin.post(
        "/api/mgmt/datasources", json={"name": "x", "dataStore": 1004, "connectionType": "Cloud"}
    ).json()
    response = emulator_admin.delete(f"/api/mgmt/datasources/{ds['id']}")
    assert response.status_code == 204
    assert response.json() == {"success": True}
    assert not DataSource.objects.exists()


# --- test connection -------------------------------------------------------------------------------


def test_chain_success_stores_rotated_tokens(emulator_admin, profile):
    ds = make_ds(emulator_admin, profile["id"])
    tokens = {"access_token": "at-new", "refresh_token": "rt-new", "token_type": "Bearer"}
    with mock.patch.object(refresh, "refresh_with_provider", return_value=tokens) as refresher:
        response = emulator_admin.post(f"/api/mgmt/datasources/{ds['id']}/test", json={})
    assert response.status_code == 200
    assert response.json() == {"success": True}
    refresher.assert_called_once_with("https://oauth2.example.com/token", "client-123", "secret-456", "rt-1")
    stored = OAuthProfile.objects.get(pk=profile["id"])
    assert (stored.access_token, stored.refresh_token) == ("at-new", "rt-new")


def test_chain_keeps_refresh_token_when_provider_does_not_rotate(emulator_admin, profile):
    ds = make_ds(emulator_admin, profile["id"])
    with mock.patch.object(refresh, "refresh_with_provider", return_value={"access_token": "at-2"}):
        assert emulator_admin.post(f"/api/mgmt/datasources/{ds['id']}/test").status_code == 200
    assert OAuthProfile.objects.get(pk=profile["id"]).refresh_token == "rt-1"


def test_chain_invalid_grant(emulator_admin, profile):
    ds = make_ds(emulator_admin, profile["id"])
    failure = refresh.RefreshError("the provider said invalid_grant")
    with mock.patch.object(refresh, "refresh_with_provider", side_effect=failure):
        response = emulator_admin.post(f"/api/mgmt/datasources/{ds['id']}/test", json={})
    assert response.status_code == 400
    assert error_code(response) == errors.DS_CONNECT_FAILED
    assert "invalid_grant" in response.json()["error"]["message"]["value"]
    assert OAuthProfile.objects.get(pk=profile["id"]).access_token == "at-1"


def test_chain_missing_profile(emulator_admin, profile):
    ds = make_ds(emulator_admin, profile["id"])
    OAuthProfile.objects.filter(pk=profile["id"]).delete()  # behind the API's back: a dangling reference
    with mock.patch.object(refresh, "refresh_with_provider") as refresher:
        response = emulator_admin.post(f"/api/mgmt/datasources/{ds['id']}/test", json={})
    assert response.status_code == 400
    assert error_code(response) == errors.DS_CONNECT_FAILED
    assert f"OAuth profile {profile['id']} does not exist" in response.json()["error"]["message"]["value"]
    refresher.assert_not_called()


def test_chain_no_profile_option(emulator_admin):
    ds = make_ds(emulator_admin)
    response = emulator_admin.post(f"/api/mgmt/datasources/{ds['id']}/test")
    assert response.status_code == 400
    assert "no OAuthProfileId" in response.json()["error"]["message"]["value"]


def test_non_oauth_store_needs_required_options(emulator_admin):
    body = {
        "name": "pg",
        "dataStore": 1004,
        "connectionType": "Hybrid",
        "options": {"ServerName": "db.local"},
    }
    ds = emulator_admin.post("/api/mgmt/datasources", json=body).json()
    failing = emulator_admin.post(f"/api/mgmt/datasources/{ds['id']}/test")
    assert failing.status_code == 400
    assert "Database" in failing.json()["error"]["message"]["value"]
    body["options"]["Database"] = "sales"
    assert emulator_admin.put(f"/api/mgmt/datasources/{ds['id']}", json=body).status_code == 200
    assert emulator_admin.post(f"/api/mgmt/datasources/{ds['id']}/test").json() == {"success": True}


def test_refresh_with_provider_against_a_mock_token_endpoint(monkeypatch):
    import httpx

    seen = {}

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers["Authorization"]
        seen["body"] = request.content.decode()
        if "rt-good" in seen["body"]:
            return httpx.Response(200, json={"access_token": "fresh"})
        return httpx.Response(400, json={"error": "invalid_grant"})

    real_client = httpx.Client
    monkeypatch.setattr(
        refresh.httpx,
        "Client",
        lambda **kw: real_client(transport=httpx.MockTransport(token_endpoint), **kw),
    )
    assert refresh.refresh_with_provider("https://p/token", "cid", "sec", "rt-good") == {
        "access_token": "fresh"
    }
    assert seen["auth"].startswith("Basic ")
    assert "grant_type=refresh_token" in seen["body"]
    with pytest.raises(refresh.RefreshError, match="invalid_grant"):
        refresh.refresh_with_provider("https://p/token", "cid", "sec", "rt-bad")


def test_refresh_with_provider_unreachable():
    with pytest.raises(refresh.RefreshError, match="unreachable"):
        refresh.refresh_with_provider("http://127.0.0.1:9/token", "cid", "sec", "rt")


def test_data_source_lists_read_the_shared_flags_in_their_own_query(emulator_as, emulator_admin):
    """Listing a user's data sources costs the same number of queries at 3 and at 13 data sources, and
    each still carries ``sharedWithAnotherUser`` exactly when it is shared with a user or a tenant."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from portal.sandbox.hdp.models import DataSource, HdpUser, Tenant, TenantShare, UserShare

    owner = HdpUser.objects.get(user_name="acme_admin")
    other = (
        HdpUser.objects.exclude(pk=owner.pk).filter(tenant=owner.tenant).first()
        or HdpUser.objects.exclude(pk=owner.pk).first()
    )
    assert other is not None
    own = emulator_as("acme_admin")
    paths = ("/api/mgmt/datasources?details=true", f"/api/admin/users/{owner.pk}/datasources")

    def listed() -> tuple[list[int], dict[str, dict[int, bool]]]:
        counts, flags = [], {}
        for path, client in zip(paths, (own, emulator_admin), strict=True):
            with CaptureQueriesContext(connection) as queries:
                body = client.get(path).json()["dataSources"]
            counts.append(len(queries.captured_queries))
            flags[path] = {d["id"]: d.get("sharedWithAnotherUser", False) for d in body}
        return counts, flags

    def add(n: int) -> list[DataSource]:
        start = DataSource.objects.filter(owner=owner).count()
        return [
            DataSource.objects.create(
                name=f"flag_{start + i}", owner=owner, data_store=54, connection_type="GA"
            )
            for i in range(n)
        ]

    first = add(3)
    UserShare.objects.create(data_source=first[0], user=other, permissions=[5, 6, 7])
    TenantShare.objects.create(
        data_source=first[1], tenant=Tenant.objects.exclude(pk=owner.tenant_id).first()
    )
    few, flags = listed()
    for shown in flags.values():
        assert shown[first[0].pk] and shown[first[1].pk] and not shown[first[2].pk]
    add(10)
    many, flags = listed()
    assert many == few
    for shown in flags.values():
        assert sum(shown.values()) == 2 and len(shown) >= 13
