# RateCounter moved to portal.ratelimit (issue 7); the table stays, only Django's state moves.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("ratelimit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="RateCounter")],
            database_operations=[],
        ),
    ]
