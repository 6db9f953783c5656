"""manage.py rotate_signing_key: add a key, make it the signer, keep the old one verifying."""

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts import services, tokens
from accounts.models import SigningKey


class Command(BaseCommand):
    help = "Add a signing key and make it current; older keys verify until their tokens expire."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--algorithm", choices=tokens.ALGORITHMS, default=None)
        parser.add_argument(
            "--if-older-than",
            type=int,
            metavar="DAYS",
            default=None,
            help="Rotate only if the current key is DAYS days old or more (0: now); prints JSON.",
        )

    def handle(self, *args, algorithm: str | None, if_older_than: int | None, **options) -> None:
        if if_older_than is None:
            key = services.signing_key_rotate(algorithm=algorithm)
            self.stdout.write(f"New signing key {key.kid} ({key.algorithm}) is now current.")
            return
        if if_older_than < 0:
            raise CommandError("--if-older-than takes a number of days, 0 or more.")
        # Every host may run the timer at once: deciding under the current key's row lock
        # makes the others wait, then see the new key as young and leave it.
        with transaction.atomic():
            list(SigningKey.objects.select_for_update().filter(state=SigningKey.State.CURRENT))
            # Read again: after waiting for another host, the rows locked above may be old news.
            key = SigningKey.objects.filter(state=SigningKey.State.CURRENT).first()
            due = key is None or key.created_at <= timezone.now() - timedelta(days=if_older_than)
            if due:
                key = services.signing_key_rotate(algorithm=algorithm)
        report = {
            "rotated": due,
            "kid": key.kid,
            "algorithm": key.algorithm,
            "created_at": key.created_at.isoformat(),
        }
        self.stdout.write(json.dumps(report))
