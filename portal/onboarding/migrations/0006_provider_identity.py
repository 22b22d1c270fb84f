# The provider account of a consent (subject, issuer, display name): a reconnect compares it.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('onboarding', '0005_app_token_auth'),
    ]

    operations = [
        migrations.AddField(
            model_name='run',
            name='provider_subject',
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name='run',
            name='provider_issuer',
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name='run',
            name='provider_display_name',
            field=models.CharField(blank=True, max_length=200),
        ),
    ]
