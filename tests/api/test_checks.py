"""POST /api/v1/setups/{id}/checks: queued like Check now, idempotent with an Idempotency-Key."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from portal.connections.models import ConnectionCheck
from portal.connections.status import State
from tests.helpers.api import make_setup, make_token

pytestmark = pytest.mark.django_db(transaction=True)


def post(client, path, token, key=None, body=b""):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(path, body, content_type="application/json", **headers)


def test_a_queued_check_answers_202_with_a_location_and_runs_in_a_worker(client, acme):
    run = make_setup(acme, state=State.WORKING)
    token = make_token(acme, "setups:read", "setups:check")
    answer = post(client, f"/api/v1/setups/{run.pk}/checks", token)
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert answer["Location"] == body["location"] and body["location"].endswith(
        f"/api/v1/setups/{run.pk}/checks/{body['id']}"
    )
    assert body["progress"] == "queued"
    check = ConnectionCheck.objects.get(pk=body["id"])
    assert (check.trigger, check.requested_by, check.finished_at) == ("manual", "acme_admin", None)
    [task] = DBTaskResult.objects.all()
    assert task.task_path.endswith("run_queued_check") and task.args_kwargs["args"] == [check.pk]
    polled = client.get(body["location"], HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert polled["progress"] == "queued" and polled["id"] == check.pk
    listed = client.get(f"/api/v1/setups/{run.pk}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert listed["status"]["state"] == "checking"


def test_the_same_idempotency_key_twice_queues_one_check(client, acme):
    run = make_setup(acme)
    token = make_token(acme, "setups:check")
    first = post(client, f"/api/v1/setups/{run.pk}/checks", token, key="k-1")
    again = post(client, f"/api/v1/setups/{run.pk}/checks", token, key="k-1")
    third = post(client, f"/api/v1/setups/{run.pk}/checks", token, key="k-1")
    assert first.status_code == again.status_code == third.status_code == 202
    assert first.json() == again.json() == third.json()
    assert again["Location"] == first["Location"] and again["Idempotent-Replayed"] == "true"
    assert ConnectionCheck.objects.filter(run=run, trigger="manual").count() == 1
    assert DBTaskResult.objects.count() == 1


def test_the_same_key_with_another_request_is_refused(client, acme):
    one, two = make_setup(acme, name="a"), make_setup(acme, name="b")
    token = make_token(acme, "setups:check")
    assert post(client, f"/api/v1/setups/{one.pk}/checks", token, key="k-2").status_code == 202
    answer = post(client, f"/api/v1/setups/{two.pk}/checks", token, key="k-2")
    assert answer.status_code == 422 and answer.json()["code"] == "idempotency_key_reused"
    assert not ConnectionCheck.objects.filter(run=two, trigger="manual").exists()


def test_a_second_check_while_one_runs_is_409_in_the_pages_words(client, acme):
    run = make_setup(acme)
    token = make_token(acme, "setups:check")
    assert post(client, f"/api/v1/setups/{run.pk}/checks", token).status_code == 202
    answer = post(client, f"/api/v1/setups/{run.pk}/checks", token)
    assert answer.status_code == 409
    assert answer.json()["detail"].startswith("A check of this setup is already running.")


def test_checks_share_check_nows_rate_limit(client, acme, settings):
    settings.RATELIMIT_TEST_PER_MINUTE = 2
    runs = [make_setup(acme, name=f"ds_{i}") for i in range(3)]
    token = make_token(acme, "setups:check")
    answers = [post(client, f"/api/v1/setups/{r.pk}/checks", token) for r in runs]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert int(answers[2]["Retry-After"]) >= 1
    assert answers[2].json()["detail"].startswith("You have run many checks in the last minute.")


def test_a_read_only_token_cannot_queue_a_check(client, acme):
    run = make_setup(acme)
    token = make_token(acme, "setups:read")
    assert post(client, f"/api/v1/setups/{run.pk}/checks", token).status_code == 403
    assert not ConnectionCheck.objects.filter(trigger="manual").exists()


def test_the_token_rate_limit_answers_429_with_retry_after(client, acme, settings):
    settings.API_RATELIMIT_PER_MINUTE = 3
    token = make_token(acme, "setups:read")
    codes = [client.get("/api/v1/setups", HTTP_AUTHORIZATION=f"Bearer {token}") for _ in range(4)]
    assert [c.status_code for c in codes] == [200, 200, 200, 429]
    assert 1 <= int(codes[3]["Retry-After"]) <= 60
