"""GET /api/v1/tenants and /tenants/{id}/findings: support staff only, the console's facts."""

from __future__ import annotations

import pytest

from portal.connections.status import State
from tests.helpers.api import make_setup, make_token, sign_in

pytestmark = pytest.mark.django_db


def get(client, path, token):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_support_staff_see_each_tenants_worst_status(client, acme, globex):
    make_setup(acme, name="acme_ok", state=State.WORKING)
    make_setup(acme, name="acme_broken", state=State.BROKEN)
    make_setup(globex, name="globex_ok", state=State.WORKING)
    staff = sign_in("support")
    token = make_token(staff, "support:read", support=True)
    answer = get(client, "/api/v1/tenants", token)
    assert answer.status_code == 200, answer.content
    rows = {t["id"]: t for t in answer.json()["items"]}
    assert rows[71]["worst_status"]["state"] == "broken" and rows[71]["completed"] == 2
    assert rows[71]["name"] == "Acme" and rows[71]["in_hdp"] is True
    assert rows[72]["worst_status"]["state"] == "working"
    assert rows[1]["worst_status"] is None  # HDP's System tenant: no setups


def test_findings_name_what_is_wrong_in_the_consoles_words(client, acme):
    run = make_setup(acme, name="acme_gone", state=State.BROKEN)  # its HDP ids do not exist in HDP
    token = make_token(sign_in("support"), "support:read", support=True)
    answer = get(client, "/api/v1/tenants/71/findings", token)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["tenant"]["id"] == 71 and body["complete"] is True
    mine = [f for f in body["items"] if f["setup_id"] == str(run.pk)]
    assert mine and all(f["text"] and f["action"] for f in mine)
    assert get(client, "/api/v1/tenants/999/findings", token).status_code == 404


def test_a_person_who_is_not_support_staff_gets_403_even_with_a_forged_scope(client, acme):
    from portal.api.models import ApiToken

    token = make_token(acme, "setups:read")
    ApiToken.objects.update(scopes=["support:read"])  # as if the scope had been granted
    answer = get(client, "/api/v1/tenants", token)
    assert answer.status_code == 403 and answer.json()["code"] == "not_support_staff"
    assert get(client, "/api/v1/tenants", make_token(acme, "setups:read")).status_code == 403
