# RateCounter moved here from portal.accounts (issue 7); the table keeps its name.

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RateCounter",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("key", models.CharField(max_length=200, unique=True)),
                        ("count", models.IntegerField(default=0)),
                        ("window_ends_at", models.DateTimeField(db_index=True)),
                    ],
                    options={"db_table": "accounts_ratecounter"},
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="ratecounter",
            name="blocked_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
