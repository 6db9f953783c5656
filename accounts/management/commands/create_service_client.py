"""manage.py create_service_client NAME --scope S: register a service, print its credentials."""

import json

from django.core.management.base import BaseCommand, CommandError

from accounts.flows import clients
from accounts.models import ServiceClient


class Command(BaseCommand):
    help = 'Create a service client; prints {"client_id", "client_secret"} as JSON, once.'

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--scope", action="append", default=[], dest="scopes")

    def handle(self, *args, name: str, scopes: list[str], **options) -> None:
        if ServiceClient.objects.filter(name=name).exists():
            raise CommandError(f"A service client named {name!r} already exists.")
        client, secret = clients.service_client_create(name=name, scopes=scopes)
        self.stdout.write(json.dumps({"client_id": client.client_id, "client_secret": secret}))
