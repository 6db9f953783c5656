"""manage.py rotate_signing_key: add a key, make it the signer, keep the old one verifying."""

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from accounts import tokens
from accounts.flows import keys


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
            key = keys.signing_key_rotate(algorithm=algorithm)
            self.stdout.write(f"New signing key {key.kid} ({key.algorithm}) is now current.")
            return
        if if_older_than < 0:
            raise CommandError("--if-older-than takes a number of days, 0 or more.")
        key, rotated = keys.signing_key_rotate_if_older(
            age=timedelta(days=if_older_than), algorithm=algorithm
        )
        report = {
            "rotated": rotated,
            "kid": key.kid,
            "algorithm": key.algorithm,
            "created_at": key.created_at.isoformat(),
        }
        self.stdout.write(json.dumps(report))
