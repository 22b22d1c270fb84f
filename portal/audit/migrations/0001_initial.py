# The audit trail moved here from the onboarding app. The table (onboarding_auditentry) and its rows
# stay exactly as they are: this only tells Django's model state that the audit app owns it now;
# onboarding/0004 removes it from onboarding's state. No SQL runs.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('onboarding', '0003_run_datastore_option_defs'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AuditEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('at', models.DateTimeField(auto_now_add=True)),
                        ('actor', models.CharField(max_length=150)),
                        ('tenant_id', models.IntegerField(blank=True, null=True)),
                        ('action', models.CharField(max_length=64)),
                        ('detail', models.JSONField(blank=True, default=dict)),
                        ('run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='onboarding.run')),
                    ],
                    options={
                        'db_table': 'onboarding_auditentry',
                        'ordering': ['-at'],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
