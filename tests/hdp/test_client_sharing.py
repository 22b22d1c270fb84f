"""HdpClient's sharing calls at the httpx boundary (respx; docs/hdp-api.md §12): paths, bodies,
``?user=`` for the owner, tolerant parsing, no retry of a write, errors mapped like every HDP call."""

from __future__ import annotations

import json

import httpx
import pytest

from portal.hdp import errors
from portal.hdp.schemas import SharedTenant, SharedUser

DS = "/api/mgmt/datasources/9"


def _error(code: int | str, text: str = "refused") -> dict:
    return {"error": {"code": code, "message": {"lang": "en-US", "value": text}}}


def test_list_shared_users_and_tenants_as_the_owner(router, make_client):
    users = router.get(f"{DS}/sharedUsers").respond(
        200,
        json={"sharedUsers": [{"userId": "88", "permissions": [2, "5"]}, {"userId": 89, "permissions": []}]},
    )
    tenants = router.get(f"{DS}/sharedTenants").respond(
        200, json={"sharedTenants": [{"tenantId": 71, "permissions": [5, 6, 7]}]}
    )
    hdp_client = make_client(on_behalf_of="acme_admin")
    assert hdp_client.list_shared_users(9) == [
        SharedUser(user_id=88, permissions=[2, 5]),
        SharedUser(user_id=89, permissions=[]),
    ]
    assert hdp_client.list_shared_tenants(9) == [SharedTenant(tenant_id=71, permissions=[5, 6, 7])]
    for route in (users, tenants):
        assert route.calls.last.request.url.params["user"] == "acme_admin"


def test_share_with_users_posts_the_documented_body(router, hdp_client):
    route = router.post(f"{DS}/sharedUsers").respond(201, json={"whatever": "HDP answers"})
    hdp_client.share_with_users(
        9,
        [SharedUser(user_id=88, permissions=[7, 5, 6, 5]), SharedUser(user_id=89, permissions=[2, 5, 6, 7])],
    )
    assert route.call_count == 1
    assert json.loads(route.calls.last.request.content) == {
        "sharedUsers": [{"userId": 88, "permissions": [5, 6, 7]}, {"userId": 89, "permissions": [2, 5, 6, 7]}]
    }


def test_share_with_tenants_posts_the_documented_body(router, hdp_client):
    route = router.post(f"{DS}/sharedTenants").respond(204)
    hdp_client.share_with_tenants(9, [SharedTenant(tenant_id=71, permissions=[5, 6, 7])])
    assert json.loads(route.calls.last.request.content) == {
        "sharedTenants": [{"tenantId": 71, "permissions": [5, 6, 7]}]
    }


def test_per_member_calls(router, hdp_client):
    get_user = router.get(f"{DS}/sharedUsers/88").respond(200, json={"permissions": ["2", 5]})
    put_user = router.put(f"{DS}/sharedUsers/88").respond(200)
    del_user = router.delete(f"{DS}/sharedUsers/88").respond(204)
    del_users = router.delete(f"{DS}/sharedUsers").respond(200, json={"success": True})
    get_tenant = router.get(f"{DS}/sharedTenants/71").respond(200, json={"permissions": [5]})
    put_tenant = router.put(f"{DS}/sharedTenants/71").respond(200, json={"permissions": [2, 5]})
    del_tenant = router.delete(f"{DS}/sharedTenants/71").respond(204)
    del_tenants = router.delete(f"{DS}/sharedTenants").respond(204)

    assert hdp_client.get_shared_user(9, 88) == [2, 5]
    hdp_client.update_shared_user(9, 88, [7, 2])
    hdp_client.unshare_user(9, 88)
    hdp_client.unshare_all_users(9)
    assert hdp_client.get_shared_tenant(9, 71) == [5]
    hdp_client.update_shared_tenant(9, 71, {5, 2})
    hdp_client.unshare_tenant(9, 71)
    hdp_client.unshare_all_tenants(9)

    assert json.loads(put_user.calls.last.request.content) == {"permissions": [2, 7]}
    assert json.loads(put_tenant.calls.last.request.content) == {"permissions": [2, 5]}
    for route in (get_user, put_user, del_user, del_users, get_tenant, put_tenant, del_tenant, del_tenants):
        assert route.call_count == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.share_with_users(9, []),
        lambda c: c.share_with_tenants(9, []),
        lambda c: c.update_shared_user(9, 88, []),
        lambda c: c.share_with_users(9, [SharedUser(user_id=88, permissions=[])]),
    ],
)
def test_empty_shares_are_refused_before_any_call(router, hdp_client, call):
    with pytest.raises(ValueError):
        call(hdp_client)
    assert not router.calls


def test_ids_must_be_integers(router, hdp_client):
    with pytest.raises(TypeError):
        hdp_client.unshare_user(9, "88?user=d2cadmin")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hdp_client.update_shared_user(9, 88, ["2"])  # type: ignore[list-item]
    assert not router.calls


def test_a_failed_share_is_not_retried_and_says_what_happened(router, hdp_client):
    route = router.post(f"{DS}/sharedUsers").respond(503, json=_error(222200503))
    with pytest.raises(errors.HdpUnavailable) as caught:
        hdp_client.share_with_users(9, [SharedUser(user_id=88, permissions=[5])])
    assert route.call_count == 1
    assert caught.value.delivery == "unknown"


def test_a_timeout_on_a_share_is_an_unknown_outcome(router, hdp_client):
    route = router.post(f"{DS}/sharedTenants").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(errors.HdpUnavailable) as caught:
        hdp_client.share_with_tenants(9, [SharedTenant(tenant_id=71, permissions=[5])])
    assert route.call_count == 1 and caught.value.delivery == "unknown"


def test_rule_violations_are_rejections_with_hdp_text_kept_apart(router, hdp_client):
    router.post(f"{DS}/sharedUsers").respond(
        400, json=_error(222200400, "The data source is shared with tenant 71: it cannot also be shared")
    )
    with pytest.raises(errors.HdpRejected) as caught:
        hdp_client.share_with_users(9, [SharedUser(user_id=88, permissions=[5])])
    assert caught.value.delivery == "definite"
    assert "cannot also be shared" in (caught.value.hdp_message or "")
    assert "cannot also be shared" not in str(caught.value)


def test_a_tenant_share_refused_for_a_non_administrator_names_the_needed_rights(router, make_client):
    router.post(f"{DS}/sharedTenants").respond(403, json=_error(222200403, "Only administrators"))
    hdp_client = make_client(on_behalf_of="acme_user")
    with pytest.raises(errors.HdpForbidden) as caught:
        hdp_client.share_with_tenants(9, [SharedTenant(tenant_id=71, permissions=[5])])
    assert "administrator rights on the tenant shared with" in caught.value.explanation


def test_unknown_data_source_is_not_found(router, hdp_client):
    router.get(f"{DS}/sharedUsers").respond(404, json=_error("222207004", "There is no DataSource"))
    with pytest.raises(errors.HdpNotFound):
        hdp_client.list_shared_users(9)


def test_unreadable_share_list_is_a_protocol_error(router, hdp_client):
    router.get(f"{DS}/sharedTenants").respond(200, json={"tenants": []})
    with pytest.raises(errors.HdpProtocolError):
        hdp_client.list_shared_tenants(9)


def test_datasource_sharing_flags_with_details(router, hdp_client):
    route = router.get("/api/mgmt/datasources").respond(
        200,
        json={
            "dataSources": [
                {
                    "id": 9,
                    "name": "sales",
                    "dataStore": 54,
                    "permissions": [5, 6, 7],
                    "sharedByAnotherUser": True,
                },
                {"id": 10, "name": "mine", "dataStore": 54, "sharedWithAnotherUser": True},
                {"id": 11, "name": "plain", "dataStore": 54},
            ]
        },
    )
    listed = hdp_client.list_datasources(include_shared=True)
    assert route.calls.last.request.url.params["details"] == "true"
    assert [(d.id, d.shared_by_another_user, d.shared_with_another_user) for d in listed] == [
        (9, True, False),
        (10, False, True),
        (11, False, False),
    ]
    assert listed[0].permissions == [5, 6, 7]
    # By default only the acting user's own: reconciling by name never meets someone else's data source.
    assert [d.id for d in hdp_client.list_datasources()] == [10, 11]
    router.get("/api/mgmt/datasources/9").respond(200, json={"id": 9, "name": "sales", "dataStore": 54})
    assert hdp_client.get_datasource(9, details=True).shared_by_another_user is False
