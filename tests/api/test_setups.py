"""GET /api/v1/setups and /setups/{id}: what My setups says, only the person's own, as problem+json on errors."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.connections import checks
from portal.connections.status import State
from tests.helpers.api import expire, make_setup, make_token

pytestmark = pytest.mark.django_db


def get(client, path, token, **params):
    return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_setup_says_what_my_setups_says(client, acme):
    run = make_setup(acme, state=State.NEEDS_RECONNECT)
    token = make_token(acme, "setups:read")
    answer = get(client, f"/api/v1/setups/{run.pk}", token)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    shown = checks.status_for(run)
    assert body["status"]["state"] == shown.state == "needs_reconnect"
    assert body["status"]["cause"] == "refresh_refused"
    assert body["status"]["cause_text"] == "The provider refused to refresh the sign-in"
    assert body["status"]["checked_at"]
    assert body["tenant"] == {"id": 71, "name": acme.hdp_tenant_name}
    assert body["data_source"] == {"name": "acme_ga", "hdp_id": 301}
    assert body["oauth_profile"]["hdp_id"] == 201 and body["oauth_application"]["hdp_id"] == 101
    assert body["provider_account"] == "Ada Lovelace"
    assert body["granted_scopes"] == ["openid", "offline_access", "read"]
    assert body["owner"] == "acme_admin"
    text = answer.content.decode()
    for secret in ("secret", "refresh_token", "access_token", "password"):
        assert secret not in text


def test_the_list_filters_by_status_and_pages_with_a_stable_cursor(client, acme):
    broken = make_setup(acme, name="ds_broken", state=State.NEEDS_RECONNECT)
    working = [make_setup(acme, name=f"ds_{i}") for i in range(5)]
    token = make_token(acme, "setups:read")
    only = get(client, "/api/v1/setups", token, status="needs_reconnect").json()
    assert [s["id"] for s in only["items"]] == [str(broken.pk)]
    first = get(client, "/api/v1/setups", token, limit=2).json()
    assert [s["id"] for s in first["items"]] == [str(working[4].pk), str(working[3].pk)]
    make_setup(acme, name="ds_new")  # inserted while the client pages
    second = get(client, "/api/v1/setups", token, limit=2, cursor=first["next_cursor"]).json()
    assert [s["id"] for s in second["items"]] == [str(working[2].pk), str(working[1].pk)]
    rest = get(client, "/api/v1/setups", token, limit=100, cursor=second["next_cursor"]).json()
    assert [s["id"] for s in rest["items"]] == [str(working[0].pk), str(broken.pk)]
    assert rest["next_cursor"] is None


def test_the_list_takes_the_same_queries_for_5_or_50_setups(client, acme):
    token = make_token(acme, "setups:read")
    counts = []
    for total in (5, 50):
        for i in range(total - (5 if counts else 0)):
            make_setup(acme, name=f"ds_{total}_{i}")
        get(client, "/api/v1/setups", token)  # last-used written once a minute: not in the count
        with CaptureQueriesContext(connection) as queries:
            assert get(client, "/api/v1/setups", token, limit=100).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_another_tenants_setup_is_404_as_in_the_ui(client, acme, globex):
    theirs = make_setup(globex, name="globex_ds")
    token = make_token(acme, "setups:read")
    answer = get(client, f"/api/v1/setups/{theirs.pk}", token)
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["detail"] == "There is no such setup, or it is not yours."
    missing = get(client, "/api/v1/setups/00000000-0000-0000-0000-000000000000", token)
    assert missing.json() == answer.json()  # no hint whether it exists
    assert [s["owner"] for s in get(client, "/api/v1/setups", token).json()["items"]] == []


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer nope", "Basic abc", "Bearer hdpp_" + "x" * 43])
def test_a_missing_or_bad_token_is_401_problem(client, acme, header):
    answer = (
        client.get("/api/v1/setups", HTTP_AUTHORIZATION=header) if header else client.get("/api/v1/setups")
    )
    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"
    assert answer["WWW-Authenticate"].startswith("Bearer")
    body = answer.json()
    assert body["status"] == 401 and body["code"] == "invalid_token" and "token" in body["detail"]


def test_an_expired_or_revoked_token_is_401(client, acme):
    token = make_token(acme, "setups:read")
    assert get(client, "/api/v1/setups", token).status_code == 200
    expire(token)
    assert get(client, "/api/v1/setups", token).status_code == 401


def test_a_token_in_the_url_or_a_cookie_is_not_accepted(client, acme):
    token = make_token(acme, "setups:read")
    assert client.get("/api/v1/setups", {"access_token": token}).status_code == 401
    client.cookies["token"] = token
    assert client.get("/api/v1/setups").status_code == 401


def test_a_token_without_the_scope_is_403(client, acme):
    run = make_setup(acme)
    token = make_token(acme, "setups:check")
    answer = get(client, f"/api/v1/setups/{run.pk}", token)
    assert answer.status_code == 403 and answer.json()["code"] == "insufficient_scope"
    assert "setups:read" in answer.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "1000"},
        {"limit": "x"},
        {"status": "nope"},
        {"store": "a\x00b"},
        {"store": "x" * 5000},
        {"cursor": "!!"},
        {"cursor": "bm90IGpzb24"},
        {"tenant": "99999999999999"},
        {"unknown": "1"},
    ],
)
def test_hostile_query_values_get_a_422_naming_the_field(client, acme, params):
    token = make_token(acme, "setups:read")
    answer = get(client, "/api/v1/setups", token, **params)
    assert answer.status_code == 422, answer.content
    body = answer.json()
    assert answer["Content-Type"] == "application/problem+json"
    assert body["errors"] and all(e["field"].startswith("query.") for e in body["errors"])
    assert body["errors"][0]["field"].split(".")[1] in {*params, "limit"}


def test_unknown_paths_and_methods_are_problems(client, acme):
    token = make_token(acme, "setups:read")
    assert get(client, "/api/v1/nowhere", token).json()["status"] == 404
    answer = client.delete("/api/v1/setups", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 405 and answer["Content-Type"] == "application/problem+json"
    assert json.loads(answer.content)["status"] == 405


def test_the_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.1")
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200
