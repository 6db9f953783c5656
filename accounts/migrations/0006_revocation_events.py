"""Revocation events: the outbox of Security Event Tokens and its per-receiver deliveries."""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_resource_servers")]

    operations = [
        migrations.AddField(
            model_name="serviceclient",
            name="push_url",
            field=models.URLField(blank=True, max_length=500),
        ),
        migrations.CreateModel(
            name="SecurityEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                ),
                ("event_type", models.CharField(max_length=200)),
                (
                    "subject",
                    models.JSONField(help_text="RFC 9493 subject identifier (the SET's sub_id)"),
                ),
                ("payload", models.JSONField(blank=True, default=dict)),
            ],
            options={"ordering": ["id"]},
        ),
        migrations.CreateModel(
            name="EventDelivery",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("jti", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("delivered_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("last_error", models.CharField(blank=True, max_length=200)),
                (
                    "event",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="accounts.securityevent",
                    ),
                ),
                (
                    "receiver",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="event_deliveries",
                        to="accounts.serviceclient",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "event deliveries",
                "ordering": ["id"],
                "indexes": [
                    models.Index(
                        fields=["receiver", "delivered_at", "id"],
                        name="accounts_ev_receive_8abc61_idx",
                    )
                ],
            },
        ),
    ]
