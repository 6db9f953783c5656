"""manage.py rotate_signing_key: add a key, make it the signer, keep the old one verifying."""

from django.core.management.base import BaseCommand

from accounts import tokens
from accounts.flows import keys


class Command(BaseCommand):
    help = "Add a signing key and make it current; older keys verify until their tokens expire."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--algorithm", choices=tokens.ALGORITHMS, default=None)

    def handle(self, *args, algorithm: str | None, **options) -> None:
        key = keys.signing_key_rotate(algorithm=algorithm)
        self.stdout.write(f"New signing key {key.kid} ({key.algorithm}) is now current.")
