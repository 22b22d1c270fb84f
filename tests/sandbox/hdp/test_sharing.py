"""Sharing a data source in the emulator (docs/hdp-api.md §12): sharedUsers and sharedTenants, HDP's
sharing rules, HDP-style errors for a broken rule, and what a shared user's data-source calls show."""

from __future__ import annotations

import httpx
import pytest

from portal.sandbox.hdp import errors, passwords
from portal.sandbox.hdp.emulator import mock_transport
from portal.sandbox.hdp.models import HdpUser, TenantShare, UserShare
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.sandbox import PASSWORDS

ACME, GLOBEX = 71, 72
QUERY = [5, 6, 7]
QUERY_AND_VIEW = [2, 5, 6, 7]
ANALYST_PASSWORD = "acme-analyst-test-pw"


# ``emulator_as`` as tests/emulator/conftest.py defines it (moving to tests/helpers): defined here too so
# this module runs before that move; a shared fixture of the same name makes this copy removable.
@pytest.fixture
def emulator_as(db):
    seed_demo()
    clients: list[httpx.Client] = []

    def make(user: str = "d2cadmin", password: str | None = None) -> httpx.Client:
        client = httpx.Client(
            transport=mock_transport(), base_url="http://hdp", auth=(user, password or PASSWORDS[user])
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def analyst(emulator_as) -> HdpUser:
    """A second user of Acme (the seed has one): may query and use the Management API."""
    return HdpUser.objects.create(
        user_name="acme_analyst",
        password=passwords.make(ANALYST_PASSWORD),
        tenant_id=ACME,
        permissions=[2, 5, 6, 7, 11],
    )


def _id(user_name: str) -> int:
    return HdpUser.objects.get(user_name=user_name).pk


def _error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]["lang"] == "en-US"
    return body["error"]["code"], body["error"]["message"]["value"]


def _make_ds(client: httpx.Client, name: str = "acme_pg") -> int:
    response = client.post(
        "/api/mgmt/datasources",
        json={"name": name, "dataStore": 1004, "connectionType": "Cloud", "options": {"User": "db"}},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def owner(emulator_as) -> httpx.Client:
    return emulator_as("acme_admin")


@pytest.fixture
def ds(owner) -> int:
    return _make_ds(owner)


def _share_users(client: httpx.Client, ds_id: int, *entries: tuple[int, list[int]]) -> httpx.Response:
    body = {"sharedUsers": [{"userId": uid, "permissions": perms} for uid, perms in entries]}
    return client.post(f"/api/mgmt/datasources/{ds_id}/sharedUsers", json=body)


def _share_tenant(client: httpx.Client, ds_id: int, tenant: int, perms: list[int]) -> httpx.Response:
    body = {"sharedTenants": [{"tenantId": tenant, "permissions": perms}]}
    return client.post(f"/api/mgmt/datasources/{ds_id}/sharedTenants", json=body)


# --- sharedUsers: list, create, get, update, delete ------------------------------------------------------


def test_user_share_lifecycle(owner, ds, analyst):
    base = f"/api/mgmt/datasources/{ds}/sharedUsers"
    assert owner.get(base).json() == {"sharedUsers": []}
    acme_user = _id("acme_user")

    created = _share_users(owner, ds, (analyst.pk, ["7", 5, 6]), (acme_user, QUERY_AND_VIEW))
    assert created.status_code == 201, created.text
    expected = [
        {"userId": analyst.pk, "permissions": QUERY},
        {"userId": acme_user, "permissions": QUERY_AND_VIEW},
    ]
    assert sorted(created.json()["sharedUsers"], key=lambda s: s["userId"]) == sorted(
        expected, key=lambda s: s["userId"]
    )
    assert sorted(owner.get(base).json()["sharedUsers"], key=lambda s: s["userId"]) == sorted(
        expected, key=lambda s: s["userId"]
    )
    assert owner.get(f"{base}/{analyst.pk}").json() == {"permissions": QUERY}

    updated = owner.put(f"{base}/{analyst.pk}", json={"permissions": QUERY_AND_VIEW})
    assert updated.status_code == 200
    assert owner.get(f"{base}/{analyst.pk}").json() == {"permissions": QUERY_AND_VIEW}

    assert owner.delete(f"{base}/{analyst.pk}").status_code == 204
    assert [s["userId"] for s in owner.get(base).json()["sharedUsers"]] == [acme_user]
    gone = owner.get(f"{base}/{analyst.pk}")
    assert gone.status_code == 404 and _error(gone)[0] == errors.NOT_FOUND

    assert owner.delete(base).status_code == 204
    assert owner.get(base).json() == {"sharedUsers": []}


def test_a_shared_user_lists_the_data_source_with_the_share_permissions_and_others_do_not(
    emulator_as, owner, ds, analyst
):
    assert _share_users(owner, ds, (analyst.pk, QUERY)).status_code == 201
    shared = emulator_as("acme_analyst", ANALYST_PASSWORD)

    listed = shared.get("/api/mgmt/datasources").json()["dataSources"]
    assert [(d["id"], d["name"], d["permissions"]) for d in listed] == [(ds, "acme_pg", QUERY)]
    assert "options" not in listed[0]  # query only: no connection information
    assert "sharedByAnotherUser" not in listed[0]  # the flags come with ?details=true only
    detailed = shared.get("/api/mgmt/datasources", params={"details": "true"}).json()["dataSources"]
    assert detailed[0]["sharedByAnotherUser"] is True

    own = owner.get("/api/mgmt/datasources", params={"details": "true"}).json()["dataSources"]
    assert own[0]["sharedWithAnotherUser"] is True and "sharedByAnotherUser" not in own[0]

    for other in ("acme_user", "globex_admin", "d2cuser"):
        assert emulator_as(other).get("/api/mgmt/datasources").json()["dataSources"] == []
        assert emulator_as(other).get(f"/api/mgmt/datasources/{ds}").status_code == 404


def test_a_shared_user_reads_and_acts_only_as_far_as_the_share_grants(emulator_as, owner, ds, analyst):
    assert _share_users(owner, ds, (analyst.pk, QUERY)).status_code == 201
    shared = emulator_as("acme_analyst", ANALYST_PASSWORD)
    denied = shared.get(f"/api/mgmt/datasources/{ds}")
    assert denied.status_code == 403 and _error(denied)[0] == errors.FORBIDDEN
    assert shared.delete(f"/api/mgmt/datasources/{ds}").status_code == 403

    owner.put(f"/api/mgmt/datasources/{ds}/sharedUsers/{analyst.pk}", json={"permissions": QUERY_AND_VIEW})
    read = shared.get(f"/api/mgmt/datasources/{ds}", params={"details": "true"})
    assert read.status_code == 200
    assert read.json()["permissions"] == QUERY_AND_VIEW
    assert read.json()["options"] == {"User": "db"}
    assert read.json()["sharedByAnotherUser"] is True
    # A shared user cannot manage the shares: only the owner (or someone acting for them) can.
    assert shared.get(f"/api/mgmt/datasources/{ds}/sharedUsers").status_code == 404


def test_deleting_the_data_source_ends_its_shares(emulator_as, owner, ds, analyst):
    _share_users(owner, ds, (analyst.pk, QUERY))
    assert owner.delete(f"/api/mgmt/datasources/{ds}").status_code == 204
    assert not UserShare.objects.exists()
    assert emulator_as("acme_analyst", ANALYST_PASSWORD).get("/api/mgmt/datasources").json() == {
        "dataSources": []
    }


@pytest.mark.parametrize(
    ("permissions", "needle"),
    [
        ([10], "SQLEditor (10) cannot be set on a shared data source"),
        ([5, 9], "Invalid data source permission(s)"),
        ([], "must be a non-empty list"),
        ("5", "must be a non-empty list"),
    ],
)
def test_share_permissions_are_checked(owner, ds, analyst, permissions, needle):
    response = _share_users(owner, ds, (analyst.pk, permissions))
    assert response.status_code == 400
    code, text = _error(response)
    assert code == errors.BAD_REQUEST and needle in text
    assert not UserShare.objects.exists()


def test_a_list_is_all_or_nothing_and_rejects_the_same_user_twice(owner, ds, analyst):
    twice = _share_users(owner, ds, (analyst.pk, QUERY), (analyst.pk, QUERY_AND_VIEW))
    assert twice.status_code == 400 and "more than once" in _error(twice)[1]
    bad_second = _share_users(owner, ds, (analyst.pk, QUERY), (_id("acme_user"), [10]))
    assert bad_second.status_code == 400
    assert not UserShare.objects.exists()


def test_users_out_of_reach_are_refused_alike(owner, ds):
    """A user of a tenant the owner does not administer and a user id that does not exist get the same
    answer, so the API cannot be used to find out which ids exist elsewhere."""
    other_tenant = _share_users(owner, ds, (_id("globex_admin"), QUERY))
    missing = _share_users(owner, ds, (99999, QUERY))
    assert other_tenant.status_code == missing.status_code == 400
    assert "that this data source can be shared with" in _error(other_tenant)[1]
    assert _error(other_tenant)[1].replace(str(_id("globex_admin")), "N") == _error(missing)[1].replace(
        "99999", "N"
    )
    itself = _share_users(owner, ds, (_id("acme_admin"), QUERY))
    assert itself.status_code == 400 and "its owner" in _error(itself)[1]


def test_an_existing_share_is_changed_with_put_not_post(owner, ds, analyst):
    assert _share_users(owner, ds, (analyst.pk, QUERY)).status_code == 201
    again = _share_users(owner, ds, (analyst.pk, QUERY_AND_VIEW))
    assert again.status_code == 400 and "use PUT" in _error(again)[1]
    assert owner.get(f"/api/mgmt/datasources/{ds}/sharedUsers/{analyst.pk}").json() == {"permissions": QUERY}


def test_the_service_account_manages_shares_for_the_owner(emulator_as, ds, analyst):
    svc = emulator_as("portal_svc")
    base = f"/api/mgmt/datasources/{ds}/sharedUsers"
    assert svc.get(base).status_code == 404  # not the service account's data source
    created = svc.post(
        base,
        params={"user": "acme_admin"},
        json={"sharedUsers": [{"userId": analyst.pk, "permissions": QUERY}]},
    )
    assert created.status_code == 201
    assert svc.get(base, params={"user": "acme_admin"}).json()["sharedUsers"] == [
        {"userId": analyst.pk, "permissions": QUERY}
    ]
    # Acting for someone who is not the owner changes nothing.
    assert svc.delete(f"{base}/{analyst.pk}", params={"user": "acme_user"}).status_code == 404
    assert UserShare.objects.count() == 1


def test_sharing_needs_the_owner_permissions(emulator_as, analyst):
    """The analyst owns nothing and lacks ModifyDataSource (3): 403 before anything else."""
    owner = emulator_as("acme_admin")
    ds = _make_ds(owner)
    shared = emulator_as("acme_analyst", ANALYST_PASSWORD)
    response = _share_users(shared, ds, (_id("acme_user"), QUERY))
    assert response.status_code == 403 and "ModifyDataSource (3)" in _error(response)[1]


# --- sharedTenants --------------------------------------------------------------------------------------


def test_tenant_share_lifecycle_and_it_replaces_the_user_shares_in_that_tenant(
    emulator_as, owner, ds, analyst
):
    assert _share_users(owner, ds, (analyst.pk, QUERY)).status_code == 201
    base = f"/api/mgmt/datasources/{ds}/sharedTenants"
    assert owner.get(base).json() == {"sharedTenants": []}

    created = _share_tenant(owner, ds, ACME, QUERY_AND_VIEW)
    assert created.status_code == 201, created.text
    assert created.json() == {"sharedTenants": [{"tenantId": ACME, "permissions": QUERY_AND_VIEW}]}
    # HDP: "the shared users are removed from the data source"; they keep access through the tenant.
    assert owner.get(f"/api/mgmt/datasources/{ds}/sharedUsers").json() == {"sharedUsers": []}
    for user, password in (("acme_analyst", ANALYST_PASSWORD), ("acme_user", None)):
        listed = emulator_as(user, password).get("/api/mgmt/datasources").json()["dataSources"]
        assert [(d["id"], d["permissions"]) for d in listed] == [(ds, QUERY_AND_VIEW)]
    assert emulator_as("globex_admin").get("/api/mgmt/datasources").json()["dataSources"] == []

    assert owner.get(f"{base}/{ACME}").json() == {"permissions": QUERY_AND_VIEW}
    assert owner.put(f"{base}/{ACME}", json={"permissions": QUERY}).status_code == 200
    assert owner.get(f"{base}/{ACME}").json() == {"permissions": QUERY}
    assert owner.delete(f"{base}/{ACME}").status_code == 204
    assert owner.get(base).json() == {"sharedTenants": []}
    assert emulator_as("acme_user").get("/api/mgmt/datasources").json()["dataSources"] == []

    assert _share_tenant(owner, ds, ACME, QUERY).status_code == 201
    assert owner.delete(base).status_code == 204
    assert not TenantShare.objects.exists()


def test_no_user_share_inside_a_shared_tenant(owner, ds, analyst):
    assert _share_tenant(owner, ds, ACME, QUERY).status_code == 201
    response = _share_users(owner, ds, (analyst.pk, QUERY_AND_VIEW))
    assert response.status_code == 400
    code, text = _error(response)
    assert code == errors.BAD_REQUEST and "cannot also be shared" in text
    assert not UserShare.objects.exists()


def test_only_administrators_share_with_a_tenant(emulator_as):
    user = emulator_as("acme_user")  # no administrative access to any tenant
    ds = _make_ds(user, "mine")
    response = _share_tenant(user, ds, ACME, QUERY)
    assert response.status_code == 403
    code, text = _error(response)
    assert code == errors.FORBIDDEN and "Only administrators" in text
    assert not TenantShare.objects.exists()


def test_a_tenant_administrator_shares_only_with_tenants_they_administer(owner, ds):
    response = _share_tenant(owner, ds, GLOBEX, QUERY)
    assert response.status_code == 403 and "does not administer tenant 72" in _error(response)[1]


def test_unknown_tenant_and_tenant_permissions(owner, ds):
    missing = _share_tenant(owner, ds, 4242, QUERY)
    assert missing.status_code == 404 and _error(missing)[0] == errors.TENANT_NOT_FOUND
    sql_editor = _share_tenant(owner, ds, ACME, [5, 10])
    assert sql_editor.status_code == 400 and "SQLEditor" in _error(sql_editor)[1]
    assert not TenantShare.objects.exists()


def test_share_paths_of_an_unknown_data_source(owner):
    for path in ("/api/mgmt/datasources/9999/sharedUsers", "/api/mgmt/datasources/9999/sharedTenants/71"):
        response = owner.get(path)
        assert response.status_code == 404 and _error(response)[0] == errors.DS_NOT_FOUND
