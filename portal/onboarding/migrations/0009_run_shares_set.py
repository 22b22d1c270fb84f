# What the portal last set as the data source's shares (issue 20: who can use it).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('onboarding', '0008_run_owner_created_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='run',
            name='shares_set',
            field=models.JSONField(blank=True, null=True),
        ),
    ]
