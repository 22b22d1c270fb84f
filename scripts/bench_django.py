"""In-process helpers of ``scripts/bench.py`` (run by it as a subprocess, never on their own).

``bench.py`` times pages over HTTP against gunicorn; what it cannot see from outside it asks here,
with the same settings and database (``DATABASE_URL``) and the same HDP emulator (``HDP_BASE_URL``):

    python scripts/bench_django.py queries USER PASSWORD PATH...   SQL queries per GET (Django test client)
    python scripts/bench_django.py runs COUNT                      acme_admin has COUNT completed runs
    python scripts/bench_django.py objects TENANT COUNT            TENANT's admin owns COUNT profile + data source pairs

Each prints one JSON line. Runs and objects are bulk-created directly (emulator rows live in the
portal database): only the pages are measured, not the seeding.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def queries(username: str, password: str, paths: list[str]) -> dict[str, object]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    signed = client.post("/accounts/login/", {"username": username, "password": password})
    if signed.status_code != 302:
        return {"error": f"sign-in answered {signed.status_code}"}
    out: dict[str, object] = {}
    for path in paths:
        if path.startswith("/support/"):
            client.post("/support/reason/", {"reason": "SUP-0001 benchmark", "next": "/support/"})
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        out[path] = {"queries": len(ctx.captured_queries), "status": response.status_code}
    return out


def runs(count: int) -> dict[str, object]:
    from django.utils import timezone

    from portal.accounts.models import User
    from portal.onboarding.models import RemoteObject, Run

    owner = User.objects.get(username="acme_admin")
    have = Run.objects.filter(owner=owner).count()
    now = timezone.now()
    new = [
        Run(owner=owner, tenant_id=71, tenant_name="Acme", datastore_id=54, datastore_name="Google Analytics",
            preset="sandbox", app_name=f"Bench_app_{i}", profile_name=f"Bench_profile_{i}", ds_name=f"bench_{i}",
            status=Run.Status.COMPLETED, completed_at=now)
        for i in range(have, count)
    ]  # fmt: skip
    Run.objects.bulk_create(new, batch_size=500)
    RemoteObject.objects.bulk_create(
        [
            RemoteObject(run=run, kind=kind, name=name, remote_id=900_000 + n, outcome=RemoteObject.Outcome.CREATED)
            for n, run in enumerate(new)
            for kind, name in (("app", run.app_name), ("profile", run.profile_name), ("datasource", run.ds_name))
        ],
        batch_size=1500,
    )  # fmt: skip
    return {"runs": Run.objects.filter(owner=owner).count()}


def objects(tenant_id: int, count: int) -> dict[str, object]:
    from portal.sandbox.hdp.models import DataSource, HdpUser, OAuthApp, OAuthProfile

    owner = HdpUser.objects.filter(tenant_id=tenant_id, user_name__endswith="_admin").first()
    assert owner is not None, f"no admin user in tenant {tenant_id}"
    app, _ = OAuthApp.objects.get_or_create(
        name=f"Bench_grow_{tenant_id}",
        tenant_id=tenant_id,
        defaults={"data_store": 54, "client_id": "bench", "client_secret": "bench-secret",
                  "authorize_uri": "https://provider.example/authorize", "token_uri": "https://provider.example/token"},
    )  # fmt: skip
    have = OAuthProfile.objects.filter(app=app).count()
    profiles = OAuthProfile.objects.bulk_create(
        [
            OAuthProfile(name=f"Bench_grow_{tenant_id}_{i}", app=app, owner=owner, refresh_token="bench-rt")
            for i in range(have, count)
        ],
        batch_size=500,
    )
    DataSource.objects.bulk_create(
        [
            DataSource(name=f"bench-grow-{tenant_id}-{have + i}", owner=owner, data_store=54, connection_type="GA",
                       options={"OAuthProfileId": str(p.pk)})
            for i, p in enumerate(profiles)
        ],
        batch_size=500,
    )  # fmt: skip
    return {"tenant": tenant_id, "profiles": OAuthProfile.objects.filter(app=app).count()}


def main() -> None:
    import django

    django.setup()
    command, args = sys.argv[1], sys.argv[2:]
    if command == "queries":
        result = queries(args[0], args[1], args[2:])
    elif command == "runs":
        result = runs(int(args[0]))
    elif command == "objects":
        result = objects(int(args[0]), int(args[1]))
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
