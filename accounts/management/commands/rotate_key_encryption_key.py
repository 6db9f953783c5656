"""manage.py rotate_key_encryption_key: re-seal every secret at rest under the newest KEK."""

import json

from django.core.management.base import BaseCommand

from accounts.flows.keys import secrets_reseal


class Command(BaseCommand):
    help = (
        "Re-encrypt signing keys and MFA secrets under the first of WARDEN_KEY_ENCRYPTION_KEYS "
        "(list the new key first and the old one after it while this runs; drop the old one "
        "afterwards). Safe to run again; prints what it re-sealed as JSON."
    )

    def handle(self, *args, **options) -> None:
        self.stdout.write(json.dumps(secrets_reseal()))
