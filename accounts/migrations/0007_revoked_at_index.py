"""An index for what each process reloads as revoked (accounts/tokens/revocation.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_revocation_events'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='authsession',
            index=models.Index(condition=models.Q(('state', 'revoked')), fields=['revoked_at'], name='session_revoked_at'),
        ),
    ]
