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


def _add_runs(count: int) -> None:
    from portal.accounts.models import User
    from portal.onboarding.models import RemoteObject, Run

    owner = User.objects.get(username="acme_admin")
    start = Run.objects.count()
    runs = Run.objects.bulk_create(
        [
            Run(owner=owner, tenant_id=71, tenant_name="Acme", datastore_id=54, datastore_name="Google Analytics",
                ds_name=f"ds_{n}", status=Run.Status.ACTIVE if n % 2 else Run.Status.COMPLETED)
            for n in range(start, start + count)
        ]
    )  # fmt: skip
    RemoteObject.objects.bulk_create(
        [
            RemoteObject(run=r, kind="app", name=f"app_{n}", remote_id=n, outcome="created")
            for n, r in enumerate(runs)
        ]
    )


def test_my_setups_makes_the_same_queries_with_1_and_with_60_runs(acme):
    _add_runs(1)
    one = _portal_queries(acme, reverse("onboarding:runs"))
    _add_runs(59)
    sixty = _portal_queries(acme, reverse("onboarding:runs"))
    assert len(sixty) == len(one), "\n".join(sixty)
    assert len(one) <= 12, "\n".join(one)


def test_my_setups_shows_25_runs_a_page_with_links_to_the_others(acme):
    from portal.onboarding.models import Run

    _add_runs(60)
    newest_first = list(Run.objects.order_by("-updated_at", "pk").values_list("ds_name", flat=True))
    first = acme.get(reverse("onboarding:runs")).content.decode()
    assert first.count("<tr>") - 1 == 25  # minus the header row
    assert newest_first[0] in first and newest_first[25] not in first
    assert 'href="?page=2" rel="next"' in first and 'rel="prev"' not in first
    assert "Page 1 of 3" in first
    last = acme.get(reverse("onboarding:runs"), {"page": 3}).content.decode()
    assert last.count("<tr>") - 1 == 10 and newest_first[-1] in last and newest_first[0] not in last
    assert 'href="?page=2" rel="prev"' in last and 'rel="next"' not in last
    # A page number past the end (or not a number) shows the nearest page, never an error.
    assert acme.get(reverse("onboarding:runs"), {"page": 99}).content.decode().count("<tr>") - 1 == 10
    assert "Page 1 of 3" in acme.get(reverse("onboarding:runs"), {"page": "x"}).content.decode()


def test_my_setups_pages_in_plain_sql_are_the_orms_pages(acme):
    """runs._page reads a page in plain SQL: the same runs, fields and order as the ORM's query
    (``-updated_at``, then ``pk``, ties included), only the person's own in tenants they may use, and
    the total."""
    from django.utils import timezone

    from portal.accounts.models import User
    from portal.onboarding.models import Run
    from portal.onboarding.views.runs import RUNS_PER_PAGE, _page

    _add_runs(30)
    owner = User.objects.get(username="acme_admin")
    Run.objects.filter(ds_name__in=[f"ds_{n}" for n in range(5, 15)]).update(
        updated_at=timezone.now()
    )  # ties
    Run.objects.filter(ds_name="ds_3").update(tenant_id=999)  # a tenant not passed in
    fields = [f.attname for f in Run._meta.concrete_fields]
    mine = Run.objects.filter(owner=owner, tenant_id__in=[71]).order_by("-updated_at", "pk")
    for number in ("1", "2"):
        page = _page(owner, [71], number)
        expected = list(mine[(int(number) - 1) * RUNS_PER_PAGE : int(number) * RUNS_PER_PAGE])
        assert [[getattr(r, f) for f in fields] for r in page.object_list] == [
            [getattr(r, f) for f in fields] for r in expected
        ]
        assert page.paginator.count == mine.count() == 29
        assert all(
            [o.name for o in r.objects_made.all()] == [o.name for o in e.objects_made.all()]
            for r, e in zip(page.object_list, expected, strict=True)
        )
    assert list(_page(owner, [], "1").object_list) == []
