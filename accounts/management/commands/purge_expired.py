"""manage.py purge_expired: delete expired sessions and token records; retire old keys."""

import json

from django.core.management.base import BaseCommand

from accounts.flows import keys


class Command(BaseCommand):
    help = (
        "Delete expired sessions, single-use token records and OpenID codes and pushed "
        "requests, and retire expired keys."
    )

    def handle(self, *args, **options) -> None:
        self.stdout.write(json.dumps(keys.purge_expired()))
