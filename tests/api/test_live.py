"""The API over real HTTP against the running portal, which reaches the HDP emulator over real HTTP too."""

from __future__ import annotations

from io import StringIO

import httpx
import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from portal.connections import health
from portal.connections.models import ConnectionCheck
from portal.connections.status import State
from tests.helpers.api import make_setup, sign_in


def test_the_api_end_to_end(api_live):
    acme, globex = sign_in("acme_admin"), sign_in("globex_admin")  # real sign-ins against HDP over HTTP
    broken = make_setup(acme, name="acme_broken", state=State.NEEDS_RECONNECT)
    make_setup(acme, name="acme_fine", state=State.WORKING)
    make_setup(acme, name="acme_new", state=None)
    theirs = make_setup(globex, name="globex_ds", state=State.NEEDS_RECONNECT)
    out = StringIO()
    call_command(
        "api_token", "create", "--user", "acme_admin", "--scope", "setups:read", "--scope", "setups:check",
        "--expires-in-days", "1", stdout=out,
    )  # fmt: skip
    token = out.getvalue().strip()
    with httpx.Client(base_url=api_live, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        listed = api.get("/api/v1/setups", params={"status": "needs_reconnect"})
        assert listed.status_code == 200, listed.text
        assert [s["id"] for s in listed.json()["items"]] == [str(broken.pk)]

        path = f"/api/v1/setups/{broken.pk}/checks"
        answers = [api.post(path, headers={"Idempotency-Key": "live-1"}) for _ in range(3)]
        assert [a.status_code for a in answers] == [202, 202, 202]
        assert len({a.headers["Location"] for a in answers}) == 1
        assert ConnectionCheck.objects.filter(run=broken, trigger="manual").count() == 1
        assert DBTaskResult.objects.count() == 1
        check_id = answers[0].json()["id"]
        health.run_queued_check.call(check_id)  # what a worker does with the queued task
        polled = api.get(answers[0].headers["Location"]).json()
        assert polled["progress"] == "finished" and polled["state"] == "broken"  # its ids are not in HDP

        other = api.get(f"/api/v1/setups/{theirs.pk}")
        assert other.status_code == 404 and other.headers["Content-Type"] == "application/problem+json"

        call_command("api_token", "revoke", str(acme.api_tokens.get().pk), stdout=StringIO())
        revoked = api.get("/api/v1/setups")
        assert revoked.status_code == 401 and revoked.json()["code"] == "invalid_token"


@pytest.mark.parametrize("path", ["/api/v1/openapi.json"])
def test_the_live_schema_is_a_valid_openapi_3_1_document(api_live, path):
    from openapi_spec_validator import validate

    document = httpx.get(api_live + path, timeout=30).json()
    validate(document)
    assert document["openapi"].startswith("3.1") and document["webhooks"]
