# AuditEntry now belongs to the audit app (audit/0001), same table, same rows: drop it from
# onboarding's model state only. No SQL runs.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('onboarding', '0003_run_datastore_option_defs'),
        ('audit', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='AuditEntry')],
            database_operations=[],
        ),
    ]
