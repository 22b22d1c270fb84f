"""The table of Django's database cache (settings.CACHES), so that `migrate` sets everything up.

``createcachetable`` is idempotent; reversing leaves the table (it holds nothing that matters).
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps: Any, schema_editor: Any) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("onboarding", "0006_provider_identity")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=False)]
