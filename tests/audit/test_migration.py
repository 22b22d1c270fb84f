"""AuditEntry moved from the onboarding app to portal.audit without losing a row: the migrations
only change Django's model state; the table stays onboarding_auditentry."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portal.audit.models import AuditEntry

BEFORE = [("onboarding", "0003_run_datastore_option_defs"), ("audit", None)]


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_read_after_it():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state([BEFORE[0]]).apps
    old = old_apps.get_model("onboarding", "AuditEntry")
    old.objects.create(actor="acme_admin", action="app.updated", tenant_id=71, detail={"fields": ["scope"]})

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    entry = AuditEntry.objects.get(action="app.updated")
    assert (entry.actor, entry.tenant_id, entry.detail) == ("acme_admin", 71, {"fields": ["scope"]})
    assert AuditEntry._meta.db_table == "onboarding_auditentry"
