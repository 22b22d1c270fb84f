"""A repair that creates the deleted data source again offers to restore the shares the portal last saw,
after a confirmation that lists them (issue 20). Real views, the HDP emulator in-process."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.audit.models import AuditEntry
from portal.connections import checks
from portal.connections.models import ConnectionCheck
from portal.connections.status import Cause
from portal.sandbox.hdp import faults
from portal.sandbox.hdp.models import Fault, HdpUser
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.completed_setup import completed_setup, ids, sign_in, use_emulator
from tests.helpers.refreshing_provider import patch_provider


@pytest.fixture
def hdp(settings, db):
    client = use_emulator(settings)
    seed_demo()
    faults.clear()
    yield client
    faults.clear()


@pytest.fixture
def setup(client, hdp, monkeypatch):
    patch_provider(monkeypatch)
    sign_in(client)
    return completed_setup(hdp, "Acme_Rs")


def _share_with_acme_user(client, run) -> int:
    user_id = int(HdpUser.objects.get(user_name="acme_user").pk)
    response = client.post(
        reverse("connections:shares", args=[run.pk]),
        {"scope": "users", "user": [str(user_id)], f"access_{user_id}": "query"},
    )
    assert "Saved." in response.content.decode()
    return user_id


def _repair_deleted_datasource(client, run, hdp) -> str:
    hdp.delete_datasource(ids(run)["datasource"])  # HDP drops its shares with it
    assert (
        checks.run_check(run, hdp, trigger=ConnectionCheck.Trigger.MANUAL).cause == Cause.DATASOURCE_MISSING
    )
    response = client.post(reverse("connections:repair", args=[run.pk]), {"cause": "datasource_missing"})
    assert response.status_code == 303
    finish = client.get(response["Location"])
    assert finish.status_code == 200
    return finish.content.decode()


def test_a_recreated_data_source_gets_its_shares_back_after_a_confirmation(client, setup, hdp):
    user_id = _share_with_acme_user(client, setup)
    old_id = ids(setup)["datasource"]
    html = _repair_deleted_datasource(client, setup, hdp)
    new_id = ids(setup)["datasource"]
    assert new_id != old_id
    assert 'id="restore-shares-offer"' in html
    assert hdp.list_shared_users(new_id) == []  # nothing restored without the confirmation

    url = reverse("connections:repair-shares", args=[setup.pk])
    confirm = client.get(url).content.decode()
    assert "acme_user: Query the data" in confirm
    assert "reads Autonomous REST Connector as Sandbox Person" in confirm
    done = client.post(url).content.decode()
    assert "Saved. HDP now has exactly these shares." in done
    assert [(u.user_id, sorted(u.permissions)) for u in hdp.list_shared_users(new_id)] == [
        (user_id, [5, 6, 7])
    ]
    entry = AuditEntry.objects.filter(action="datasource.share", detail__change="restore").get()
    assert entry.detail["datasource_id"] == new_id and entry.detail["outcome"] == "ok"


def test_nothing_to_restore_when_the_portal_never_saw_it_shared(client, setup, hdp):
    html = _repair_deleted_datasource(client, setup, hdp)
    assert 'id="restore-shares-offer"' not in html
    response = client.post(reverse("connections:repair-shares", args=[setup.pk]))
    assert "There are no shares to restore" in response.content.decode()
    assert hdp.list_shared_users(ids(setup)["datasource"]) == []
    assert not AuditEntry.objects.filter(action="datasource.share", detail__change="restore").exists()


def test_restoring_half_way_says_which_shares_exist_now(client, setup, hdp):
    _share_with_acme_user(client, setup)
    client.post(
        reverse("connections:shares", args=[setup.pk]), {"scope": "tenant", "tenant_access": "query"}
    )  # now the whole tenant: restored with one POST of sharedTenants
    _repair_deleted_datasource(client, setup, hdp)
    faults.arm("POST", r"/api/mgmt/datasources/\d+/sharedTenants", "status", status=503, times=3)
    html = client.post(reverse("connections:repair-shares", args=[setup.pk])).content.decode()
    assert "HDP did not complete the change, and the portal did not try again." in html
    assert "Nobody: only you, the owner, can use this data source." in html
    assert Fault.objects.get().remaining == 2  # fired once: not retried
