"""The sharing domain module (portal/onboarding/sharing.py): permission choices, request checks, the
order of HDP calls, and applying against the emulator in-process, including failures half-way."""

from __future__ import annotations

import pytest

from portal.hdp.client import HdpClient
from portal.hdp.errors import HdpRejected, HdpUnavailable
from portal.hdp.schemas import DataSourceCreate
from portal.onboarding import sharing
from portal.onboarding.sharing import (
    Access,
    Desired,
    Shares,
    SharingInputError,
    Step,
    TenantShare,
    UserShare,
    access_for,
    apply_shares,
    desired_from_request,
    drift,
    find_people,
    plan,
    read_shares,
    tenant_people,
)
from portal.sandbox.hdp import faults, passwords
from portal.sandbox.hdp.emulator import mock_transport
from portal.sandbox.hdp.models import HdpUser
from portal.sandbox.hdp.models import TenantShare as EmuTenantShare
from portal.sandbox.hdp.models import UserShare as EmuUserShare
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.sandbox import SVC_PASSWORD, SVC_USER

ACME = 71
Q = Access.QUERY.permissions
QV = Access.QUERY_AND_VIEW.permissions


# --- choices ---------------------------------------------------------------------------------------------


def test_choices_map_to_documented_permission_ids():
    assert Access.QUERY.permissions == {5, 6, 7}
    assert Access.QUERY_AND_VIEW.permissions == {2, 5, 6, 7}
    assert access_for([7, 6, 5]) is Access.QUERY
    assert access_for({2, 5, 6, 7}) is Access.QUERY_AND_VIEW
    assert access_for([2, 3, 5]) is None  # made in HDP directly: shown as is, not as a choice
    assert Access.QUERY.label == "Query the data"


# --- request checks --------------------------------------------------------------------------------------


def _request(**overrides):
    args = {
        "scope": "users",
        "users": [("12", "query")],
        "access": None,
        "owner_id": 10,
        "tenant_id": ACME,
        "tenant_user_ids": {10, 12, 13},
        "may_share_with_tenant": False,
    }
    return desired_from_request(**{**args, **overrides})


def test_valid_requests():
    assert _request() == Desired(users=((12, Access.QUERY),))
    assert _request(users=[(13, "query_and_view"), (12, "query")]).users == (
        (12, Access.QUERY),
        (13, Access.QUERY_AND_VIEW),
    )
    assert _request(scope="only_me", users=[]) == Desired()
    tenant = _request(scope="tenant", users=[], access="query", may_share_with_tenant=True)
    assert tenant == Desired(tenant=(ACME, Access.QUERY))
    assert tenant.as_shares() == Shares.of(tenants=[TenantShare(ACME, Q)])


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"users": [(99, "query")]}, "not a user of your tenant"),  # another tenant's user, or none
        ({"users": [("12; DROP", "query")]}, "not a user of your tenant"),
        ({"users": [(True, "query")]}, "not a user of your tenant"),
        ({"users": [(12, "query"), ("12", "query_and_view")]}, "chosen twice"),
        ({"users": [(12, "admin")]}, "Choose what they may do"),
        ({"users": [(10, "query")]}, "You own this data source"),
        ({"users": []}, "at least one person"),
        ({"scope": "tenant", "users": [], "access": "query"}, "Only an administrator"),
        ({"scope": "tenant", "access": "query", "may_share_with_tenant": True}, "not allow both"),
        ({"scope": "tenant", "users": [], "access": "all", "may_share_with_tenant": True}, "Choose what"),
        ({"scope": "only_me"}, "clear the chosen people"),
        ({"scope": "everyone"}, "Choose who can use it"),
    ],
)
def test_bad_requests_get_a_plain_sentence(overrides, needle):
    with pytest.raises(SharingInputError) as caught:
        _request(**overrides)
    assert needle in caught.value.message


# --- the order of calls ----------------------------------------------------------------------------------


def test_plan_for_people_removes_the_tenant_share_first_then_removals_then_changes_then_additions():
    current = Shares.of(users=[UserShare(12, Q), UserShare(13, Q)], tenants=[TenantShare(72, Q)])
    desired = Desired(users=((13, Access.QUERY_AND_VIEW), (14, Access.QUERY)))
    assert plan(current, desired) == [
        Step("unshare_tenant", 72),
        Step("unshare_user", 12),
        Step("update_user", 13, QV),
        Step("share_users", users=(UserShare(14, Q),)),
    ]


def test_plan_for_the_tenant_leaves_the_user_shares_inside_it_to_hdp():
    current = Shares.of(users=[UserShare(12, Q), UserShare(50, Q)], tenants=[TenantShare(72, Q)])
    steps = plan(current, Desired(tenant=(ACME, Access.QUERY)), tenant_user_ids={10, 12})
    assert steps == [Step("unshare_tenant", 72), Step("unshare_user", 50), Step("share_tenant", ACME, Q)]
    already = Shares.of(tenants=[TenantShare(ACME, Q)])
    assert plan(already, Desired(tenant=(ACME, Access.QUERY_AND_VIEW))) == [Step("update_tenant", ACME, QV)]
    assert plan(already, Desired(tenant=(ACME, Access.QUERY))) == []


def test_plan_for_only_me():
    current = Shares.of(users=[UserShare(12, Q)], tenants=[TenantShare(ACME, QV)])
    assert plan(current, Desired()) == [Step("unshare_tenant", ACME), Step("unshare_user", 12)]
    assert plan(Shares(), Desired()) == []


def test_drift_and_remembered_shares():
    portal_set = Shares.of(users=[UserShare(12, Q), UserShare(13, Q)])
    in_hdp = Shares.of(users=[UserShare(13, QV), UserShare(14, Q)])
    found = drift(portal_set, in_hdp)
    assert found.added == Shares.of(users=[UserShare(14, Q)])
    assert found.removed == Shares.of(users=[UserShare(12, Q)])
    assert found.changed == Shares.of(users=[UserShare(13, QV)])
    assert not found.none and drift(in_hdp, in_hdp).none
    assert Shares.from_dict(in_hdp.as_dict()) == in_hdp


# --- applying against the emulator -----------------------------------------------------------------------


@pytest.fixture
def world(db, settings):
    """Acme with its admin (the owner), acme_user and a second user; a data source of the admin."""
    settings.SANDBOX_FAULTS_ENABLED = True
    seed_demo()
    HdpUser.objects.create(
        user_name="acme_analyst", password=passwords.make("x-analyst-pw"), tenant_id=ACME, permissions=[11]
    )
    owner = HdpClient(
        "http://hdp", SVC_USER, SVC_PASSWORD, on_behalf_of="acme_admin", transport=mock_transport()
    )
    # A non-OAuth store: nothing else to set up.
    ds = owner.create_datasource(DataSourceCreate(name="acme_pg", data_store=1004, connection_type="Cloud"))
    ids = {u.user_name: u.pk for u in HdpUser.objects.all()}
    yield owner, ds.id, ids
    owner.close()


def test_apply_people_then_tenant_then_only_me(world):
    owner, ds, ids = world
    people = Desired(users=((ids["acme_user"], Access.QUERY), (ids["acme_analyst"], Access.QUERY_AND_VIEW)))
    result = apply_shares(owner, ds, people)
    assert result.ok and result.failed is None and result.before == Shares()
    assert result.after == people.as_shares() == read_shares(owner, ds)
    assert "exactly these shares" in result.message()

    tenant_users = {ids["acme_admin"], ids["acme_user"], ids["acme_analyst"]}
    whole = apply_shares(owner, ds, Desired(tenant=(ACME, Access.QUERY)), tenant_user_ids=tenant_users)
    assert whole.ok, whole.message()
    assert whole.done == (Step("share_tenant", ACME, Q),)  # HDP dropped the user shares itself
    assert whole.after == Shares.of(tenants=[TenantShare(ACME, Q)])

    back = apply_shares(owner, ds, people)
    assert back.ok and [s.kind for s in back.done] == ["unshare_tenant", "share_users"]

    private = apply_shares(owner, ds, Desired())
    assert private.ok and private.after == Shares() and private.after.only_owner
    assert not EmuUserShare.objects.exists() and not EmuTenantShare.objects.exists()


def test_the_people_of_the_tenant_by_name(world):
    owner, _ds, ids = world
    people = tenant_people(owner, ACME, exclude=ids["acme_admin"])
    assert [(p.name, p.user_id) for p in people] == [
        ("acme_analyst", ids["acme_analyst"]),
        ("acme_user", ids["acme_user"]),
    ]
    assert [p.name for p in find_people(people, " USER")] == ["acme_user"]
    assert find_people(people, "") == people


def test_labels_in_german_and_french():
    from django.utils import translation

    with translation.override("de"):
        assert Access.QUERY.label == "Die Daten abfragen"
    with translation.override("fr"):
        assert Access.QUERY_AND_VIEW.label == "Interroger les données et voir ses paramètres"


def test_unchanged_request_makes_no_write(world):
    owner, ds, ids = world
    desired = Desired(users=((ids["acme_user"], Access.QUERY),))
    assert apply_shares(owner, ds, desired).ok
    again = apply_shares(owner, ds, desired)
    assert again.ok and again.done == () and not again.changed


def test_a_failure_half_way_stops_and_reports_what_exists_now(world):
    owner, ds, ids = world
    apply_shares(owner, ds, Desired(users=((ids["acme_user"], Access.QUERY),)))
    faults.arm("POST", r"/api/mgmt/datasources/\d+/sharedUsers", "status", status=503, times=5)
    result = apply_shares(owner, ds, Desired(users=((ids["acme_analyst"], Access.QUERY),)))
    assert not result.ok
    assert result.done == (Step("unshare_user", ids["acme_user"]),)
    assert result.failed == Step("share_users", users=(UserShare(ids["acme_analyst"], Q),))
    assert isinstance(result.error, HdpUnavailable)
    assert result.after == Shares()  # read back: acme_user's share is gone, the analyst's was not added
    assert EmuUserShare.objects.count() == 0
    assert "did not try again" in result.message() and "HDP has now" in result.message()
    # Nothing was retried: the fault armed for five calls was used once.
    assert faults.clear() == 1


def test_an_unknown_outcome_is_read_back_not_retried(world):
    owner, ds, ids = world
    faults.arm("POST", r"/api/mgmt/datasources/\d+/sharedUsers", "commit_then_drop")
    result = apply_shares(owner, ds, Desired(users=((ids["acme_user"], Access.QUERY),)))
    assert isinstance(result.error, HdpUnavailable) and result.error.delivery == "unknown"
    assert result.after == Shares.of(users=[UserShare(ids["acme_user"], Q)])  # HDP did make it
    assert not result.ok and EmuUserShare.objects.count() == 1


def test_a_failed_first_read_changes_nothing(world):
    owner, ds, ids = world
    faults.arm("GET", r"/api/mgmt/datasources/\d+/sharedUsers", "status", status=500)
    result = apply_shares(owner, ds, Desired(users=((ids["acme_user"], Access.QUERY),)))
    assert result.before is None and result.done == () and result.failed is None
    assert isinstance(result.error, HdpUnavailable)
    assert "nothing was changed" in result.message()
    assert not EmuUserShare.objects.exists()


def test_a_failed_read_back_says_so(world, monkeypatch):
    owner, ds, ids = world
    faults.arm("POST", r"/api/mgmt/datasources/\d+/sharedUsers", "status", status=400)
    monkeypatch.setattr(sharing, "read_shares", _reads(Shares(), HdpUnavailable("HDP is down.")))
    result = apply_shares(owner, ds, Desired(users=((ids["acme_user"], Access.QUERY),)))
    assert isinstance(result.error, HdpRejected)
    assert result.after is None and isinstance(result.read_back_error, HdpUnavailable)
    assert "open this page again" in result.message()


def test_a_refused_change_is_reported_with_hdp_unchanged(world):
    owner, ds, ids = world
    faults.arm("POST", r"/api/mgmt/datasources/\d+/sharedUsers", "status", status=400)
    result = apply_shares(owner, ds, Desired(users=((ids["acme_user"], Access.QUERY),)))
    assert isinstance(result.error, HdpRejected) and result.after == Shares()
    assert not result.ok and not result.changed


def test_removing_a_share_already_gone_counts_as_done(world, monkeypatch):
    owner, ds, ids = world
    apply_shares(owner, ds, Desired(users=((ids["acme_user"], Access.QUERY),)))
    stale = read_shares(owner, ds)
    EmuUserShare.objects.all().delete()  # someone removed it in HDP meanwhile
    monkeypatch.setattr(sharing, "read_shares", _reads(stale, None))
    result = apply_shares(owner, ds, Desired())
    assert result.ok and result.done == (Step("unshare_user", ids["acme_user"]),)


def test_the_owner_rule_is_hdps(world):
    """A client acting for someone who does not own the data source changes nothing."""
    _owner, ds, ids = world
    other = HdpClient(
        "http://hdp", SVC_USER, SVC_PASSWORD, on_behalf_of="acme_user", transport=mock_transport()
    )
    result = apply_shares(other, ds, Desired(users=((ids["acme_analyst"], Access.QUERY),)))
    assert result.before is None and not result.ok
    assert not EmuUserShare.objects.exists()
    other.close()


def _reads(first: Shares, then: Exception | None):
    """``read_shares`` answering ``first`` once, then raising ``then`` (or reading HDP for real)."""
    calls = {"n": 0}
    real = read_shares

    def fake(client: HdpClient, datasource_id: int) -> Shares:
        calls["n"] += 1
        if calls["n"] == 1:
            return first
        if then is not None:
            raise then
        return real(client, datasource_id)

    return fake
