"""HdpClient's sharing calls against the HDP emulator over real HTTP (pytest-django ``live_server``;
docs/hdp-api.md §12): the service account shares for the owner, the shared user sees the data source
with their own credentials, another user does not, and a tenant share replaces the user share."""

from __future__ import annotations

import pytest

from portal.hdp import errors
from portal.hdp.client import HdpClient
from portal.hdp.schemas import DataSourceCreate, SharedTenant, SharedUser
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.sandbox import PASSWORDS

ACME = 71
QUERY = [5, 6, 7]


@pytest.fixture
def connect(live_server, transactional_db, settings):
    seed_demo()
    base = live_server.url + "/sandbox/hdp"
    settings.HDP_TRANSPORT_FACTORY = None
    made: list[HdpClient] = []

    def make(user: str = "portal_svc", on_behalf_of: str | None = None) -> HdpClient:
        client = HdpClient(base, user, PASSWORDS[user], on_behalf_of=on_behalf_of)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_share_for_the_owner_then_the_tenant(connect):
    owner = connect(on_behalf_of="acme_admin")
    ds = owner.create_datasource(
        DataSourceCreate(name="acme_pg", data_store=1004, connection_type="Cloud", options={"User": "db"})
    )
    user_ids = {u.user_name: u.id for u in connect().list_users()}

    owner.share_with_users(ds.id, [SharedUser(user_id=user_ids["acme_user"], permissions=QUERY)])
    assert owner.list_shared_users(ds.id) == [SharedUser(user_id=user_ids["acme_user"], permissions=QUERY)]
    assert owner.get_shared_user(ds.id, user_ids["acme_user"]) == QUERY

    seen = connect("acme_user").list_datasources(include_shared=True)
    assert [(d.id, d.permissions, d.shared_by_another_user) for d in seen] == [(ds.id, QUERY, True)]
    assert connect("acme_user").list_datasources() == []  # not theirs: never adopted by name
    assert connect("globex_admin").list_datasources(include_shared=True) == []

    # A rule HDP documents: no user share inside a tenant the data source is shared with, and sharing
    # with the tenant removes the user shares in it.
    owner.share_with_tenants(ds.id, [SharedTenant(tenant_id=ACME, permissions=[2, *QUERY])])
    assert owner.list_shared_users(ds.id) == []
    assert owner.list_shared_tenants(ds.id) == [SharedTenant(tenant_id=ACME, permissions=[2, *QUERY])]
    with pytest.raises(errors.HdpRejected) as caught:
        owner.share_with_users(ds.id, [SharedUser(user_id=user_ids["acme_user"], permissions=QUERY)])
    assert "cannot also be shared" in (caught.value.hdp_message or "")
    shared = connect("acme_user").list_datasources(include_shared=True)
    assert [d.permissions for d in shared] == [[2, *QUERY]]

    owner.unshare_tenant(ds.id, ACME)
    assert connect("acme_user").list_datasources(include_shared=True) == []


def test_a_non_administrator_cannot_share_with_the_tenant(connect):
    owner = connect(on_behalf_of="acme_user")
    ds = owner.create_datasource(DataSourceCreate(name="mine", data_store=1004, connection_type="Cloud"))
    with pytest.raises(errors.HdpForbidden):
        owner.share_with_tenants(ds.id, [SharedTenant(tenant_id=ACME, permissions=QUERY)])
    assert owner.list_shared_tenants(ds.id) == []
