"""How many SQL queries a GET of each wizard step makes. Where the run stands is read once per
request (``wizard.Progress``: one query for the run's HDP records), not again for every stepper
item and every ``is_done`` / ``can_enter`` question (that was 7 to 10 such queries per page).

Queries of the in-process HDP emulator (``hdp_emulator_*`` tables) are HDP's, not the portal's,
and are left out of the count.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.helpers.wizard import create_app, run_at_datasource, run_at_profile, run_at_verify, start_run

pytestmark = pytest.mark.django_db

#: The portal's queries for one step page: session, user, run, the run's records (progress: 1),
#: and the session's save (savepoint, update, release). Before ``wizard.Progress`` the same pages
#: made 13 to 16 (7 to 10 of them re-reading the run's records).
PORTAL_QUERIES = {"store": 7, "app": 7, "authorize": 7, "profile": 7, "datasource": 7, "verify": 7}


def _portal_queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:2000]
    return [q["sql"] for q in queries.captured_queries if '"hdp_emulator_' not in q["sql"]]


def _run_at(client, step: str):
    if step in ("store", "app"):
        return start_run(client)
    if step == "authorize":
        run = start_run(client)
        assert create_app(client, run).status_code == 303
        return run
    return {"profile": run_at_profile, "datasource": run_at_datasource, "verify": run_at_verify}[step](client)


@pytest.mark.parametrize("step", list(PORTAL_QUERIES))
def test_a_step_page_reads_the_runs_records_once(acme, step):
    run = _run_at(acme, step)
    sql = _portal_queries(acme, reverse(f"onboarding:step-{step}", args=[run.pk]))
    progress = [q for q in sql if '"onboarding_remoteobject"' in q]
    assert len(progress) == 1, progress
    assert len(sql) <= PORTAL_QUERIES[step], "\n".join(sql)


@pytest.mark.parametrize("step", ["store", "app", "authorize", "profile", "datasource"])
def test_a_finished_step_page_reads_the_runs_records_once(acme, step):
    """The same pages once the whole setup exists (every stepper item is a link, every step done)."""
    run = run_at_verify(acme)
    sql = _portal_queries(acme, reverse(f"onboarding:step-{step}", args=[run.pk]))
    progress = [q for q in sql if '"onboarding_remoteobject"' in q]
    assert len(progress) == 1, progress
    assert len(sql) <= PORTAL_QUERIES[step], "\n".join(sql)


def test_my_setups_reads_the_records_of_all_runs_at_once(acme):
    for _ in range(3):
        start_run(acme)
    sql = _portal_queries(acme, reverse("onboarding:runs"))
    assert len([q for q in sql if '"onboarding_remoteobject"' in q]) == 1, sql
