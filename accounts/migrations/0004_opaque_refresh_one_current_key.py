"""Refresh tokens become opaque (only digests stored); at most one current signing key.

Refresh tokens issued before this (JWTs) are refused from now on: their holders sign in again
once their access token expires.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_role_policy")]

    operations = [
        migrations.RenameField("authsession", "refresh_jti", "refresh_digest"),
        migrations.RenameField("authsession", "previous_refresh_jti", "previous_refresh_digest"),
        migrations.AddField(
            model_name="authsession",
            name="generation",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="signingkey",
            constraint=models.UniqueConstraint(
                condition=models.Q(state="current"),
                fields=("state",),
                name="one_current_signing_key",
            ),
        ),
    ]
